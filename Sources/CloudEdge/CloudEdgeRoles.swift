/// Who each rank is in the cloud-edge mode, by rank alone:
///
/// - rank 0: the cloud (the cloud model, distillation, evaluation, metrics,
///   the global model it sends every rank after a round);
/// - ranks 1...E: edge servers 0..<E (`--edge-servers E`); rank 1 (edge
///   server 0) also aggregates the fronts and back halves;
/// - ranks E+1...N-1: devices 0..<D, D = N - 1 - E, one client each.
///
/// Two tiers, each its own group (`PeerGroup.split`): edge-cloud (the cloud
/// as rank 0, edge server e as rank e + 1) and device-edge (edge server e as
/// rank e, device d as rank E + d).
public struct CloudEdgeRoles: Equatable, Sendable {
    public enum Role: Equatable, Sendable {
        case cloud
        case edge(Int)
        case device(Int)

        var isDevice: Bool {
            if case .device = self { return true }
            return false
        }
    }

    public let ranks: Int
    public let edges: Int
    public var devices: Int { ranks - 1 - edges }

    /// Roles for `ranks` ranks with `edges` edge servers; refuses (one
    /// `CloudEdgeError.setup` line naming the flag and the numbers) a count
    /// that leaves no device.
    public init(ranks: Int, edges: Int) throws {
        guard edges >= 1 else { throw CloudEdgeError.setup("--edge-servers must be at least 1, got \(edges)") }
        guard ranks >= edges + 2 else {
            throw CloudEdgeError.setup("""
                --edge-servers \(edges) needs at least \(edges + 2) ranks (the cloud, \(edges) edge server(s) and at least \
                one device), got \(ranks)
                """)
        }
        self.ranks = ranks
        self.edges = edges
    }

    public func role(of rank: Int) -> Role {
        if rank == 0 { return .cloud }
        if rank <= edges { return .edge(rank - 1) }
        return .device(rank - 1 - edges)
    }

    /// The world rank of edge server `e` and of device `d`.
    public func rank(ofEdge e: Int) -> Int { 1 + e }
    public func rank(ofDevice d: Int) -> Int { 1 + edges + d }
    /// The device-edge tier rank of device `d` (edge server e is rank e).
    public func tierRank(ofDevice d: Int) -> Int { edges + d }

    /// The world ranks of the devices, as a range for error lines.
    public var deviceRanks: String { devices == 1 ? "rank \(ranks - 1)" : "ranks \(edges + 1)...\(ranks - 1)" }
}
