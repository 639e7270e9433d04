import Collectives
import Data
import NN
import RunSupport

/// What the cloud (rank 0) holds besides the global halves: the cloud
/// model, the metrics and the run's bookkeeping.
final class CloudState {
    let model: Model
    let metrics: MetricsLog
    let progress: ProgressPrinter
    var metricsRecords = 0
    /// Wall seconds of the run before this process (resumed runs).
    var elapsedBefore = 0.0
    var lastEdge = (loss: Double.nan, accuracy: Double.nan)
    var lastCloud = (loss: Double.nan, accuracy: Double.nan)
    var totalBytes = LinkBytes()
    var emulatedSeconds = 0.0
    /// This round's figures, gathered as the messages arrive.
    var roundBytes = LinkBytes()
    var edges = EdgeFigures()
    var devices = AggregateFigures()
    /// The last distillation step's losses; without distillation only the
    /// cloud model's hard-label loss.
    var distillLosses: (back: Double?, cloud: Double)?
    var distillSamples = 0

    init(config: CloudEdgeConfig, cutShape: [Int], progress: ProgressPrinter) {
        // Its own seed stream: the cloud model's weights do not repeat the edge model's.
        model = makeCloudModel(inputShape: cutShape, classes: 10, seed: config.seed &+ 0xC10D)
        metrics = MetricsLog(path: config.metricsPath)
        self.progress = progress
    }
}

extension CloudEdgeRun {
    /// The cloud's round: it takes each matched edge server's distillation
    /// samples and figures (in cluster order) and the aggregator's averaged
    /// model, then, with `--distill`, runs the mutual distillation on the
    /// samples (`distil`) and evaluates both models.
    func cloudRound(_ plan: RoundPlan) throws {
        guard let tier = edgeCloud, let state = cloud else { return }
        state.edges = EdgeFigures()
        var samples = WireMessage()
        for (c, edge) in plan.assignment.enumerated() {
            let bytes = try receive(in: tier, from: edge + 1, tag: CloudEdgeTag.distill,
                                    "distillation samples of edge server \(edge) (rank \(roles.rank(ofEdge: edge)))")
            let sender = "edge server \(edge)"
            let m = try WireMessage(decoding: bytes, from: sender, scalars: EdgeFigures.count)
            guard m.floats.count == m.labels.count * cutCount, m.labels.count <= config.distillSamples else {
                throw CloudEdgeError.failed("""
                    malformed message from \(sender): \(m.floats.count) activations for \(m.labels.count) labels \
                    (at most --distill-samples \(config.distillSamples))
                    """)
            }
            try m.checkLabels(classes: back.classes, from: sender)
            samples.floats += m.floats
            samples.labels += m.labels
            let f = EdgeFigures(m.scalars)
            try checkSampleCount(f.samples, expected: config.localSteps * config.batch * plan.clusters[c].count, from: sender)
            state.edges.samples += f.samples
            state.edges.lossSum += f.lossSum
            state.roundBytes.deviceEdgeUp += try wireCount(f.deviceEdgeUp, "device-edge upload bytes", from: sender)
            state.roundBytes.deviceEdgeDown += try wireCount(f.deviceEdgeDown, "device-edge download bytes", from: sender)
            state.roundBytes.edgeCloudUp += bytes.count
        }
        let bytes = try receive(in: tier, from: 1, tag: CloudEdgeTag.aggregate, "the averaged model from the aggregator (rank 1)")
        let sender = "the aggregator"
        let m = try WireMessage(decoding: bytes, from: sender, scalars: AggregateFigures.count + plan.sampled.count,
                                floats: front.parameterCount + back.parameterCount)
        state.roundBytes.edgeCloudUp += bytes.count
        let devices = AggregateFigures(m.scalars)
        _ = try wireSeconds(devices.computeMax, "device compute max seconds", from: sender)
        _ = try wireSeconds(devices.computeMean, "device compute mean seconds", from: sender)
        _ = try wireCount(devices.rssPeakKilobytes, "device peak RSS KiB", from: sender)
        for (d, seconds) in zip(plan.sampled, devices.compute) {
            _ = try wireSeconds(seconds, "compute seconds of device \(d)", from: sender)
        }
        state.devices = devices
        state.roundBytes.frontUpload = try wireCount(devices.frontUpload, "front upload bytes", from: sender)
        state.roundBytes.backUpload = try wireCount(devices.backUpload, "back upload bytes", from: sender)
        front.store.loadParameters(Array(m.floats[..<front.parameterCount]))
        back.store.loadParameters(Array(m.floats[front.parameterCount...]))
        state.distillSamples = samples.labels.count
        state.distillLosses = samples.labels.isEmpty ? nil
            : config.distill ? distil(samples, cloud: state.model) : (back: nil, cloud: trainOnHardLabels(samples, cloud: state.model))
        full.store.loadParameters(globalParameters)
        state.lastEdge = evaluate(full, on: test!, batch: config.evalBatch)
        state.lastCloud = evaluateChain(front, then: state.model, on: test!, batch: config.evalBatch)
    }

