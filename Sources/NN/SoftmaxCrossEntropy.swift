import Foundation

/// Softmax cross-entropy over `classes` logits per sample.
public enum SoftmaxCrossEntropy {
    /// Returns the summed loss over the batch (in Double) and the number of
    /// samples whose largest logit is the label. When `gradient` is given,
    /// writes dL/dlogits for the mean loss: (softmax - onehot) / batch.
    package static func apply(
        logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, classes: Int,
        gradient: UnsafeMutablePointer<Float>?
    ) -> (lossSum: Double, correct: Int) {
        var lossSum = 0.0
        var correct = 0
        let scale = 1 / Float(batch)
        for b in 0..<batch {
            let z = logits + b * classes
            let label = Int(labels[b])
            precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
            var best = 0
            var maxZ = z[0]
            for j in 1..<classes where z[j] > maxZ {
                maxZ = z[j]
                best = j
            }
            if best == label { correct += 1 }
            var sum: Float = 0
            for j in 0..<classes { sum += expf(z[j] - maxZ) }
            let logSum = logf(sum)
            lossSum += Double(logSum - (z[label] - maxZ))
            if let gradient {
                let g = gradient + b * classes
                let inv = 1 / sum
                for j in 0..<classes { g[j] = expf(z[j] - maxZ) * inv * scale }
                g[label] -= scale
            }
        }
        return (lossSum, correct)
    }
}
