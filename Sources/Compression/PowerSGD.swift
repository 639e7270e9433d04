import Random

/// PowerSGD (Vogels et al. 2019) for one layer: rank-r compression of the
/// layer's gradient viewed as an m x n matrix M (row-major, as the layer
/// stores it; `matrixShape(_:rank:)`), with error feedback E and warm start.
/// Collective-agnostic: the two all-reduces are the caller's.
///
/// One step, on every rank:
///
///     W = M + E                         (W = M without error feedback)
///     P = W Q                           m x r          `computeP`
///     P = mean of P over ranks          all-reduce 1   (caller)
///     P = orthonormal columns of P      (Gram-Schmidt) `computeQ`
///     Q = W^T P                         n x r
///     Q = mean of Q over ranks          all-reduce 2   (caller)
///     M_hat = P Q^T                     m x n          `finish`
///     E = W - M_hat                     (kept for the next step)
///     Q is kept: the next step starts from it (warm start)
///
/// So M_hat = P P^T mean(W): the projection of the ranks' mean onto an
/// r-dimensional column space that one power iteration per step refines,
/// the same on every rank. It sums low-rank factors with a dense
/// all-reduce of r (m + n) floats (`floatsPerStep`) instead of m n, as
/// PyTorch's DDP PowerSGD hook does.
///
/// The all-reduce convention: each all-reduce replaces its buffer with the
/// element-wise mean over ranks (sum / N), bitwise the same on every rank.
/// P's scale does not matter (it is orthonormalized), so a sum works there
/// too; Q's must be the mean: error feedback takes M_hat as the estimate of
/// the ranks' mean, so that the residuals sum to sum(W) - N M_hat. (Each
/// rank's E is its own W minus the shared M_hat, as in PyTorch's hook; the
/// paper's Algorithm 2 subtracts the rank's local P Q_rank^T instead. The
/// two give the same sum of residuals over the ranks.)
///
/// The first Q is a standard Gaussian matrix from `seed`: give every rank
/// the same seed. A column of P that gives no direction is redrawn from the
/// same generator (`orthonormalizeColumns`), the same on every rank.
///
/// A NaN or infinity in the gradient, or in a reduced P or Q, is refused
/// with `CompressionError.notFinite` before anything changes (E and Q are
/// kept; the caller then cannot finish the step). Calls go computeP,
/// computeQ, finish, in that order (a precondition), or `step`.
public final class PowerSGD {
    public let rows: Int
    public let columns: Int
    public let rank: Int
    public let errorFeedback: Bool

    private var _p: [Float]
    private var _q: [Float]
    /// E, m x n row-major (zeros without error feedback).
    public private(set) var error: [Float]
    /// The generator of the first Q and of redrawn columns.
    public private(set) var generator: SeededGenerator
    /// W = M + E of the step in progress.
    private var work: [Float]
    private let scratch: UnsafeMutablePointer<Double>
    private var phase = Phase.idle

    private enum Phase { case idle, pComputed, qComputed }

    /// A layer of `rows` x `columns` at rank `rank` (1 <= rank <= min(rows,
    /// columns)); Q starts as a Gaussian matrix drawn from `seed`, E as zeros.
    public init(rows: Int, columns: Int, rank: Int, errorFeedback: Bool = true, seed: UInt64) {
        precondition(rows >= 1 && columns >= 1, "PowerSGD needs a matrix, not \(rows) x \(columns)")
        precondition(rank >= 1 && rank <= min(rows, columns), "rank \(rank) is outside 1...\(min(rows, columns)) for \(rows) x \(columns)")
        self.rows = rows
        self.columns = columns
        self.rank = rank
        self.errorFeedback = errorFeedback
        var g = SeededGenerator(seed: seed)
        _q = (0..<columns * rank).map { _ in Float(g.nextGaussian()) }
        generator = g
        _p = [Float](repeating: 0, count: rows * rank)
        error = [Float](repeating: 0, count: rows * columns)
        work = [Float](repeating: 0, count: rows * columns)
        scratch = .allocate(capacity: rows * rank)
    }

    deinit { scratch.deallocate() }

    /// P, m x r column-major (column c is p[c m ..< (c + 1) m]): the buffer of
    /// the first all-reduce, between `computeP` and `computeQ`; after
    /// `computeQ`, the orthonormal P of the step.
    public var p: [Float] {
        get { _p }
        set {
            precondition(newValue.count == rows * rank, "P holds \(rows * rank) floats, not \(newValue.count)")
            _p = newValue
        }
    }

    /// Q, n x r column-major: the buffer of the second all-reduce, between
    /// `computeQ` and `finish`; otherwise the warm start of the next step.
    public var q: [Float] {
        get { _q }
        set {
            precondition(newValue.count == columns * rank, "Q holds \(columns * rank) floats, not \(newValue.count)")
            _q = newValue
        }
    }

    /// Floats both all-reduces move per step: r (m + n).
    public var floatsPerStep: Int { Self.floatsPerStep(rows: rows, columns: columns, rank: rank) }

    /// Bytes of `floatsPerStep` as Float32.
    public var bytesPerStep: Int { 4 * floatsPerStep }

    public static func floatsPerStep(rows: Int, columns: Int, rank: Int) -> Int { rank * (rows + columns) }

    /// Whether rank-r factors are smaller than the m x n matrix: r (m + n) < m n.
    /// A layer for which this is false is sent dense.
    public static func isWorthCompressing(rows: Int, columns: Int, rank: Int) -> Bool {
        rows >= 1 && columns >= 1 && rank >= 1 && rank * (rows + columns) < rows * columns
    }

