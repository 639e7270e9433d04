@testable import Data
import XCTest

/// `inflateGzip` reading its input in pieces, and the file stream over it.
final class GzipStreamTests: XCTestCase {
    /// The outcome of a decode as text: the bytes' count and sum, or the error.
    func outcome(_ body: () throws -> [UInt8]) -> String {
        do {
            let bytes = try body()
            return "\(bytes.count) bytes, sum \(bytes.reduce(0) { $0 &+ Int($1) })"
        } catch {
            return "\(error)"
        }
    }

    /// What `inflateGzip` gives when `read` hands over at most `piece` bytes at a time.
    func inflateInPieces(_ compressed: [UInt8], piece: Int) throws -> [UInt8] {
        var offset = 0, output = [UInt8]()
        try inflateGzip(name: "in-memory", read: { buffer in
            let n = min(piece, buffer.count, compressed.count - offset)
            for k in 0..<n { buffer[k] = compressed[offset + k] }
            offset += n
            return n
        }, consume: { output.append(contentsOf: $0) })
        return output
    }

    /// A 3 MB file that barely compresses: each read asks for at most the
    /// fixed buffer, and output starts before a second buffer's worth of
    /// input is read, so the input is never held whole.
    func testTheInputIsReadThroughAFixedBuffer() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let content = pseudoRandomBytes(count: 3_000_000, seed: 21)
        let compressed = try gzipWithSystemTool(content, scratch: dir)
        var offset = 0, largestRequest = 0, readBeforeOutput: Int?
        var output = [UInt8]()
        try inflateGzip(name: "big", read: { buffer in
            largestRequest = max(largestRequest, buffer.count)
            let n = min(buffer.count, compressed.count - offset)
            for k in 0..<n { buffer[k] = compressed[offset + k] }
            offset += n
            return n
        }, consume: {
            if readBeforeOutput == nil { readBeforeOutput = offset }
            output.append(contentsOf: $0)
        })
        XCTAssertEqual(output, content)
        XCTAssertLessThanOrEqual(largestRequest, gzipBufferBytes)
        XCTAssertLessThanOrEqual(try XCTUnwrap(readBeforeOutput), 2 * gzipBufferBytes)
        XCTAssertGreaterThan(compressed.count, 4 * gzipBufferBytes, "the input spans several buffers")
    }

    /// Members, member boundaries, trailing bytes and cuts handed over 1 to
    /// 7 bytes at a time (so every boundary falls between refills), and in
    /// whole buffers through the file stream: the same bytes or the same
    /// one-line error as `decompressGzip` of the whole input.
    func testPiecesGiveWhatTheWholeInputGives() throws {
        let dir = try makeTemporaryDirectory(for: self)
        let a = try gzipWithSystemTool(pseudoRandomBytes(count: 3000, seed: 3), scratch: dir)
        let b = try gzipWithSystemTool([UInt8](repeating: 9, count: 400_000), scratch: dir)
        var corrupt = a
        corrupt[a.count - 8] ^= 0xFF
        let cases: [(String, [UInt8])] = [
            ("one member", a), ("two members", a + b), ("three members", b + a + b),
            ("1 trailing byte", a + [0x1F]), ("3 trailing bytes", a + [0x41, 0x42, 0x43]),
            ("magic, then garbage", a + [0x1F, 0x8B, 0, 0]), ("cut in the data", Array((a + b).prefix(a.count + b.count / 2))),
            ("cut in the trailer", Array(a.dropLast(3))), ("cut after the magic", [0x1F, 0x8B]), ("bad checksum", corrupt),
        ]
        for (name, bytes) in cases {
            let whole = outcome { try decompressGzip(bytes, name: "in-memory") }
            for piece in [1, 2, 3, 7] {
                XCTAssertEqual(outcome { try inflateInPieces(bytes, piece: piece) }, whole, "\(name), pieces of \(piece)")
            }
            let path = dir + "/case.gz"
            try writeFile(path, bytes)
            let fromFile = outcome { try readPossiblyCompressedFile(path: path) }
            let streamed = outcome {
                var out = [UInt8]()
                try streamPossiblyCompressedFile(path: path) { out.append(contentsOf: $0) }
                return out
            }
            XCTAssertEqual(streamed, fromFile, name)
            XCTAssertEqual(fromFile, whole.replacingOccurrences(of: "in-memory", with: path), name)
        }
    }
}
