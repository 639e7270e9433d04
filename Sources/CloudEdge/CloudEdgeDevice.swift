import Collectives
import Data
import NN
import RunSupport

/// A device's state between rounds, kept by its executor: its id, its
/// partition as positions in the executor's samples (`gatherPartitions`)
/// and its minibatch sampler, seeded by (seed, device id).
struct DeviceState {
    let id: Int
    let indices: [Int]
    var sampler: MinibatchSampler
}

/// One sampled device within a round on its executor: its front (from the
/// executor's pool), its edge server, its batch in flight and its compute.
private final class Trainee {
    let state: Int
    let id: Int
    let edge: Int
    let front: Model
    let sgd: SGD
    var features: [Float]
    var labels: [Int32]
    var compute = 0.0

    init(state: Int, id: Int, edge: Int, front: Model, sgd: SGD, batch: Int, featureCount: Int) {
        (self.state, self.id, self.edge, self.front, self.sgd) = (state, id, edge, front, sgd)
        features = [Float](repeating: 0, count: batch * featureCount)
        labels = [Int32](repeating: 0, count: batch)
    }
}

extension CloudEdgeRun {
    /// A device executor's round: its sampled devices (none: idle) train
    /// side by side, in increasing device id, each on its own front loaded
    /// from the global one. Per local step every device, in that order, runs
    /// its front on one batch from its own sampler and sends the activations
    /// and labels to its cluster's edge server; then, in the same order, it
    /// takes the gradient at the cut from that server, finishes backward and
    /// takes a plain SGD step on its front. Messages between a pair of ranks
    /// with one tag arrive in the order sent (MPI's non-overtaking rule;
    /// the loopback's queues), and an edge server takes its cluster's devices
    /// in increasing id too, so each message is the device's it is read as,
    /// whichever devices share an executor or a cluster. At the end each
    /// device's trained front goes to the aggregator with its compute
    /// seconds (its own front forward, backward and step, never a wait) and
    /// the executor's peak resident memory.
    func executorRound(_ plan: RoundPlan, executor x: Int) throws {
        guard let tier = deviceEdge, let globalFront else { return }
        let sampled = plan.sampled.filter { roles.executor(ofDevice: $0) == x }
        guard !sampled.isEmpty else { return }
        let batch = config.batch
        while frontPool.count < sampled.count { frontPool.append(try makeFront()) }
        let trainees = try sampled.enumerated().map { i, d -> Trainee in
            guard let (_, edge) = plan.placement(ofDevice: d) else {
                throw CloudEdgeError.failed("rank \(peers.rank): the plan samples device \(d) but places it in no cluster")
            }
            let front = frontPool[i]
            front.store.loadParameters(globalFront)
            return Trainee(state: d / roles.executors, id: d, edge: edge, front: front,
                           sgd: SGD(parameterCount: front.parameterCount, learningRate: Float(config.learningRate)),
                           batch: batch, featureCount: train!.featureCount)
        }
        for step in 1...config.localSteps {
            var pending = [PendingSend]()
            for t in trainees {
                let indices = deviceStates[t.state].sampler.next()
                let t0 = monotonicSeconds()
                let front = t.front
                let activations = t.features.withUnsafeMutableBufferPointer { x in
                    t.labels.withUnsafeMutableBufferPointer { y in
                        train!.fillBatch(indices: indices, features: x.baseAddress!, labels: y.baseAddress!)
                        return Array(UnsafeBufferPointer(start: front.forward(features: x.baseAddress!, batch: batch),
                                                         count: batch * cutCount))
                    }
                }
                t.compute += monotonicSeconds() - t0
                try post(WireMessage(floats: activations, labels: t.labels), in: tier, to: t.edge,
                         tag: CloudEdgeTag.activations, pending: &pending)
            }
            for t in trainees {
                let (d, edge, front) = (t.id, t.edge, t.front)
                let reply = try WireMessage(
                    decoding: try receive(in: tier, from: edge, tag: CloudEdgeTag.gradient,
                                          "the cut gradient of step \(step) from edge server \(edge) for device \(d)"),
                    from: "edge server \(edge)", scalars: 0, floats: batch * cutCount)
                let t1 = monotonicSeconds()
                t.features.withUnsafeBufferPointer { x in
                    reply.floats.withUnsafeBufferPointer { g in
                        front.backward(features: x.baseAddress!, outputGradient: g.baseAddress!, inputGradient: nil, batch: batch)
                    }
                }
                t.sgd.step(parameters: front.store.parameters, gradients: front.store.gradients)
                t.compute += monotonicSeconds() - t1
            }
            // Every activation arrived: its edge server answered it.
            try finishSends(pending, in: tier)
        }
        var pending = [PendingSend]()
        let rss = Double(peakResidentKilobytes())
        for t in trainees {
            let trained = WireMessage(scalars: [Double(config.localSteps * batch), t.compute, rss], floats: t.front.store.copyParameters())
            try post(trained, in: tier, to: 0, tag: CloudEdgeTag.front, pending: &pending)
        }
        try finishSends(pending, in: tier)
    }

    /// A front alone (its weights are overwritten by the global front before use).
    func makeFront() throws -> Model {
        try makeSplitModel(config.model, imageShape: [28, 28, 1], classes: 10, hidden: config.hidden, cut: config.cut,
                           seed: config.seed, front: true, back: false).front!
    }
}
