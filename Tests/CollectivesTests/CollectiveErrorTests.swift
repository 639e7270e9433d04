import Collectives
import XCTest

/// Whether an error was raised by every rank at the same point decides how
/// the job ends (rank 0 prints it once and every rank exits 1, or the
/// raising rank aborts the job): a wrong answer leaves ranks waiting or
/// hides the cause. Every case is pinned here.
final class CollectiveErrorTests: XCTestCase {
    func testWhichCasesEveryRankRaises() {
        let cases: [(CollectiveError, Bool)] = [
            (.lengthMismatch(local: 8, min: 8, max: 9), true),
            (.invalidArgument("ranks use different Group-TopK settings"), true),
            (.agreedFailure(rank: 2, message: "bad input"), true),
            (.ringMismatch(size: 10, maxAbsError: 1, tolerance: 0.1), true),
            (.sparseRingMismatch(policy: .exact, size: 10, maxAbsError: 1, tolerance: 0.1), true),
            (.brokenProtocol("rank 1 sent 3 bytes where 4 were expected"), false),
            (.timeout(rank: 0, peer: 1, seconds: 3, operation: "ring exchange"), false),
            (.cancelled(rank: 0, failed: 1, message: "boom"), false),
        ]
        for (error, everyRank) in cases {
            XCTAssertEqual(error.raisedOnEveryRank, everyRank, "\(error)")
        }
    }

    func testMessages() {
        XCTAssertEqual("\(CollectiveError.agreedFailure(rank: 2, message: "bad input"))", "bad input")
        XCTAssertEqual("\(CollectiveError.timeout(rank: 0, peer: nil, seconds: 3, operation: "receive"))",
                       "rank 0: receive: nothing arrived from any rank within 3.0 s; a peer is gone or stuck")
        XCTAssertEqual("\(CollectiveError.sparseRingMismatch(policy: .reselect, size: 10, maxAbsError: 1, tolerance: 0.5))",
                       "sparse ring (reselect) of 10 floats differs from MPI_Allreduce of the densified inputs by 1.0 (tolerance 0.5)")
    }
}
