import Collectives
import NN
import RunSupport

/// The figures an edge server sends the cloud with its distillation
/// samples, as the scalars of a `CloudEdgeTag.distill` message.
struct EdgeFigures {
    var samples = 0.0
    /// Back-half loss summed over steps, each step's mean times its batch.
    var lossSum = 0.0
    var deviceEdgeUp = 0.0
    var deviceEdgeDown = 0.0

    var scalars: [Double] { [samples, lossSum, deviceEdgeUp, deviceEdgeDown] }
    init() {}
    init(_ s: [Double]) { (samples, lossSum, deviceEdgeUp, deviceEdgeDown) = (s[0], s[1], s[2], s[3]) }
    static let count = 4
}

/// The devices' figures the aggregator sends the cloud with the averaged
/// model, as the scalars of a `CloudEdgeTag.aggregate` message: five
/// figures, then each sampled device's compute seconds in the plan's order.
struct AggregateFigures {
    var computeMax = 0.0
    var computeMean = 0.0
    var rssPeakKilobytes = 0.0
    var frontUpload = 0.0
    var backUpload = 0.0
    /// Compute seconds of each sampled device, in `RoundPlan.sampled` order.
    var compute: [Double] = []

    var scalars: [Double] { [computeMax, computeMean, rssPeakKilobytes, frontUpload, backUpload] + compute }
    init() {}
    init(_ s: [Double]) {
        (computeMax, computeMean, rssPeakKilobytes, frontUpload, backUpload) = (s[0], s[1], s[2], s[3], s[4])
        compute = Array(s[Self.count...])
    }
    /// Scalars before the per-device seconds.
    static let count = 5
}

extension CloudEdgeRun {
    /// An edge server's round. With a cluster: per local step it takes each
    /// device's activations and labels (in the cluster's device order),
    /// runs one SGD step of its back half on them all as one batch, and
    /// returns each device its slice of dL/d(activations), scaled by
    /// B / b_d (B the combined batch, b_d the device's): the back half's
    /// loss is the mean over B samples, so a device's slice holds 1/B of
    /// each sample's gradient, and times B / b_d it is the gradient of the
    /// device's own mean loss, as if the device had trained alone. It keeps
    /// a uniform sample of `--distill-samples` of the round's activations
    /// (over all steps and devices: `SampleReservoir`, seeded by the seed,
    /// the round and the edge server) for the cloud and sends its back half
    /// to the aggregator. Edge server 0 (rank 1) then
    /// aggregates.
    func edgeRound(_ plan: RoundPlan, edge e: Int) throws {
        guard let devicesTier = deviceEdge, let cloudTier = edgeCloud else { return }
        var pending = [PendingSend]()
        var ownBack: [Float]?
        if let c = plan.cluster(ofEdge: e) {
            let devices = plan.clusters[c]
            let sgd = SGD(parameterCount: back.parameterCount, learningRate: Float(config.learningRate))
            var figures = EdgeFigures()
            var reservoir = SampleReservoir(capacity: config.distillSamples, width: cutCount,
                                            rng: SampleReservoir.generator(seed: config.seed, round: plan.round, edge: e))
            // A step's gradients are waited for once the next step's
            // activations are in: their executors had them by then.
            var lastStep = [PendingSend]()
            for step in 1...config.localSteps {
                var features = [Float](), labels = [Int32](), sizes = [Int]()
                for d in devices {
                    let bytes = try receive(in: devicesTier, from: roles.tierRank(ofDevice: d), tag: CloudEdgeTag.activations,
                                            "activations of step \(step) from device \(d) (rank \(roles.rank(ofDevice: d)))")
                    let m = try WireMessage(decoding: bytes, from: "device \(d)", scalars: 0)
                    guard m.labels.count == config.batch else {
                        throw CloudEdgeError.failed("malformed message from device \(d): \(m.labels.count) labels in step \(step), not --batch \(config.batch)")
                    }
                    guard m.floats.count == m.labels.count * cutCount else {
                        throw CloudEdgeError.failed("malformed message from device \(d): \(m.floats.count) activations for \(m.labels.count) labels")
                    }
                    try m.checkLabels(classes: back.classes, from: "device \(d)")
                    features += m.floats
                    labels += m.labels
                    sizes.append(m.labels.count)
                    figures.deviceEdgeUp += Double(bytes.count)
                }
                try finishSends(lastStep, in: devicesTier)
                lastStep.removeAll()
                let total = labels.count
                let stepStart = monotonicSeconds()
                var gradient = [Float](repeating: 0, count: total * cutCount)
                let loss = features.withUnsafeBufferPointer { x in
                    labels.withUnsafeBufferPointer { y in
                        gradient.withUnsafeMutableBufferPointer { g in
                            back.trainStep(features: x.baseAddress!, labels: y.baseAddress!, batch: total, inputGradient: g.baseAddress!).loss
                        }
                    }
                }
                sgd.step(parameters: back.store.parameters, gradients: back.store.gradients)
                if config.emulateEdgeSpeed {
                    pause(stepStart + workload.workPerSample * Double(total) / network.edgeSpeeds[e] - monotonicSeconds())
                }
                figures.lossSum += loss * Double(total)
                figures.samples += Double(total)
                var offset = 0
                for (i, d) in devices.enumerated() {
                    let scale = Float(total) / Float(sizes[i])
                    let slice = gradient[offset..<offset + sizes[i] * cutCount].map { $0 * scale }
                    offset += sizes[i] * cutCount
                    figures.deviceEdgeDown += Double(try post(WireMessage(floats: slice), in: devicesTier,
                                                              to: roles.tierRank(ofDevice: d), tag: CloudEdgeTag.gradient, pending: &lastStep))
                }
                reservoir.offer(features: features, labels: labels)
            }
            pending += lastStep
            if e == 0 {
                ownBack = back.store.copyParameters()
            } else {
                try post(WireMessage(scalars: [figures.samples], floats: back.store.copyParameters()), in: cloudTier, to: 1,
                         tag: CloudEdgeTag.back, pending: &pending)
            }
            let kept = WireMessage(scalars: figures.scalars, floats: reservoir.floats, labels: reservoir.labels)
            try post(kept, in: cloudTier, to: 0, tag: CloudEdgeTag.distill, pending: &pending)
        }
        if e == 0 { try aggregate(plan, ownBack: ownBack, pending: &pending) }
        try finishSends(pending, in: devicesTier)
    }

