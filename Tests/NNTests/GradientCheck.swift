@testable import NN
import Random
import XCTest

/// Finite-difference checks of the Float32 analytic gradients against the
/// Float64 reference (`Reference`), in the style of llm.c's check_tensor:
/// every check prints its largest error.
///
/// The numeric side is computed entirely in Double from the same Float32
/// parameters and inputs, so it does not depend on the CPU's BLAS or libm
/// kernels nor on their thread count; only the analytic gradient under test
/// carries Float32 rounding, and the bounds below are bounds on that rounding.
enum GradientCheck {
    /// Unit roundoff of Float32, 2^-24.
    static let u32 = 0x1p-24
    /// Higham's gamma_n = n u / (1 - n u): a Float32 sum of n products, in any
    /// order, blocked or not, with or without FMA, errs by at most gamma_n
    /// times the sum of the magnitudes of its terms (Higham, "Accuracy and
    /// Stability of Numerical Algorithms", 2002, section 3.1).
    static func gamma(_ n: Int) -> Double { Double(n) * u32 / (1 - Double(n) * u32) }

    /// |a - n| / max(|a|, |n|, floor): relative where the gradient is large,
    /// absolute (scaled by `floor`) where it is near zero.
    static func relativeError(_ analytic: Double, _ numeric: Double, floor: Double) -> Double {
        abs(analytic - numeric) / max(abs(analytic), abs(numeric), floor)
    }

    /// The worst entry of a layer check: its error as a fraction of its
    /// a-priori rounding bound (a pass is <= 1), and the absolute error.
    struct LayerResult {
        var parameters = (ratio: 0.0, error: 0.0)
        var inputs = (ratio: 0.0, error: 0.0)
    }

    /// Checks one layer with the loss L = sum(output * R) for a fixed random
    /// R (so dL/doutput = R), on `maxChecks` random parameter and input
    /// entries (all of them when fewer).
    ///
    /// Each analytic entry is a sum of at most K = batch x (outputs + inputs)
    /// Float32 products of exactly representable factors, so it may differ
    /// from the exact value by at most gamma_K x S, where S is the sum of the
    /// magnitudes of its terms. S is the derivative of the same loss taken
    /// with |parameters|, |inputs| and |R| (exact for layers that are linear in
    /// what is perturbed; an upper bound for ReLU and max pooling, whose
    /// backward is exact anyway). The numeric side, a Float64 central
    /// difference of a function linear in the perturbed entry (inputs are
    /// kept away from kinks by the callers), adds only Double rounding, bounded
    /// by `doubleNoise`. An entry passes when |analytic - numeric| <= bound.
    static func checkLayer(
        _ layer: Layer, batch: Int, input: [Float], step: Double = 1e-3, maxChecks: Int = 300, seed: UInt64 = 1
    ) -> LayerResult {
        let store = ParameterStore(tensors: layer.parameterShapes.map { (layer: layer.name, name: $0.name, shape: $0.shape) })
        var rng = SeededGenerator(seed: seed)
        if store.count > 0 {
            layer.bind(parameters: store.parameters.baseAddress!, gradients: store.gradients.baseAddress!)
            layer.initialize(&rng)
            // Non-zero biases, so that they matter.
            for i in 0..<store.count where store.parameters[i] == 0 { store.parameters[i] = Float(rng.nextGaussian() * 0.1) }
        }
        let r = (0..<batch * layer.outputCount).map { _ in Float(rng.nextGaussian()) }
        var out = [Float](repeating: 0, count: batch * layer.outputCount)
        var dx = [Float](repeating: 0, count: input.count)
        input.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { layer.forward(xp.baseAddress!, $0.baseAddress!, batch: batch) }
            out.withUnsafeBufferPointer { op in
                r.withUnsafeBufferPointer { rp in
                    dx.withUnsafeMutableBufferPointer { dxp in
                        layer.backward(input: xp.baseAddress!, output: op.baseAddress!, outputGradient: rp.baseAddress!,
                                       inputGradient: dxp.baseAddress!, batch: batch)
                    }
                }
            }
        }
        let analyticParameters = store.gradients.map(Double.init)
        let theta = store.parameters.map(Double.init)
        let x = input.map(Double.init)
        let r64 = r.map(Double.init)
        let absR = r64.map(abs)
        // L = sum(output * R), and the magnitude sum of its terms.
        func loss(_ p: [Double], _ x: [Double], _ weights: [Double]) -> Double {
            zip(Reference.forward(layer, parameters: p[...], input: x, batch: batch), weights).reduce(0.0) { $0 + $1.0 * $1.1 }
        }
        let k = batch * (layer.outputCount + layer.inputCount)
        let absTheta = theta.map(abs), absX = x.map(abs)
        // Double rounding of one evaluation: a summation tree no deeper than
        // the loss's terms plus one output's terms, over magnitudes adding
        // up to the loss of the absolute values.
        let noise = doubleNoise(terms: batch * layer.outputCount + layer.parameterCount + layer.inputCount,
                                magnitude: loss(absTheta, absX, absR), step: step)

