#if canImport(Glibc)
import Glibc
#endif

/// Monotonic seconds, for timing. It lives in the lowest module that every
/// timed layer above (Collectives, Training, Federated) imports.
@inline(__always)
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
