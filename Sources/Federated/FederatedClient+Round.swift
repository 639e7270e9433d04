import Collectives
import Compression
import Foundation
import NN
import RunSupport

extension FederatedClient {
    /// An early-sent layer in flight.
    struct EarlySend {
        let layer: Int
        /// The layer's cumulative update C_l at the moment it was sent.
        let snapshot: [Float]
        let request: PendingSend
    }

    /// What a round is to do, fixed when the model arrives.
    struct RoundPlan {
        let round: Int
        /// Local steps asked for (FedAda's assignment, else the default).
        let planned: Int
        /// An autonomy sampling round: record the progress curve, no early stop or send.
        let sampling: Bool
        /// The coordinator's reference round time (0: none).
        let reference: Double
        /// Layers to send early, by the iteration at which both curves say they converged.
        let sendAt: [Int: [Int]]
        /// Iterations at which a sampling round snapshots the cumulative update.
        let snapshotAt: Set<Int>
        /// `--clients`: the model's emulated download seconds, where the
        /// client's emulated clock for the round starts (0 otherwise).
        let downloadSeconds: Double
    }

    /// What local training did.
    struct LocalWork {
        var steps = 0
        /// The iteration training stopped at early (0: ran the full round).
        var stoppedAt = 0
        var losses = [Double]()
        var compute = 0.0, waited = 0.0
        /// The last five steps' seconds, emulated waits included.
        var recent = [Double]()
        var early = [EarlySend]()
        var snapshots = [[Float]](), snapshotIterations = [Int]()

        /// Seconds spent training so far, emulated waits included.
        var trainingSeconds: Double { compute + waited }
    }

    /// One round of local training on the weights in `message`, with the
    /// autonomy rules when enabled: a sampling round records the progress
    /// curve; other rounds may stop early and send converged layers early.
    func trainRound(_ message: FederatedMessage, downloadBytes: Int) throws -> FederatedMessage {
        let received = monotonicSeconds()
        let global = try loadGlobalModel(message, downloadBytes: downloadBytes)
        let plan = planRound(message, downloadBytes: downloadBytes)
        if accountsEmulatedTime { current.link = UploadLink(megabitsPerSecond: current.link.megabitsPerSecond) }
        let work = try trainLocally(plan, global: global)
        if plan.sampling { recordCurve(work) }
        var update = updateHeader(message, plan: plan, work: work, downloadBytes: downloadBytes)
        try attachChange(to: &update, global: global, plan: plan, early: work.early)
        update[.localSeconds] = accountsEmulatedTime ? plan.downloadSeconds + work.trainingSeconds : monotonicSeconds() - received
        return update
    }

    /// The client's clock within a round: with `--clients` its emulated
    /// clock (0 when the model was sent: download, then compute and emulated
    /// waits), else the monotonic clock.
    func clientClock(_ plan: RoundPlan, _ work: LocalWork) -> Double {
        accountsEmulatedTime ? plan.downloadSeconds + work.trainingSeconds : monotonicSeconds()
    }

    /// Loads the coordinator's model, then waits out its download on the
    /// `--client-bandwidth` link model. Returns the model (w(0) of the round).
    func loadGlobalModel(_ message: FederatedMessage, downloadBytes: Int) throws -> [Float] {
        let global = message.floats()
        guard global.count == model.parameterCount else {
            throw FederatedError.failed("client \(current.id): model of \(global.count) floats, expected \(model.parameterCount)")
        }
        model.store.loadParameters(global)
        if !accountsEmulatedTime {
            pause(linkSeconds(bytes: downloadBytes, megabitsPerSecond: config.bandwidth(ofClient: current.id)))
        }
        return global
    }

    func planRound(_ message: FederatedMessage, downloadBytes: Int) -> RoundPlan {
        let round = message[int: .round]
        let assigned = message[int: .steps]
        let planned = assigned > 0 ? assigned : config.defaultSteps(samples: indices.count)
        let autonomy = config.autonomy
        let sampling = autonomy.enabled && autonomy.isSampling(round: round)
        var sendAt = [Int: [Int]]()
        if autonomy.earlyTransmit && !sampling {
            for l in layers.indices {
                if let i = convergedIteration(current.curves, layer: l, threshold: autonomy.convergeThreshold), i < planned {
                    sendAt[i, default: []].append(l)
                }
            }
        }
        return RoundPlan(round: round, planned: planned, sampling: sampling, reference: message[.referenceTime], sendAt: sendAt,
                         snapshotAt: sampling ? Set(ProgressCurve.checkpointIterations(planned)) : [],
                         downloadSeconds: accountsEmulatedTime
                             ? linkSeconds(bytes: downloadBytes, megabitsPerSecond: config.bandwidth(ofClient: current.id)) : 0)
    }