        // d/dv of f at v, by a Float64 central difference.
        func derivative(_ f: (Double) -> Double, at v: Double) -> Double { (f(v + step) - f(v - step)) / (2 * step) }
        var result = LayerResult()
        func record(_ worst: inout (ratio: Double, error: Double), analytic: Double, numeric: Double, termSum: Double) {
            let error = abs(analytic - numeric)
            let bound = gamma(k) * termSum + noise
            worst.error = max(worst.error, error)
            worst.ratio = max(worst.ratio, error / bound)
        }
        for i in sample(store.count, maxChecks, &rng) {
            func at(_ base: [Double], _ v: Double) -> [Double] { var p = base; p[i] = v; return p }
            let numeric = derivative({ loss(at(theta, $0), x, r64) }, at: theta[i])
            let termSum = derivative({ loss(at(absTheta, $0), absX, absR) }, at: absTheta[i])
            record(&result.parameters, analytic: analyticParameters[i], numeric: numeric, termSum: termSum)
        }
        for i in sample(x.count, maxChecks, &rng) {
            func at(_ base: [Double], _ v: Double) -> [Double] { var p = base; p[i] = v; return p }
            let numeric = derivative({ loss(theta, at(x, $0), r64) }, at: x[i])
            let termSum = derivative({ loss(absTheta, at(absX, $0), absR) }, at: absX[i])
            record(&result.inputs, analytic: Double(dx[i]), numeric: numeric, termSum: termSum)
        }
        return result
    }

    /// A bound on the Double rounding of a central difference of a sum of
    /// `terms` products whose magnitudes add up to `magnitude`: each of the
    /// two evaluations errs by at most gamma_terms (Float64) x magnitude.
    static func doubleNoise(terms: Int, magnitude: Double, step: Double) -> Double {
        let gamma64 = Double(terms + 2) * 0x1p-53
        return 2 * gamma64 * max(magnitude, 1) / (2 * step) + 1e-300
    }

    /// Up to `count` distinct indices below `n`.
    static func sample(_ n: Int, _ count: Int, _ rng: inout SeededGenerator) -> [Int] {
        if n <= count { return Array(0..<n) }
        var all = Array(0..<n)
        rng.shuffle(&all)
        return Array(all.prefix(count))
    }

    /// The worst entry of a whole-model check.
    struct ModelResult {
        var error = 0.0
        var tensor = ""
        var checked = 0
        var skipped = 0
        /// Per tensor, the largest relative error.
        var byTensor: [String: Double] = [:]
    }

    /// The pass bound of `checkModel` on its relative error.
    ///
    /// Where it comes from: every analytic gradient entry of our models is a
    /// chain of at most 4 parametric layers' Float32 sums, none longer than
    /// K = 3136 terms (fc1's input), so each layer's forward and backward err by
    /// at most gamma_3136 = 1.9e-4 of the magnitudes of their terms; compounded
    /// through the chain that is at most ~1e-3 of an entry as large as the
    /// floor (1% of the tensor's largest entry) when the term magnitudes stay
    /// within 10x of the floor. The bound leaves a further 10x over that, and
    /// a wrongly routed or unmasked gradient errs by order 1, 100x above it.
    static let modelBound = 1e-2
    /// The floor of the relative error, as a fraction of the largest
    /// |gradient| of the entry's tensor.
    static let modelFloor = 1e-2

    /// Checks a whole model's parameter gradients (mean softmax cross-entropy)
    /// against Float64 central differences of the reference: per tensor, the
    /// `perTensor` entries with the largest |gradient| and as many random ones.
    ///
    /// A ReLU or max-pool kink inside [w - h, w + h] makes the one-sided
    /// differences D+ and D- disagree; the central difference then errs by at
    /// most |D+ - D-| / 2 from the one-sided derivative the analytic side
    /// takes. An entry is skipped (and counted) when |D+ - D-| exceeds half
    /// the pass bound, relative to the same scale, so a kink can never push
    /// a checked entry past the pass bound, and the skip rule is tighter than
    /// the pass rule. `corrupt` may change the analytic gradients before the
    /// check (the tests that show a broken backward fails).
    static func checkModel(
        _ model: Model, batch: Int, step: Double = 1e-6, perTensor: Int = 4, seed: UInt64 = 2,
        corrupt: (ParameterStore) -> Void = { _ in }
    ) -> ModelResult {
        var rng = SeededGenerator(seed: seed)
        let x = (0..<batch * model.inputCount).map { _ in Float(rng.nextGaussian()) }
        let y = (0..<batch).map { _ in Int32(rng.nextIndex(below: model.classes)) }
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { _ = model.trainStep(features: xp.baseAddress!, labels: $0.baseAddress!, batch: batch) }
        }
        corrupt(model.store)
        let gradients = model.store.gradients.map(Double.init)
        var theta = model.store.parameters.map(Double.init)
        let x64 = x.map(Double.init)
        func loss(_ theta: [Double]) -> Double {
            Reference.loss(model.layers, parameters: theta, features: x64, labels: y, batch: batch)
        }
        let center = loss(theta)
        var result = ModelResult()
        for span in model.store.spans {
            checkEntries(span.name, span.range, of: &theta, analytic: gradients, center: center, loss: loss,
                         perTensor: perTensor, step: step, rng: &rng, into: &result)
        }
        return result
    }

    /// Checks `inputGradient`, the analytic dL/d(features) of `model` on
    /// `features`, where L is `loss` of the logits, against Float64 central
    /// differences of `loss` of the reference's logits, by the rules of
    /// `checkModel`: the input is one tensor, named "input", of which the
    /// `count` largest entries and as many random ones are checked.
    static func checkInputGradient(
        _ model: Model, features: [Float], batch: Int, inputGradient: [Float], count: Int = 16, step: Double = 1e-6,
        seed: UInt64 = 3, loss: ([Double]) -> Double
    ) -> ModelResult {
        var rng = SeededGenerator(seed: seed)
        let theta = model.store.parameters.map(Double.init)
        func lossAt(_ x: [Double]) -> Double { loss(Reference.logits(model.layers, parameters: theta, features: x, batch: batch)) }
        var x = features.map(Double.init)
        var result = ModelResult()
        checkEntries("input", x.indices, of: &x, analytic: inputGradient.map(Double.init), center: lossAt(x), loss: lossAt,
                     perTensor: count, step: step, rng: &rng, into: &result)
        return result
    }

    /// Checks the entries of `range` (the tensor named `tensor`) of
    /// `analytic`, the gradient of `loss` at `point` (where `loss` is
    /// `center`): the `perTensor` largest and as many random ones, each
    /// against a central difference, with `checkModel`'s floor and kink rule.
    /// `point` is restored on return.
    static func checkEntries(
        _ tensor: String, _ range: Range<Int>, of point: inout [Double], analytic: [Double], center: Double,
        loss: ([Double]) -> Double, perTensor: Int, step: Double, rng: inout SeededGenerator, into result: inout ModelResult
    ) {
        let byMagnitude = range.sorted { abs(analytic[$0]) > abs(analytic[$1]) }
        let largest = Array(byMagnitude.prefix(perTensor))
        let picks = largest + sample(range.count, perTensor, &rng).map { $0 + range.lowerBound }.filter { !largest.contains($0) }
        let floor = max(modelFloor * abs(analytic[byMagnitude[0]]), 1e-12)
        var worstInTensor = 0.0
        for i in picks {
            let saved = point[i]
            point[i] = saved + step
            let plus = loss(point)
            point[i] = saved - step
            let minus = loss(point)
            point[i] = saved
            let forward = (plus - center) / step
            let backward = (center - minus) / step
            if abs(forward - backward) > modelBound / 2 * max(abs(forward), abs(backward), floor) {
                result.skipped += 1
                continue
            }
            result.checked += 1
            let e = relativeError(analytic[i], (plus - minus) / (2 * step), floor: floor)
            worstInTensor = max(worstInTensor, e)
            if e > result.error { (result.error, result.tensor) = (e, tensor) }
        }
        result.byTensor[tensor] = worstInTensor
    }
}

extension XCTestCase {
    /// A whole-model check passes when its worst checked entry is within
    /// `GradientCheck.modelBound`, something was checked, and kinks skipped
    /// at most a tenth as many entries as were checked.
    func assertPasses(_ worst: GradientCheck.ModelResult, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        print("\(what): max relative error \(worst.error) (\(worst.tensor)), \(worst.checked) checked, "
              + "\(worst.skipped) skipped at kinks")
        XCTAssertLessThan(worst.error, GradientCheck.modelBound, what, file: file, line: line)
        XCTAssertGreaterThan(worst.checked, 0, what, file: file, line: line)
        XCTAssertLessThanOrEqual(worst.skipped * 10, worst.checked, "too many kinks: the check says little", file: file, line: line)
    }
}
