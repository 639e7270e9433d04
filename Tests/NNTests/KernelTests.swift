@testable import NN
import Random
import XCTest

/// What the kernels add beyond single-layer maths: the ragged pooling edge,
/// ReLU fusion and the ReLU-before-pool backward in a model, primitives
/// cached per batch size, the instruction-set cap.
final class KernelTests: XCTestCase {
    /// 7 x 5 with windows of 2: the last row and column belong to no window
    /// and get no gradient.
    func testMaxPoolDropsTheRaggedEdge() {
        let (h, w, c, batch) = (7, 5, 3, 2)
        let layer = MaxPool2d("p", height: h, width: w, channels: c)
        XCTAssertEqual(layer.outputShape, [3, 2, 3])
        var rng = SeededGenerator(seed: 11)
        var x = (0..<batch * h * w * c).map { Float($0) }
        rng.shuffle(&x)
        var y = [Float](repeating: 0, count: batch * layer.outputCount)
        layer.forward(x, &y, batch: batch)
        let dy = (0..<y.count).map { Float($0 + 1) }
        var dx = [Float](repeating: 7, count: x.count)
        layer.backward(input: x, output: y, outputGradient: dy, inputGradient: &dx, batch: batch)
        var expected = [Float](repeating: 0, count: x.count)
        for b in 0..<batch { for oy in 0..<3 { for ox in 0..<2 { for ch in 0..<c {
            var best = -Float.infinity
            var at = 0
            for ky in 0..<2 { for kx in 0..<2 {
                let i = ((b * h + oy * 2 + ky) * w + ox * 2 + kx) * c + ch
                if x[i] > best { (best, at) = (x[i], i) }
            } }
            let o = ((b * 3 + oy) * 2 + ox) * c + ch
            XCTAssertEqual(y[o], best)
            expected[at] += dy[o]
        } } } }
        XCTAssertEqual(dx, expected)
    }

    /// A model fuses each ReLU into the Conv2d or Linear before it. The same
    /// layers run one by one, unfused, on the same weights must give the same
    /// logits and gradients up to Float32 rounding of the sums.
    func testFusedModelMatchesTheLayersRunOneByOne() {
        for kind in ModelKind.allCases {
            let model = makeModel(kind, seed: 12)
            // Fresh, unfused copies of the same shapes.
            let twin = model.layers.map { $0.freshCopy() }
            XCTAssertTrue(model.layers.contains { ($0 as? ReLUFusable)?.fusedReLU == true }, "\(kind): nothing fused")
            var offset = 0
            for layer in twin {
                layer.bind(parameters: model.store.parameters.baseAddress! + offset, gradients: model.store.gradients.baseAddress! + offset)
                offset += layer.parameterCount
            }
            let batch = 3
            let x = gaussian(batch * model.inputCount, seed: 13)
            let labels: [Int32] = [1, 7, 2]
            _ = model.trainStep(features: x, labels: labels, batch: batch)
            let gradients = Array(model.store.gradients)
            let logits = Array(UnsafeBufferPointer(start: model.forward(features: x, batch: batch), count: batch * model.classes))

            var activations = [x]
            for layer in twin {
                var out = [Float](repeating: 0, count: batch * layer.outputCount)
                layer.forward(activations.last!, &out, batch: batch)
                activations.append(out)
            }
            var dy = [Float](repeating: 0, count: batch * model.classes)
            _ = SoftmaxCrossEntropy.apply(logits: activations.last!, labels: labels, batch: batch, classes: model.classes, gradient: &dy)
            for (i, layer) in twin.enumerated().reversed() {
                var dx = [Float](repeating: 0, count: batch * layer.inputCount)
                layer.backward(input: activations[i], output: activations[i + 1], outputGradient: dy, inputGradient: &dx, batch: batch)
                dy = dx
            }
            // Each value is a sum of at most a few thousand products of O(1)
            // terms: Float32 rounding in any summation order stays well below 1e-3.
            XCTAssertLessThan(maxDifference(logits, activations.last!), 1e-3 * max(1, maxMagnitude(logits)), "\(kind) logits")
            let twinGradients = Array(model.store.gradients)
            XCTAssertLessThan(maxDifference(gradients, twinGradients), 1e-3 * max(1e-3, maxMagnitude(gradients)), "\(kind) gradients")
        }
    }

    /// Primitives are made per batch size: interleaving sizes must not mix
    /// their buffers. A sample's logits do not depend on its batch.
    func testBatchSizesDoNotInterfere() {
        let model = makeModel(.cnn, seed: 14)
        let x = gaussian(5 * model.inputCount, seed: 15)
        func logits(_ batch: Int) -> [Float] {
            Array(UnsafeBufferPointer(start: model.forward(features: x, batch: batch), count: batch * model.classes))
        }
        let five = logits(5)
        let one = logits(1)
        let two = logits(2)
        let fiveAgain = logits(5)
        XCTAssertEqual(five.map(\.bitPattern), fiveAgain.map(\.bitPattern), "same batch, same kernels, same bits")
        let scale = max(1, maxMagnitude(five))
        XCTAssertLessThan(maxDifference(Array(five.prefix(model.classes)), one), 1e-3 * scale)
        XCTAssertLessThan(maxDifference(Array(five.prefix(2 * model.classes)), two), 1e-3 * scale)
    }

