import Data
import XCTest

final class IDXTests: XCTestCase {
    func testEncodeMatchesTheFormatByHand() {
        let array = IDXArray(dimensions: [2, 3], bytes: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(IDX.encode(array), [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6])
        let big = IDXArray(dimensions: [0x0102_0304, 0], bytes: [])
        XCTAssertEqual(IDX.encode(big), [0, 0, 8, 2, 1, 2, 3, 4, 0, 0, 0, 0])
    }

    func testRoundTripInMemory() throws {
        let cases = [
            IDXArray(dimensions: [5], bytes: [9, 8, 7, 6, 5]),
            IDXArray(dimensions: [3, 4, 2], bytes: pseudoRandomBytes(count: 24, seed: 1)),
            IDXArray(dimensions: [0, 28, 28], bytes: []),
            IDXArray(dimensions: [1, 1, 1, 1, 1, 1, 1], bytes: [255]),
        ]
        for array in cases {
            XCTAssertEqual(try IDX.parse(IDX.encode(array), name: "x"), array)
        }
    }

    func testRoundTripThroughPlainAndGzipFiles() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let array = IDXArray(dimensions: [10, 28, 28], bytes: pseudoRandomBytes(count: 7840, seed: 2))
        let plain = IDX.encode(array)
        try writeFile(dir + "/images-idx3-ubyte", plain)
        try writeFile(dir + "/images-idx3-ubyte.gz", gzipWithSystemTool(plain, scratch: dir))
        XCTAssertEqual(try IDX.read(path: dir + "/images-idx3-ubyte"), array)
        XCTAssertEqual(try IDX.read(path: dir + "/images-idx3-ubyte.gz"), array)
    }

    func testMissingFile() {
        let path = "/nonexistent-edgetrain-dir/labels-idx1-ubyte"
        assertThrows(.missingFile(path: path, alsoTried: [])) { try IDX.read(path: path) }
    }