    /// Up to `plan.planned` local SGD steps (FedProx adds its proximal term),
    /// with the emulated slowness, the sampling snapshots, the early sends
    /// and the stop rules.
    func trainLocally(_ plan: RoundPlan, global: [Float]) throws -> LocalWork {
        let sgd = SGD(parameterCount: model.parameterCount, learningRate: Float(config.learningRate),
                      momentum: Float(config.momentum), weightDecay: Float(config.weightDecay))
        if config.strategy == .fedprox { sgd.gradientHook = fedProxTerm(global: global, mu: config.mu) }
        var features = [Float](repeating: 0, count: config.batch * train.featureCount)
        var labels = [Int32](repeating: 0, count: config.batch)
        var work = LocalWork()
        let trainingStart = monotonicSeconds()
        for i in 1...plan.planned {
            localStep(sgd, &features, &labels, into: &work)
            work.steps = i
            if plan.snapshotAt.contains(i) {
                work.snapshots.append(cumulativeUpdate(global, 0..<model.parameterCount))
                work.snapshotIterations.append(i)
            }
            for l in plan.sendAt[i] ?? [] {
                work.early.append(try sendLayer(l, global: global, round: plan.round, iteration: i, at: clientClock(plan, work)))
            }
            for e in work.early { _ = try e.request.test() }
            let elapsed = accountsEmulatedTime ? work.trainingSeconds : monotonicSeconds() - trainingStart
            if i < plan.planned && shouldStop(plan, work, iteration: i, elapsed: elapsed) {
                work.stoppedAt = i
                break
            }
        }
        return work
    }

    /// One SGD step on the next minibatch, then the emulated slowness.
    func localStep(_ sgd: SGD, _ features: inout [Float], _ labels: inout [Int32], into work: inout LocalWork) {
        let slow = current.speed.beginStep()
        let t0 = monotonicSeconds()
        let batch = current.sampler.next()
        let loss = features.withUnsafeMutableBufferPointer { x in
            labels.withUnsafeMutableBufferPointer { y in
                train.fillBatch(indices: batch, features: x.baseAddress!, labels: y.baseAddress!)
                return model.trainStep(features: x.baseAddress!, labels: y.baseAddress!, batch: config.batch).loss
            }
        }
        sgd.step(parameters: model.store.parameters, gradients: model.store.gradients)
        let seconds = monotonicSeconds() - t0
        work.compute += seconds
        let wait = current.speed.extraWait(computeSeconds: seconds, slow: slow)
        if !accountsEmulatedTime { pause(wait) }
        work.waited += wait
        work.losses.append(loss)
        work.recent.append(seconds + wait)
        if work.recent.count > 5 { work.recent.removeFirst() }
    }

    /// Autonomy's early stop (outside sampling rounds), or the deadline
    /// baseline: stop at the reference round time, keeping the partial work.
    func shouldStop(_ plan: RoundPlan, _ work: LocalWork, iteration i: Int, elapsed: Double) -> Bool {
        let autonomy = config.autonomy
        if autonomy.earlyStop && !plan.sampling {
            let rule = EarlyStopRule(benefitWeight: autonomy.benefitWeight, freeFraction: autonomy.freeFraction)
            let curve = current.curves.last ?? .straightLine(iterations: plan.planned)
            if rule.shouldStop(curve: curve, iteration: i, iterationSeconds: work.recent.sorted()[work.recent.count / 2],
                               elapsed: elapsed, reference: plan.reference) { return true }
        }
        return config.partialWork && plan.reference > 0 && elapsed >= plan.reference
    }

    /// Keeps a sampling round's progress curve (the last two).
    func recordCurve(_ work: LocalWork) {
        current.curves.append(ProgressCurve(snapshots: work.snapshots, at: work.snapshotIterations, layers: layers.map(\.range)))
        if current.curves.count > 2 { current.curves.removeFirst() }
    }

    /// The update's header: the round, the work done and its timing.
    func updateHeader(_ message: FederatedMessage, plan: RoundPlan, work: LocalWork, downloadBytes: Int) -> FederatedMessage {
        var update = FederatedMessage(kind: .update)
        update[int: .round] = plan.round
        update[int: .version] = message[int: .version]
        update[int: .steps] = work.steps
        update[int: .plannedSteps] = plan.planned
        update[.secondsPerStep] = work.steps > 0 ? (work.compute + work.waited) / Double(work.steps) : 0
        let losses = work.losses
        let window = max(1, min(5, losses.count))
        update[.lossBefore] = losses.isEmpty ? 0 : losses.prefix(window).reduce(0, +) / Double(window)
        update[.lossAfter] = losses.isEmpty ? 0 : losses.suffix(window).reduce(0, +) / Double(window)
        update[.computeSeconds] = work.compute
        update[.waitSeconds] = work.waited
        update[int: .downloadBytes] = downloadBytes
        update[int: .stoppedAt] = work.stoppedAt
        return update
    }

