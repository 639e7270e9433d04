/// Where a model's step time goes: seconds per (layer, pass), in the order
/// first seen. `Model` fills it when its `profile` is set.
public final class StepProfile {
    public private(set) var entries: [(layer: String, pass: String, seconds: Double)] = []
    private var index: [String: Int] = [:]
    /// The clock the passes are timed on, in seconds. The caller gives it:
    /// NN keeps no clock of its own.
    public let now: () -> Double

    public init(now: @escaping () -> Double) {
        self.now = now
    }

    /// Adds the time since `start` (a reading of `now`) to (layer, pass).
    func add(layer: String, pass: String, since start: Double) {
        let elapsed = now() - start
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
