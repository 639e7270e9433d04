import Data
import Foundation
import XCTest

final class FashionMNISTTests: XCTestCase {
    /// The real data set, installed by Debian's `dataset-fashion-mnist` (CI installs it).
    func testLoadsTheRealDataSet() throws {
        let dir = FashionMNIST.defaultDirectory
        guard FileManager.default.fileExists(atPath: dir + "/train-images-idx3-ubyte.gz")
            || FileManager.default.fileExists(atPath: dir + "/train-images-idx3-ubyte")
        else {
            return XCTFail(
                "Fashion-MNIST is not in \(dir): install it with `apt-get install dataset-fashion-mnist`")
        }
        let train = try FashionMNIST.load(directory: dir, split: .train)
        XCTAssertEqual(train.count, 60_000)
        XCTAssertEqual([train.height, train.width, train.channels, train.classes], [28, 28, 1, 10])
        XCTAssertEqual(train.featureCount, 784)
        XCTAssertEqual(train.labelCounts(), [Int](repeating: 6000, count: 10))
        XCTAssertEqual(train.pixels.count, 60_000 * 784)

        let test = try FashionMNIST.load(directory: dir, split: .test)
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual([test.height, test.width], [28, 28])
        XCTAssertEqual(test.labelCounts(), [Int](repeating: 1000, count: 10))
        XCTAssertEqual(test.mean, FashionMNIST.mean)
        XCTAssertEqual(test.std, FashionMNIST.std)

        // The pixel statistics of the test split are close to the published
        // training constants only if the images were decoded correctly.
        var sum = 0.0
        var sumOfSquares = 0.0
        test.pixels.withUnsafeBufferPointer { pixels in
            for p in pixels {
                let x = Double(p) / 255
                sum += x
                sumOfSquares += x * x
            }
        }
        let mean = sum / Double(test.pixels.count)
        let std = (sumOfSquares / Double(test.pixels.count) - mean * mean).squareRoot()
        XCTAssertEqual(mean, Double(FashionMNIST.mean), accuracy: 0.005)
        XCTAssertEqual(std, Double(FashionMNIST.std), accuracy: 0.005)
    }

    func testMissingFilesNameBothNames() throws {
        let dir = try makeTemporaryDirectory(for: self)
        assertThrows(
            .missingFile(
                path: dir + "/train-images-idx3-ubyte.gz", alsoTried: [dir + "/train-images-idx3-ubyte"])
        ) { try FashionMNIST.load(directory: dir, split: .train) }
        let message = DataError.missingFile(path: "/d/a.gz", alsoTried: ["/d/a"]).description
        XCTAssertEqual(message, "/d/a.gz: no such file (also tried /d/a)")
    }

