import Data
import Foundation
import XCTest

/// A fresh directory under the system's temporary directory, removed by the
/// test case's teardown.
func makeTemporaryDirectory(for test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "DataTests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// Writes `bytes` to `path`, replacing any file there.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    guard FileManager.default.createFile(atPath: path, contents: Foundation.Data(bytes)) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
}

/// Compresses `bytes` with the system's `gzip` (not with the code under test)
/// and returns the compressed file's bytes.
func gzipWithSystemTool(_ bytes: [UInt8], scratch directory: String) throws -> [UInt8] {
    let input = directory + "/to-compress-" + UUID().uuidString
    try writeFile(input, bytes)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    // -n: no name or time stamp, so the header is exactly 10 bytes.
    process.arguments = ["-n", "-f", input]
    try process.run()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, "gzip failed")
    let compressed = try Foundation.Data(contentsOf: URL(fileURLWithPath: input + ".gz"))
    try FileManager.default.removeItem(atPath: input + ".gz")
    return [UInt8](compressed)
}

/// Bytes that are the same on every run and look random enough to compress poorly.
func pseudoRandomBytes(count: Int, seed: UInt32) -> [UInt8] {
    var x = seed | 1
    return (0..<count).map { _ in
        x ^= x << 13
        x ^= x >> 17
        x ^= x << 5
        return UInt8(truncatingIfNeeded: x >> 8)
    }
}

/// Asserts that `body` throws exactly `expected`, whose description is one line.
func assertThrows<T>(
    _ expected: DataError, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) {
    do {
        _ = try body()
        XCTFail("expected \(expected) but nothing was thrown", file: file, line: line)
    } catch let error as DataError {
        XCTAssertEqual(error, expected, file: file, line: line)
        XCTAssertFalse(error.description.contains("\n"), "description is not one line", file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}
