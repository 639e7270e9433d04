import Collectives
import Compression
import Data
import Foundation
import NN
import RunSupport

/// A client of the federated mode (ranks 1..N-1): waits for the global
/// model, trains on its own partition, uploads its change, and repeats until
/// the coordinator says stop.
final class FederatedClient {
    let config: FederatedConfig
    let peers: PeerGroup
    let train: ImageDataset
    let indices: [Int]
    let model: Model
    var sampler: MinibatchSampler
    var speed: ClientSpeedModel
    /// Group-TopK state: the compressor and this client's residual.
    let compressor: GroupTopK?
    var residual: [Float]
    /// Autonomy: the last two sampling rounds' progress curves.
    var curves: [ProgressCurve] = []
    /// The model's layers with parameters, in order.
    let layers: [(name: String, range: Range<Int>)]
    /// The emulated upload link (`--client-bandwidth`), on the monotonic clock.
    var link: UploadLink

    init(config: FederatedConfig, peers: PeerGroup, train: ImageDataset, indices: [Int], model: Model) {
        self.config = config
        self.peers = peers
        self.train = train
        self.indices = indices
        self.model = model
        let rank = peers.rank
        sampler = MinibatchSampler(indices: indices, batchSize: config.batch, seed: config.seed, stream: UInt64(rank))
        speed = ClientSpeedModel(
            factor: config.speed(ofClient: rank), slowdownProbability: config.slowdownProbability,
            slowdownFactor: config.slowdownFactor, slowdownSteps: config.slowdownSteps, seed: config.seed, rank: rank)
        layers = model.store.layers
        link = UploadLink(megabitsPerSecond: config.bandwidth(ofClient: rank))
        if let c = config.compression {
            compressor = GroupTopK(layout: GroupLayout(length: model.parameterCount, groupSize: c.groupSize, ratio: c.ratio))
            residual = [Float](repeating: 0, count: c.errorFeedback ? model.parameterCount : 0)
        } else {
            compressor = nil
            residual = []
        }
    }

    /// The client's loop (collective with the coordinator's).
    func run() throws {
        while true {
            guard let (_, bytes) = try peers.receive(from: 0, tag: FederatedTag.model, waiting: config.communicationTimeout) else {
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
                var update = try trainRound(message, downloadBytes: bytes.count)
                try upload(&update)
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
    func upload(_ update: inout FederatedMessage) throws {
        let now = monotonicSeconds()
        let end = link.send(bytes: FederatedMessage.headerBytes + update.payload.count, at: now)
        update[.uploadSeconds] = end - now
        if update[int: .earlyLayers] != 0 {
            let whole = link.seconds(bytes: FederatedMessage.headerBytes + model.parameterCount * 4)
            update[.overlapSeconds] = whole - (end - now)
        }
        pause(end - monotonicSeconds())
        try peers.send(update.encoded(), to: 0, tag: FederatedTag.update)
    }

    /// Dense floats, or Group-TopK (with this client's residual) as one block.
    /// A change holding a NaN cannot be compressed (Group-TopK cannot rank
    /// it): it goes dense, so that the coordinator's upload check rejects and
    /// counts it, and the residual stays as it was.
    func encodeDelta(_ delta: inout [Float], into update: inout FederatedMessage) throws {
        guard let compressor, let settings = config.compression, !delta.contains(where: \.isNaN) else {
            delta.withUnsafeBufferPointer { update.setFloats($0) }
            return
        }
        var sparse = SparseGradient(layout: compressor.layout)
        try delta.withUnsafeBufferPointer { d in
            if settings.errorFeedback {
                try residual.withUnsafeMutableBufferPointer { try compressor.compress(gradient: d, residual: $0, into: &sparse) }
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

