import Collectives
import NN
import RunSupport

extension CloudEdgeRun {
    /// A device's round: idle unless sampled; then per local step its front
    /// runs on one local batch, the activations and labels go to its
    /// cluster's edge server, the gradient at the cut comes back, and the
    /// device finishes backward and takes a plain SGD step on its front.
    /// At the end the trained front goes to the aggregator with the
    /// device's compute seconds (front forward, backward and step, never a
    /// wait) and peak resident memory.
    func deviceRound(_ plan: RoundPlan, device d: Int) throws {
        guard let (_, edge) = plan.placement(ofDevice: d), let tier = deviceEdge, var sampler else { return }
        let batch = config.batch
        let sgd = SGD(parameterCount: front.parameterCount, learningRate: Float(config.learningRate))
        var features = [Float](repeating: 0, count: batch * train.featureCount)
        var labels = [Int32](repeating: 0, count: batch)
        var compute = 0.0
        var pending = [PendingSend]()
        for step in 1...config.localSteps {
            let indices = sampler.next()
            let t0 = monotonicSeconds()
            let activations = features.withUnsafeMutableBufferPointer { x in
                labels.withUnsafeMutableBufferPointer { y in
                    train.fillBatch(indices: indices, features: x.baseAddress!, labels: y.baseAddress!)
                    return Array(UnsafeBufferPointer(start: front.forward(features: x.baseAddress!, batch: batch),
                                                     count: batch * cutCount))
                }
            }
            compute += monotonicSeconds() - t0
            try post(WireMessage(floats: activations, labels: labels), in: tier, to: edge, tag: CloudEdgeTag.activations,
                     pending: &pending)
            let reply = try WireMessage(
                decoding: try receive(in: tier, from: edge, tag: CloudEdgeTag.gradient, "the cut gradient of step \(step) from edge server \(edge)"),
                from: "edge server \(edge)", scalars: 0, floats: batch * cutCount)
            let t1 = monotonicSeconds()
            features.withUnsafeBufferPointer { x in
                reply.floats.withUnsafeBufferPointer { g in
                    front.backward(features: x.baseAddress!, outputGradient: g.baseAddress!, inputGradient: nil, batch: batch)
                }
            }
            sgd.step(parameters: front.store.parameters, gradients: front.store.gradients)
            compute += monotonicSeconds() - t1
        }
        self.sampler = sampler
        let trained = WireMessage(scalars: [Double(config.localSteps * batch), compute, Double(peakResidentKilobytes())],
                                  floats: front.store.copyParameters())
        try post(trained, in: tier, to: 0, tag: CloudEdgeTag.front, pending: &pending)
        try finishSends(pending, in: tier)
    }
}
