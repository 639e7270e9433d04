import Training
import XCTest

/// See CollectiveErrorTests: which errors every rank raises decides how the
/// job ends.
final class TrainingErrorTests: XCTestCase {
    func testWhichCasesEveryRankRaises() {
        let divergence = TrainingError.modelDivergence(step: 20, rank: 2, hash: "b", rankZeroHash: "a")
        XCTAssertTrue(divergence.raisedOnEveryRank)
        XCTAssertEqual("\(divergence)", "model diverged across ranks at step 20: rank 0 has sha256 a, rank 2 has b")
        // A non-finite number is seen by one rank; the trainer agrees it
        // (`PeerGroup.agree`) before it reaches the top.
        XCTAssertFalse(TrainingError.nonFinite("non-finite loss nan at step 3 on rank 1").raisedOnEveryRank)
    }
}
