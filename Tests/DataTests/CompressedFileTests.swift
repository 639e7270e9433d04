import Data
import XCTest

final class CompressedFileTests: XCTestCase {
    func testPlainFileIsReadAsIs() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let content = pseudoRandomBytes(count: 100_000, seed: 1)
        // A plain file is plain even when its name says gzip.
        try writeFile(dir + "/plain.gz", content)
        XCTAssertEqual(try readPossiblyCompressedFile(path: dir + "/plain.gz"), content)
        try writeFile(dir + "/empty", [])
        XCTAssertEqual(try readPossiblyCompressedFile(path: dir + "/empty"), [])
    }

    func testGzipIsDetectedByMagicNotName() throws {
        let dir = try makeTemporaryDirectory(for: self)
        // Over a megabyte, partly compressible, so zlib produces several output chunks.
        let content = pseudoRandomBytes(count: 600_000, seed: 2) + [UInt8](repeating: 7, count: 700_000)
        let compressed = try gzipWithSystemTool(content, scratch: dir)
        XCTAssertLessThan(compressed.count, content.count)
        try writeFile(dir + "/data.gz", compressed)
        try writeFile(dir + "/data-without-suffix", compressed)
        XCTAssertEqual(try readPossiblyCompressedFile(path: dir + "/data.gz"), content)
        XCTAssertEqual(try readPossiblyCompressedFile(path: dir + "/data-without-suffix"), content)
    }

    func testConcatenatedMembersAreJoined() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let a = pseudoRandomBytes(count: 3000, seed: 3)
        let b = pseudoRandomBytes(count: 5000, seed: 4)
        let both = try gzipWithSystemTool(a, scratch: dir) + gzipWithSystemTool(b, scratch: dir)
        try writeFile(dir + "/both.gz", both)
        XCTAssertEqual(try readPossiblyCompressedFile(path: dir + "/both.gz"), a + b)
    }

    func testMissingFile() {
        let path = "/nonexistent-edgetrain-dir/train-images-idx3-ubyte.gz"
        assertThrows(.missingFile(path: path, alsoTried: [])) { try readPossiblyCompressedFile(path: path) }
        XCTAssertEqual(
            DataError.missingFile(path: path, alsoTried: []).description,
            "/nonexistent-edgetrain-dir/train-images-idx3-ubyte.gz: no such file")
    }

    func testDirectoryIsUnreadable() throws {
        let dir = try makeTemporaryDirectory(for: self)
        XCTAssertThrowsError(try readPossiblyCompressedFile(path: dir)) { error in
            guard case let .unreadableFile(path, _) = error as? DataError else {
                return XCTFail("expected unreadableFile, got \(error)")
            }
            XCTAssertEqual(path, dir)
        }
    }

    func testTruncatedGzipStream() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let compressed = try gzipWithSystemTool(pseudoRandomBytes(count: 50_000, seed: 5), scratch: dir)
        // Cut in the compressed data, in the 8-byte trailer, and right after the magic.
        for cut in [compressed.count / 2, compressed.count - 1, compressed.count - 8, 2] {
            let path = dir + "/cut-\(cut).gz"
            try writeFile(path, Array(compressed.prefix(cut)))
            assertThrows(.truncatedGzip(file: path, compressedBytes: cut)) {
                try readPossiblyCompressedFile(path: path)
            }
        }
        XCTAssertEqual(
            DataError.truncatedGzip(file: "/d/train-images-idx3-ubyte.gz", compressedBytes: 1234).description,
            "/d/train-images-idx3-ubyte.gz: truncated gzip stream (ends after 1234 bytes)")
    }

    func testCorruptGzipStream() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let compressed = try gzipWithSystemTool(pseudoRandomBytes(count: 20_000, seed: 6), scratch: dir)
        var badBlock = compressed
        badBlock[10] = 0x07  // first deflate block: final, reserved block type 3
        var badChecksum = compressed
        badChecksum[compressed.count - 8] ^= 0xFF  // CRC-32 in the trailer
        let trailingGarbage = compressed + [0x41, 0x42, 0x43]
        for (name, bytes) in [("block", badBlock), ("checksum", badChecksum), ("garbage", trailingGarbage)] {
            let path = dir + "/\(name).gz"
            try writeFile(path, bytes)
            XCTAssertThrowsError(try readPossiblyCompressedFile(path: path), name) { error in
                guard case let .corruptGzip(file, reason) = error as? DataError else {
                    return XCTFail("\(name): expected corruptGzip, got \(error)")
                }
                XCTAssertEqual(file, path)
                XCTAssertFalse(reason.isEmpty)
            }
        }
    }
}
