import Foundation
import RunSupport
import XCTest

final class OutputTests: XCTestCase {
    func testSHA256KnownVectors() {
        // FIPS 180-4 examples.
        func hex(_ s: String) -> String { SHA256.hex(Array(s.utf8)) }
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        XCTAssertEqual(SHA256.hex(million),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Fed in uneven pieces, the digest is the same.
        var h = SHA256()
        for chunk in stride(from: 0, to: million.count, by: 6_007) {
            h.update(million[chunk..<min(chunk + 6_007, million.count)])
        }
        XCTAssertEqual(h.finalize().map { String(format: "%02x", $0) }.joined(),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Floats hash as their little-endian bytes.
        let floats: [Float] = [1, -2.5, .infinity]
        XCTAssertEqual(SHA256.hex(floats), SHA256.hex(floats.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } }))
    }

    func testAtomicWriteReplacesAndLeavesNoTemporaryFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.json").path
        try writeAtomically(Array("one".utf8), to: path)
        try writeAtomically(Array("two".utf8), to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "two")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.json"])
    }

    func testAtomicWriteIntoAMissingDirectoryFailsWithThePath() {
        let path = "/nonexistent-\(UUID().uuidString)/metrics.jsonl"
        XCTAssertThrowsError(try writeAtomically([1], to: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(path + ": cannot create"), "\(error)")
        }
    }

    func testMetricsLogWritesOneSortedJSONObjectPerLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("m-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = MetricsLog(path: path)
        try log.append(Sample(event: "epoch", wallSeconds: 1.5, bytesSent: 10, path: "a/b"))
        try log.append(Sample(event: "final", wallSeconds: .nan, bytesSent: nil, path: nil))
        try log.append(Sample(event: "final", wallSeconds: -.infinity, bytesSent: nil, path: "\u{0}non-finite?"))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines, [#"{"bytes_sent":10,"event":"epoch","path":"a/b","wall_s":1.5}"#, #"{"event":"final","wall_s":null}"#,
                               #"{"event":"final","path":"\u0000non-finite?","wall_s":null}"#])
    }

    /// A record as the modes declare theirs: JSON keys from `CodingKeys`.
    struct Sample: Encodable {
        var event: String
        var wallSeconds: Double
        var bytesSent: Int?
        var path: String?

        enum CodingKeys: String, CodingKey {
            case event, wallSeconds = "wall_s", bytesSent = "bytes_sent", path
        }
    }
}
