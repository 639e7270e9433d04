import Compression
import Foundation
import MPI
import NN
import RunSupport

extension FederatedClient {
    /// An early-sent layer in flight.
    struct EarlySend {
        let layer: Int
        /// The layer's cumulative update C_l at the moment it was sent.
        let snapshot: [Float]
        let request: Request
    }

    /// One round of local training on the weights in `message`, with the
    /// autonomy rules when enabled: a sampling round records the progress
    /// curve; other rounds may stop early and send converged layers early.
    func trainRound(_ message: FederatedMessage, downloadBytes: Int) throws -> FederatedMessage {
        let received = monotonicSeconds()
        let global = message.floats()
        guard global.count == model.parameterCount else {
            throw FederatedError("client \(world.rank): model of \(global.count) floats, expected \(model.parameterCount)")
        }
        model.store.loadParameters(global)
        pause(linkSeconds(bytes: downloadBytes, megabitsPerSecond: config.bandwidth(ofClient: world.rank)))
        let round = message[int: .round]
        let assigned = message[int: .steps]
        let planned = assigned > 0 ? assigned : config.defaultSteps(samples: indices.count)
        let autonomy = config.autonomy
        let sampling = autonomy.enabled && autonomy.isSampling(round: round)
        let reference = message[.referenceTime]
        let stopRule = EarlyStopRule(benefitWeight: autonomy.benefitWeight, freeFraction: autonomy.freeFraction)
        let curve = curves.last ?? .straightLine(iterations: planned)
        // Layers to send early, by the iteration at which both curves say they converged.
        var sendAt = [Int: [Int]]()
        if autonomy.earlyTransmit && !sampling {
            for l in layers.indices {
                if let i = convergedIteration(curves, layer: l, threshold: autonomy.convergeThreshold), i < planned {
                    sendAt[i, default: []].append(l)
                }
            }
        }
        let checkpoints = sampling ? Set(ProgressCurve.checkpointIterations(planned)) : []
        var snapshots = [[Float]](), snapshotIterations = [Int]()

        let sgd = SGD(parameterCount: model.parameterCount, learningRate: Float(config.learningRate),
                      momentum: Float(config.momentum), weightDecay: Float(config.weightDecay))
        if config.strategy == .fedprox { sgd.gradientHook = fedProxTerm(global: global, mu: config.mu) }
        var features = [Float](repeating: 0, count: config.batch * train.featureCount)
        var labels = [Int32](repeating: 0, count: config.batch)
        var losses = [Double]()
        var compute = 0.0, waited = 0.0
        var early = [EarlySend]()
        var recent = [Double]()
        let trainingStart = monotonicSeconds()
        var stoppedAt = 0
        var steps = 0
        for i in 1...planned {
            let slow = speed.beginStep()
            let t0 = monotonicSeconds()
            let batch = sampler.next()
            let loss = features.withUnsafeMutableBufferPointer { x in
                labels.withUnsafeMutableBufferPointer { y in
                    train.fillBatch(indices: batch, features: x.baseAddress!, labels: y.baseAddress!)
                    return model.trainStep(features: x.baseAddress!, labels: y.baseAddress!, batch: config.batch).loss
                }
            }
            sgd.step(parameters: model.store.parameters, gradients: model.store.gradients)
            let seconds = monotonicSeconds() - t0
            compute += seconds
            let wait = speed.extraWait(computeSeconds: seconds, slow: slow)
            pause(wait)
            waited += wait
            losses.append(loss)
            recent.append(seconds + wait)
            if recent.count > 5 { recent.removeFirst() }
            steps = i
            if checkpoints.contains(i) {
                snapshots.append(cumulativeUpdate(global, 0..<model.parameterCount))
                snapshotIterations.append(i)
            }
            for l in sendAt[i] ?? [] { early.append(try sendLayer(l, global: global, round: round, iteration: i)) }
            for e in early { _ = try e.request.test() }
            if autonomy.earlyStop && !sampling && i < planned
                && stopRule.shouldStop(curve: curve, iteration: i, iterationSeconds: recent.sorted()[recent.count / 2],
                                       elapsed: monotonicSeconds() - trainingStart, reference: reference) {
                stoppedAt = i
                break
            }
            // The deadline baseline: stop at the reference round time, keep the partial work.
            if config.partialWork && i < planned && reference > 0 && monotonicSeconds() - trainingStart >= reference {
                stoppedAt = i
                break
            }
        }
        if sampling {
            curves.append(ProgressCurve(snapshots: snapshots, at: snapshotIterations, layers: layers.map(\.range)))
            if curves.count > 2 { curves.removeFirst() }
        }

        var update = FederatedMessage(kind: .update)
        update[int: .round] = round
        update[int: .version] = message[int: .version]
        update[int: .steps] = steps
        update[int: .plannedSteps] = planned
        update[.secondsPerStep] = steps > 0 ? (compute + waited) / Double(steps) : 0
        let window = max(1, min(5, losses.count))
        update[.lossBefore] = losses.isEmpty ? 0 : losses.prefix(window).reduce(0, +) / Double(window)
        update[.lossAfter] = losses.isEmpty ? 0 : losses.suffix(window).reduce(0, +) / Double(window)
        update[.computeSeconds] = compute
        update[.waitSeconds] = waited
        update[int: .downloadBytes] = downloadBytes
        update[int: .stoppedAt] = stoppedAt

        var delta = [Float](repeating: 0, count: model.parameterCount)
        for k in 0..<delta.count { delta[k] = model.store.parameters[k] - global[k] }
        if let b = config.byzantine, b.ranks.contains(world.rank) {
            b.poison(&delta, seed: config.seed, rank: world.rank, round: round)
        }
        if early.isEmpty {
            try encodeDelta(&delta, into: &update)
        } else {
            let masks = earlyCopyMasks(early.map { ($0.layer, $0.snapshot) }, threshold: autonomy.resendThreshold) {
                cumulativeUpdate(global, layers[$0].range)
            }
            update[int: .earlyLayers] = masks.sent
            update[int: .keptLayers] = masks.kept
            update[int: .resentLayers] = masks.resent
            uploadPayload(delta, layers: layers.map(\.range), kept: masks.kept).withUnsafeBufferPointer { update.setFloats($0) }
            try Request.waitAll(early.map(\.request), timeout: config.communicationTimeout)
        }
        update[.localSeconds] = monotonicSeconds() - received
        return update
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
    /// link from now (or from when the link is free) for its transfer time,
    /// while training goes on; the final upload queues behind it (`upload`).
    func sendLayer(_ l: Int, global: [Float], round: Int, iteration: Int) throws -> EarlySend {
        let range = layers[l].range
        var message = FederatedMessage(kind: .layer)
        message[int: .round] = round
        message[int: .layer] = l
        message[int: .rangeStart] = range.lowerBound
        message[int: .rangeCount] = range.count
        message[int: .iteration] = iteration
        UnsafeBufferPointer(rebasing: model.store.parameters[range]).withMemoryRebound(to: Float.self) { message.setFloats($0) }
        let bytes = message.encoded()
        _ = link.send(bytes: bytes.count, at: monotonicSeconds())
        let request = try world.isend(MessageBuffer(bytes), to: 0, tag: FederatedTag.update)
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
