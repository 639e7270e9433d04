import Compression

/// The dense ring all-reduce (sum) of the seed method.
///
/// The vector is cut into N contiguous blocks (`ringBlocks`).
/// Reduce-scatter (steps a1-a4), N-1 steps: at step s rank r sends block
/// (r - s) mod N to its right neighbour, receives block (r - s - 1) mod N
/// from its left neighbour and adds it into its own copy. Rank r then owns
/// the fully summed block (r + 1) mod N.
/// All-gather (steps b1-b4), N-1 steps: at step s rank r sends block
/// (r + 1 - s) mod N and receives block (r - s) mod N, which replaces its
/// stale copy. Every rank ends with the same bits.
///
/// Each rank sends 2(N-1)/N of the vector. Correct for any N >= 1 and any
/// length >= 0, including lengths shorter than N (empty blocks).
public final class RingAllReduce {
    public let transport: Transport
    /// Seconds, for `TrafficStats.seconds`: the caller's clock (Collectives keeps none).
    public let clock: () -> Double
    /// Called after each ring step with its name ("reduce-scatter 1", ...,
    /// "all-gather N-1") and its start and end on `clock` (`--trace`).
    public var stepObserver: ((_ step: String, _ start: Double, _ end: Double) -> Void)?
    /// Traffic of every call so far, on this rank.
    public private(set) var traffic = TrafficStats()
    private var scratch: [Float] = []

    public init(transport: Transport, clock: @escaping () -> Double) {
        self.transport = transport
        self.clock = clock
    }

    /// Sums `buffer` element-wise over all ranks, in place (collective).
    /// Checks first that every rank passed the same length; if not, every
    /// rank throws `CollectiveError.lengthMismatch`. Returns this call's traffic.
    @discardableResult
    package func sum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> TrafficStats {
        let start = clock()
        let before = transport.traffic
        let (lo, hi) = try transport.minMax([buffer.count])[0]
        guard lo == hi else { throw CollectiveError.lengthMismatch(local: buffer.count, min: lo, max: hi) }

        let n = transport.size
        let r = transport.rank
        if n > 1 {
            let blocks = ringBlocks(length: buffer.count, parts: n)
            let largest = blocks.map(\.count).max() ?? 0
            if scratch.count < largest { scratch = [Float](repeating: 0, count: largest) }
            let base = buffer.baseAddress
            try scratch.withUnsafeMutableBufferPointer { tmp in
                // Reduce-scatter.
                for s in 0..<(n - 1) {
                    let stepStart = stepObserver == nil ? 0 : clock()
                    defer { stepObserver?("reduce-scatter \(s + 1)", stepStart, clock()) }
                    let out = blocks[(r - s + 2 * n) % n]
                    let into = blocks[(r - s - 1 + 2 * n) % n]
                    var incoming = MutableRawSpan(_unsafeElements: UnsafeMutableBufferPointer(rebasing: tmp[0..<into.count]))
                    try transport.exchange(
                        sending: RawSpan(_unsafeElements: UnsafeBufferPointer(rebasing: buffer[out])),
                        to: (r + 1) % n, receiving: &incoming, from: (r + n - 1) % n)
                    if into.count > 0 { addInPlace(base! + into.lowerBound, tmp.baseAddress!, count: into.count) }
                }
                // All-gather.
                for s in 0..<(n - 1) {
                    let stepStart = stepObserver == nil ? 0 : clock()
                    defer { stepObserver?("all-gather \(s + 1)", stepStart, clock()) }
                    let out = blocks[(r + 1 - s + 2 * n) % n]
                    let into = blocks[(r - s + 2 * n) % n]
                    var incoming = MutableRawSpan(_unsafeElements: UnsafeMutableBufferPointer(rebasing: buffer[into]))
                    try transport.exchange(
                        sending: RawSpan(_unsafeElements: UnsafeBufferPointer(rebasing: buffer[out])),
                        to: (r + 1) % n, receiving: &incoming, from: (r + n - 1) % n)
                }
            }
        }
        var call = transport.traffic - before
        call.seconds = clock() - start
        traffic = traffic + call
        return call
    }

    /// Sums an array element-wise over all ranks, in place (collective).
    @discardableResult
    public func sum(_ values: inout [Float]) throws -> TrafficStats {
        try values.withUnsafeMutableBufferPointer { try sum($0) }
    }
}
