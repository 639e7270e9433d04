import Data

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
