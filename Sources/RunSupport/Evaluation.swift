import Data
import NN

/// Mean loss and accuracy of `model` over all of `dataset`, in batches of
/// `batch` (the last batch may be shorter).
public func evaluate(_ model: Model, on dataset: ImageDataset, batch: Int) -> (loss: Double, accuracy: Double) {
    guard dataset.count > 0 else { return (.nan, .nan) }
    var features = [Float](repeating: 0, count: batch * dataset.featureCount)
    var labels = [Int32](repeating: 0, count: batch)
    var lossSum = 0.0
    var correct = 0
    var start = 0
    while start < dataset.count {
        let n = min(batch, dataset.count - start)
        let result = features.withUnsafeMutableBufferPointer { x in
            labels.withUnsafeMutableBufferPointer { y in
                dataset.fillBatch(indices: start..<start + n, features: x.baseAddress!, labels: y.baseAddress!)
                return model.evaluate(features: x.baseAddress!, labels: y.baseAddress!, batch: n)
            }
        }
        lossSum += result.lossSum
        correct += result.correct
        start += n
    }
    return (lossSum / Double(dataset.count), Double(correct) / Double(dataset.count))
}
