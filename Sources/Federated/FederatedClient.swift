import Collectives
import Compression
import Data
import Foundation
import NN
import Random
import RunSupport

/// A client of the federated mode (ranks 1..N-1): waits for the global
/// model, trains on its own partition, uploads its change, and repeats until
/// the coordinator says stop.
final class FederatedClient {
    let config: FederatedConfig
    let peers: PeerGroup
    /// The samples of the clients this rank serves (all of them, or with
    /// `--clients` only its clients' samples).
    let train: ImageDataset
    let model: Model
    /// Group-TopK's compressor (the residual is per client).
    let compressor: GroupTopK?
    /// The other upload codecs (`CompressionMethod.isCodec`).
    let codec: (any GradientCodec)?
    /// The model's layers with parameters, in order.
    let layers: [(name: String, range: Range<Int>)]
    /// The client being trained now; with `--clients`, `others` holds the
    /// rest of this executor's clients, by id.
    var current: ClientState
    var others = [Int: ClientState]()
    /// `--clients`: the idle clients' residuals on disk, when they would
    /// take more than `config.residualMemoryBytes`.
    let spill: ResidualSpill?
    /// `--trace`: this rank's phases.
    let tracer: Tracer
    /// `--clients`: emulated times are accounted, not waited for (a slow
    /// client must not hold up its executor's other clients).
    var accountsEmulatedTime: Bool { config.virtualClients != nil }

    /// `states` holds the clients this rank serves (one without `--clients`).
    /// - Throws: `FederatedError.setup` when it is empty.
    init(config: FederatedConfig, peers: PeerGroup, train: ImageDataset, states: [ClientState], model: Model) throws {
        guard let first = states.first else {
            throw FederatedError.setup("rank \(peers.rank) serves no client; every executor needs at least one")
        }
        self.config = config
        self.peers = peers
        self.train = train
        self.model = model
        layers = model.store.layers
        current = first
        for s in states.dropFirst() { others[s.id] = s }
        tracer = Tracer(enabled: config.tracePath != nil)
        compressor = config.compression.flatMap {
            $0.method == .groupTopK ? GroupTopK(layout: GroupLayout(length: model.parameterCount, groupSize: $0.groupSize, ratio: $0.ratio)) : nil
        }
        codec = config.compression?.makeCodec()
        let residualBytes = states.count * model.parameterCount * MemoryLayout<Float>.stride
        spill = config.virtualClients != nil && config.compression?.errorFeedback == true && residualBytes > config.residualMemoryBytes
            ? try ResidualSpill(directory: config.spillDirectory ?? NSTemporaryDirectory(), length: model.parameterCount, rank: peers.rank)
            : nil
    }

    /// `state` with its residual moved to the spill (when there is one).
    func parked(_ state: ClientState) throws -> ClientState {
        guard let spill, !state.residual.isEmpty else { return state }
        var s = state
        try spill.store(s.residual, client: s.id)
        s.residual = []
        s.residualSpilled = true
        return s
    }

    /// `state` with its residual back from the spill.
    func unparked(_ state: ClientState) throws -> ClientState {
        guard let spill, state.residualSpilled else { return state }
        var s = state
        guard let residual = try spill.load(client: s.id) else {
            throw FederatedError.failed("rank \(peers.rank): client \(s.id)'s residual is marked spilled but the spill file has no slot for it")
        }
        s.residual = residual
        s.residualSpilled = false
        return s
    }

    /// The samples of the client being trained.
    var indices: [Int] { current.indices }

    /// Makes client `id` (0: this rank's own client) the current one.
    func switchTo(client id: Int) throws {
        guard id != 0, id != current.id else { return }
        guard let next = others.removeValue(forKey: id) else {
            throw FederatedError.failed("rank \(peers.rank): the coordinator sent a model for client \(id), which this rank does not serve")
        }
        others[current.id] = try parked(current)
        current = try unparked(next)
    }

    /// The client's loop (collective with the coordinator's).
    func run() throws {
        while true {
            let waiting = tracer.now()
            let received = try peers.receive(from: 0, tag: FederatedTag.model, waiting: config.communicationTimeout)
            tracer.record("wait for the coordinator", "wait", from: waiting)
            guard let (_, bytes) = received else {
                throw FederatedError.failed("client \(peers.rank): no word from the coordinator for \(Int(config.communicationTimeout)) s")
            }
            let message = try FederatedMessage(decoding: bytes, from: "the coordinator (to client \(peers.rank))")
            switch message.kind {
            case .stop?:
                try peers.send(FederatedMessage(kind: .bye).encoded(), to: 0, tag: FederatedTag.update)
                return
            case .checkpoint?:
                try answerCheckpoint(message)
            case .model?:
                try switchTo(client: message[int: .client])
                let who = message[int: .client] == 0 ? "" : " client \(message[int: .client])"
                var update = try tracer.span("round \(message[int: .round])\(who): train", "compute") {
                    try trainRound(message, downloadBytes: bytes.count)
                }
                try tracer.span("round \(message[int: .round])\(who): upload", "communicate") { try upload(&update) }
            default:
                throw FederatedError.failed("client \(peers.rank): unexpected message kind \(message.header.kind)")
            }
        }
    }

