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
