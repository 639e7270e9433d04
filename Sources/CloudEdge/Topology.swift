import Foundation

extension NetworkState {
    /// The topology file format's version; a file of another version is refused.
    public static let topologyVersion = 1

    /// Reads a topology file (JSON, described in docs/cloud-edge.md):
    ///
    ///     {"version": 1,
    ///      "edge_work_per_s": [4000, 2000],
    ///      "link_mbps": [[10, 2], [5, 5], [1, 20]]}
    ///
    /// `edge_work_per_s[e]` is edge server e's speed and `link_mbps[d][e]`
    /// device d's link rate to it, with the meanings and checks of
    /// `init(edgeSpeeds:linkMbps:)`. Every error names `path`.
    public init(topologyFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CloudEdgeError.invalidTopology(file: path, reason: "cannot read the file")
        }
        try self.init(topologyJSON: data, file: path)
    }

    /// Decodes the contents of a topology file; `file` names it in errors.
    public init(topologyJSON data: Data, file: String) throws {
        let topology: TopologyFile
        do {
            topology = try JSONDecoder().decode(TopologyFile.self, from: data)
        } catch let error as DecodingError {
            throw CloudEdgeError.invalidTopology(file: file, reason: Self.reason(error))
        }
        guard topology.version == Double(Self.topologyVersion) else {
            let found = Int(exactly: topology.version).map(String.init) ?? String(topology.version)
            throw CloudEdgeError.invalidTopology(
                file: file, reason: "topology version \(found); this build reads version \(Self.topologyVersion)")
        }
        if let reason = Self.problem(edgeSpeeds: topology.edgeWorkPerS, linkMbps: topology.linkMbps) {
            throw CloudEdgeError.invalidTopology(file: file, reason: reason)
        }
        self.edgeSpeeds = topology.edgeWorkPerS
        self.linkMbps = topology.linkMbps
    }

    /// One line for a decoding error, naming the key path concerned.
    private static func reason(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.reduce("") { text, key in
                key.intValue.map { text + "[\($0)]" } ?? text + (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        switch error {
        case let .keyNotFound(key, context):
            return "missing key \"\(key.stringValue)\"" + (context.codingPath.isEmpty ? "" : " in \(path(context.codingPath))")
        case let .typeMismatch(type, context), let .valueNotFound(type, context):
            return "\(path(context.codingPath)) is not \(type == Double.self ? "a number" : "a list")"
        case .dataCorrupted:
            return "not valid JSON"
        @unknown default:
            return "cannot decode the topology"
        }
    }
}

/// The fields of a topology file, as written. The version is read as a
/// number, not an integer, so that 1.5 is refused as a version rather than
/// as invalid JSON (Foundation's decoder calls a fraction in an integer field so).
private struct TopologyFile: Decodable {
    let version: Double
    let edgeWorkPerS: [Double]
    let linkMbps: [[Double]]

    enum CodingKeys: String, CodingKey {
        case version
        case edgeWorkPerS = "edge_work_per_s"
        case linkMbps = "link_mbps"
    }
}
