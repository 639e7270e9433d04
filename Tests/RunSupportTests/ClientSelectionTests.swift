import RunSupport
import XCTest

final class ClientSelectionTests: XCTestCase {
    /// The count wins over the fraction and is clamped to 1...clients; a
    /// fraction rounds to the nearest client, halves away from zero, and
    /// selects at least 1; neither selects all.
    func testSelectionCountClampsAndRoundsHalvesAwayFromZero() {
        XCTAssertEqual(selectionCount(clientsPerRound: 4, fraction: 0.9, of: 10), 4)
        XCTAssertEqual(selectionCount(clientsPerRound: 0, fraction: nil, of: 10), 1)
        XCTAssertEqual(selectionCount(clientsPerRound: 20, fraction: nil, of: 10), 10)
        XCTAssertEqual(selectionCount(clientsPerRound: nil, fraction: 0.25, of: 10), 3, "2.5 rounds up")
        XCTAssertEqual(selectionCount(clientsPerRound: nil, fraction: 0.24, of: 10), 2)
        XCTAssertEqual(selectionCount(clientsPerRound: nil, fraction: 0.5, of: 5), 3, "2.5 rounds up")
        XCTAssertEqual(selectionCount(clientsPerRound: nil, fraction: 0.04, of: 10), 1, "0.4 rounds to 0, then at least 1")
        XCTAssertEqual(selectionCount(clientsPerRound: nil, fraction: 1, of: 7), 7)
        XCTAssertEqual(selectionCount(clientsPerRound: nil, fraction: nil, of: 7), 7)
        XCTAssertEqual(fractionOfClients(0.04, of: 10), 0)
        XCTAssertEqual(fractionOfClients(0.25, of: 10), 3)
        XCTAssertNil(fractionOfClients(nil, of: 10))
    }
}
