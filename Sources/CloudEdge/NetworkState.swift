/// The emulated network of the cloud-edge mode: E edge servers and each
/// device's link to each of them.
///
/// Speeds are in back-half work units per second, the unit of
/// `SplitWorkload.workPerSample` (for example FLOP/s against FLOPs per
/// sample, or `--edge-speed` in samples per second of a reference back half
/// against 1 unit per sample). Links are in Mbit/s (10^6 bits per second)
/// and carry the same rate both ways. Every speed and rate is positive and
/// finite, and every device has a rate to every edge server.
public struct NetworkState: Equatable, Sendable {
    /// `edgeSpeeds[e]`: edge server e's speed, in work units per second.
    public let edgeSpeeds: [Double]
    /// `linkMbps[d][e]`: the rate of device d's link to edge server e, in Mbit/s.
    public let linkMbps: [[Double]]

    /// The number of edge servers.
    public var edgeCount: Int { edgeSpeeds.count }
    /// The number of devices.
    public var deviceCount: Int { linkMbps.count }

    /// A network with a rate for each (device, edge server) pair, as a topology file gives.
    public init(edgeSpeeds: [Double], linkMbps: [[Double]]) throws {
        if let reason = Self.problem(edgeSpeeds: edgeSpeeds, linkMbps: linkMbps) {
            throw CloudEdgeError.invalidNetwork(reason: reason)
        }
        self.edgeSpeeds = edgeSpeeds
        self.linkMbps = linkMbps
    }

    /// A network where device d reaches every edge server at `deviceMbps[d]`
    /// (its uplink, as `--device-bandwidth` gives it).
    public init(edgeSpeeds: [Double], deviceMbps: [Double]) throws {
        try self.init(
            edgeSpeeds: edgeSpeeds,
            linkMbps: deviceMbps.map { [Double](repeating: $0, count: edgeSpeeds.count) })
    }

    /// What makes these speeds and rates unusable, or nil when they are usable.
    static func problem(edgeSpeeds: [Double], linkMbps: [[Double]]) -> String? {
        if edgeSpeeds.isEmpty { return "no edge servers" }
        if let e = edgeSpeeds.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
            return "speed \(edgeSpeeds[e]) of edge server \(e) is not positive and finite"
        }
        if linkMbps.isEmpty { return "no devices" }
        for (d, row) in linkMbps.enumerated() {
            if row.count != edgeSpeeds.count {
                return "device \(d) has link rates to \(row.count) edge servers, not \(edgeSpeeds.count)"
            }
            if let e = row.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
                return "link rate \(row[e]) Mbit/s from device \(d) to edge server \(e) is not positive and finite"
            }
        }
        return nil
    }
}
