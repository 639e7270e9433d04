import Collectives
import XCTest

/// The dense ring over the in-process loopback transport: 1..8 simulated
/// ranks, odd lengths, lengths shorter than the rank count.
final class RingAllReduceTests: XCTestCase {
    /// Small integers, so float sums are exact whatever the order.
    static func value(_ rank: Int, _ i: Int) -> Float { Float((rank * 13 + i * 5) % 11) - 5 }

    func testBlocksCoverTheVector() {
        for parts in 1...9 {
            for length in [0, 1, 2, 5, 8, 9, 17, 1001] {
                let blocks = ringBlocks(length: length, parts: parts)
                XCTAssertEqual(blocks.count, parts)
                XCTAssertEqual(blocks.first?.lowerBound, 0)
                XCTAssertEqual(blocks.last?.upperBound, length)
                for i in 1..<parts { XCTAssertEqual(blocks[i - 1].upperBound, blocks[i].lowerBound) }
                // The remainder goes to the first blocks.
                let sizes = blocks.map(\.count)
                XCTAssertEqual(sizes, sizes.sorted(by: >))
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
            }
        }
    }

    func testSumMatchesSerialSumForEveryRankCountAndLength() throws {
        for ranks in 1...8 {
            for length in [0, 1, 3, ranks - 1, ranks, ranks + 1, 7, 31, 1000, 4097] where length >= 0 {
                let results = try LoopbackTransport.run(ranks: ranks) { transport -> ([Float], TrafficStats) in
                    let ring = RingAllReduce(transport: transport, clock: testClock)
                    var x = (0..<length).map { Self.value(transport.rank, $0) }
                    let traffic = try ring.sum(&x)
                    return (x, traffic)
                }
                let want = (0..<length).map { i in (0..<ranks).reduce(Float(0)) { $0 + Self.value($1, i) } }
                for (rank, (got, traffic)) in results.enumerated() {
                    XCTAssertEqual(got, want, "ranks \(ranks) length \(length) rank \(rank)")
                    XCTAssertEqual(traffic.messagesSent, 2 * (ranks - 1))
                }
                // Each block travels N-1 hops in each phase, so all ranks together
                // send (and receive) 2(N-1) x length floats.
                let sent = results.map(\.1.bytesSent).reduce(0, +)
                let received = results.map(\.1.bytesReceived).reduce(0, +)
                XCTAssertEqual(sent, 2 * (ranks - 1) * length * 4, "ranks \(ranks) length \(length)")
                XCTAssertEqual(received, sent)
            }
        }
    }

    func testResultIsBitwiseIdenticalOnEveryRankWithRoundingError() throws {
        // Values whose sum depends on the order: every rank must still hold the same bits.
        let ranks = 5, length = 1003
        let results = try LoopbackTransport.run(ranks: ranks) { transport -> [UInt32] in
            var x = (0..<length).map { i in Float(i + 1) * 0.1 / Float(transport.rank + 3) }
            try RingAllReduce(transport: transport, clock: testClock).sum(&x)
            return x.map(\.bitPattern)
        }
        for r in 1..<ranks { XCTAssertEqual(results[r], results[0]) }
        for i in 0..<length {
            var serial = 0.0
            for r in 0..<ranks {
                let term: Float = Float(i + 1) * 0.1 / Float(r + 3)
                serial += Double(term)
            }
            XCTAssertEqual(Double(Float(bitPattern: results[0][i])), serial, accuracy: 1e-4)
        }
    }

    func testDifferentLengthsAreRefusedOnEveryRank() throws {
        let outcomes = try LoopbackTransport.run(ranks: 3) { transport -> String in
            var x = [Float](repeating: 1, count: transport.rank == 2 ? 9 : 8)
            do {
                try RingAllReduce(transport: transport, clock: testClock).sum(&x)
                return "summed"
            } catch let error as CollectiveError {
                return "\(error)"
            }
        }
        XCTAssertEqual(outcomes[0], "ranks passed different vector lengths (this rank 8, smallest 8, largest 9)")
        XCTAssertEqual(outcomes[2], "ranks passed different vector lengths (this rank 9, smallest 8, largest 9)")
        XCTAssertEqual(outcomes[1], outcomes[0])
    }

    func testTrafficAccumulatesAcrossCalls() throws {
        let totals = try LoopbackTransport.run(ranks: 4) { transport -> (TrafficStats, TrafficStats) in
            let ring = RingAllReduce(transport: transport, clock: testClock)
            var x = [Float](repeating: 1, count: 100)
            let first = try ring.sum(&x)
            _ = try ring.sum(&x)
            return (first, ring.traffic)
        }
        for (first, total) in totals {
            XCTAssertEqual(first.bytesSent, 2 * 3 * 25 * 4)
            XCTAssertEqual(total.bytesSent, 2 * first.bytesSent)
            XCTAssertGreaterThan(total.seconds, 0)
        }
    }
}
