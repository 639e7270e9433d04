import Collectives
import Foundation
import XCTest

/// `PeerGroup.split` over the in-process loopback transport, 1..6 ranks.
/// (Tests/Programs/mpi-selftest checks the MPI implementation the same way
/// under mpirun, from MPILayerTests.)
final class PeerGroupSplitTests: XCTestCase {
    /// The color of world rank `r` of `n`: every third rank is left out,
    /// the others alternate between colors 0 and 5.
    static func color(_ r: Int) -> Int? { r % 3 == 2 ? nil : (r % 2 == 0 ? 0 : 5) }

    /// What each rank saw of its sub-group: its rank and size there, the
    /// world ranks whose messages it received (through any-source receives),
    /// the sub-group's sum of world ranks, and a ring all-reduce over it.
    struct Seen: Equatable {
        var rank = -1, size = 0
        var senders: [Int] = []
        var sum = 0.0
        var ring: [Float] = []
    }

    func testSplitGroupsAreNumberedByKeyAndKeepTheirMessagesApart() throws {
        for n in 1...6 {
            let seen = try LoopbackTransport.run(ranks: n) { world -> Seen? in
                world.timeout = 30
                // A message in the parent group with the tag the sub-groups use:
                // no sub-group receive may take it.
                try world.send([UInt8(world.rank)], to: world.rank, tag: 7)
                // Keys reverse the order: sub-group rank 0 is the highest world rank.
                guard let sub = try world.split(color: Self.color(world.rank), key: -world.rank) else {
                    XCTAssertNil(Self.color(world.rank))
                    let own = try world.receive(from: world.rank, tag: 7, waiting: 5)
                    XCTAssertEqual(own?.bytes, [UInt8(world.rank)], "the parent's message stays in the parent")
                    return nil
                }
                var s = Seen(rank: sub.rank, size: sub.size)
                for peer in 0..<sub.size where peer != sub.rank {
                    try sub.send([UInt8(world.rank)], to: peer, tag: 7)
                }
                for _ in 0..<(sub.size - 1) {
                    let (source, bytes) = try XCTUnwrap(try sub.receive(from: nil, tag: 7, waiting: 10))
                    s.senders.append(Int(bytes[0]))
                    XCTAssertNotEqual(source, sub.rank)
                }
                XCTAssertNil(try sub.receive(from: nil, tag: 7, waiting: 0.05), "nothing else arrives in the sub-group")
                var v = [Double(world.rank)]
                try sub.sum(&v)
                s.sum = v[0]
                var x = (0..<5).map { Float(world.rank * 10 + $0) }
                try x.withUnsafeMutableBufferPointer { _ = try RingAllReduce(transport: sub, clock: testClock).sum($0) }
                s.ring = x
                XCTAssertEqual(try world.receive(from: world.rank, tag: 7, waiting: 5)?.bytes, [UInt8(world.rank)])
                return s
            }
            for r in 0..<n {
                guard let color = Self.color(r) else { XCTAssertNil(seen[r], "N \(n) rank \(r)"); continue }
                let members = (0..<n).filter { Self.color($0) == color }
                let s = try XCTUnwrap(seen[r], "N \(n) rank \(r)")
                XCTAssertEqual(s.size, members.count, "N \(n) rank \(r)")
                XCTAssertEqual(s.rank, members.reversed().firstIndex(of: r), "N \(n) rank \(r): ordered by key")
                XCTAssertEqual(s.senders.sorted(), members.filter { $0 != r }, "N \(n) rank \(r): only its own group's messages")
                XCTAssertEqual(s.sum, Double(members.reduce(0, +)), "N \(n) rank \(r)")
                XCTAssertEqual(s.ring, (0..<5).map { i in Float(members.reduce(0) { $0 + $1 * 10 + i }) }, "N \(n) rank \(r)")
            }
        }
    }

    /// A split of a split: the grandchild groups are numbered within their
    /// parent, and ties of key go by rank.
    func testNestedSplitsAndTiedKeys() throws {
        let ranks = try LoopbackTransport.run(ranks: 5) { world -> [Int] in
            world.timeout = 30
            let tier = try XCTUnwrap(try world.split(color: world.rank == 0 ? 1 : 0, key: 0))
            let pair = try XCTUnwrap(try tier.split(color: tier.rank / 2, key: 0))
            var v = [Double(world.rank)]
            try pair.sum(&v)
            return [tier.rank, tier.size, pair.rank, pair.size, Int(v[0])]
        }
        XCTAssertEqual(ranks, [[0, 1, 0, 1, 0], [0, 4, 0, 2, 3], [1, 4, 1, 2, 3], [2, 4, 0, 2, 7], [3, 4, 1, 2, 7]])
    }

    /// A rank failing in one sub-group ends a wait in its sibling: the
    /// cancellation is the hub's, shared by every group.
    func testAFailureInOneSubGroupWakesAWaitInAnother() {
        let start = Date()
        XCTAssertThrowsError(try LoopbackTransport.run(ranks: 4) { world -> Void in
            world.timeout = 60
            // Not XCTUnwrap: rank 1 may fail while another rank is still in
            // the split, whose wait is then cancelled; that throw is part of
            // the behaviour under test, not a test failure.
            guard let sub = try world.split(color: world.rank % 2, key: world.rank) else {
                throw CollectiveError.invalidArgument("rank \(world.rank) left out of its group")
            }
            if world.rank == 1 { throw CollectiveError.brokenProtocol("rank 1 fails on purpose") }
            _ = try sub.receive(from: nil, tag: 3, waiting: 60)
        }) { error in
            XCTAssertEqual("\(error)", "rank 1 fails on purpose")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 30, "the waits were woken, not timed out")
    }

    func testANegativeColorIsRefusedOnEveryRank() {
        XCTAssertThrowsError(try LoopbackTransport.run(ranks: 3) { world -> Void in
            _ = try world.split(color: world.rank == 2 ? -1 : 0, key: 0)
        }) { error in
            XCTAssertEqual(error as? CollectiveError, .invalidArgument(
                "split: rank 2 passed color -1; colors must be >= 0 (nil leaves a rank out)"))
            XCTAssertEqual((error as? CollectiveError)?.raisedOnEveryRank, true)
        }
    }

    /// A sub-group's wait has its parent's deadline.
    func testASubGroupInheritsTheDeadline() throws {
        let timeouts = try LoopbackTransport.run(ranks: 2) { world -> Double? in
            world.timeout = 12.5
            return try world.split(color: 0, key: 0)?.timeout
        }
        XCTAssertEqual(timeouts, [12.5, 12.5])
    }
}
