/// Group-TopK compression: the flat vector is cut into groups of
/// `groupSize` (see `GroupLayout`), and each group keeps its k largest
/// magnitudes (ties to the lower index). The rest is zero. A NaN cannot be
/// ranked: compressing a vector that holds one throws
/// `CompressionError.notANumber` naming the first NaN's element (infinities are ranked, as the largest).
///
/// With error feedback the compressor selects from gradient + residual and
/// the residual keeps what was not sent, so that sent + residual always sums
/// to every gradient ever given. With DGC momentum correction (Lin et al.
/// 2018) it first accumulates local momentum u = m u + g, then v += u, selects
/// from v, and clears both u and v where entries were sent (momentum factor
/// masking). One pass over memory: each group is accumulated, selected and
/// cleared while it is in cache.
public final class GroupTopK {
    public let layout: GroupLayout
    private let selector: TopKSelector

    public init(layout: GroupLayout) {
        self.layout = layout
        selector = TopKSelector(capacity: min(layout.k, max(layout.length, 1)),
                                groupSize: min(layout.groupSize, max(layout.length, 1)))
    }


    /// Compresses `x` (length `layout.length`) into `out`, leaving `x` alone.
    /// Throws `CompressionError.notANumber` when `x` holds a NaN (`out` is then unspecified).
    package func compress(_ x: UnsafeBufferPointer<Float>, into out: inout SparseGradient) throws {
        precondition(x.count == layout.length && out.layout == layout, "length mismatch")
        guard let base = x.baseAddress else { return }
        selector.reset()
        try out.values.withUnsafeMutableBufferPointer { values in
            try out.positions.withUnsafeMutableBufferPointer { positions in
                for g in 0..<layout.groupCount {
                    let range = layout.range(ofGroup: g)
                    let k = layout.kept(inGroup: g)
                    let e = g * layout.k
                    if let nan = selector.select(base + range.lowerBound, count: range.count, k: k, into: positions.baseAddress! + e) {
                        throw CompressionError.notANumber(position: range.lowerBound + nan, what: "the input")
                    }
                    for j in e..<e + k { values[j] = base[range.lowerBound + Int(positions[j])] }
                }
            }
        }
    }

    /// Error feedback: `residual += gradient` (after momentum correction when
    /// `momentum` is given: u = factor * u + gradient, residual += u), then
    /// selects from `residual` into `out` and zeroes the sent entries of
    /// `residual` (and of u). All buffers have `layout.length` elements.
    /// Throws `CompressionError.notANumber` when gradient + residual holds a NaN; the
    /// groups up to and including that one have then been accumulated into
    /// `residual` (and u) and `out` is unspecified: the caller cannot go on.
    package func compress(
        gradient: UnsafeBufferPointer<Float>, residual: UnsafeMutableBufferPointer<Float>,
        momentum: (factor: Float, buffer: UnsafeMutableBufferPointer<Float>)? = nil,
        into out: inout SparseGradient
    ) throws {
        let n = layout.length
        precondition(gradient.count == n && residual.count == n && out.layout == layout, "length mismatch")
        precondition(momentum == nil || momentum!.buffer.count == n, "momentum buffer length mismatch")
        guard n > 0 else { return }
        let g0 = gradient.baseAddress!, r0 = residual.baseAddress!
        let u0 = momentum?.buffer.baseAddress
        let factor = momentum?.factor ?? 0
        selector.reset()
        try out.values.withUnsafeMutableBufferPointer { values in
            try out.positions.withUnsafeMutableBufferPointer { positions in
                for g in 0..<layout.groupCount {
                    let range = layout.range(ofGroup: g)
                    let (start, count) = (range.lowerBound, range.count)
                    let r = r0 + start
                    if let u0 {
                        accumulateMomentum(u0 + start, r, g0 + start, factor: factor, count: count)
                    } else {
                        addInPlace(r, g0 + start, count: count)
                    }
                    let k = layout.kept(inGroup: g)
                    let e = g * layout.k
                    let p = positions.baseAddress! + e
                    if let nan = selector.select(r, count: count, k: k, into: p) {
                        throw CompressionError.notANumber(position: start + nan, what: "gradient + residual")
                    }
                    for j in 0..<k {
                        let i = Int(p[j])
                        values[e + j] = r[i]
                        r[i] = 0
                        if let u0 { u0[start + i] = 0 }
                    }
                }
            }
        }
    }
}

/// u = factor * u + g; v += u.
@inline(__always)
func accumulateMomentum(
    _ u: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
    factor: Float, count: Int
) {
    for i in 0..<count {
        let ui = factor * u[i] + g[i]
        u[i] = ui
        v[i] += ui
    }
}
