import Collectives
import Compression
import Data
import Foundation
import NN
import RunSupport

/// Rank 0 of the federated mode: holds the global model and the test set,
/// sends the model to selected clients, collects their changes, aggregates,
/// evaluates and records. `FederatedCoordinator+Sync` and `+Async` hold the
/// two round loops.
final class FederatedCoordinator {
    let config: FederatedConfig
    let peers: PeerGroup
    let test: ImageDataset
    let model: Model
    /// Training samples per client, by id (index 0 unused).
    let samples: [Int]
    /// The rank serving each client, by id (index 0 unused): the client's
    /// own rank, or its executor with `--clients`.
    let executorOf: [Int]
    let metrics: MetricsLog
    let progress: ProgressPrinter
    let startTime: Double
    /// The run's origin on the monotonic clock (earlier for a resumed run).
    var start: Double { startTime - elapsedBefore }
    let layout: GroupLayout?
    /// The upload codec (`CompressionMethod.isCodec`).
    let codec: (any GradientCodec)?
    /// Model messages still in flight.
    var pending: [PendingSend] = []
    /// Clients holding a model they have not answered yet.
    var busy = Set<Int>()
    /// `--clients`: per executor rank, the clients it holds a model for, in
    /// the order sent. An executor trains them in that order, so its next
    /// update is the first one's.
    var awaiting = [Int: [Int]]()
    var version = 0
    var lastTest = (loss: Double.nan, accuracy: Double.nan)
    var bytesUp = 0, bytesDown = 0, dropped = 0, late = 0, rejected = 0
    /// The last round completed (a resumed run starts after it).
    var roundsDone = 0
    /// FedAda's state and assignment, autonomy's reference round time.
    var fedAda = FedAdaAssigner()
    var assignment = [Int: Int]()
    var reference = 0.0
    /// Wall seconds of the run before this process (resumed runs).
    var elapsedBefore = 0.0
    var metricsRecords = 0
    /// `--trace`: the coordinator's phases.
    let tracer: Tracer

    init(config: FederatedConfig, peers: PeerGroup, test: ImageDataset, model: Model, samples: [Int], executorOf: [Int], start: Double) {
        self.config = config
        self.peers = peers
        self.test = test
        self.model = model
        self.samples = samples
        self.executorOf = executorOf
        self.startTime = start
        metrics = MetricsLog(path: config.metricsPath)
        progress = ProgressPrinter(enabled: true, toStandardError: config.json)
        layout = config.compression.flatMap {
            $0.method.isTopK ? GroupLayout(length: model.parameterCount, groupSize: $0.groupSize, ratio: $0.ratio) : nil
        }
        codec = config.compression?.makeCodec()
        tracer = Tracer(enabled: config.tracePath != nil)
    }

    /// The client ids: the client ranks, or 1...N with `--clients`.
    var clients: [Int] { Array(1..<executorOf.count) }
    /// The ranks that train clients (1..R-1).
    var executors: [Int] { Array(1..<peers.size) }
    var isVirtual: Bool { config.virtualClients != nil }

    /// Runs every round, stops the clients, and returns the final record.
    func run() throws -> FederatedFinalRecord {
        if config.asynchronous { try runAsynchronous() } else { try runSynchronous() }
        try stopClients()
        let hash = SHA256.hex(model.store.copyParameters())
        let wall = monotonicSeconds() - start
        let final = FederatedFinalRecord(figures: FederatedFinalRecord.Figures(
            mode: config.asynchronous ? "async" : "sync", model: model.name,
            parameters: model.parameterCount, ranks: peers.size, clients: clients.count,
            rounds: config.rounds, versions: version, strategy: config.strategy.rawValue,
            aggregation: config.aggregation.rawValue, seed: config.seed, data: config.data.name,
            testAccuracy: lastTest.accuracy, testLoss: lastTest.loss, wallSeconds: wall,
            bytesSent: bytesDown, bytesReceived: bytesUp, bytesUp: bytesUp, bytesDown: bytesDown,
            droppedUpdates: dropped, lateUpdates: late, rejectedUpdates: rejected, modelSHA256: hash),
            compression: CompressionKeys(config.compression, parameterCount: model.parameterCount))
        try metrics.append(final)
        metricsRecords += 1
        progress.line(String(format: "done: test accuracy %.4f, test loss %.4f, %d versions, %@, %@ down, %@ up, %d dropped, %d rejected",
                             lastTest.accuracy, lastTest.loss, version, ProgressPrinter.duration(wall),
                             formatBytes(bytesDown), formatBytes(bytesUp), dropped + late, rejected))
        return final
    }

