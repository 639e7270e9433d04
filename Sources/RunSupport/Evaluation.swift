import Data
import NN

/// Mean loss and accuracy of `model` over all of `dataset`, in batches of
/// `batch` (the last batch may be shorter).
public func evaluate(_ model: Model, on dataset: ImageDataset, batch: Int) -> (loss: Double, accuracy: Double) {
    evaluate(on: dataset, batch: batch) { model.evaluate(features: $0, labels: $1, batch: $2) }
}

/// Mean loss and accuracy over all of `dataset`, in batches of `batch`
/// (the last batch may be shorter), of `score`, which returns the summed
/// loss and the correct count of one batch (features, labels, batch size):
/// a model, or a chain of models such as a split model's front and a head.
package func evaluate(
    on dataset: ImageDataset, batch: Int,
    score: (UnsafePointer<Float>, UnsafePointer<Int32>, Int) -> (lossSum: Double, correct: Int)
) -> (loss: Double, accuracy: Double) {
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
                return score(x.baseAddress!, y.baseAddress!, n)
            }
        }
        lossSum += result.lossSum
        correct += result.correct
        start += n
    }
    return (lossSum / Double(dataset.count), Double(correct) / Double(dataset.count))
}
