@testable import Federated
import Foundation
import XCTest

final class ResidualSpillTests: XCTestCase {
    /// Residuals of many clients, written and rewritten in any order, read
    /// back bit for bit; a client never stored reads as nil; the file has no
    /// name in the directory.
    func testResidualsComeBackBitForBit() throws {
        let dir = NSTemporaryDirectory() + "spill-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let length = 1001
        let spill = try ResidualSpill(directory: dir, length: length, rank: 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "unlinked at once")
        func residual(_ client: Int, _ version: Int) -> [Float] {
            (0..<length).map { Float(bitPattern: UInt32(truncatingIfNeeded: ($0 &* 2_654_435_761) ^ (client << 20) ^ version) & 0xBF7F_FFFF) }
        }
        for client in [7, 3, 900, 1] { try spill.store(residual(client, 0), client: client) }
        try spill.store(residual(3, 1), client: 3)
        XCTAssertEqual(try spill.load(client: 3)?.map(\.bitPattern), residual(3, 1).map(\.bitPattern))
        for client in [7, 900, 1] {
            XCTAssertEqual(try spill.load(client: client)?.map(\.bitPattern), residual(client, 0).map(\.bitPattern), "client \(client)")
        }
        XCTAssertNil(try spill.load(client: 2))
        XCTAssertEqual(spill.bytesOnDisk, 4 * length * 4, "one slot per client, rewritten in place")
    }

    func testAMissingDirectoryIsOneLine() {
        XCTAssertThrowsError(try ResidualSpill(directory: "/nonexistent-\(UUID().uuidString)", length: 4, rank: 2)) { error in
            XCTAssertTrue("\(error)".hasPrefix("rank 2: cannot create the residual spill file in /nonexistent-"), "\(error)")
        }
    }
}
