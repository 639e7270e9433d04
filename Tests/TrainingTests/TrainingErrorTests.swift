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
        // Settings are the same on every rank, and checked inside `agree`.
        XCTAssertTrue(TrainingError.invalidSettings("--compression qsgd does not combine with checkpoints yet").raisedOnEveryRank)
    }

    /// The library refuses what the command line refuses, so an API caller
    /// cannot write checkpoints that drop a codec's state or lose momentum.
    func testSettingsThatDoNotCombine() {
        var c = TrainConfig()
        XCTAssertNil(c.settingsProblem, "group-topk with checkpoints is fine")
        c.checkpointEvery = 5
        XCTAssertNil(c.settingsProblem)
        c.compression!.method = .qsgd
        XCTAssertTrue(c.settingsProblem?.hasPrefix("--compression qsgd does not combine with checkpoints yet") == true)
        c.checkpointEvery = 0
        c.resume = true
        XCTAssertNotNil(c.settingsProblem)
        c.resume = false
        c.compression!.momentum = .correction
        XCTAssertEqual(c.settingsProblem, "DGC momentum correction works with --compression group-topk only, not qsgd")
        c.compression!.momentum = .optimizer
        c.compression!.policy = .reselect
        XCTAssertEqual(c.settingsProblem, "--sparse-reduce is the sparse ring's; --compression qsgd does not use it")
        c.compression!.policy = .exact
        XCTAssertNil(c.settingsProblem)
    }
}
