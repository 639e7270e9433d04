import Foundation
import XCTest

/// The compute thread count reaches the kernels: `Tests/Programs/kernel-threads`
/// counts the process's threads around training steps (see its header).
final class KernelThreadsTests: XCTestCase {
    func testOneThreadStartsNoWorkerAndTwoThreadsDo() throws {
        let binary = MPIJob.productsDirectory.appendingPathComponent("kernel-threads").path
        var env = ProcessInfo.processInfo.environment
        // OpenMP's own default, which a primitive made before the count is applied would take.
        env["OMP_NUM_THREADS"] = "2"
        let outcome = try MPIJob.spawn(binary, [], environment: env, timeout: 120)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let record = try XCTUnwrap(outcome.jsonLines.first, outcome.stdout)
        let start = try XCTUnwrap(record["start"] as? Int)
        let one = try XCTUnwrap(record["one_thread"] as? Int)
        let two = try XCTUnwrap(record["two_threads"] as? Int)
        // One thread runs every primitive on the calling thread: OpenMP starts no worker.
        XCTAssertEqual(one, start, "steps at the default count (one) started threads: \(record)")
        // Two threads: OpenMP's worker starts and stays (its pool persists).
        XCTAssertGreaterThan(two, one, "steps at two threads ran on one: \(record)")
    }
}
