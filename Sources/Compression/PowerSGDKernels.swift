import Random

// The dense kernels of PowerSGD over flat buffers. W is m x n row-major
// (a layer's gradient plus its error); P is m x r and Q is n x r, both
// column-major (column c of P at c m, of Q at c n), so that every inner
// loop runs over contiguous memory. Sums are in Float32, sixteen lanes at a
// time: the error of each entry is within gamma_k x (sum of its terms'
// magnitudes), k the number of terms, in any summation order, with or
// without FMA (Higham's bound; the tests' tolerances use it).

/// x . y over `n` floats.
@inline(__always)
func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
    let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
    var acc = SIMD16<Float>(repeating: 0)
    var i = 0
    while i + 16 <= n {
        acc += rx.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self) * ry.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
        i &+= 16
    }
    var s = acc.sum()
    while i < n {
        s += x[i] * y[i]
        i &+= 1
    }
    return s
}

/// y += a x over `n` floats.
@inline(__always)
func axpy(_ y: UnsafeMutablePointer<Float>, _ a: Float, _ x: UnsafePointer<Float>, count n: Int) {
    let ry = UnsafeMutableRawPointer(y), rx = UnsafeRawPointer(x)
    let va = SIMD16<Float>(repeating: a)
    var i = 0
    while i + 16 <= n {
        let v = ry.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self) + va * rx.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
        ry.storeBytes(of: v, toByteOffset: i &* 4, as: SIMD16<Float>.self)
        i &+= 16
    }
    while i < n {
        y[i] += a * x[i]
        i &+= 1
    }
}

/// P = W Q: P[i, c] = W row i . Q column c.
func multiplyRightFactor(_ w: UnsafePointer<Float>, _ q: UnsafePointer<Float>, into p: UnsafeMutablePointer<Float>, m: Int, n: Int, r: Int) {
    for i in 0..<m {
        for c in 0..<r { p[c &* m &+ i] = dot(w + i &* n, q + c &* n, count: n) }
    }
}

/// Q = W^T P: column c of Q is the sum over rows i of P[i, c] W row i.
func multiplyTransposed(_ w: UnsafePointer<Float>, _ p: UnsafePointer<Float>, into q: UnsafeMutablePointer<Float>, m: Int, n: Int, r: Int) {
    q.update(repeating: 0, count: n * r)
    for i in 0..<m {
        for c in 0..<r { axpy(q + c &* n, p[c &* m &+ i], w + i &* n, count: n) }
    }
}

/// out = P Q^T: row i of out is the sum over c of P[i, c] Q column c.
func multiplyFactors(_ p: UnsafePointer<Float>, _ q: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, m: Int, n: Int, r: Int) {
    for i in 0..<m {
        let row = out + i &* n
        row.update(repeating: 0, count: n)
        for c in 0..<r { axpy(row, p[c &* m &+ i], q + c &* n, count: n) }
    }
}

/// Makes the r columns of P (m x r, column-major, r <= m) orthonormal, in
/// Double: modified Gram-Schmidt run twice per column ("twice is enough":
/// the second pass removes what the first left through cancellation), then
/// rounded to Float32, so P^T P = I within about 2^-23 per entry.
///
/// A column whose part orthogonal to the earlier columns is at most 2^-20
/// of its length (zero, a repeat of an earlier column, or rounding noise of
/// one: Float32 products carry more than that) cannot give a direction. It
/// is replaced by a standard Gaussian vector from `generator`, made
/// orthogonal the same way (redrawn in the never-seen case that it too is
/// within 2^-20 of the earlier columns' span). Every rank holds the same
/// reduced P and the same generator state, so every rank draws the same
/// replacement. Zeroing the column instead would lose that rank for good:
/// its Q column would be zero, and with warm start so would the next P's.
///
/// `scratch` holds m r Doubles. Returns the number of columns redrawn.
@discardableResult
func orthonormalizeColumns(_ p: UnsafeMutablePointer<Float>, m: Int, r: Int, scratch: UnsafeMutablePointer<Double>,
                           generator: inout SeededGenerator) -> Int
{
    precondition(r <= m, "\(r) orthonormal columns need at least \(r) rows, not \(m)")
    for k in 0..<m * r { scratch[k] = Double(p[k]) }
    var redrawn = 0
    for c in 0..<r {
        let v = scratch + c * m
        var length = norm(v, m)
        var remaining = projectOut(v, earlier: c, of: scratch, m: m)
        while !(remaining > 0x1p-20 * length) {
            redrawn += 1
            for i in 0..<m { v[i] = generator.nextGaussian() }
            length = norm(v, m)
            remaining = projectOut(v, earlier: c, of: scratch, m: m)
        }
        for i in 0..<m { v[i] /= remaining }
    }
    for k in 0..<m * r { p[k] = Float(scratch[k]) }
    return redrawn
}

/// Removes from v (m Doubles) its components along the first `earlier`
/// columns of `basis` (orthonormal), twice; returns v's remaining length.
private func projectOut(_ v: UnsafeMutablePointer<Double>, earlier: Int, of basis: UnsafePointer<Double>, m: Int) -> Double {
    for _ in 0..<2 {
        for k in 0..<earlier {
            let b = basis + k * m
            var d = 0.0
            for i in 0..<m { d += b[i] * v[i] }
            for i in 0..<m { v[i] -= d * b[i] }
        }
    }
    return norm(v, m)
}

private func norm(_ v: UnsafePointer<Double>, _ m: Int) -> Double {
    var s = 0.0
    for i in 0..<m { s += v[i] * v[i] }
    return s.squareRoot()
}
