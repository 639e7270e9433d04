/// Who each rank is in the cloud-edge mode, by rank alone:
///
/// - rank 0: the cloud (the cloud model, distillation, evaluation, metrics,
///   the global model it sends every rank after a round);
/// - ranks 1...E: edge servers 0..<E (`--edge-servers E`); rank 1 (edge
///   server 0) also aggregates the fronts and back halves;
/// - ranks E+1...N-1: the device executors 0..<X, X = N - 1 - E, which
///   serve the D devices (`--devices D`, default X: one device per rank).
///
/// Devices are placed on executors by id, device d on executor d mod X
/// (`executor(ofDevice:)`): every sampled device trains `--local-steps`
/// batches a round whatever its partition's size, so every device has the
/// same expected work, and dealing them in turn is what longest-first
/// placement by expected work gives (ties to the lower id and the executor
/// with fewer devices). With D = X device d is executor d, one per rank.
///
/// Two tiers, each its own group (`PeerGroup.split`): edge-cloud (the cloud
/// as rank 0, edge server e as rank e + 1) and device-edge (edge server e as
/// rank e, executor x as rank E + x).
public struct CloudEdgeRoles: Equatable, Sendable {
    public enum Role: Equatable, Sendable {
        case cloud
        case edge(Int)
        /// Device executor x (rank E + 1 + x).
        case executor(Int)

        var isExecutor: Bool {
            if case .executor = self { return true }
            return false
        }
    }

    public let ranks: Int
    public let edges: Int
    /// Devices D: `--devices`, or one per executor.
    public let devices: Int
    /// Device executors X: the ranks after the edge servers.
    public var executors: Int { ranks - 1 - edges }
    /// Whether `--devices` was given (virtual devices, even at D = X).
    public let virtual: Bool

    /// Roles for `ranks` ranks with `edges` edge servers and `devices`
    /// devices (nil: one per executor); refuses (one `CloudEdgeError.setup`
    /// line naming the flag and the numbers) a count that leaves no
    /// executor, fewer than one device, or fewer devices than executors.
    public init(ranks: Int, edges: Int, devices: Int? = nil) throws {
        guard edges >= 1 else { throw CloudEdgeError.setup("--edge-servers must be at least 1, got \(edges)") }
        guard ranks >= edges + 2 else {
            throw CloudEdgeError.setup("""
                --edge-servers \(edges) needs at least \(edges + 2) ranks (the cloud, \(edges) edge server(s) and at least \
                one device), got \(ranks)
                """)
        }
        let executors = ranks - 1 - edges
        if let devices {
            guard devices >= 1 else { throw CloudEdgeError.setup("--devices must be at least 1, got \(devices)") }
            guard devices >= executors else {
                throw CloudEdgeError.setup("""
                    --devices \(devices) is fewer than the \(executors) device executor ranks (ranks \(edges + 1)...\(ranks - 1) \
                    with --edge-servers \(edges)); run at most \(edges + 1 + devices) ranks
                    """)
            }
        }
        self.ranks = ranks
        self.edges = edges
        self.devices = devices ?? executors
        self.virtual = devices != nil
    }

    public func role(of rank: Int) -> Role {
        if rank == 0 { return .cloud }
        if rank <= edges { return .edge(rank - 1) }
        return .executor(rank - 1 - edges)
    }

    /// The executor serving device `d`.
    public func executor(ofDevice d: Int) -> Int { d % executors }
    /// The devices executor `x` serves, increasing.
    public func devices(ofExecutor x: Int) -> [Int] { Array(stride(from: x, to: devices, by: executors)) }

    /// The world rank of edge server `e`, and of the executor serving device `d`.
    public func rank(ofEdge e: Int) -> Int { 1 + e }
    public func rank(ofDevice d: Int) -> Int { 1 + edges + executor(ofDevice: d) }
    /// The device-edge tier rank of the executor serving device `d` (edge server e is rank e).
    public func tierRank(ofDevice d: Int) -> Int { edges + executor(ofDevice: d) }

    /// Device d's minibatch stream: E + 1 + d, the rank device d has with
    /// one device per rank (so those runs keep their bits). It depends on the
    /// device's id and `--edge-servers`, never on the executor serving it.
    public func samplerStream(ofDevice d: Int) -> UInt64 { UInt64(edges + 1 + d) }

    /// The executor ranks, as a range for error lines.
    public var executorRanks: String { executors == 1 ? "rank \(ranks - 1)" : "ranks \(edges + 1)...\(ranks - 1)" }
    /// The devices and where they run, for error lines: "3 device(s)
    /// (ranks 3...5)", or with `--devices` "9 device(s) on 2 executor(s)
    /// (ranks 3...4)"; `more` goes inside the parentheses.
    public func devicesWhere(_ more: String = "") -> String {
        (virtual ? "\(devices) device(s) on \(executors) executor(s)" : "\(devices) device(s)") + " (\(executorRanks)\(more))"
    }
}