    /// Mutual distillation on the round's samples (activations at the cut
    /// and hard labels), `--distill-steps` times, each step on all samples
    /// as one batch: the cloud model predicts, the averaged back half takes
    /// one SGD step on the distillation loss against the cloud's logits;
    /// then the updated back half predicts and the cloud model takes one
    /// step against its logits. Returns the last step's mean losses.
    func distil(_ samples: WireMessage, cloud model: Model) -> (back: Double?, cloud: Double) {
        let n = samples.labels.count
        let classes = back.classes
        let backSGD = SGD(parameterCount: back.parameterCount, learningRate: Float(config.learningRate))
        let cloudSGD = SGD(parameterCount: model.parameterCount, learningRate: Float(config.learningRate))
        var losses: (back: Double?, cloud: Double) = (nil, .nan)
        samples.floats.withUnsafeBufferPointer { x in
            samples.labels.withUnsafeBufferPointer { y in
                for _ in 0..<config.distillSteps {
                    let teacher = Array(UnsafeBufferPointer(start: model.forward(features: x.baseAddress!, batch: n), count: n * classes))
                    losses.back = teacher.withUnsafeBufferPointer { t in
                        back.distillationStep(features: x.baseAddress!, labels: y.baseAddress!, teacherLogits: t.baseAddress!,
                                              temperature: config.temperature, alpha: config.distillAlpha, batch: n).loss
                    }
                    backSGD.step(parameters: back.store.parameters, gradients: back.store.gradients)
                    let student = Array(UnsafeBufferPointer(start: back.forward(features: x.baseAddress!, batch: n), count: n * classes))
                    losses.cloud = student.withUnsafeBufferPointer { s in
                        model.distillationStep(features: x.baseAddress!, labels: y.baseAddress!, teacherLogits: s.baseAddress!,
                                               temperature: config.temperature, alpha: config.distillAlpha, batch: n).loss
                    }
                    cloudSGD.step(parameters: model.store.parameters, gradients: model.store.gradients)
                }
            }
        }
        return losses
    }

    /// `--no-distill`'s cloud step: the cloud model trains on the round's
    /// samples with the hard labels only (the distillation step with alpha
    /// 0, as plain cross-entropy), `--distill-steps` SGD steps on all samples
    /// as one batch, and the back half is left as aggregated. So the cloud
    /// model's accuracy without distillation is that of a model trained on
    /// the same activations, not of an untrained one. Returns the last
    /// step's mean loss.
    func trainOnHardLabels(_ samples: WireMessage, cloud model: Model) -> Double {
        let n = samples.labels.count
        let sgd = SGD(parameterCount: model.parameterCount, learningRate: Float(config.learningRate))
        var loss = Double.nan
        samples.floats.withUnsafeBufferPointer { x in
            samples.labels.withUnsafeBufferPointer { y in
                for _ in 0..<config.distillSteps {
                    loss = model.trainStep(features: x.baseAddress!, labels: y.baseAddress!, batch: n).loss
                    sgd.step(parameters: model.store.parameters, gradients: model.store.gradients)
                }
            }
        }
        return loss
    }