    func testWrongMagic() {
        let gzipHeader: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 1, 2, 3, 4]
        assertThrows(.wrongMagic(file: "f", found: [0x1F, 0x8B, 0x08, 0x00])) { try IDX.parse(gzipHeader, name: "f") }
        let error = DataError.wrongMagic(file: "f", found: [0x1F, 0x8B, 0x08, 0x00])
        XCTAssertTrue(error.description.hasPrefix("f: wrong magic number"), error.description)
        XCTAssertTrue(error.description.contains("expected 00 00 08"), error.description)
        XCTAssertTrue(error.description.contains("found 1f 8b 08 00"), error.description)
    }

    func testUnsupportedDataType() {
        // A float IDX file: 00 00 0D 01, one element of four bytes.
        let floats: [UInt8] = [0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3F, 0x80, 0, 0]
        assertThrows(.unsupportedDataType(file: "f", code: 0x0D)) { try IDX.parse(floats, name: "f") }
        XCTAssertTrue(
            DataError.unsupportedDataType(file: "f", code: 0x0D).description.contains("0x0d"))
    }

    func testZeroDimensionsIsInvalid() {
        XCTAssertThrowsError(try IDX.parse([0, 0, 8, 0], name: "f")) { error in
            guard case .invalidHeader("f", _) = error as? DataError else {
                return XCTFail("expected invalidHeader, got \(error)")
            }
        }
    }

    func testTruncatedHeaderAndData() {
        let full = IDX.encode(IDXArray(dimensions: [2, 3], bytes: [1, 2, 3, 4, 5, 6]))  // 18 bytes
        assertThrows(.truncatedFile(file: "f", expectedBytes: 18, actualBytes: 17)) {
            try IDX.parse(Array(full.prefix(17)), name: "f")
        }
        assertThrows(.truncatedFile(file: "f", expectedBytes: 12, actualBytes: 7)) {
            try IDX.parse(Array(full.prefix(7)), name: "f")
        }
        assertThrows(.truncatedFile(file: "f", expectedBytes: 4, actualBytes: 2)) {
            try IDX.parse(Array(full.prefix(2)), name: "f")
        }
        // Every proper prefix is an error, never a crash or a smaller array.
        for cut in 0..<full.count {
            XCTAssertThrowsError(try IDX.parse(Array(full.prefix(cut)), name: "f"))
        }
        XCTAssertEqual(
            DataError.truncatedFile(file: "f", expectedBytes: 18, actualBytes: 17).description,
            "f: truncated file (expected 18 bytes, found 17)")
    }

    func testTrailingBytes() {
        let full = IDX.encode(IDXArray(dimensions: [3], bytes: [1, 2, 3]))  // 11 bytes
        assertThrows(.trailingBytes(file: "f", expectedBytes: 11, actualBytes: 12)) {
            try IDX.parse(full + [0], name: "f")
        }
        assertThrows(.trailingBytes(file: "f", expectedBytes: 11, actualBytes: 13)) {
            try IDX.parse(full + [0, 0], name: "f")
        }
        XCTAssertEqual(
            DataError.trailingBytes(file: "f", expectedBytes: 11, actualBytes: 13).description,
            "f: 2 trailing bytes (expected 11 bytes, found 13)")
    }

    func testHugeDimensionsDoNotOverflow() {
        // 0xFFFFFFFF^3 overflows Int; 0xFFFFFFFF * 2 does not but is far more than the file.
        let overflowing: [UInt8] = [0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12)
        XCTAssertThrowsError(try IDX.parse(overflowing, name: "f")) { error in
            guard case .invalidHeader("f", _) = error as? DataError else {
                return XCTFail("expected invalidHeader, got \(error)")
            }
        }
        let large: [UInt8] = [0, 0, 8, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2, 1]
        assertThrows(.truncatedFile(file: "f", expectedBytes: 12 + 0xFFFF_FFFF * 2, actualBytes: 13)) {
            try IDX.parse(large, name: "f")
        }
    }

    func testRandomAndMutatedInputsNeverTrap() {
        // A small in-process fuzz: every outcome must be an array or a DataError.
        let valid = IDX.encode(IDXArray(dimensions: [2, 2, 2], bytes: [1, 2, 3, 4, 5, 6, 7, 8]))
        var state: UInt64 = 0x1234_5678
        func nextRandom() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        var parsed = 0
        for round in 0..<3000 {
            var bytes = valid
            if round % 3 == 0 {
                bytes = (0..<(nextRandom() % 40)).map { _ in UInt8(truncatingIfNeeded: nextRandom()) }
                if bytes.count >= 3 && round % 2 == 0 { bytes[0] = 0; bytes[1] = 0; bytes[2] = 8 }
            } else {
                for _ in 0...(nextRandom() % 3) {
                    bytes[nextRandom() % bytes.count] = UInt8(truncatingIfNeeded: nextRandom())
                }
            }
            do {
                let array = try IDX.parse(bytes, name: "fuzz")
                XCTAssertEqual(IDX.encode(array), bytes)
                parsed += 1
            } catch is DataError {
            } catch {
                XCTFail("unexpected error type \(error)")
            }
        }
        XCTAssertGreaterThan(parsed, 0, "no mutation kept the file valid: the fuzz loop is not exercising success")
    }
}

