import Compression

/// How a hop of the sparse ring combines blocks.
public enum SparseReducePolicy: String, CaseIterable, Sendable {
    /// Union of positions; a block turns dense when that is smaller. The
    /// result equals an all-reduce of the densified inputs.
    case exact
    /// Union, then cut back to Group-TopK; the dropped mass goes to the local
    /// residual. Volume per rank stays about 2(N-1)/N x k entries per group.
    case reselect
}

/// The ring reduce-scatter + all-gather of the seed method (steps a1-a4 and
/// b1-b4) on Group-TopK vectors.
///
/// The N blocks are runs of whole groups (`ringBlocks` over the group count),
/// so every block carries the same number of selected entries, give or take
/// one group. Reduce-scatter: at step s rank r sends block (r - s) mod N to
/// its right and merges block (r - s - 1) mod N from its left into its own
/// copy. All-gather: the summed blocks travel on unchanged, so every rank
/// ends with the same bits. Traffic counts the encoded bytes on the wire.
public final class SparseRingAllReduce {
    public let transport: Transport
    public let policy: SparseReducePolicy
    /// Seconds, for `TrafficStats.seconds`: the caller's clock (Collectives keeps none).
    public let clock: () -> Double
    /// Called after each ring step with its name ("reduce-scatter 1", ...,
    /// "all-gather N-1") and its start and end on `clock` (`--trace`).
    public var stepObserver: ((_ step: String, _ start: Double, _ end: Double) -> Void)?
    /// Traffic of every call so far, on this rank.
    public private(set) var traffic = TrafficStats()
    private var sendBuffer: [UInt8] = []
    private var receiveBuffer: [UInt8] = []

    public init(transport: Transport, policy: SparseReducePolicy, clock: @escaping () -> Double) {
        self.transport = transport
        self.policy = policy
        self.clock = clock
    }

    /// What one call produced besides the sum.
    public struct Outcome: Sendable {
        public var traffic: TrafficStats
        /// Non-zero elements of the result over its length.
        public var density: Double
    }

    /// Sums every rank's `input` (collective) and writes the dense result to
    /// `output` (length `input.layout.length`). Under `reselect`, mass dropped
    /// at this rank's hops is added to `residual` when given. Every rank must
    /// pass the same length, group size and ratio; otherwise every rank
    /// throws `CollectiveError.lengthMismatch` or `.invalidArgument`. A block
    /// from the left neighbour that does not decode, or that the merge cannot
    /// take, throws `.brokenProtocol` naming that rank, on this rank only
    /// (the caller aborts the job); a NaN that a reselect merge makes from honest
    /// values (inf + -inf) throws `CompressionError.notANumber` naming the element.
    @discardableResult
    package func sum(
        _ input: SparseGradient, into output: UnsafeMutableBufferPointer<Float>, residual: UnsafeMutablePointer<Float>? = nil
    ) throws -> Outcome {
        let start = clock()
        let before = transport.traffic
        let layout = input.layout
        precondition(output.count == layout.length, "output length \(output.count) != \(layout.length)")
        let agreed = try transport.minMax([layout.length, layout.groupSize, layout.k])
        guard agreed[0].min == agreed[0].max else {
            throw CollectiveError.lengthMismatch(local: layout.length, min: agreed[0].min, max: agreed[0].max)
        }
        guard agreed[1].min == agreed[1].max && agreed[2].min == agreed[2].max else {
            throw CollectiveError.invalidArgument(
                "ranks use different Group-TopK settings (group size \(agreed[1].min)...\(agreed[1].max), k \(agreed[2].min)...\(agreed[2].max))")
        }
        let n = transport.size, r = transport.rank
        let groupBlocks = ringBlocks(length: layout.groupCount, parts: n)
        var blocks = groupBlocks.map { SparseBlock(input, groups: $0) }
        let right = (r + 1) % n, left = (r + n - 1) % n
        if n > 1 {
            for s in 0..<(n - 1) {
                let stepStart = stepObserver == nil ? 0 : clock()
                defer { stepObserver?("reduce-scatter \(s + 1)", stepStart, clock()) }
                let out = (r - s + 2 * n) % n, into = (r - s - 1 + 2 * n) % n
                let incoming = try pass(blocks[out], to: right, from: left, layout: layout, groups: groupBlocks[into])
                switch policy {
                case .exact: blocks[into].mergeExact(incoming)
                case .reselect:
                    do {
                        try blocks[into].mergeReselect(incoming, residual: residual)
                    } catch CompressionError.notANumber(let position, _) {
                        throw CompressionError.notANumber(position: position, what: "the sum of rank \(left)'s block and this rank's (inf + -inf?)")
                    } catch {
                        throw CollectiveError.brokenProtocol("rank \(left) sent a sparse block that does not merge: \(error)")
                    }
                }
            }
            for s in 0..<(n - 1) {
                let stepStart = stepObserver == nil ? 0 : clock()
                defer { stepObserver?("all-gather \(s + 1)", stepStart, clock()) }
                let out = (r + 1 - s + 2 * n) % n, into = (r - s + 2 * n) % n
                blocks[into] = try pass(blocks[out], to: right, from: left, layout: layout, groups: groupBlocks[into])
            }
        }
        var nonZero = 0
        if let base = output.baseAddress {
            base.update(repeating: 0, count: layout.length)
            for block in blocks {
                block.add(into: base)
                nonZero += block.nonZeroCount
            }
        }
        var call = transport.traffic - before
        call.seconds = clock() - start
        traffic = traffic + call
        return Outcome(traffic: call, density: layout.length > 0 ? Double(nonZero) / Double(layout.length) : 0)
    }

    /// One ring step: sends `block` to the right, returns the block of
    /// `groups` received from the left.
    private func pass(_ block: SparseBlock, to right: Int, from left: Int, layout: GroupLayout, groups: Range<Int>) throws -> SparseBlock {
        let count = block.encode(into: &sendBuffer)
        let encoded = sendBuffer  // a local (shares storage): a span borrows it for the call
        let received = try transport.exchangeVariable(
            sending: encoded.span.bytes.extracting(0..<count), to: right, receivingFrom: left, into: &receiveBuffer)
        do {
            return try receiveBuffer.withUnsafeBytes {
                try SparseBlock(decoding: UnsafeRawBufferPointer(rebasing: $0[0..<received]), layout: layout, groups: groups)
            }
        } catch {
            throw CollectiveError.brokenProtocol("rank \(left) sent a sparse block that does not decode: \(error)")
        }
    }
}
