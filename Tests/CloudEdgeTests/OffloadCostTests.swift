import CloudEdge
import XCTest

final class OffloadCostTests: XCTestCase {
    // Edge servers at 100 and 50 work units/s; three devices.
    private func network() throws -> NetworkState {
        try NetworkState(edgeSpeeds: [100, 50], linkMbps: [[8, 2], [4, 4], [1, 16]])
    }

    func testCostsByHand() throws {
        // 900 bytes up and 100 down per sample: 8000 bits; 2 work units per sample.
        let workload = SplitWorkload(uploadBytesPerSample: 900, downloadBytesPerSample: 100, workPerSample: 2)
        let costs = try offloadCosts(
            clusters: [[0, 1], [2], []], samplesPerRound: [100, 50, 200], network: network(), workload: workload)
        // Cluster {0, 1} on edge 0: links 100 x 8000 / 8e6 = 0.1 s and
        // 50 x 8000 / 4e6 = 0.1 s, so 0.1; compute 150 x 2 / 100 = 3: 3.1.
        // On edge 1: max(100 x 8000 / 2e6, 50 x 8000 / 4e6) = 0.4; 300 / 50 = 6: 6.4.
        // Cluster {2}: edge 0, 200 x 8000 / 1e6 = 1.6 + 400 / 100 = 4: 5.6;
        // edge 1, 200 x 8000 / 16e6 = 0.1 + 400 / 50 = 8: 8.1. The empty cluster costs 0.
        let expected: [[Double]] = [[3.1, 6.4], [5.6, 8.1], [0, 0]]
        for (c, row) in costs.enumerated() {
            for (e, cost) in row.enumerated() {
                // Four or five roundings of values below 10: error under 1e-14.
                XCTAssertEqual(cost, expected[c][e], accuracy: 1e-14, "cluster \(c) edge \(e)")
            }
        }
        // 3.1 + 8.1 = 11.2 beats 6.4 + 5.6 = 12.
        XCTAssertEqual(try optimalMatching(costs: Array(costs.prefix(2))), [0, 1])
    }

    func testUplinkRatesReachEveryEdge() throws {
        let state = try NetworkState(edgeSpeeds: [1, 2, 3], deviceMbps: [5, 7])
        XCTAssertEqual(state.linkMbps, [[5, 5, 5], [7, 7, 7]])
        XCTAssertEqual(state.edgeCount, 3)
        XCTAssertEqual(state.deviceCount, 2)
    }

    func testNearestTakesTheFastestFreeLink() throws {
        let state = try network()
        // {2}: mean 1 to edge 0, 16 to edge 1 -> 1; {0, 1}: edge 0 (mean 6) is free.
        XCTAssertEqual(try nearestMatching(clusters: [[2], [0, 1]], network: state), [1, 0])
        // {0} prefers edge 0 (8 > 2); {1} ties 4 = 4 but edge 0 is taken -> 1.
        XCTAssertEqual(try nearestMatching(clusters: [[0], [1]], network: state), [0, 1])
        // Alone, {1} ties and takes the lower edge server.
        XCTAssertEqual(try nearestMatching(clusters: [[1]], network: state), [0])
    }

    func testBadNetworksAndWorkloadsNameThemselves() throws {
        assertError(try NetworkState(edgeSpeeds: [], deviceMbps: [1]), "network state: no edge servers")
        assertError(
            try NetworkState(edgeSpeeds: [1, 0], deviceMbps: [1]),
            "network state: speed 0.0 of edge server 1 is not positive and finite")
        assertError(try NetworkState(edgeSpeeds: [1], deviceMbps: []), "network state: no devices")
        assertError(
            try NetworkState(edgeSpeeds: [1, 1], linkMbps: [[1, 1], [1]]),
            "network state: device 1 has link rates to 1 edge servers, not 2")
        assertError(
            try NetworkState(edgeSpeeds: [1], deviceMbps: [2, -1]),
            "network state: link rate -1.0 Mbit/s from device 1 to edge server 0 is not positive and finite")
        let state = try network()
        let workload = SplitWorkload(uploadBytesPerSample: 1, downloadBytesPerSample: 1, workPerSample: 1)
        assertError(
            try offloadCosts(clusters: [[0]], samplesPerRound: [1, 1], network: state, workload: workload),
            "split workload: samples per round given for 2 devices, the network has 3")
        assertError(
            try offloadCosts(clusters: [[0]], samplesPerRound: [1, -2, 1], network: state, workload: workload),
            "split workload: device 1 has -2 samples per round")
        assertError(
            try offloadCosts(clusters: [[3]], samplesPerRound: [1, 1, 1], network: state, workload: workload),
            "a cluster names client 3, outside 0..<3")
        let bad = SplitWorkload(uploadBytesPerSample: -1, downloadBytesPerSample: 1, workPerSample: .infinity)
        assertError(
            try offloadCosts(clusters: [[0]], samplesPerRound: [1, 1, 1], network: state, workload: bad),
            "split workload: bytes and work per sample must be non-negative and finite (upload -1.0, download 1.0, work inf)")
        assertError(
            try nearestMatching(clusters: [[0], [1], [2]], network: state),
            "more clusters (3) than edge servers (2) for a one-to-one matching")
    }
}