    /// The aggregator (edge server 0, rank 1): the global front is the
    /// average of the sampled devices' fronts weighted by their samples, the
    /// global back the average of the clusters' back halves weighted by the
    /// cluster's samples (each sum in Double, in device and cluster order,
    /// rounded to Float once). Both go to the cloud with the devices' figures.
    /// The weights come from the plan (local steps x batch per device, the
    /// cluster's sum for a back half: every step of every device is a full
    /// batch, which the edge servers check); the counts the senders report
    /// must equal them. Fronts are summed as they arrive (in device order:
    /// an executor sends its devices' in that order), so the aggregator
    /// holds one sum, not a front per sampled device.
    func aggregate(_ plan: RoundPlan, ownBack: [Float]?, pending: inout [PendingSend]) throws {
        guard let devicesTier = deviceEdge, let cloudTier = edgeCloud else { return }
        var figures = AggregateFigures()
        let perDevice = config.localSteps * config.batch
        var fronts = WeightedSum(count: frontCount)
        for d in plan.sampled {
            let bytes = try receive(in: devicesTier, from: roles.tierRank(ofDevice: d), tag: CloudEdgeTag.front,
                                    "the trained front of device \(d) (rank \(roles.rank(ofDevice: d)))")
            let sender = "device \(d)"
            let m = try WireMessage(decoding: bytes, from: sender, scalars: 3, floats: frontCount)
            try checkSampleCount(m.scalars[0], expected: perDevice, from: sender)
            let compute = try wireSeconds(m.scalars[1], "compute seconds", from: sender)
            let rss = try wireCount(m.scalars[2], "peak RSS KiB", from: sender)
            fronts.add(m.floats, weight: Double(perDevice))
            figures.compute.append(compute)
            figures.computeMax = max(figures.computeMax, compute)
            figures.computeMean += compute / Double(plan.sampled.count)
            figures.rssPeakKilobytes = max(figures.rssPeakKilobytes, Double(rss))
            figures.frontUpload += Double(bytes.count)
        }
        var backs = [(Double, [Float])]()
        for (c, edge) in plan.assignment.enumerated() {
            let samples = perDevice * plan.clusters[c].count
            if edge == 0, let ownBack {
                backs.append((Double(samples), ownBack))
                continue
            }
            let bytes = try receive(in: cloudTier, from: edge + 1, tag: CloudEdgeTag.back,
                                    "the back half of edge server \(edge) (rank \(roles.rank(ofEdge: edge)))")
            let sender = "edge server \(edge)"
            let m = try WireMessage(decoding: bytes, from: sender, scalars: 1, floats: backCount)
            try checkSampleCount(m.scalars[0], expected: samples, from: sender)
            backs.append((Double(samples), m.floats))
            figures.backUpload += Double(bytes.count)
        }
        let globalFront = fronts.average
        aggregatedFront = globalFront
        let model = globalFront + weightedAverage(backs)
        try post(WireMessage(scalars: figures.scalars, floats: model), in: cloudTier, to: 0, tag: CloudEdgeTag.aggregate,
                 pending: &pending)
        try finishSends(pending, in: cloudTier)
        pending.removeAll()
    }
}

/// sum_i w_i x_i / sum_i w_i, element-wise, summed in Double in the given
/// order and rounded to Float once.
func weightedAverage(_ parts: [(weight: Double, values: [Float])]) -> [Float] {
    guard let first = parts.first else { return [] }
    var sum = WeightedSum(count: first.values.count)
    for (w, values) in parts { sum.add(values, weight: w) }
    return sum.average
}

/// `weightedAverage` taken one part at a time: the parts' weighted sum and
/// their total weight, in Double, in the order added.
struct WeightedSum {
    private var sum: [Double]
    private var total = 0.0

    init(count: Int) { sum = [Double](repeating: 0, count: count) }

    mutating func add(_ values: [Float], weight w: Double) {
        precondition(values.count == sum.count, "\(values.count) values for a sum of \(sum.count)")
        total += w
        for i in 0..<sum.count { sum[i] += w * Double(values[i]) }
    }

    /// The sum over the total weight, each rounded to Float once.
    var average: [Float] { sum.map { Float($0 / total) } }
}
