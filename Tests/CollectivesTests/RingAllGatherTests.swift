import Collectives
import XCTest

/// The byte ring all-gather over the loopback transport: 1..6 ranks, block
/// sizes 0, 1, odd, shorter than the rank count, and a size mismatch.
final class RingAllGatherTests: XCTestCase {
    static func block(_ rank: Int, _ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: rank &* 37 &+ $0 &* 11 &+ 1) } }

    func testEveryRankGetsEveryBlockInRankOrder() throws {
        for ranks in 1...6 {
            for size in [0, 1, 3, ranks - 1, 7, 1001] where size >= 0 {
                let results = try LoopbackTransport.run(ranks: ranks) { t -> ([UInt8], TrafficStats) in
                    let ring = RingAllGather(transport: t, clock: testClock)
                    let (all, traffic) = try ring.gather(Self.block(t.rank, size))
                    return (all, traffic)
                }
                let expected = (0..<ranks).flatMap { Self.block($0, size) }
                for (r, result) in results.enumerated() {
                    XCTAssertEqual(result.0, expected, "\(ranks) ranks, \(size) bytes, rank \(r)")
                    // (N - 1) blocks out; the size check (minMax) is not counted as traffic.
                    XCTAssertEqual(result.1.bytesSent, (ranks - 1) * size)
                    XCTAssertEqual(result.1.bytesReceived, (ranks - 1) * size)
                }
            }
        }
    }

    func testDifferentSizesAreRefusedOnEveryRank() {
        for ranks in 2...5 {
            let outcomes = (try? LoopbackTransport.run(ranks: ranks) { t -> String in
                do {
                    _ = try RingAllGather(transport: t, clock: testClock).gather(Self.block(t.rank, t.rank == 1 ? 5 : 4))
                    return "no error"
                } catch {
                    return "\(error)"
                }
            }) ?? []
            XCTAssertEqual(outcomes.count, ranks)
            for (r, o) in outcomes.enumerated() {
                XCTAssertEqual(o, "ranks passed different vector lengths (this rank \(r == 1 ? 5 : 4), smallest 4, largest 5)")
            }
        }
    }
}