    /// Sends the global model to `client` (non-blocking; a busy client takes
    /// it when it is done). Returns the bytes sent.
    @discardableResult
    func sendModel(to client: Int, round: Int, steps: Int, reference: Double = 0) throws -> Int {
        var message = FederatedMessage(kind: .model)
        message[int: .round] = round
        message[int: .version] = version
        message[int: .steps] = steps
        message[.referenceTime] = reference
        message[int: .client] = isVirtual ? client : 0
        message.setFloats(UnsafeBufferPointer(model.store.parameters))
        let bytes = message.encoded()
        pending.append(try peers.startSend(bytes, to: executorOf[client], tag: FederatedTag.model))
        pending.removeAll { (try? $0.test()) ?? false }
        busy.insert(client)
        if isVirtual { awaiting[executorOf[client], default: []].append(client) }
        bytesDown += bytes.count
        return bytes.count
    }

    /// The next message from any client, or nil once `deadline` (monotonic
    /// seconds) has passed. Waiting longer than the communication timeout
    /// is an error: a client is gone or stuck.
    ///
    /// The client is the sending rank; with `--clients`, an update or early
    /// layer is the sending executor's oldest awaited client's, and
    /// `refusal` says why it is refused when its `client` field names
    /// another client. An update no client of its executor was awaiting is
    /// counted as rejected and skipped. Without `--clients` the field is
    /// ignored.
    func nextMessage(deadline: Double?) throws -> (client: Int, message: FederatedMessage, bytes: Int, refusal: String?)? {
        while true {
            let now = monotonicSeconds()
            let limit = deadline.map { min(max($0 - now, 0), config.communicationTimeout) } ?? config.communicationTimeout
            guard let (source, bytes) = try peers.receive(from: nil, tag: FederatedTag.update, waiting: limit) else {
                if let deadline, monotonicSeconds() >= deadline { return nil }
                throw FederatedError.failed("coordinator: no client answered for \(Int(config.communicationTimeout)) s")
            }
            let message = try FederatedMessage(decoding: bytes, from: "rank \(source)")
            guard isVirtual, message.kind == .update || message.kind == .layer else { return (source, message, bytes.count, nil) }
            let labelled = message[int: .client]
            guard let client = awaiting[source]?.first else {
                rejected += 1
                progress.line("rejected an update from rank \(source) labelled client \(labelled): no client of that rank holds a model")
                continue
            }
            if message.kind == .update { awaiting[source]!.removeFirst() }
            let refusal = labelled == client ? nil : "rank \(source) labelled client \(client)'s \(message.kind == .update ? "update" : "layer") as client \(labelled)'s"
            return (client, message, bytes.count, refusal)
        }
    }

    /// The model change carried by an update, as dense floats.
    func delta(of message: FederatedMessage) throws -> [Float] {
        switch FederatedMessage.PayloadForm(rawValue: message[int: .payloadForm]) {
        case .denseFloats?:
            let d = message.floats()
            guard d.count == model.parameterCount else {
                throw FederatedError.rejectedUpload("\(d.count) floats, expected \(model.parameterCount)")
            }
            return d
        case .codec?:
            guard let codec else { throw FederatedError.rejectedUpload("a codec update, but uploads are \(config.compression?.method.rawValue ?? "dense")") }
            do {
                return try codec.decode(message.payload, count: model.parameterCount)
            } catch {
                throw FederatedError.rejectedUpload("undecodable \(codec.name) update: \(error)")
            }
        case .sparseBlock?:
            guard let layout, config.compression?.method == .groupTopK else {
                throw FederatedError.rejectedUpload("a compressed update, but uploads are \(config.compression?.method.rawValue ?? "dense")")
            }
            let block: SparseBlock
            do {
                block = try message.payload.withUnsafeBytes { try SparseBlock(decoding: $0, layout: layout, groups: 0..<layout.groupCount) }
            } catch {
                throw FederatedError.rejectedUpload("undecodable compressed update: \(error)")
            }
            var d = [Float](repeating: 0, count: model.parameterCount)
            d.withUnsafeMutableBufferPointer { block.add(into: $0.baseAddress!) }
            return d
        default:
            throw FederatedError.rejectedUpload("unknown payload form \(message[int: .payloadForm])")
        }
    }

