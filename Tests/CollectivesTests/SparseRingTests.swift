import Collectives
import Compression
import Random
import XCTest

/// The sparse ring over the loopback transport, 1..8 simulated ranks.
final class SparseRingTests: XCTestCase {
    struct RankResult: Sendable {
        let output: [Float]
        let input: [Float]  // this rank's densified compressed input
        let residual: [Float]
        let traffic: TrafficStats
        let density: Double
    }

    func run(ranks: Int, length: Int, groupSize: Int, ratio: Double, policy: SparseReducePolicy) throws -> [RankResult] {
        try LoopbackTransport.run(ranks: ranks) { transport in
            let layout = GroupLayout(length: length, groupSize: groupSize, ratio: ratio)
            var rng = SeededGenerator(seed: 77, stream: UInt64(transport.rank))
            let x = (0..<length).map { _ in Float(rng.nextGaussian()) }
            var compressed = SparseGradient(layout: layout)
            try x.withUnsafeBufferPointer { try GroupTopK(layout: layout).compress($0, into: &compressed) }
            var input = [Float](repeating: 0, count: length)
            input.withUnsafeMutableBufferPointer { compressed.densify(into: $0) }
            var output = [Float](repeating: .nan, count: length)
            var residual = [Float](repeating: 0, count: length)
            let ring = SparseRingAllReduce(transport: transport, policy: policy, clock: testClock)
            let outcome = try output.withUnsafeMutableBufferPointer { o in
                try residual.withUnsafeMutableBufferPointer { try ring.sum(compressed, into: o, residual: $0.baseAddress!) }
            }
            return RankResult(output: output, input: input, residual: residual, traffic: outcome.traffic, density: outcome.density)
        }
    }

    let shapes: [(length: Int, groupSize: Int, ratio: Double)] = [
        (1, 4, 0.5), (7, 4, 0.5), (1001, 64, 0.05), (4099, 256, 0.01), (20_000, 1024, 0.01), (3, 1, 1),
    ]

    func testExactEqualsTheDenseSumOfTheSparsifiedInputs() throws {
        for ranks in 1...8 {
            for s in shapes {
                let results = try run(ranks: ranks, length: s.length, groupSize: s.groupSize, ratio: s.ratio, policy: .exact)
                let want = (0..<s.length).map { i in results.reduce(Float(0)) { $0 + $1.input[i] } }
                for (r, result) in results.enumerated() {
                    for i in 0..<s.length {
                        XCTAssertEqual(result.output[i], want[i], accuracy: 1e-5, "ranks \(ranks) \(s) rank \(r) index \(i)")
                    }
                    XCTAssertEqual(result.output.map(\.bitPattern), results[0].output.map(\.bitPattern), "ranks differ")
                    XCTAssertTrue(result.residual.allSatisfy { $0 == 0 }, "exact drops nothing")
                }
                let nonZero = want.filter { $0 != 0 }.count
                XCTAssertEqual(results[0].density, Double(nonZero) / Double(s.length), accuracy: 1e-12)
            }
        }
    }

    func testReselectStaysWithinItsVolumeAndConservesMass() throws {
        for ranks in 1...8 {
            for s in shapes {
                let results = try run(ranks: ranks, length: s.length, groupSize: s.groupSize, ratio: s.ratio, policy: .reselect)
                let layout = GroupLayout(length: s.length, groupSize: s.groupSize, ratio: s.ratio)
                let blocks = ringBlocks(length: layout.groupCount, parts: ranks)
                let largest = blocks.map { layout.kept(inGroups: $0) }.max() ?? 0
                for (r, result) in results.enumerated() {
                    XCTAssertEqual(result.output.map(\.bitPattern), results[0].output.map(\.bitPattern), "ranks differ")
                    // 2(N-1) messages of one block each, every block at most k entries per group.
                    let bound = 2 * (ranks - 1) * (4 + largest * layout.entryBytes)
                    XCTAssertLessThanOrEqual(result.traffic.bytesSent, bound, "ranks \(ranks) \(s) rank \(r)")
                    // The result keeps k entries per group.
                    XCTAssertLessThanOrEqual(result.output.filter { $0 != 0 }.count, layout.kept(inGroups: 0..<layout.groupCount))
                }
                // Nothing is lost: result + every rank's residual = the sum of the inputs.
                for i in 0..<s.length {
                    let inputs = results.reduce(Float(0)) { $0 + $1.input[i] }
                    let kept = results[0].output[i] + results.reduce(Float(0)) { $0 + $1.residual[i] }
                    XCTAssertEqual(kept, inputs, accuracy: 1e-5, "ranks \(ranks) \(s) index \(i)")
                }
            }
        }
    }

    func testReselectVolumeIsFlatInRanksWhileExactGrows() throws {
        func bytes(_ ranks: Int, _ policy: SparseReducePolicy) throws -> Int {
            try run(ranks: ranks, length: 65_536, groupSize: 1024, ratio: 0.01, policy: policy)[0].traffic.bytesSent
        }
        let reselect2 = try bytes(2, .reselect), reselect8 = try bytes(8, .reselect)
        let exact2 = try bytes(2, .exact), exact8 = try bytes(8, .exact)
        // 2(N-1)/N: 1 at N = 2, 1.75 at N = 8.
        XCTAssertEqual(Double(reselect8) / Double(reselect2), 1.75, accuracy: 0.1)
        XCTAssertGreaterThan(Double(exact8) / Double(exact2), 3)
    }

