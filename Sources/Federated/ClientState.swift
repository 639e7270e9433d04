import Data
import Random

/// What one federated client keeps between its rounds. A client rank keeps
/// one (its own client, id = its rank); an executor of `--clients N` keeps
/// one per virtual client it serves and trains them one after another.
/// Everything random in it is seeded by (seed, client id), never by the
/// rank that happens to serve the client, so the client trains the same
/// whatever the executor count.
struct ClientState {
    /// The client's id: its rank without `--clients`, else 1...N.
    let id: Int
    /// The client's samples, as indices into the executor's training set.
    let indices: [Int]
    var sampler: MinibatchSampler
    var speed: ClientSpeedModel
    /// Group-TopK's error-feedback residual; empty while it is all zero (a
    /// client not yet sampled keeps nothing).
    var residual: [Float] = []
    /// The residual is in the executor's `ResidualSpill`, not in `residual`.
    var residualSpilled = false
    /// Autonomy: the last two sampling rounds' progress curves.
    var curves: [ProgressCurve] = []
    /// The emulated upload link (`--client-bandwidth`), on the monotonic clock.
    var link: UploadLink
    /// The codec uploads the client has made (`nextCodecGenerator`).
    var codecUploads = 0

    init(id: Int, indices: [Int], config: FederatedConfig) {
        self.id = id
        self.indices = indices
        sampler = MinibatchSampler(indices: indices, batchSize: config.batch, seed: config.seed, stream: UInt64(id))
        speed = ClientSpeedModel(
            factor: config.speed(ofClient: id), slowdownProbability: config.slowdownProbability,
            slowdownFactor: config.slowdownFactor, slowdownSteps: config.slowdownSteps, seed: config.seed, rank: id)
        link = UploadLink(megabitsPerSecond: config.bandwidth(ofClient: id))
    }
}

extension ClientState {
    /// The generator of this client's next codec upload (QSGD's and
    /// stochastic rounding's draws), seeded by (seed, client id, n). In a
    /// synchronous run n is the round: a client uploads at most once a
    /// round. With `--async` a round is a global model version, and a client
    /// can be sent the same version twice (with `--buffer`, or after a
    /// dropped update), so n is the count of the client's earlier codec
    /// uploads: every upload draws its own stream, or two uploads at one
    /// version would share their quantization noise. Either way n is the
    /// client's own, not the executor's that serves it, and the count is
    /// checkpointed with the client, so a client encodes alike on any
    /// executor count and after a resume.
    mutating func nextCodecGenerator(seed: UInt64, round: Int, asynchronous: Bool) -> SeededGenerator {
        let n = asynchronous ? codecUploads : round
        codecUploads += 1
        return SeededGenerator(seed: seed ^ (UInt64(n) &* 0x9E37_79B9_7F4A_7C15), stream: 0xC0DEC_0000 &+ UInt64(id))
    }
}