    /// One early-sent layer's parameters, as a change to the round's global layer.
    func layerDelta(_ message: FederatedMessage) throws -> [Float] {
        let l = message[int: .layer]
        let layers = model.store.layers
        guard l >= 0 && l < layers.count, message[int: .rangeStart] == layers[l].range.lowerBound,
              message[int: .rangeCount] == layers[l].range.count else {
            throw FederatedError.rejectedUpload("layer \(l) with a range that does not match the model")
        }
        let params = message.floats()
        guard params.count == layers[l].range.count else {
            throw FederatedError.rejectedUpload("\(params.count) floats for layer \(layers[l].name)")
        }
        return zip(params, layers[l].range).map { $0 - model.store.parameters[$1] }
    }

    /// A client's contribution from its final update and the early copies it
    /// asked the coordinator to keep: the update's payload holds every other
    /// layer, in order; each kept layer counts with the steps it was sent at.
    func contribution(_ client: Int, _ m: FederatedMessage, early: [Int: (delta: [Float], steps: Int)]) throws -> ClientContribution {
        let kept = m[int: .keptLayers]
        let steps = m[int: .steps]
        guard kept != 0 else {
            return ClientContribution(rank: client, samples: samples[client], steps: steps, delta: try delta(of: m))
        }
        let (d, layerSteps) = try mergeEarlyLayers(payload: m.floats(), kept: kept, steps: steps, layers: model.store.layers,
                                                   early: early, length: model.parameterCount)
        return ClientContribution(rank: client, samples: samples[client], steps: steps, delta: d, layerSteps: layerSteps)
    }

    /// A client's checked contribution: the upload decodes to the model's
    /// length, every value is finite and the norm is within the bound.
    /// Throws `FederatedError.rejectedUpload` otherwise.
    func checkedContribution(_ client: Int, _ m: FederatedMessage, early: [Int: (delta: [Float], steps: Int)]) throws -> ClientContribution {
        let c = try contribution(client, m, early: early)
        if let problem = uploadProblem(c.delta, expected: model.parameterCount, maxNorm: config.maxUpdateNorm) {
            throw FederatedError.rejectedUpload(problem)
        }
        return c
    }

    /// Counts a refused upload and says so on the progress stream.
    func reject(_ client: Int, round: Int, _ reason: String) {
        rejected += 1
        progress.line("round \(round): rejected \(isVirtual ? "client" : "rank") \(client)'s update: \(reason)")
    }

    /// The autonomy keys of a client entry.
    func autonomyKeys(_ m: FederatedMessage) -> FederatedAutonomyKeys {
        let names = model.store.layers.map(\.name)
        func layers(_ mask: Int) -> [String] { names.indices.filter { mask & (1 << $0) != 0 }.map { names[$0] } }
        return FederatedAutonomyKeys(
            stoppedEarly: m[int: .stoppedAt] > 0, stopIteration: m[int: .stoppedAt], plannedSteps: m[int: .plannedSteps],
            layersSentEarly: layers(m[int: .earlyLayers]), layersResent: layers(m[int: .resentLayers]),
            overlapSavedSeconds: m[.overlapSeconds])
    }

    /// global += scale x change.
    /// Stops the run when the global model is no longer finite (accepted
    /// updates can still overflow it), naming the round and the first layer.
    func apply(_ change: [Float], scale: Double) throws {
        let s = Float(scale)
        for i in 0..<change.count { model.store.parameters[i] += s * change[i] }
        version += 1
        if let bad = model.store.parameters.firstIndex(where: { !$0.isFinite }) {
            let layer = model.store.layers.first { $0.range.contains(bad) }?.name ?? "?"
            throw FederatedError.failed("""
                the global model became non-finite at version \(version) (layer \(layer)) under --aggregation \
                \(config.aggregation.rawValue); lower --lr, bound uploads with --max-update-norm, or use a robust aggregation
                """)
        }
    }

    /// The per-client entry of a round record.
    func clientEntry(_ client: Int, _ m: FederatedMessage, bytesUp up: Int, roundSeconds: Double, staleness: Int, dropped: Bool) -> FederatedClientEntry {
        var upload = FederatedClientEntry.Upload(
            rank: executorOf[client], dropped: dropped, staleness: staleness, steps: m[int: .steps], computeSeconds: m[.computeSeconds],
            waitSeconds: m[.waitSeconds], secondsPerStep: m[.secondsPerStep], lossChange: m[.lossBefore] - m[.lossAfter],
            bytesUp: up, bytesDown: m[int: .downloadBytes], roundSeconds: roundSeconds, uploadSeconds: m[.uploadSeconds])
        if isVirtual {
            upload.client = client
            upload.emulatedSeconds = emulatedSeconds(client, m)
        }
        return FederatedClientEntry(upload)
    }

