@testable import Federated
import XCTest

/// Autonomy's keep/re-send rule and the coordinator's merge of early-sent
/// layers; async mode's staleness weights and FedBuff's buffered change.
final class EarlyLayersAndAsyncTests: XCTestCase {
    /// Three layers; layers 0 and 2 were sent early. Layer 0's snapshot
    /// points along its final update (cosine 1): kept. Layer 2's turned
    /// away (cosine 0): re-sent. Layer 1 was never sent early.
    func testClientKeepsEarlyCopiesThatStillPointTheSameWayAndResendsTheOthers() {
        let finals: [Int: [Float]] = [0: [2, 4], 2: [0, 1]]
        let masks = earlyCopyMasks([(0, [1, 2]), (2, [1, 0])], threshold: 0.95) { finals[$0]! }
        XCTAssertEqual(masks.sent, 0b101)
        XCTAssertEqual(masks.kept, 0b001)
        XCTAssertEqual(masks.resent, 0b100)
        // At the threshold exactly: kept (>=). cos([3, 4], [1, 0]) = 3 / (5 x 1),
        // every step exact in Double, so it equals the literal 0.6.
        let edge = earlyCopyMasks([(1, [3, 4])], threshold: 0.6) { _ in [1, 0] }
        XCTAssertEqual(edge.kept, 0b010)
        let above = earlyCopyMasks([(1, [3, 4])], threshold: 0.6.nextUp) { _ in [1, 0] }
        XCTAssertEqual(above.resent, 0b010)
        // The final upload then carries layers 1 and 2, in order, not layer 0.
        let delta: [Float] = [10, 11, 20, 21, 22, 30]
        XCTAssertEqual(uploadPayload(delta, layers: [0..<2, 2..<5, 5..<6], kept: masks.kept), [20, 21, 22, 30])
        XCTAssertEqual(uploadPayload(delta, layers: [0..<2, 2..<5, 5..<6], kept: 0b110), [10, 11])
    }

    func testCoordinatorMergesKeptEarlyLayersWithTheFinalUpload() throws {
        let layers: [(name: String, range: Range<Int>)] = [("fc1", 0..<2), ("fc2", 2..<5), ("fc3", 5..<6)]
        let early: [Int: (delta: [Float], steps: Int)] = [0: ([1, 2], 7), 2: ([9], 4)]
        // Layer 0 kept early (at 7 steps), layers 1 and 2 in the final upload (20 steps).
        let merged = try mergeEarlyLayers(payload: [3, 4, 5, 6], kept: 0b001, steps: 20, layers: layers, early: early, length: 6)
        XCTAssertEqual(merged.delta, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(merged.layerSteps, [7, 20, 20])
        // Layers 0 and 2 kept: the payload holds layer 1 only.
        let both = try mergeEarlyLayers(payload: [3, 4, 5], kept: 0b101, steps: 20, layers: layers, early: early, length: 6)
        XCTAssertEqual(both.delta, [1, 2, 3, 4, 5, 9])
        XCTAssertEqual(both.layerSteps, [7, 20, 4])
        // Refused: a kept layer that never arrived, a short payload, extra floats.
        XCTAssertThrowsError(try mergeEarlyLayers(payload: [1, 2, 3], kept: 0b010, steps: 20, layers: layers, early: early, length: 6)) {
            XCTAssertEqual("\($0)", "kept layer fc2 early but it never arrived")
        }
        XCTAssertThrowsError(try mergeEarlyLayers(payload: [3, 4], kept: 0b001, steps: 20, layers: layers, early: early, length: 6)) {
            XCTAssertEqual("\($0)", "too short for layer fc2")
        }
        XCTAssertThrowsError(try mergeEarlyLayers(payload: [3, 4, 5, 6, 7], kept: 0b001, steps: 20, layers: layers, early: early, length: 6)) {
            XCTAssertEqual("\($0)", "1 extra floats")
        }
    }

    func testAsyncWeightsByStalenessAndDropsTooOldUpdates() {
        XCTAssertEqual(asyncWeight(staleness: 0, maxStaleness: 4, weighting: .polynomial), 1)
        XCTAssertEqual(try XCTUnwrap(asyncWeight(staleness: 3, maxStaleness: 4, weighting: .polynomial)), 0.5, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(asyncWeight(staleness: 4, maxStaleness: 4, weighting: .polynomial)), 1 / 5.0.squareRoot(), accuracy: 1e-15)
        XCTAssertNil(asyncWeight(staleness: 5, maxStaleness: 4, weighting: .polynomial))
        XCTAssertEqual(asyncWeight(staleness: 4, maxStaleness: 4, weighting: .constant), 1)
        XCTAssertNil(asyncWeight(staleness: 1, maxStaleness: 0, weighting: .constant))
    }

    func testBufferedChangeIsTheStalenessWeightedMean() {
        // FedBuff K = 2: a fresh update (weight 1) and one 3 versions old (0.5).
        let change = bufferedChange([([2, -4, 8], 1), ([4, 4, 0], 0.5)], length: 3)
        // (1 x [2, -4, 8] + 0.5 x [4, 4, 0]) / 2 = [2, -1, 4], exact in binary.
        XCTAssertEqual(change, [2, -1, 4])
        // K = 1 (FedAsync): the update times its weight.
        XCTAssertEqual(bufferedChange([([2, 6], 0.5)], length: 2), [1, 3])
        XCTAssertEqual(bufferedChange([], length: 2), [0, 0])
    }
}
