/// The ring all-gather of one byte block per rank, every block the same size
/// (what quantized gradients need: an encoded message cannot be summed on
/// the way, so every rank gets every rank's message and decodes them all).
///
/// N - 1 steps: at step s rank r sends block (r - s) mod N to its right
/// neighbour and receives block (r - s - 1) mod N from its left one, which
/// it forwards at the next step. Each rank sends and receives (N - 1) x B
/// bytes. Correct for any N >= 1 and B >= 0.
public final class RingAllGather {
    public let transport: Transport
    /// Seconds, for `TrafficStats.seconds`: the caller's clock.
    public let clock: () -> Double
    /// Called after each step with its name ("all-gather 1" ...) and its
    /// start and end on `clock` (`--trace`).
    public var stepObserver: ((_ step: String, _ start: Double, _ end: Double) -> Void)?
    /// Traffic of every call so far, on this rank.
    public private(set) var traffic = TrafficStats()

    public init(transport: Transport, clock: @escaping () -> Double) {
        self.transport = transport
        self.clock = clock
    }

    /// Every rank's block, rank k's at k x `mine.count` (collective). Checks
    /// first that every rank passed the same size; if not, every rank throws
    /// `CollectiveError.lengthMismatch`.
    public func gather(_ mine: [UInt8]) throws -> (blocks: [UInt8], traffic: TrafficStats) {
        let start = clock()
        let before = transport.traffic
        let (lo, hi) = try transport.minMax([mine.count])[0]
        guard lo == hi else { throw CollectiveError.lengthMismatch(local: mine.count, min: lo, max: hi) }
        let n = transport.size, r = transport.rank, b = mine.count
        var all = [UInt8](repeating: 0, count: n * b)
        all.withUnsafeMutableBufferPointer { a in
            mine.withUnsafeBufferPointer { m in
                if b > 0 { (a.baseAddress! + r * b).update(from: m.baseAddress!, count: b) }
            }
        }
        if n > 1 {
            try all.withUnsafeMutableBytes { a in
                for s in 0..<(n - 1) {
                    let stepStart = stepObserver == nil ? 0 : clock()
                    defer { stepObserver?("all-gather \(s + 1)", stepStart, clock()) }
                    let out = (r - s + 2 * n) % n, into = (r - s - 1 + 2 * n) % n
                    var incoming = MutableRawSpan(_unsafeBytes: UnsafeMutableRawBufferPointer(rebasing: a[into * b..<(into + 1) * b]))
                    try transport.exchange(sending: RawSpan(_unsafeBytes: UnsafeRawBufferPointer(rebasing: a[out * b..<(out + 1) * b])),
                                           to: (r + 1) % n, receiving: &incoming, from: (r + n - 1) % n)
                }
            }
        }
        var call = transport.traffic - before
        call.seconds = clock() - start
        traffic = traffic + call
        return (all, call)
    }
}
