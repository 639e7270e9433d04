@testable import NN
import Random
import XCTest

/// Finite-difference checks of analytic gradients, in the style of llm.c's
/// check_tensor: every check prints its largest relative error.
enum GradientCheck {
    /// |a - n| / max(|a|, |n|, floor): relative where the gradient is large,
    /// absolute (scaled by `floor`) where it is near zero.
    static func relativeError(_ analytic: Double, _ numeric: Double, floor: Double) -> Double {
        abs(analytic - numeric) / max(abs(analytic), abs(numeric), floor)
    }

    /// Checks one layer with the loss L = sum(output * R) for a fixed random
    /// R, which makes dL/doutput = R. Perturbs every parameter and input
    /// element (or `maxChecks` of them, chosen at random) by +-eps.
    /// Returns the largest relative error over parameters and inputs.
    static func checkLayer(
        _ layer: Layer, batch: Int, input: [Float], eps: Float = 1e-2, maxChecks: Int = 400, seed: UInt64 = 1
    ) -> (parameters: Double, inputs: Double) {
        let store = ParameterStore(tensors: layer.parameterShapes.map { (layer: layer.name, name: $0.name, shape: $0.shape) })
        var rng = SeededGenerator(seed: seed)
        if store.count > 0 {
            layer.bind(parameters: store.parameters.baseAddress!, gradients: store.gradients.baseAddress!)
            layer.initialize(&rng)
            // Non-zero biases, so that they matter.
            for i in 0..<store.count where store.parameters[i] == 0 { store.parameters[i] = Float(rng.nextGaussian() * 0.1) }
        }
        var x = input
        let r = (0..<batch * layer.outputCount).map { _ in Float(rng.nextGaussian()) }
        var out = [Float](repeating: 0, count: batch * layer.outputCount)
        func loss(_ x: [Float]) -> Double {
            x.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer { layer.forward(xp.baseAddress!, $0.baseAddress!, batch: batch) } }
            return zip(out, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        _ = loss(x)
        var dx = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeBufferPointer { op in
                r.withUnsafeBufferPointer { rp in
                    dx.withUnsafeMutableBufferPointer { dxp in
                        layer.backward(input: xp.baseAddress!, output: op.baseAddress!, outputGradient: rp.baseAddress!,
                                       inputGradient: dxp.baseAddress!, batch: batch)
                    }
                }
            }
        }
        let gradients = Array(store.gradients)
        var worstParameter = 0.0
        for i in sample(store.count, maxChecks, &rng) {
            let saved = store.parameters[i]
            store.parameters[i] = saved + eps
            let plus = loss(x)
            store.parameters[i] = saved - eps
            let minus = loss(x)
            store.parameters[i] = saved
            let numeric = (plus - minus) / Double(2 * eps)
            worstParameter = max(worstParameter, relativeError(Double(gradients[i]), numeric, floor: 1e-2))
        }
        var worstInput = 0.0
        for i in sample(x.count, maxChecks, &rng) {
            let saved = x[i]
            x[i] = saved + eps
            let plus = loss(x)
            x[i] = saved - eps
            let minus = loss(x)
            x[i] = saved
            let numeric = (plus - minus) / Double(2 * eps)
            worstInput = max(worstInput, relativeError(Double(dx[i]), numeric, floor: 1e-2))
        }
        return (worstParameter, worstInput)
    }

    /// Up to `count` distinct indices below `n`.
    static func sample(_ n: Int, _ count: Int, _ rng: inout SeededGenerator) -> [Int] {
        if n <= count { return Array(0..<n) }
        var all = Array(0..<n)
        rng.shuffle(&all)
        return Array(all.prefix(count))
    }

    /// Checks a whole model's parameter gradients under softmax cross-entropy:
    /// per tensor, the `perTensor` entries with the largest |gradient| and as
    /// many random ones. A ReLU or max-pool kink inside [w - eps, w + eps]
    /// makes the two one-sided differences disagree; such entries are
    /// skipped and counted. Returns the largest relative error, its tensor,
    /// and the counts of checked and skipped entries.
    static func checkModel(_ model: Model, batch: Int, eps: Float = 1e-2, perTensor: Int = 4, seed: UInt64 = 2)
        -> (error: Double, tensor: String, checked: Int, skipped: Int)
    {
        var rng = SeededGenerator(seed: seed)
        let x = (0..<batch * model.inputCount).map { _ in Float(rng.nextGaussian()) }
        let y = (0..<batch).map { _ in Int32(rng.nextIndex(below: model.classes)) }
        func loss() -> Double {
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeBufferPointer { model.evaluate(features: xp.baseAddress!, labels: $0.baseAddress!, batch: batch).lossSum }
            } / Double(batch)
        }
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { _ = model.trainStep(features: xp.baseAddress!, labels: $0.baseAddress!, batch: batch) }
        }
        let gradients = Array(model.store.gradients)
        let center = loss()
        var worst = (error: 0.0, tensor: "", checked: 0, skipped: 0)
        for span in model.store.spans {
            let byMagnitude = span.range.sorted { abs(gradients[$0]) > abs(gradients[$1]) }
            let picks = Array(byMagnitude.prefix(perTensor)) + sample(span.count, perTensor, &rng).map { $0 + span.offset }
            let scale = Double(byMagnitude.first.map { abs(gradients[$0]) } ?? 0)
            let floor = max(0.05 * scale, 1e-4)
            for i in picks {
                let saved = model.store.parameters[i]
                model.store.parameters[i] = saved + eps
                let plus = loss()
                model.store.parameters[i] = saved - eps
                let minus = loss()
                model.store.parameters[i] = saved
                let forward = (plus - center) / Double(eps)
                let backward = (center - minus) / Double(eps)
                if abs(forward - backward) > 0.2 * max(abs(forward), abs(backward), floor) {
                    worst.skipped += 1
                    continue
                }
                worst.checked += 1
                let e = relativeError(Double(gradients[i]), (forward + backward) / 2, floor: floor)
                if e > worst.error { (worst.error, worst.tensor) = (e, span.name) }
            }
        }
        return worst
    }
}