/// `IDX.readRecords`: some records of a file, streamed.
final class IDXRecordsTests: XCTestCase {
    func testRecordsMatchTheWholeFileSelectionPlainAndGzip() throws {
        let dir = try makeTemporaryDirectory(for: self)
        // 7 records of 3 x 5 bytes (odd sizes), and a file larger than one 1 MiB read chunk.
        for (count, shape) in [(7, [3, 5]), (5000, [15, 17])] {
            let size = shape.reduce(1, *)
            let array = IDXArray(dimensions: [count] + shape, bytes: pseudoRandomBytes(count: count * size, seed: UInt32(count)))
            let plain = dir + "/plain-\(count)", gz = dir + "/gz-\(count)"
            let encoded = IDX.encode(array)
            try writeFile(plain, encoded)
            try writeFile(gz, try gzipWithSystemTool(encoded, scratch: dir))
            for indices in [[], [0], [count - 1], Array(stride(from: 1, to: count, by: 3)), Array(0..<count)] {
                let expected = indices.flatMap { array.bytes[$0 * size..<($0 + 1) * size] }
                for path in [plain, gz] {
                    let got = try IDX.readRecords(path: path, indices: indices)
                    XCTAssertEqual(got.dimensions, [indices.count] + shape, path)
                    XCTAssertEqual(got.bytes, expected, "\(path) \(indices.prefix(5))")
                }
            }
            XCTAssertThrowsError(try IDX.readRecords(path: plain, indices: [count])) {
                XCTAssertTrue("\($0)".contains("record \(count) asked for, but the file holds \(count)"), "\($0)")
            }
            // Cut short: the same verdict as reading the whole file.
            try writeFile(plain + "-cut", Array(encoded.dropLast(4)))
            var streamed = "", whole = ""
            XCTAssertThrowsError(try IDX.readRecords(path: plain + "-cut", indices: [0])) { streamed = "\($0)" }
            XCTAssertThrowsError(try IDX.read(path: plain + "-cut")) { whole = "\($0)" }
            XCTAssertEqual(streamed, whole)
        }
    }

    /// A gzip file cut short (in the data, in the trailer, after the magic):
    /// the streamed reader gives the whole-file reader's one-line verdict.
    func testTruncatedGzipIsRefusedAsByTheWholeFileReader() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let array = IDXArray(dimensions: [3000, 10, 10], bytes: pseudoRandomBytes(count: 300_000, seed: 11))
        let compressed = try gzipWithSystemTool(IDX.encode(array), scratch: dir)
        for cut in [compressed.count / 2, compressed.count - 1, compressed.count - 8, 2] {
            let path = dir + "/cut-\(cut).gz"
            try writeFile(path, Array(compressed.prefix(cut)))
            assertThrows(.truncatedGzip(file: path, compressedBytes: cut)) { try IDX.readRecords(path: path, indices: [0, 2999]) }
        }
    }

    /// The streamed reader parses the header as `IDX.parse` does: for every
    /// cut of a valid file, header mutations (magic, type, zero dimensions,
    /// sizes that overflow) and random bytes, the same array or error.
    func testTheStreamedReaderParsesHeadersAsIDXParse() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let valid = IDX.encode(IDXArray(dimensions: [2, 3, 2], bytes: Array(1...12)))
        var inputs = (0...valid.count).map { Array(valid.prefix($0)) }
        inputs += [[1, 0, 8, 1, 0, 0, 0, 0], [0, 0, 9, 1, 0, 0, 0, 0], [0, 0, 8, 0], [0, 0, 8, 0, 7],
                   [0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12),
                   [0, 0, 8, 3, 0, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8),
                   [0, 0, 8, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2, 1]]
        var state: UInt64 = 99
        for _ in 0..<300 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var bytes = valid
            bytes[Int(state >> 33) % 16] = UInt8(truncatingIfNeeded: state >> 13)
            inputs.append(bytes)
        }
        for (k, bytes) in inputs.enumerated() {
            let path = dir + "/input-\(k)"
            try writeFile(path, bytes)
            let whole: String, streamed: String
            do {
                let array = try IDX.parse(bytes, name: path)
                whole = "\(array)"
            } catch { whole = "\(error)" }
            do {
                let count = (try? IDX.parse(bytes, name: path).dimensions[0]) ?? 0
                streamed = "\(try IDX.readRecords(path: path, indices: Array(0..<count)))"
            } catch { streamed = "\(error)" }
            XCTAssertEqual(streamed, whole, "\(bytes.prefix(16))")
        }
    }
}
