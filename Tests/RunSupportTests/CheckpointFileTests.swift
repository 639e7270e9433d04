import Foundation
import RunSupport
import XCTest

/// The file and problem of a checkpoint error; nil for any other error.
func checkpointFailure(_ error: Error) -> (file: String, problem: String)? {
    guard case let .checkpoint(file, problem)? = error as? RunSupportError else { return nil }
    return (file, problem)
}

final class CheckpointFileTests: XCTestCase {
    func sample() -> CheckpointFile {
        var f = CheckpointFile()
        f.set("kind", string: "train")
        f.set("step", integer: 120)
        f["model"] = .floats([1.5, -2, .pi, 0])
        f["numbers"] = .doubles([0.25, -1e300])
        f["perm"] = .integers([3, 1, 2, Int64.min])
        return f
    }

    /// Replaces the trailing digest with the right one for the mutated body,
    /// so the fuzz reaches the section parser instead of stopping at the digest.
    func resealed(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 32 else { return bytes }
        let body = Array(bytes.dropLast(32))
        var h = SHA256()
        h.update(body)
        return body + h.finalize()
    }

    func testRoundTripKeepsEverySectionExactly() throws {
        let f = sample()
        let decoded = try CheckpointFile(decoding: f.encoded(), file: "x")
        XCTAssertEqual(decoded, f)
        XCTAssertEqual(try decoded.integer("step", file: "x"), 120)
        XCTAssertEqual(try decoded.string("kind", file: "x"), "train")
        XCTAssertThrowsError(try decoded.floats("perm", file: "x")) {
            XCTAssertEqual($0 as? RunSupportError, RunSupportError.checkpoint(file: "x", problem: "no section 'perm' of the expected kind"))
        }
    }

    func testEveryTruncationAndAFlippedBitAreRefusedWithAReason() {
        let bytes = sample().encoded()
        for n in 0..<bytes.count {
            XCTAssertThrowsError(try CheckpointFile(decoding: Array(bytes.prefix(n)), file: "f")) {
                XCTAssertNotNil(checkpointFailure($0), "\(n) bytes: \($0)")
            }
        }
        var flipped = bytes
        flipped[40] ^= 0x10
        XCTAssertThrowsError(try CheckpointFile(decoding: flipped, file: "f")) {
            XCTAssertEqual(checkpointFailure($0)?.file, "f")
        }
    }

    func testAnotherFormatVersionIsRefusedNamingTheFileAndBothVersions() {
        let bytes = sample().encoded()
        XCTAssertEqual(Array(bytes[0..<16]), Array("EDGETRAINCKPT2\0\0".utf8))
        // Version 1 framed its sections exactly as version 2 does but kept
        // scalars by position ("progress.counts"); only the version tells them apart.
        for version in ["1", "3", "10"] {
            var other = bytes
            other.replaceSubrange(13..<16, with: Array(version.utf8) + [UInt8](repeating: 0, count: 3 - version.utf8.count))
            XCTAssertThrowsError(try CheckpointFile(decoding: resealed(other), file: "d/rank-0.ckpt")) {
                XCTAssertEqual("\($0)", "d/rank-0.ckpt: checkpoint format version \(version); this build reads version 2 "
                    + "(resume with the build that wrote it, or start afresh)")
            }
        }
    }

    func testAManifestOfAnOlderVersionIsRefusedWithOneLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = CheckpointStore(directory: dir)
        try store.write(sample(), tag: CheckpointStore.tag(10), rank: 0)
        // What version 1 wrote: no format_version key.
        let old = #"{"config_sha256":"abc","epoch":1,"kind":"train","ranks":1,"step":10}"#
        try Data((old + "\n").utf8).write(to: URL(fileURLWithPath: "\(dir)/ckpt-000000010/COMPLETE"))
        XCTAssertThrowsError(try store.newest()) {
            XCTAssertEqual("\($0)", "\(dir)/ckpt-000000010/COMPLETE: checkpoint format version 1; this build reads version 2 "
                + "(resume with the build that wrote it, or start afresh)")
        }
        // The current version round-trips by name.
        let manifest = CheckpointManifest(kind: "federated", ranks: 4, configSHA256: "abc", round: 6)
        try store.write(sample(), tag: CheckpointStore.tag(12), rank: 0)
        try store.complete(tag: CheckpointStore.tag(12), manifest: manifest)
        XCTAssertEqual(try store.newest()?.manifest, manifest)
        let text = try String(contentsOfFile: "\(dir)/ckpt-000000012/COMPLETE", encoding: .utf8)
        XCTAssertEqual(text, #"{"config_sha256":"abc","format_version":2,"kind":"federated","ranks":4,"round":6}"# + "\n")
    }