    func testLoadsPlainFilesOfAnyImageSize() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let pixels = pseudoRandomBytes(count: 4 * 5 * 3, seed: 9)
        try writeFile(dir + "/t10k-images-idx3-ubyte", IDX.encode(IDXArray(dimensions: [4, 5, 3], bytes: pixels)))
        try writeFile(dir + "/t10k-labels-idx1-ubyte", IDX.encode(IDXArray(dimensions: [4], bytes: [9, 0, 3, 3])))
        let set = try FashionMNIST.load(directory: dir, split: .test)
        XCTAssertEqual([set.count, set.height, set.width, set.channels], [4, 5, 3, 1])
        XCTAssertEqual(set.pixels, pixels)
        XCTAssertEqual(set.labels, [9, 0, 3, 3])
        XCTAssertEqual(set.labelCounts(), [1, 0, 0, 2, 0, 0, 0, 0, 0, 1])
    }

    func testImageAndLabelCountMismatch() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let images = dir + "/t10k-images-idx3-ubyte"
        let labels = dir + "/t10k-labels-idx1-ubyte.gz"
        try writeFile(images, IDX.encode(IDXArray(dimensions: [3, 2, 2], bytes: [UInt8](repeating: 1, count: 12))))
        try writeFile(labels, gzipWithSystemTool(IDX.encode(IDXArray(dimensions: [4], bytes: [1, 2, 3, 4])), scratch: dir))
        assertThrows(.countMismatch(images: images, imageCount: 3, labels: labels, labelCount: 4)) {
            try FashionMNIST.load(directory: dir, split: .test)
        }
        let message = DataError.countMismatch(images: images, imageCount: 3, labels: labels, labelCount: 4).description
        XCTAssertTrue(message.contains(images) && message.contains(labels), message)
    }

    func testLabelOutOfRange() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let labels = dir + "/train-labels-idx1-ubyte"
        try writeFile(dir + "/train-images-idx3-ubyte", IDX.encode(IDXArray(dimensions: [3, 1, 1], bytes: [0, 1, 2])))
        try writeFile(labels, IDX.encode(IDXArray(dimensions: [3], bytes: [9, 0, 10])))
        assertThrows(.labelOutOfRange(file: labels, index: 2, label: 10, classes: 10)) {
            try FashionMNIST.load(directory: dir, split: .train)
        }
    }

    func testImagesMustBeThreeDimensional() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let images = dir + "/train-images-idx3-ubyte"
        try writeFile(images, IDX.encode(IDXArray(dimensions: [3, 4], bytes: [UInt8](repeating: 0, count: 12))))
        try writeFile(dir + "/train-labels-idx1-ubyte", IDX.encode(IDXArray(dimensions: [3], bytes: [0, 1, 2])))
        XCTAssertThrowsError(try FashionMNIST.load(directory: dir, split: .train)) { error in
            guard case let .unexpectedShape(file, _, found) = error as? DataError else {
                return XCTFail("expected unexpectedShape, got \(error)")
            }
            XCTAssertEqual(file, images)
            XCTAssertEqual(found, [3, 4])
        }
    }

    /// The streamed subset equals the whole split's subset, on the installed
    /// data set (CI installs it): 300 spread indices, the first and the last.
    func testStreamedSubsetOfTheRealTrainingSetEqualsTheLoadedSubset() throws {
        let dir = FashionMNIST.defaultDirectory
        guard FileManager.default.fileExists(atPath: dir + "/train-images-idx3-ubyte.gz")
            || FileManager.default.fileExists(atPath: dir + "/train-images-idx3-ubyte")
        else {
            return XCTFail("Fashion-MNIST is not in \(dir): install it with `apt-get install dataset-fashion-mnist`")
        }
        let indices = [0] + Array(stride(from: 7, to: 59_999, by: 199)).prefix(298) + [59_999]
        let streamed = try FashionMNIST.load(directory: dir, split: .train, indices: indices)
        let whole = try FashionMNIST.load(directory: dir, split: .train).subset(indices)
        XCTAssertEqual(streamed.count, 300)
        XCTAssertEqual(streamed.pixels, whole.pixels)
        XCTAssertEqual(streamed.labels, whole.labels)
        XCTAssertEqual([streamed.height, streamed.width, streamed.channels, streamed.classes],
                       [whole.height, whole.width, whole.channels, whole.classes])
        XCTAssertEqual([streamed.mean, streamed.std], [whole.mean, whole.std])
    }

    /// The streamed load compares the images file's record count with the
    /// labels', from the header (whichever is longer), as `load` does.
    func testStreamedSubsetRefusesACountMismatch() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let images = dir + "/train-images-idx3-ubyte"
        let labels = dir + "/train-labels-idx1-ubyte"
        for (imageCount, labelCount) in [(5, 4), (3, 4)] {
            try writeFile(images, IDX.encode(IDXArray(dimensions: [imageCount, 2, 2], bytes: pseudoRandomBytes(count: imageCount * 4, seed: 3))))
            try writeFile(labels, IDX.encode(IDXArray(dimensions: [labelCount], bytes: Array(repeating: 1, count: labelCount))))
            assertThrows(.countMismatch(images: images, imageCount: imageCount, labels: labels, labelCount: labelCount)) {
                try FashionMNIST.load(directory: dir, split: .train, indices: [0, 2])
            }
        }
    }

    /// An index outside the samples is refused with one line naming it.
    func testStreamedSubsetRefusesAnIndexOutsideTheSamples() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let labels = dir + "/train-labels-idx1-ubyte"
        try writeFile(dir + "/train-images-idx3-ubyte", IDX.encode(IDXArray(dimensions: [4, 1, 1], bytes: [0, 1, 2, 3])))
        try writeFile(labels, IDX.encode(IDXArray(dimensions: [4], bytes: [0, 1, 2, 3])))
        assertThrows(.sampleOutOfRange(file: labels, index: 4, count: 4)) {
            try FashionMNIST.load(directory: dir, split: .train, indices: [1, 4])
        }
        assertThrows(.sampleOutOfRange(file: labels, index: -1, count: 4)) {
            try FashionMNIST.load(directory: dir, split: .train, indices: [-1, 2])
        }
        XCTAssertEqual(try FashionMNIST.load(directory: dir, split: .train, indices: [1, 3]).labels, [1, 3])
    }
}
