#if canImport(Glibc)
import Glibc
#endif

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Where a model's step time goes: seconds per (layer, pass), in the order
/// first seen. `Model` fills it when its `profile` is set.
public final class StepProfile {
    public private(set) var entries: [(layer: String, pass: String, seconds: Double)] = []
    private var index: [String: Int] = [:]

    public init() {}

    /// Adds the time since `start` (from `monotonicSeconds`) to (layer, pass).
    func add(layer: String, pass: String, since start: Double) {
        let elapsed = monotonicSeconds() - start
        let key = layer + "/" + pass
        if let i = index[key] {
            entries[i].seconds += elapsed
        } else {
            index[key] = entries.count
            entries.append((layer, pass, elapsed))
        }
    }

    public func reset() {
        entries = []
        index = [:]
    }
}
