import Foundation

/// The clock the tests give the rings (Collectives keeps none): Foundation's
/// monotonic uptime, in seconds.
func testClock() -> Double { ProcessInfo.processInfo.systemUptime }
