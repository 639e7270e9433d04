import Data
import XCTest

final class SyntheticDataTests: XCTestCase {
    func testSameSeedSameBytesDifferentSeedDifferentBytes() {
        let a = SyntheticData.make(count: 300, seed: 11)
        let b = SyntheticData.make(count: 300, seed: 11)
        let c = SyntheticData.make(count: 300, seed: 12)
        XCTAssertEqual(a.pixels, b.pixels)
        XCTAssertEqual(a.labels, b.labels)
        XCTAssertEqual(a.mean, b.mean)
        XCTAssertEqual(a.std, b.std)
        XCTAssertNotEqual(a.pixels, c.pixels)
        XCTAssertNotEqual(a.labels, c.labels)
    }

    /// The synthetic source's class count is the generator's.
    func testTheSyntheticSourceHasTheGeneratorsClasses() {
        XCTAssertEqual(DataSource.synthetic(trainCount: 30, testCount: 5).classes,
                       SyntheticData.make(count: 30, seed: 1).classes)
    }

    func testShapeAndBalancedShuffledLabels() {
        let set = SyntheticData.make(count: 1003, classes: 7, height: 5, width: 6, seed: 1)
        XCTAssertEqual([set.count, set.height, set.width, set.channels, set.classes], [1003, 5, 6, 1, 7])
        XCTAssertEqual(set.pixels.count, 1003 * 30)
        // 1003 = 7 * 143 + 2: two classes have one more sample.
        XCTAssertEqual(set.labelCounts().sorted(), [143, 143, 143, 143, 143, 144, 144])
        XCTAssertNotEqual(set.labels, (0..<1003).map { UInt8($0 % 7) }, "labels are not shuffled")
    }

    func testMeanAndStdDescribeThePixels() {
        let set = SyntheticData.make(count: 200, seed: 3)
        let scaled = set.pixels.map { Double($0) / 255 }
        let mean = scaled.reduce(0, +) / Double(scaled.count)
        let variance = scaled.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(scaled.count)
        XCTAssertEqual(Double(set.mean), mean, accuracy: 1e-5)
        XCTAssertEqual(Double(set.std), variance.squareRoot(), accuracy: 1e-5)
        XCTAssertGreaterThan(set.pixels.max()!, 200, "prototypes should reach bright values")
    }

    func testWithoutNoiseSamplesAreTheirClassPrototype() {
        let set = SyntheticData.make(count: 40, classes: 4, seed: 5, noise: 0)
        let n = set.featureCount
        var prototypes = [[UInt8]?](repeating: nil, count: 4)
        for i in 0..<set.count {
            let image = Array(set.pixels[i * n..<(i + 1) * n])
            let label = Int(set.labels[i])
            if let known = prototypes[label] {
                XCTAssertEqual(image, known, "sample \(i) differs from its class prototype")
            } else {
                prototypes[label] = image
            }
        }
        let distinct = Set(prototypes.compactMap { $0 })
        XCTAssertEqual(distinct.count, 4, "classes must have different prototypes")
    }

    func testDefaultNoiseIsLargeButClassesAreLearnable() {
        let set = SyntheticData.make(count: 1000, seed: 8)
        let n = set.featureCount
        let train = 0..<700
        let test = 700..<1000
        // Class means from the training part, nearest mean for the rest.
        var centroids = [[Double]](repeating: [Double](repeating: 0, count: n), count: set.classes)
        var counts = [Double](repeating: 0, count: set.classes)
        for i in train {
            let c = Int(set.labels[i])
            counts[c] += 1
            for k in 0..<n { centroids[c][k] += Double(set.pixels[i * n + k]) }
        }
        for c in 0..<set.classes { centroids[c] = centroids[c].map { $0 / counts[c] } }
        var correct = 0
        var sameClassDistance = 0.0
        var pairs = 0
        for i in test {
            var best = 0
            var bestDistance = Double.infinity
            for c in 0..<set.classes {
                var d = 0.0
                for k in 0..<n {
                    let e = Double(set.pixels[i * n + k]) - centroids[c][k]
                    d += e * e
                }
                if d < bestDistance { (best, bestDistance) = (c, d) }
            }
            if best == Int(set.labels[i]) { correct += 1 }
            // Noise: two samples of one class differ on average by tens of levels.
            if let j = (i + 1..<test.upperBound).first(where: { set.labels[$0] == set.labels[i] }) {
                for k in 0..<n { sameClassDistance += abs(Double(set.pixels[i * n + k]) - Double(set.pixels[j * n + k])) }
                pairs += n
            }
        }
        XCTAssertGreaterThan(Double(correct) / Double(test.count), 0.9, "nearest class mean should classify well")
        XCTAssertGreaterThan(sameClassDistance / Double(pairs), 50, "same-class samples should differ by noise")
    }
}
