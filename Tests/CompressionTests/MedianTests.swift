import Compression
import XCTest

final class MedianTests: XCTestCase {
    func testOddCountIsTheMiddleValueInAnyOrder() {
        XCTAssertEqual(median([3, 1, 2]), 2)
        XCTAssertEqual(median([5]), 5)
    }

    func testEvenCountIsTheMeanOfTheMiddleTwo() {
        XCTAssertEqual(median([4, 1, 3, 2]), 2.5)
        XCTAssertEqual(median([7, 1]), 4)
    }

    func testEmptyListIsZero() {
        XCTAssertEqual(median([]), 0)
    }
}