    /// The matrix a tensor of `shape` (row-major) is compressed as: rows =
    /// shape[0] (output units or channels), columns = the product of the
    /// rest (a Linear weight [out, in] is out x in, a Conv2d weight [out, kh,
    /// kw, in] is out x kh kw in); nil when the tensor is sent dense: fewer
    /// than two dimensions (biases), or factors no smaller than the matrix.
    public static func matrixShape(_ shape: [Int], rank: Int) -> (rows: Int, columns: Int)? {
        guard shape.count >= 2 else { return nil }
        let m = shape[0], n = shape.dropFirst().reduce(1, *)
        return isWorthCompressing(rows: m, columns: n, rank: rank) ? (m, n) : nil
    }

    /// W = M + E (M without error feedback) and P = W Q. `gradient` is M,
    /// m n floats row-major. Next: all-reduce `p` to the mean, `computeQ`.
    public func computeP(gradient: Span<Float>) throws {
        precondition(phase == .idle, "computeP while a step is in progress")
        precondition(gradient.count == rows * columns, "the gradient has \(gradient.count) floats, not \(rows) x \(columns)")
        try gradient.withUnsafeBufferPointer { g in
            try requireFinite(g, encoding: "powersgd")
            let (m, n, r) = (rows, columns, rank)
            work.withUnsafeMutableBufferPointer { w in
                w.baseAddress!.update(from: g.baseAddress!, count: m * n)
                if errorFeedback { error.withUnsafeBufferPointer { addInPlace(w.baseAddress!, $0.baseAddress!, count: m * n) } }
                _q.withUnsafeBufferPointer { q in
                    _p.withUnsafeMutableBufferPointer { multiplyRightFactor(w.baseAddress!, q.baseAddress!, into: $0.baseAddress!, m: m, n: n, r: r) }
                }
            }
        }
        phase = .pComputed
    }

    /// Orthonormalizes the reduced P and computes Q = W^T P. Next:
    /// all-reduce `q` to the mean, `finish`. Throws `.notFinite` (and
    /// changes nothing) when the reduced P holds a NaN or infinity.
    public func computeQ() throws {
        precondition(phase == .pComputed, "computeQ before computeP")
        try _p.withUnsafeBufferPointer { try requireFinite($0, encoding: "powersgd reduced P") }
        let (m, n, r) = (rows, columns, rank)
        _p.withUnsafeMutableBufferPointer { p in
            orthonormalizeColumns(p.baseAddress!, m: m, r: r, scratch: scratch, generator: &generator)
            work.withUnsafeBufferPointer { w in
                _q.withUnsafeMutableBufferPointer { multiplyTransposed(w.baseAddress!, p.baseAddress!, into: $0.baseAddress!, m: m, n: n, r: r) }
            }
        }
        phase = .qComputed
    }

    /// M_hat = P Q^T into `output` (m n floats, row-major); with error
    /// feedback E = W - M_hat. Q stays for the next step. Throws
    /// `.notFinite` (and changes nothing) when the reduced Q holds a NaN or
    /// infinity.
    public func finish(into output: inout MutableSpan<Float>) throws {
        precondition(phase == .qComputed, "finish before computeQ")
        precondition(output.count == rows * columns, "the output has \(output.count) floats, not \(rows) x \(columns)")
        try _q.withUnsafeBufferPointer { try requireFinite($0, encoding: "powersgd reduced Q") }
        let (m, n, r) = (rows, columns, rank)
        output.withUnsafeMutableBufferPointer { out in
            let o = out.baseAddress!
            _p.withUnsafeBufferPointer { p in
                _q.withUnsafeBufferPointer { multiplyFactors(p.baseAddress!, $0.baseAddress!, into: o, m: m, n: n, r: r) }
            }
            if errorFeedback {
                work.withUnsafeBufferPointer { w in
                    error.withUnsafeMutableBufferPointer { e in
                        for k in 0..<m * n { e[k] = w[k] - o[k] }
                    }
                }
            }
        }
        phase = .idle
    }

    /// One whole step: `computeP`, `allReduceMean(&p)`, `computeQ`,
    /// `allReduceMean(&q)`, `finish`. The closure replaces its buffer (m r,
    /// then n r floats) with the element-wise mean over ranks, and must not
    /// call back into this object. When anything throws, the step is
    /// abandoned: E is as it was, but Q may already be this step's W^T P
    /// (or what the closure left of it); `restore` from a checkpoint to
    /// repeat the step exactly.
    public func step(gradient: Span<Float>, into output: inout MutableSpan<Float>,
                     allReduceMean: (inout [Float]) throws -> Void) throws
    {
        try computeP(gradient: gradient)
        do {
            try allReduceMean(&_p)
            precondition(_p.count == rows * rank, "the all-reduce changed P's length")
            try computeQ()
            try allReduceMean(&_q)
            precondition(_q.count == columns * rank, "the all-reduce changed Q's length")
            try finish(into: &output)
        } catch let failure {
            phase = .idle
            throw failure
        }
    }

    /// One step on arrays; returns M_hat.
    public func step(gradient: [Float], allReduceMean: (inout [Float]) throws -> Void) throws -> [Float] {
        var output = [Float](repeating: 0, count: rows * columns)
        var span = output.mutableSpan
        try step(gradient: gradient.span, into: &span, allReduceMean: allReduceMean)
        return output
    }

    /// Restores the state a step carries over (from a checkpoint, or a
    /// chosen Q in tests): Q (n r), E (m n) and the generator.
    public func restore(q: [Float], error: [Float], generator: SeededGenerator) {
        precondition(q.count == columns * rank && error.count == rows * columns, "state of another shape")
        precondition(phase == .idle, "restore while a step is in progress")
        _q = q
        self.error = error
        self.generator = generator
    }
}
