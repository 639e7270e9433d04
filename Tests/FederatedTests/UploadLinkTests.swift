@testable import Federated
import XCTest

/// The `--client-bandwidth` link model on a clock of the test's own: at
/// 8 Mbit/s a byte takes a microsecond, so every time below is exact.
final class UploadLinkTests: XCTestCase {
    func testTheFinalUploadWaitsBehindEarlySentLayers() {
        var link = UploadLink(megabitsPerSecond: 8)
        // Two layers sent early, at t = 10 and 10.5: 1 s and 2 s on the link.
        XCTAssertEqual(link.send(bytes: 1_000_000, at: 10), 11)
        XCTAssertEqual(link.send(bytes: 2_000_000, at: 10.5), 13, "the second layer waits for the first")
        // Training ends at 12; the final 0.5 s update starts when the layers have crossed, at 13.
        XCTAssertEqual(link.send(bytes: 500_000, at: 12), 13.5)
        XCTAssertEqual(link.freeAt, 13.5)
    }

    func testAnIdleLinkStartsAtOnce() {
        var link = UploadLink(megabitsPerSecond: 8)
        XCTAssertEqual(link.send(bytes: 1_000_000, at: 10), 11)
        // Everything has crossed by 20: nothing ahead of the next transfer.
        XCTAssertEqual(link.send(bytes: 500_000, at: 20), 20.5)
        XCTAssertEqual(link.seconds(bytes: 3_000_000), 3)
    }

    func testWithoutARateNothingQueues() {
        var link = UploadLink(megabitsPerSecond: nil)
        XCTAssertEqual(link.send(bytes: 1 << 30, at: 5), 5)
        XCTAssertEqual(link.send(bytes: 1 << 30, at: 5), 5)
        XCTAssertEqual(link.seconds(bytes: 1 << 30), 0)
    }
}