    /// `--clients`: a client's emulated round time, as if it ran alone on
    /// its own device: the model's download on its link, its measured
    /// compute, its emulated slowness and its upload on its link.
    func emulatedSeconds(_ client: Int, _ m: FederatedMessage) -> Double {
        linkSeconds(bytes: m[int: .downloadBytes], megabitsPerSecond: config.bandwidth(ofClient: client))
            + m[.computeSeconds] + m[.waitSeconds] + m[.uploadSeconds]
    }

    /// The entry of a selected client whose update did not come.
    func missingEntry(_ client: Int) -> FederatedClientEntry {
        var upload = FederatedClientEntry.Upload(rank: executorOf[client], dropped: true, staleness: 0)
        if isVirtual { upload.client = client }
        return FederatedClientEntry(upload)
    }

    /// Evaluates the global model, writes the round record and a progress line.
    func finishRound(_ round: Int, total: Int, record: FederatedRoundFigures) throws {
        lastTest = tracer.span("evaluate", "evaluate") { evaluate(model, on: test, batch: config.evalBatch) }
        let wall = monotonicSeconds() - start
        let r = FederatedRoundRecord(summary: .init(
            round: round, wallSeconds: wall, testAccuracy: lastTest.accuracy, testLoss: lastTest.loss,
            bytesUpTotal: bytesUp, bytesDownTotal: bytesDown), figures: record)
        try metrics.append(r)
        metricsRecords += 1
        roundsDone = round
        if config.checkpointEvery > 0 && round % config.checkpointEvery == 0 && round < total {
            try tracer.span("checkpoint", "checkpoint") { try saveCheckpoint(round: round) }
        }
        progress.line(String(format: "round %d/%d  test acc %.4f  loss %.4f  idle %.1fs  %@  ETA %@",
                             round, total, lastTest.accuracy, lastTest.loss, record.idleSeconds,
                             ProgressPrinter.duration(wall),
                             ProgressPrinter.duration(ProgressPrinter.eta(elapsed: wall, done: round, total: total))))
    }

    /// Tells every client to stop and drains whatever they still send.
    func stopClients() throws {
        for r in executors {
            pending.append(try peers.startSend(FederatedMessage(kind: .stop).encoded(), to: r, tag: FederatedTag.model))
        }
        var remaining = Set(executors)
        while !remaining.isEmpty {
            guard let (client, message, _, _) = try nextMessage(deadline: nil) else { continue }
            if message.kind == .bye { remaining.remove(client) } else { late += 1 }
        }
        try peers.waitAll(pending, timeout: config.communicationTimeout)
        pending.removeAll()
    }
}

/// A client's whole change from its final upload's `payload` (every layer
/// not in the `kept` mask, in layer order) and the early copies of the kept
/// layers, with the steps each layer counts with (the early copy's, or the
/// round's `steps`). Throws `FederatedError.rejectedUpload` when a kept layer never arrived
/// or the payload does not hold exactly the other layers.
func mergeEarlyLayers(payload: [Float], kept: Int, steps: Int, layers: [(name: String, range: Range<Int>)],
                      early: [Int: (delta: [Float], steps: Int)], length: Int) throws -> (delta: [Float], layerSteps: [Int]) {
    var d = [Float](repeating: 0, count: length)
    var layerSteps = [Int]()
    var offset = 0
    for (l, layer) in layers.enumerated() {
        if kept & (1 << l) != 0 {
            guard let copy = early[l] else {
                throw FederatedError.rejectedUpload("kept layer \(layer.name) early but it never arrived")
            }
            d.replaceSubrange(layer.range, with: copy.delta)
            layerSteps.append(copy.steps)
        } else {
            guard offset + layer.range.count <= payload.count else {
                throw FederatedError.rejectedUpload("too short for layer \(layer.name)")
            }
            d.replaceSubrange(layer.range, with: payload[offset..<offset + layer.range.count])
            offset += layer.range.count
            layerSteps.append(steps)
        }
    }
    guard offset == payload.count else { throw FederatedError.rejectedUpload("\(payload.count - offset) extra floats") }
    return (d, layerSteps)
}
