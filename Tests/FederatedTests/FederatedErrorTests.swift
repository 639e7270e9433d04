import Federated
import XCTest

/// See CollectiveErrorTests: which errors every rank raises decides how the
/// job ends.
final class FederatedErrorTests: XCTestCase {
    func testWhichCasesEveryRankRaises() {
        XCTAssertTrue(FederatedError.setup("--clients-per-round 9 is more than the 4 clients").raisedOnEveryRank)
        XCTAssertFalse(FederatedError.failed("client 2: no word from the coordinator for 30 s").raisedOnEveryRank)
        XCTAssertFalse(FederatedError.rejectedUpload("7 extra floats").raisedOnEveryRank)
        XCTAssertEqual("\(FederatedError.rejectedUpload("7 extra floats"))", "7 extra floats")
    }
}
