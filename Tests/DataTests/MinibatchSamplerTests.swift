import Data
import Foundation
import XCTest

final class MinibatchSamplerTests: XCTestCase {
    private let indices = Array(stride(from: 3, to: 300, by: 3))  // 99 indices, not 0..<n

    func testBatchesHaveExactSizeAndEachPassIsAPermutation() {
        for batchSize in [1, 9, 10, 99, 250] {
            var sampler = MinibatchSampler(indices: indices, batchSize: batchSize, seed: 1, stream: 0)
            var drawn: [Int] = []
            let batches = (3 * 99 + batchSize - 1) / batchSize
            for _ in 0..<batches {
                let batch = sampler.next()
                XCTAssertEqual(batch.count, batchSize)
                drawn += batch
            }
            for pass in 0..<3 {
                let slice = Array(drawn[pass * 99..<(pass + 1) * 99])
                XCTAssertEqual(slice.sorted(), indices, "batch \(batchSize), pass \(pass)")
            }
            XCTAssertEqual(sampler.passes, drawn.count / 99)
        }
    }

    func testPassesCountsCompletedPasses() {
        var sampler = MinibatchSampler(indices: indices, batchSize: 33, seed: 2, stream: 0)
        XCTAssertEqual(sampler.passes, 0)
        _ = sampler.next()
        _ = sampler.next()
        XCTAssertEqual(sampler.passes, 0)
        _ = sampler.next()
        XCTAssertEqual(sampler.passes, 1)
    }

    func testOrderIsShuffledAndReshuffledEachPass() {
        var sampler = MinibatchSampler(indices: indices, batchSize: 99, seed: 3, stream: 0)
        let first = sampler.next()
        let second = sampler.next()
        XCTAssertNotEqual(first, indices)
        XCTAssertNotEqual(first, second)
    }

    func testSeedAndStreamDetermineTheSequence() {
        func draw(_ seed: UInt64, _ stream: UInt64) -> [[Int]] {
            var sampler = MinibatchSampler(indices: indices, batchSize: 16, seed: seed, stream: stream)
            return (0..<20).map { _ in sampler.next() }
        }
        XCTAssertEqual(draw(7, 0), draw(7, 0))
        XCTAssertNotEqual(draw(7, 0), draw(8, 0))
        XCTAssertNotEqual(draw(7, 0), draw(7, 1))
    }

    func testRestoredStateContinuesIdentically() throws {
        var original = MinibatchSampler(indices: indices, batchSize: 16, seed: 4, stream: 2)
        for _ in 0..<9 { _ = original.next() }  // mid-way through the second pass
        let saved = original.state
        let decoded = try JSONDecoder().decode(
            MinibatchSampler.State.self, from: JSONEncoder().encode(saved))
        XCTAssertEqual(decoded, saved)
        var restored = MinibatchSampler(indices: indices.reversed(), batchSize: 16, state: decoded)
        XCTAssertEqual(restored.passes, original.passes)
        for _ in 0..<30 {
            XCTAssertEqual(restored.next(), original.next())
        }
        XCTAssertEqual(restored.state, original.state)
    }

    func testBatchLargerThanTheIndicesCycles() {
        var sampler = MinibatchSampler(indices: [5, 6, 7], batchSize: 7, seed: 5, stream: 0)
        let drawn = sampler.next() + sampler.next() + sampler.next()  // 21 = 7 passes
        XCTAssertEqual(sampler.passes, 7)
        for pass in 0..<7 {
            XCTAssertEqual(drawn[pass * 3..<pass * 3 + 3].sorted(), [5, 6, 7])
        }
    }
}
