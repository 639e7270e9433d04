import CBLAS

/// Row-major single-precision matrix product through OpenBLAS:
/// C = alpha * op(A) * op(B) + beta * C, with op(A) m x k and op(B) k x n.
/// `lda`, `ldb`, `ldc` are row strides of A, B and C as stored.
@inline(__always)
func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    assert(m >= 0 && n >= 0 && k >= 0)
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// OpenBLAS's thread pool. Training uses one thread per rank: ranks are the
/// parallelism, and more threads than cores only contend.
public enum BLASThreads {
    /// Sets the number of OpenBLAS threads for this process.
    public static func set(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// The number of OpenBLAS threads in use.
    public static var count: Int { Int(openblas_get_num_threads()) }

    /// The CPU kernel family OpenBLAS selected (e.g. "Haswell", "SkylakeX").
    public static var coreName: String { String(cString: openblas_get_corename()) }
}

