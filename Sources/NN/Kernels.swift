// Small vector kernels over raw pointers, shared by the layers. Shapes are
// checked by the callers; the loops are simple enough to auto-vectorize.

/// Each of `rows` rows of `matrix` (row stride `columns`) = `vector`.
@inline(__always)
func broadcastRows(_ matrix: UnsafeMutablePointer<Float>, rows: Int, columns: Int, _ vector: UnsafePointer<Float>) {
    for r in 0..<rows {
        (matrix + r * columns).update(from: vector, count: columns)
    }
}

/// sums[j] = sum over rows of matrix[r, j].
@inline(__always)
func sumRows(_ matrix: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>) {
    sums.update(repeating: 0, count: columns)
    for r in 0..<rows {
        let row = matrix + r * columns
        for j in 0..<columns { sums[j] += row[j] }
    }
}

/// y = max(x, 0).
@inline(__always)
func reluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = x[i]
        y[i] = v > 0 ? v : 0
    }
}

/// dx = dy where y > 0, else 0. Written with explicit vector selects: the
/// sign of y is random, so a branch per element mispredicts half the time.
@inline(__always)
func reluBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int) {
    typealias V = SIMD16<Float>
    let (ry, rdy, rdx) = (UnsafeRawPointer(y), UnsafeRawPointer(dy), UnsafeMutableRawPointer(dx))
    var i = 0
    while i + 16 <= count {
        let yv = ry.loadUnaligned(fromByteOffset: i * 4, as: V.self)
        let gv = rdy.loadUnaligned(fromByteOffset: i * 4, as: V.self)
        rdx.storeBytes(of: gv.replacing(with: 0, where: yv .<= 0), toByteOffset: i * 4, as: V.self)
        i += 16
    }
    while i < count {
        dx[i] = y[i] > 0 ? dy[i] : 0
        i += 1
    }
}