    /// Sends the final update over the `--client-bandwidth` link model. The
    /// link carries one transfer at a time: the update starts once the
    /// early-sent layers ahead of it have crossed (`UploadLink`). With early
    /// layers, `overlapSeconds` is what the overlap really saved: the
    /// upload time of the whole model as one final update, minus the time
    /// from the end of training to the end of this upload (negative when
    /// re-sent layers cost more than the kept ones saved).
    /// With `--clients` the link is accounted on the client's emulated
    /// clock, not waited for: the update is ready at `local_s` (download,
    /// compute and emulated waits), `upload_s` is its emulated transfer
    /// time behind any early-sent layers, and the message goes at once.
    func upload(_ update: inout FederatedMessage) throws {
        let now = accountsEmulatedTime ? update[.localSeconds] : monotonicSeconds()
        if accountsEmulatedTime { update[int: .client] = current.id }
        let end = current.link.send(bytes: FederatedMessage.headerBytes + update.payload.count, at: now)
        update[.uploadSeconds] = end - now
        if update[int: .earlyLayers] != 0 {
            let whole = current.link.seconds(bytes: FederatedMessage.headerBytes + model.parameterCount * 4)
            update[.overlapSeconds] = whole - (end - now)
        }
        if !accountsEmulatedTime { pause(end - monotonicSeconds()) }
        try peers.send(update.encoded(), to: 0, tag: FederatedTag.update)
    }

    /// Dense floats, or Group-TopK (with this client's residual) as one block.
    /// A change holding a NaN cannot be compressed (Group-TopK cannot rank
    /// it): it goes dense, so that the coordinator's upload check rejects and
    /// counts it, and the residual stays as it was.
    func encodeDelta(_ delta: inout [Float], into update: inout FederatedMessage, round: Int) throws {
        if let codec, let settings = config.compression, delta.allSatisfy(\.isFinite) {
            return try encode(delta, with: codec, errorFeedback: settings.errorFeedback, round: round, into: &update)
        }
        guard let compressor, let settings = config.compression, !delta.contains(where: \.isNaN) else {
            delta.withUnsafeBufferPointer { update.setFloats($0) }
            return
        }
        var sparse = SparseGradient(layout: compressor.layout)
        try delta.withUnsafeBufferPointer { d in
            if settings.errorFeedback {
                if current.residual.isEmpty { current.residual = [Float](repeating: 0, count: model.parameterCount) }
                try current.residual.withUnsafeMutableBufferPointer { try compressor.compress(gradient: d, residual: $0, into: &sparse) }
            } else {
                try compressor.compress(d, into: &sparse)
            }
        }
        var bytes = [UInt8]()
        let n = SparseBlock(sparse, groups: 0..<compressor.layout.groupCount).encode(into: &bytes)
        update.payload = Array(bytes[0..<n])
        update[int: .payloadForm] = FederatedMessage.PayloadForm.sparseBlock.rawValue
    }
}

extension FederatedClient {
    /// One codec message of the change, with this client's residual under
    /// error feedback. QSGD's and stochastic rounding's draws come from
    /// (seed, client id, round) in synchronous runs and from (seed, client
    /// id, the client's upload count) with `--async`
    /// (`ClientState.nextCodecGenerator`), so a client encodes alike on any
    /// executor.
    func encode(_ delta: [Float], with codec: any GradientCodec, errorFeedback: Bool, round: Int,
                into update: inout FederatedMessage) throws {
        var generator = current.nextCodecGenerator(seed: config.seed, round: round, asynchronous: config.asynchronous)
        if errorFeedback {
            if current.residual.isEmpty { current.residual = [Float](repeating: 0, count: model.parameterCount) }
            update.payload = try codec.encode(gradient: delta, residual: &current.residual, using: &generator)
        } else {
            update.payload = try codec.encode(delta, using: &generator)
        }
        update[int: .payloadForm] = FederatedMessage.PayloadForm.codec.rawValue
    }
}

/// FedProx's proximal term as an SGD gradient hook: grad += mu (w - w_global).
package func fedProxTerm(global: [Float], mu: Double)
    -> (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void
{
    let m = Float(mu)
    return { params, grads in
        global.withUnsafeBufferPointer { g in
            for i in 0..<grads.count { grads[i] += m * (params[i] - g[i]) }
        }
    }
}

/// MPI tags of the federated mode.
enum FederatedTag {
    static let model = 21
    static let update = 22
}

