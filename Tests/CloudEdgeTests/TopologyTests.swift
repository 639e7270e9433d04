import CloudEdge
import Foundation
import XCTest

final class TopologyTests: XCTestCase {
    private func decode(_ text: String) throws -> NetworkState {
        try NetworkState(topologyJSON: Data(text.utf8), file: "topo.json")
    }

    func testDecodesAValidFile() throws {
        let state = try decode(#"{"version": 1, "edge_work_per_s": [4000, 2000.5], "link_mbps": [[10, 2], [5, 5], [1, 20]]}"#)
        XCTAssertEqual(state, try NetworkState(edgeSpeeds: [4000, 2000.5], linkMbps: [[10, 2], [5, 5], [1, 20]]))
    }

    func testReadsTheFileFromDisk() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("topology-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(#"{"version": 1, "edge_work_per_s": [3], "link_mbps": [[7]]}"#.utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try NetworkState(topologyFile: path), try NetworkState(edgeSpeeds: [3], linkMbps: [[7]]))
        let missing = path + ".missing"
        assertError(try NetworkState(topologyFile: missing), "\(missing): cannot read the file")
    }

    func testBadFilesNameTheFileAndTheField() {
        let cases: [(String, String)] = [
            ("{", "not valid JSON"),
            (#"{"version": 1, "link_mbps": [[1]]}"#, #"missing key "edge_work_per_s""#),
            (#"{"version": 2, "edge_work_per_s": [1], "link_mbps": [[1]]}"#,
             "topology version 2; this build reads version 1"),
            (#"{"version": 1, "edge_work_per_s": [1], "link_mbps": [[1], ["fast"]]}"#, "link_mbps[1][0] is not a number"),
            (#"{"version": "1", "edge_work_per_s": [1], "link_mbps": [[1]]}"#, "version is not a number"),
            (#"{"version": 1.5, "edge_work_per_s": [1], "link_mbps": [[1]]}"#,
             "topology version 1.5; this build reads version 1"),
            (#"{"version": 1, "edge_work_per_s": [1], "link_mbps": 5}"#, "link_mbps is not a list"),
            (#"{"version": 1, "edge_work_per_s": [1, 2], "link_mbps": [[1, 1], [1]]}"#,
             "device 1 has link rates to 1 edge servers, not 2"),
            (#"{"version": 1, "edge_work_per_s": [1], "link_mbps": [[0]]}"#,
             "link rate 0.0 Mbit/s from device 0 to edge server 0 is not positive and finite"),
            (#"{"version": 1, "edge_work_per_s": [-3], "link_mbps": [[1]]}"#,
             "speed -3.0 of edge server 0 is not positive and finite"),
            (#"{"version": 1, "edge_work_per_s": [1], "link_mbps": []}"#, "no devices"),
        ]
        for (text, reason) in cases {
            assertError(try decode(text), "topo.json: \(reason)")
        }
    }
}