    /// The fused ReLU is a post-op baked into a primitive when it is made:
    /// flipping the flag after a forward must change what the next forward
    /// computes, and flipping it back must give the first result again.
    func testTheFusedReLUFlagTakesEffectAfterAForward() throws {
        let layers: [any Layer & ReLUFusable] = [
            Linear("fc", inFeatures: 6, outFeatures: 5),
            Conv2d("conv", height: 4, width: 4, inChannels: 2, outChannels: 3, kernel: 3, padding: 1),
        ]
        for layer in layers {
            let parameters = UnsafeMutablePointer<Float>.allocate(capacity: layer.parameterCount)
            let gradients = UnsafeMutablePointer<Float>.allocate(capacity: layer.parameterCount)
            defer { parameters.deallocate(); gradients.deallocate() }
            layer.bind(parameters: parameters, gradients: gradients)
            var rng = SeededGenerator(seed: 16)
            layer.initialize(&rng)
            let batch = 3
            let x = gaussian(batch * layer.inputCount, seed: 17)
            func forward() -> [Float] {
                var y = [Float](repeating: 0, count: batch * layer.outputCount)
                layer.forward(x, &y, batch: batch)
                return y
            }
            let plain = forward()
            XCTAssertTrue(plain.contains { $0 < 0 } && plain.contains { $0 > 0 }, "\(layer.name): \(plain)")
            layer.fusedReLU = true
            let fused = forward()
            // The post-op only clamps; the sums may come from another kernel, so
            // allow Float32 rounding of sums of a few dozen O(1) products.
            for (f, p) in zip(fused, plain) {
                XCTAssertGreaterThanOrEqual(f, 0, layer.name)
                XCTAssertEqual(f, max(p, 0), accuracy: 1e-4 * max(1, abs(p)), layer.name)
            }
            layer.fusedReLU = false
            XCTAssertEqual(forward().map(\.bitPattern), plain.map(\.bitPattern), "\(layer.name): unfused again")
        }
    }

    /// oneDNN fixes a primitive's thread count when it is made: after the
    /// count changes, a model must compute exactly what a model made under
    /// the new count computes, not reuse primitives made under the old one.
    func testAThreadCountChangeReachesExistingModels() throws {
        defer { ComputeKernels.setThreads(1) }
        let batch = 16
        func gradients(_ model: Model) -> [UInt32] {
            let x = gaussian(batch * model.inputCount, seed: 18)
            let labels = (0..<batch).map { Int32($0 % model.classes) }
            _ = model.trainStep(features: x, labels: labels, batch: batch)
            return model.store.gradients.map(\.bitPattern)
        }
        ComputeKernels.setThreads(1)
        let model = makeModel(.cnn, seed: 19)
        let one = gradients(model)
        ComputeKernels.setThreads(2)
        let two = gradients(model)
        let fresh = gradients(makeModel(.cnn, seed: 19))
        let differing = zip(two, fresh).filter { $0 != $1 }.count
        XCTAssertEqual(differing, 0, "the model kept primitives made for one thread")
        // Where one and two threads round alike the check above cannot tell them apart; say so.
        print("gradients at 1 and 2 threads are \(one == two ? "bitwise equal" : "different")")
    }

    /// oneDNN fixes its instruction set when kernels first run; a later cap is
    /// refused, never silently ignored. The reported set is a known one, and
    /// within ONEDNN_MAX_CPU_ISA when that is set (scripts/test runs the NN
    /// tests under several caps).
    func testTheInstructionSetIsKnownAndWithinTheCap() throws {
        _ = makeModel(.mlp, hidden: [8], seed: 1).forward(features: gaussian(784, seed: 1), batch: 1)
        let isa = try XCTUnwrap(CPUISA(rawValue: ComputeKernels.effectiveISA), ComputeKernels.effectiveISA)
        XCTAssertFalse(ComputeKernels.setMaxISA(.sse41), "a cap after the first kernel must be refused")
        XCTAssertEqual(ComputeKernels.effectiveISA, isa.rawValue)
        let environment = ProcessInfo.processInfo.environment
        if let capName = environment["ONEDNN_MAX_CPU_ISA"] ?? environment["DNNL_MAX_CPU_ISA"], !capName.isEmpty, capName.lowercased() != "all" {
            let cap = try XCTUnwrap(CPUISA(rawValue: capName.lowercased()), "unknown cap \(capName)")
            XCTAssertTrue(cap.includes(isa), "\(isa) is above the cap \(cap)")
            print("effective ISA \(isa.rawValue) under cap \(cap.rawValue)")
        }
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    func maxMagnitude(_ a: [Float]) -> Float { a.reduce(0) { max($0, abs($1)) } }
}