    /// Writes the round record and the progress line (after the global
    /// model went out, so that its bytes count).
    func finishRound(_ plan: RoundPlan) throws {
        guard let state = cloud else { return }
        let wall = monotonicSeconds() - startTime + state.elapsedBefore
        state.totalBytes = state.totalBytes + state.roundBytes
        state.emulatedSeconds += plan.emulatedSeconds
        let record = CloudEdgeRoundRecord(figures: .init(
            round: plan.round, wallSeconds: wall, testAccuracy: state.lastEdge.accuracy, testLoss: state.lastEdge.loss,
            cloudTestAccuracy: state.lastCloud.accuracy, cloudTestLoss: state.lastCloud.loss,
            trainLoss: state.edges.samples > 0 ? state.edges.lossSum / state.edges.samples : .nan,
            sampled: plan.sampled, clusters: plan.clusters, assignment: plan.assignment,
            clusterKLMean: plan.meanDivergence, matchingCost: plan.cost, optimalMatchingCost: plan.optimalCost,
            randomClusterKLMean: plan.randomClustersMeanDivergence, greedyMatchingCost: plan.greedyCost,
            randomMatchingCost: plan.randomCost,
            emulatedRoundSeconds: plan.emulatedSeconds, deviceComputeMax: state.devices.computeMax,
            deviceComputeMean: state.devices.computeMean, deviceRSSPeakBytes: Int(state.devices.rssPeakKilobytes) * 1024,
            devices: deviceEntries(plan, compute: state.devices.compute),
            distillBackLoss: state.distillLosses?.back, distillCloudLoss: state.distillLosses?.cloud,
            distillSamples: state.distillSamples), bytes: state.roundBytes)
        try state.metrics.append(record)
        state.metricsRecords += 1
        // The next round's bytes start here (round 1's include the start's distribution).
        state.roundBytes = LinkBytes()
        state.progress.line(String(
            format: "round %d/%d  edge acc %.4f loss %.4f  cloud acc %.4f  KL %.4f  cost %.3gs (optimal %.3gs)  %@  ETA %@",
            plan.round, config.rounds, state.lastEdge.accuracy, state.lastEdge.loss, state.lastCloud.accuracy,
            plan.meanDivergence, plan.cost, plan.optimalCost, ProgressPrinter.duration(wall),
            ProgressPrinter.duration(ProgressPrinter.eta(elapsed: monotonicSeconds() - startTime, done: plan.round - roundsAtStart,
                                                         total: config.rounds - roundsAtStart))))
    }

    /// The round's sampled devices, in order: the executor rank, the
    /// compute seconds the aggregator relayed (measured) and the link time
    /// the cost model gives on its link to its edge server (emulated).
    func deviceEntries(_ plan: RoundPlan, compute: [Double]) -> [CloudEdgeDeviceEntry] {
        zip(plan.sampled, compute).map { d, seconds in
            let edge = plan.placement(ofDevice: d)!.edge
            return CloudEdgeDeviceEntry(
                device: d, rank: roles.rank(ofDevice: d), computeSeconds: seconds,
                emulatedLinkSeconds: transmissionSeconds(samples: config.localSteps * config.batch, mbps: network.linkMbps[d][edge],
                                                         workload: workload))
        }
    }

    /// The final record, written to the metrics and summarized.
    func finalRecord() throws -> CloudEdgeFinalRecord {
        let state = cloud!
        let wall = monotonicSeconds() - startTime + state.elapsedBefore
        let final = CloudEdgeFinalRecord(summary: .init(
            model: full.name, cutLayer: config.cut, frontParameters: front.parameterCount, backParameters: back.parameterCount,
            cloudParameters: state.model.parameterCount, ranks: roles.ranks, edgeServers: roles.edges, devices: roles.devices,
            clusters: config.clusterCount, rounds: config.rounds, clustering: config.clustering.rawValue,
            matching: config.matching.rawValue, distill: config.distill, seed: config.seed, data: config.data.name,
            testAccuracy: state.lastEdge.accuracy, testLoss: state.lastEdge.loss, cloudTestAccuracy: state.lastCloud.accuracy,
            cloudTestLoss: state.lastCloud.loss, wallSeconds: wall, emulatedSeconds: state.emulatedSeconds,
            modelSHA256: SHA256.hex(globalParameters), cloudModelSHA256: SHA256.hex(state.model.store.copyParameters())),
            bytes: state.totalBytes)
        try state.metrics.append(final)
        state.metricsRecords += 1
        let b = state.totalBytes
        state.progress.line(String(
            format: "done: edge model test accuracy %.4f (loss %.4f), cloud model %.4f, %@; device-edge %@ up %@ down, "
                + "edge-cloud %@ up, aggregation %@, global front %@ and back %@ out; emulated %@",
            state.lastEdge.accuracy, state.lastEdge.loss, state.lastCloud.accuracy, ProgressPrinter.duration(wall),
            formatBytes(b.deviceEdgeUp), formatBytes(b.deviceEdgeDown), formatBytes(b.edgeCloudUp),
            formatBytes(b.frontUpload + b.backUpload), formatBytes(b.frontBroadcast), formatBytes(b.backBroadcast), ProgressPrinter.duration(state.emulatedSeconds)))
        return final
    }
}

/// Mean loss and accuracy of `head` on the outputs of `front` over all of
/// `dataset`, in batches of `batch`: the cloud model's view of the test set.
func evaluateChain(_ front: Model, then head: Model, on dataset: ImageDataset, batch: Int) -> (loss: Double, accuracy: Double) {
    evaluate(on: dataset, batch: batch) { x, y, n in
        head.evaluate(features: front.forward(features: x, batch: n), labels: y, batch: n)
    }
}