    func testDisagreeingLayoutsAreRefusedOnEveryRank() throws {
        let outcomes = try LoopbackTransport.run(ranks: 3) { transport -> String in
            let layout = GroupLayout(length: 100, groupSize: transport.rank == 1 ? 32 : 64, ratio: 0.1)
            var out = [Float](repeating: 0, count: 100)
            do {
                try out.withUnsafeMutableBufferPointer {
                    try SparseRingAllReduce(transport: transport, policy: .exact, clock: testClock).sum(SparseGradient(layout: layout), into: $0)
                }
                return "summed"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(outcomes.allSatisfy { $0.hasPrefix("ranks use different Group-TopK settings") }, "\(outcomes)")
    }

    /// A peer that sends a block the merge cannot take (here: dense, or a
    /// group with NaN, under reselect; garbage bytes under exact) makes the
    /// receiving rank throw an error naming that peer, instead of stopping
    /// the process at a precondition. The peer itself plays one ring step by
    /// hand and leaves. Two ranks, so that no honest rank waits on the one
    /// that stopped (the loopback has no deadline; under mpirun the abort
    /// ends every rank, see `MPILayerTests`).
    func testMalformedBlockFromAPeerIsAnErrorNamingThePeer() throws {
        let layout = GroupLayout(length: 4096, groupSize: 256, ratio: 0.01)
        enum Bad: CaseIterable { case dense, nan, garbage }
        do {
            let ranks = 2
            for bad in Bad.allCases {
                let liar = ranks - 1  // sends to rank 0, its right
                let outcomes = try LoopbackTransport.run(ranks: ranks) { transport -> String in
                    var rng = SeededGenerator(seed: 5, stream: UInt64(transport.rank))
                    let x = (0..<layout.length).map { _ in Float(rng.nextGaussian()) }
                    var compressed = SparseGradient(layout: layout)
                    try x.withUnsafeBufferPointer { try GroupTopK(layout: layout).compress($0, into: &compressed) }
                    if transport.rank == liar {
                        _ = try transport.minMax([layout.length, layout.groupSize, layout.k])
                        let groups = ringBlocks(length: layout.groupCount, parts: ranks)[transport.rank]
                        var block = SparseBlock(compressed, groups: groups)
                        var bytes = [UInt8]()
                        switch bad {
                        case .dense:
                            block.makeDense()
                            bytes = [UInt8](repeating: 0, count: block.wireBytes)
                            block.encode(into: &bytes)
                        case .nan:
                            var values = compressed.values
                            values[groups.lowerBound * layout.k] = .nan
                            block = SparseBlock(SparseGradient(layout: layout, values: values, positions: compressed.positions), groups: groups)
                            bytes = [UInt8](repeating: 0, count: block.wireBytes)
                            block.encode(into: &bytes)
                        case .garbage:
                            bytes = [9, 9, 9]
                        }
                        var incoming = [UInt8]()
                        _ = try transport.exchangeVariable(sending: bytes.span.bytes, to: (liar + 1) % ranks,
                                                           receivingFrom: (liar + ranks - 1) % ranks, into: &incoming)
                        return "liar"
                    }
                    var output = [Float](repeating: 0, count: layout.length)
                    var residual = [Float](repeating: 0, count: layout.length)
                    let policy: SparseReducePolicy = bad == .garbage ? .exact : .reselect
                    do {
                        try output.withUnsafeMutableBufferPointer { o in
                            try residual.withUnsafeMutableBufferPointer {
                                try SparseRingAllReduce(transport: transport, policy: policy, clock: testClock).sum(compressed, into: o, residual: $0.baseAddress!)
                            }
                        }
                        return "summed"
                    } catch {
                        return "\(error)"
                    }
                }
                XCTAssertTrue(outcomes[0].hasPrefix("rank \(liar) sent a sparse block"), "N \(ranks) \(bad): \(outcomes[0])")
            }
        }
    }

    /// Honest peers can sum to a NaN (inf + -inf): under reselect that is
    /// reported as a NaN at its element, not blamed on the peer as a
    /// malformed block. Two groups over two ranks, so that both ranks merge
    /// one at the first ring step and neither waits on the other.
    func testANaNMadeByHonestValuesNamesTheElementNotThePeer() throws {
        let layout = GroupLayout(length: 16, groupSize: 8, ratio: 0.5)
        let outcomes = try LoopbackTransport.run(ranks: 2) { transport -> String in
            var x = (0..<layout.length).map { Float($0 % 8) + 1 }
            x[0] = transport.rank == 0 ? .infinity : -.infinity
            x[8] = x[0]
            var compressed = SparseGradient(layout: layout)
            try x.withUnsafeBufferPointer { try GroupTopK(layout: layout).compress($0, into: &compressed) }
            var output = [Float](repeating: 0, count: layout.length)
            var residual = [Float](repeating: 0, count: layout.length)
            do {
                try output.withUnsafeMutableBufferPointer { o in
                    try residual.withUnsafeMutableBufferPointer {
                        try SparseRingAllReduce(transport: transport, policy: .reselect, clock: testClock).sum(compressed, into: o, residual: $0.baseAddress!)
                    }
                }
                return "summed"
            } catch {
                return "\(error)"
            }
        }
        // Rank r merges the block of group 1 - r, from rank 1 - r.
        XCTAssertEqual(outcomes, [
            "NaN at element 8 of the sum of rank 1's block and this rank's (inf + -inf?); Group-TopK cannot rank it",
            "NaN at element 0 of the sum of rank 0's block and this rank's (inf + -inf?); Group-TopK cannot rank it",
        ])
    }
}