    /// The payload: the change w - w(0) (poisoned on a Byzantine rank),
    /// encoded dense or Group-TopK; after early sends, only the layers whose
    /// early copy is not kept, once the early sends have completed.
    func attachChange(to update: inout FederatedMessage, global: [Float], plan: RoundPlan, early: [EarlySend]) throws {
        var delta = [Float](repeating: 0, count: model.parameterCount)
        for k in 0..<delta.count { delta[k] = model.store.parameters[k] - global[k] }
        if let b = config.byzantine, b.ranks.contains(current.id) {
            b.poison(&delta, seed: config.seed, rank: current.id, round: plan.round)
        }
        guard !early.isEmpty else { return try encodeDelta(&delta, into: &update, round: plan.round) }
        let masks = earlyCopyMasks(early.map { ($0.layer, $0.snapshot) }, threshold: config.autonomy.resendThreshold) {
            cumulativeUpdate(global, layers[$0].range)
        }
        update[int: .earlyLayers] = masks.sent
        update[int: .keptLayers] = masks.kept
        update[int: .resentLayers] = masks.resent
        uploadPayload(delta, layers: layers.map(\.range), kept: masks.kept).withUnsafeBufferPointer { update.setFloats($0) }
        try peers.waitAll(early.map(\.request), timeout: config.communicationTimeout)
    }

    /// C = w(0) - w over `range`.
    func cumulativeUpdate(_ global: [Float], _ range: Range<Int>) -> [Float] {
        [Float](unsafeUninitializedCapacity: range.count) { out, n in
            global.withUnsafeBufferPointer { g in
                let w = model.store.parameters.baseAddress!
                for k in 0..<range.count { out[k] = g[range.lowerBound + k] - w[range.lowerBound + k] }
            }
            n = range.count
        }
    }

    /// Sends layer `l`'s current parameters to the coordinator, non-blocking.
    /// On the `--client-bandwidth` link model the layer occupies the upload
    /// link from `now` on the client's clock (or from when the link is free)
    /// for its transfer time, while training goes on; the final upload
    /// queues behind it (`upload`).
    func sendLayer(_ l: Int, global: [Float], round: Int, iteration: Int, at now: Double) throws -> EarlySend {
        let range = layers[l].range
        var message = FederatedMessage(kind: .layer)
        message[int: .round] = round
        message[int: .layer] = l
        message[int: .rangeStart] = range.lowerBound
        message[int: .rangeCount] = range.count
        message[int: .iteration] = iteration
        if accountsEmulatedTime { message[int: .client] = current.id }
        UnsafeBufferPointer(rebasing: model.store.parameters[range]).withMemoryRebound(to: Float.self) { message.setFloats($0) }
        let bytes = message.encoded()
        _ = current.link.send(bytes: bytes.count, at: now)
        let request = try peers.startSend(bytes, to: 0, tag: FederatedTag.update)
        return EarlySend(layer: l, snapshot: cumulativeUpdate(global, range), request: request)
    }
}

/// Autonomy's keep-or-re-send rule for early-sent layers: the coordinator
/// keeps a layer's early copy when the update it carried (`snapshot`, C_l at
/// the send) still points where the layer's final update C_l(I) does,
/// cosine >= `threshold`; otherwise the layer is re-sent in the final upload.
/// `final(l)` gives C_l(I). Returns bit masks over layers.
func earlyCopyMasks(_ early: [(layer: Int, snapshot: [Float])], threshold: Double,
                    final: (Int) -> [Float]) -> (sent: Int, kept: Int, resent: Int) {
    var kept = 0, resent = 0, sent = 0
    for (layer, snapshot) in early {
        sent |= 1 << layer
        if cosineSimilarity(snapshot[...], final(layer)[...]) >= threshold { kept |= 1 << layer } else { resent |= 1 << layer }
    }
    return (sent, kept, resent)
}

/// The final upload of a client that sent layers early: the change of every
/// layer whose early copy is not kept, in layer order.
func uploadPayload(_ delta: [Float], layers: [Range<Int>], kept: Int) -> [Float] {
    var payload = [Float]()
    for (l, range) in layers.enumerated() where kept & (1 << l) == 0 { payload += delta[range] }
    return payload
}
