import Foundation

/// The distillation loss of Hinton et al. 2015 over `classes` logits per
/// sample: for student logits z, teacher logits t, hard label y and
/// temperature T,
///
///     L = (1 - alpha) CE(z, y) + alpha T^2 KL(softmax(t / T) || softmax(z / T)),
///
/// averaged over the batch. The T^2 keeps the soft term's gradient,
/// alpha T (softmax(z / T) - softmax(t / T)), on the hard term's scale
/// whatever the temperature.
public enum DistillationLoss {
    /// Returns the summed loss over the batch (in Double) and the number of
    /// samples whose largest student logit is the label. When `gradient` is
    /// given, writes dL/dz for the mean loss:
    ///
    ///     ((1 - alpha) (softmax(z) - onehot(y)) + alpha T (softmax(z / T) - softmax(t / T))) / batch.
    ///
    /// The hard term is `SoftmaxCrossEntropy`'s, so alpha = 0 gives its loss
    /// and gradient bit for bit. The soft term is computed in Double from
    /// log-softmaxes with each row's maximum subtracted (no overflow for any
    /// finite logits), and each gradient entry is rounded to Float once.
    /// `temperature` must be positive and `alpha` within [0, 1].
    package static func apply(
        logits: UnsafePointer<Float>, teacherLogits: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
        batch: Int, classes: Int, temperature: Double, alpha: Double, gradient: UnsafeMutablePointer<Float>?
    ) -> (lossSum: Double, correct: Int) {
        precondition(temperature > 0 && temperature.isFinite, "distillation temperature \(temperature) is not positive")
        precondition(alpha >= 0 && alpha <= 1, "distillation alpha \(alpha) outside [0, 1]")
        let (hardSum, correct) = SoftmaxCrossEntropy.apply(
            logits: logits, labels: labels, batch: batch, classes: classes, gradient: gradient)
        var softSum = 0.0
        var student = [Double](repeating: 0, count: classes)
        var teacher = [Double](repeating: 0, count: classes)
        for b in 0..<batch {
            logSoftmax(logits + b * classes, temperature: temperature, into: &student)
            logSoftmax(teacherLogits + b * classes, temperature: temperature, into: &teacher)
            for j in 0..<classes { softSum += exp(teacher[j]) * (teacher[j] - student[j]) }
            if let gradient {
                let g = gradient + b * classes
                let scale = alpha * temperature / Double(batch)
                for j in 0..<classes {
                    g[j] = Float((1 - alpha) * Double(g[j]) + scale * (exp(student[j]) - exp(teacher[j])))
                }
            }
        }
        return ((1 - alpha) * hardSum + alpha * temperature * temperature * softSum, correct)
    }

    /// log softmax(z / T) of one row, in Double.
    private static func logSoftmax(_ z: UnsafePointer<Float>, temperature: Double, into out: inout [Double]) {
        var maximum = -Double.infinity
        for j in out.indices {
            out[j] = Double(z[j]) / temperature
            maximum = max(maximum, out[j])
        }
        var sum = 0.0
        for j in out.indices { sum += exp(out[j] - maximum) }
        let logSum = log(sum)
        for j in out.indices { out[j] = out[j] - maximum - logSum }
    }
}
