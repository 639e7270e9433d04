import XCTest

/// The MPI layer and the dense ring under real mpirun jobs of 1 to 5 ranks.
final class MPILayerTests: XCTestCase {
    func testSelfTestPassesOnOneToFiveRanks() throws {
        for ranks in 1...5 {
            let outcome = try MPIJob.run("mpi-selftest", ["all"], ranks: ranks, timeout: 120)
            XCTAssertEqual(outcome.status, 0, "ranks \(ranks): \(outcome.stderr)")
            XCTAssertTrue(outcome.stdout.contains("selftest passed:"), "ranks \(ranks): \(outcome.stdout)")
            XCTAssertTrue(outcome.stdout.contains("on \(ranks) ranks"), outcome.stdout)
        }
    }

    func testAFailingRankEndsTheWholeJobQuickly() throws {
        // Rank 1 throws while ranks 0 and 2 block in MPI_Recv from it.
        let outcome = try MPIJob.run("mpi-selftest", ["fault", "1"], ranks: 3, timeout: 60)
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertLessThan(outcome.seconds, Liveness.failedJob, "the job took \(outcome.seconds) s to end")
        XCTAssertTrue(outcome.stderr.contains("[rank 1] check failed") || outcome.stderr.contains("[rank 1] injected fault"),
                      outcome.stderr)
    }

    func testAnErrorEveryRankAgreesOnIsPrintedOnce() throws {
        let outcome = try MPIJob.run("mpi-selftest", ["agreed"], ranks: 4, timeout: 60)
        XCTAssertNotEqual(outcome.status, 0)
        let lines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("mpi-selftest:") }
        XCTAssertEqual(lines, ["mpi-selftest: every rank raised this on purpose"])
    }

    /// A malformed sparse block from a peer ends the job with one error line
    /// naming the peer, on 2 to 5 ranks (the liar is the last rank, so its
    /// right neighbour is rank 0).
    func testAMalformedSparseBlockFromAPeerEndsTheJobNamingThePeer() throws {
        for ranks in 2...5 {
            let liar = ranks - 1
            let outcome = try MPIJob.run("mpi-selftest", ["bad-block", "\(liar)"], ranks: ranks, timeout: 60)
            XCTAssertNotEqual(outcome.status, 0, "ranks \(ranks)")
            XCTAssertTrue(outcome.stderr.contains("[rank 0] rank \(liar) sent a sparse block"), "ranks \(ranks): \(outcome.stderr)")
            XCTAssertFalse(outcome.stderr.contains("Fatal error"), "ranks \(ranks): \(outcome.stderr)")
        }
    }

    /// The launcher makes waiting ranks yield even when the slots say the
    /// node is not oversubscribed (hostfiles/localhost: 8 slots here on 2
    /// cores): every rank gets mpi_yield_when_idle = 1. The variable is
    /// removed from the launcher's environment, so only the script can set it.
    func testTheLauncherMakesWaitingRanksYieldWhateverTheSlots() throws {
        _ = try MPIJob.requireMPIRun()
        let repository = HostileInputTests.repository
        let outcome = try MPIJob.spawn(repository.appendingPathComponent("scripts/mpirun").path,
                                       ["--hostfile", repository.appendingPathComponent("hostfiles/localhost").path,
                                        "--timeout", "60", "-np", "3", "/usr/bin/env"],
                                       environment: MPIJob.environment(unset: [Self.yield]), timeout: 90)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let lines = outcome.stdout.split(separator: "\n").filter { $0 == "\(Self.yield)=1" }
        XCTAssertEqual(lines.count, 3, outcome.stdout)
    }

    /// EdgeTrain's own processes default to yielding however they were
    /// launched (plain mpirun, no variable set), and keep a user's own value.
    func testRanksDefaultToYieldingButKeepTheUsersValue() throws {
        let plain = try MPIJob.run("mpi-selftest", ["yield"], ranks: 3, timeout: 60, unset: [Self.yield])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(plain.stdout.split(separator: "\n").filter { $0.hasSuffix(": \(Self.yield)=1") }.count, 3, plain.stdout)
        let mine = try MPIJob.run("mpi-selftest", ["yield"], ranks: 3, timeout: 60, environment: [Self.yield: "0"])
        XCTAssertEqual(mine.status, 0, mine.stderr)
        XCTAssertEqual(mine.stdout.split(separator: "\n").filter { $0.hasSuffix(": \(Self.yield)=0") }.count, 3, mine.stdout)
    }

    static let yield = "OMPI_MCA_mpi_yield_when_idle"
}
