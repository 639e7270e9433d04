#if canImport(Glibc)
import Glibc
#endif

/// Monotonic seconds, for timing: the one clock of the package. Layers
/// below run support keep none; what they time takes a clock from the
/// caller (`StepProfile(now:)`, `RingAllReduce(transport:clock:)`,
/// `measureCompression(..., clock:)`).
@inline(__always)
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Sleeps for `seconds` (nothing when not positive): the emulated slowness
/// of devices, links and edge servers.
public func pause(_ seconds: Double) {
    guard seconds > 0 else { return }
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}
