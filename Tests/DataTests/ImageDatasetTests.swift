import Data
import XCTest

final class ImageDatasetTests: XCTestCase {
    /// Three 2 x 2 images with pixel values whose normalized values are easy to check.
    private func tinySet() -> ImageDataset {
        ImageDataset(
            count: 3, height: 2, width: 2, channels: 1, classes: 4,
            pixels: [0, 255, 51, 102, 10, 20, 30, 40, 255, 255, 0, 0],
            labels: [3, 0, 2], mean: 0.5, std: 0.25)
    }

    func testFillBatchNormalizesAndFollowsIndexOrder() {
        let set = tinySet()
        XCTAssertEqual(set.featureCount, 4)
        var features = [Float](repeating: .nan, count: 4 * 4)
        var labels = [Int32](repeating: -1, count: 4)
        let indices = [2, 0, 2, 1]  // repeats allowed
        set.fillBatch(indices: indices, features: &features, labels: &labels)
        XCTAssertEqual(labels, [2, 3, 2, 0])
        // (p / 255 - 0.5) / 0.25: 255 -> 2, 0 -> -2, 51 -> -1.2, 102 -> -0.4.
        let expectedRows: [[Float]] = [
            [2, 2, -2, -2],
            [-2, 2, -1.2, -0.4],
            [2, 2, -2, -2],
            [10, 20, 30, 40].map { (Float($0) / 255 - 0.5) / 0.25 },
        ]
        for (row, expected) in expectedRows.enumerated() {
            for k in 0..<4 {
                XCTAssertEqual(features[row * 4 + k], expected[k], accuracy: 1e-5, "row \(row) feature \(k)")
            }
        }
    }

    func testFillBatchTakesAnyCollectionAndWritesOnlyItsRows() {
        let set = tinySet()
        var features = [Float](repeating: 99, count: 3 * 4)
        var labels: [Int32] = [99, 99, 99]
        set.fillBatch(indices: 1..<3, features: &features, labels: &labels)
        XCTAssertEqual(labels, [0, 2, 99])
        XCTAssertEqual(features[0], (10 / 255 - 0.5) / 0.25, accuracy: 1e-5)
        XCTAssertEqual(features[4], 2, accuracy: 1e-5)
        XCTAssertEqual(Array(features[8...]), [99, 99, 99, 99])
    }

    func testSubsetKeepsShapeAndNormalization() {
        let set = tinySet()
        let sub = set.subset([2, 0])
        XCTAssertEqual(sub.count, 2)
        XCTAssertEqual(sub.pixels, [255, 255, 0, 0, 0, 255, 51, 102])
        XCTAssertEqual(sub.labels, [2, 3])
        XCTAssertEqual([sub.height, sub.width, sub.channels, sub.classes], [2, 2, 1, 4])
        XCTAssertEqual(sub.mean, 0.5)
        XCTAssertEqual(sub.std, 0.25)
        XCTAssertEqual(set.subset([]).count, 0)
    }

    func testLabelCounts() {
        XCTAssertEqual(tinySet().labelCounts(), [1, 0, 1, 1])
    }
}