    /// A seeded random-mutation fuzz of the decoder, bounded to a few
    /// thousand inputs: every outcome is a file or a RunSupportError.checkpoint, never a
    /// crash, and whatever decodes re-encodes to something that decodes the same.
    func testFuzzedCheckpointsDecodeOrFailCleanly() {
        let valid = sample().encoded()
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33) % max(bound, 1)
        }
        var decoded = 0, refused = 0
        for round in 0..<4000 {
            var bytes = valid
            switch round % 4 {
            case 0:  // a few random bytes changed
                for _ in 0...random(4) { bytes[random(bytes.count)] = UInt8(truncatingIfNeeded: random(256)) }
            case 1:  // a length or count field made large
                let at = 16 + random(min(60, bytes.count - 16))
                for k in 0..<4 where at + k < bytes.count { bytes[at + k] = 0xFF }
            case 2:  // a slice cut out
                let a = random(bytes.count), b = min(bytes.count, a + random(24))
                bytes.removeSubrange(a..<b)
            default:  // random tail
                bytes = Array(bytes.prefix(random(bytes.count))) + (0..<random(64)).map { _ in UInt8(truncatingIfNeeded: random(256)) }
            }
            if round % 2 == 0 { bytes = resealed(bytes) }
            do {
                let f = try CheckpointFile(decoding: bytes, file: "fuzz")
                XCTAssertEqual(try CheckpointFile(decoding: f.encoded(), file: "again"), f)
                decoded += 1
            } catch RunSupportError.checkpoint {
                refused += 1
            } catch {
                XCTFail("unexpected error type \(error)")
            }
        }
        XCTAssertGreaterThan(decoded, 0, "no mutation decoded: the fuzz never reaches the success path")
        XCTAssertGreaterThan(refused, 1000)
    }

    func testStoreIgnoresIncompleteCheckpointsAndKeepsTheNewestTwo() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = CheckpointStore(directory: dir)
        XCTAssertNil(try store.newest())
        for step in [10, 20, 30] {
            try store.write(sample(), tag: CheckpointStore.tag(step), rank: 0)
            try store.complete(tag: CheckpointStore.tag(step), manifest: CheckpointManifest(kind: "train", ranks: 1, configSHA256: "abc", step: step))
        }
        // Step 40 is written by rank 0 but never marked complete (a crash).
        try store.write(sample(), tag: CheckpointStore.tag(40), rank: 0)
        XCTAssertEqual(try store.completeTags(), ["ckpt-000000020", "ckpt-000000030"])
        let newest = try XCTUnwrap(try store.newest())
        XCTAssertEqual(newest.tag, "ckpt-000000030")
        XCTAssertEqual(try store.read(tag: newest.tag, rank: 0), sample())
        XCTAssertNoThrow(try store.validate(newest.manifest, tag: newest.tag, ranks: 1, configuration: "abc"))
        XCTAssertThrowsError(try store.validate(newest.manifest, tag: newest.tag, ranks: 2, configuration: "abc"))
        XCTAssertThrowsError(try store.validate(newest.manifest, tag: newest.tag, ranks: 1, configuration: "abd"))
        XCTAssertThrowsError(try store.read(tag: newest.tag, rank: 1)) {
            XCTAssertEqual(checkpointFailure($0)?.problem, "missing or unreadable")
        }
    }

    func testPruneRemovesOnlyThisRanksOlderFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prune-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = CheckpointStore(directory: dir)
        for step in [10, 20, 30] {
            for rank in [1, 2] { try store.write(sample(), tag: CheckpointStore.tag(step), rank: rank) }
        }
        store.prune(rank: 1, olderThan: CheckpointStore.tag(20))
        let exists = { (step: Int, rank: Int) in FileManager.default.fileExists(atPath: store.path(tag: CheckpointStore.tag(step), rank: rank)) }
        XCTAssertFalse(exists(10, 1))
        XCTAssertTrue(exists(10, 2), "another rank's file stays")
        XCTAssertTrue(exists(20, 1) && exists(30, 1))
        store.prune(rank: 2, olderThan: CheckpointStore.tag(20))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/\(CheckpointStore.tag(10))"), "an emptied directory goes")
    }
}
