@testable import Compression
import Random
import XCTest

final class PowerSGDTests: XCTestCase {
    /// A matrix of rank r exactly, in Float32: A B^T with small integer
    /// factors (m x r and n x r, entries in -4...4), so every product and sum
    /// is exact.
    func integerFactor(_ rows: Int, _ r: Int, _ rng: inout SeededGenerator) -> [Double] {
        (0..<rows * r).map { _ in Double(rng.nextIndex(below: 9) - 4) }
    }

    /// A B^T, m x n row-major, A m x r and B n x r row-major.
    func product(_ a: [Double], _ b: [Double], m: Int, n: Int, r: Int) -> [Double] {
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for c in 0..<r { out[i * n + j] += a[i * r + c] * b[j * r + c] } } }
        return out
    }

    func frobenius(_ x: [Double]) -> Double { x.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    func frobenius(_ x: [Float]) -> Double { frobenius(x.map(Double.init)) }

    /// W Q[:, 0..<k] in Double: m x k, column-major (Q column-major n x r).
    func timesColumns(_ w: [Double], _ q: [Float], m: Int, n: Int, k: Int) -> [Double] {
        var x = [Double](repeating: 0, count: m * k)
        for c in 0..<k { for i in 0..<m { for j in 0..<n { x[c * m + i] += w[i * n + j] * Double(q[c * n + j]) } } }
        return x
    }

    /// ||X^+||_F = sqrt(trace((X^T X)^-1)) for X m x k column-major of full
    /// column rank (Gauss-Jordan on the k x k Gram matrix), an upper bound
    /// on ||X^+||_2 = 1 / sigma_k(X).
    func pseudoInverseNorm(_ x: [Double], m: Int, k: Int) -> Double {
        var g = [Double](repeating: 0, count: k * k), inv = [Double](repeating: 0, count: k * k)
        for a in 0..<k {
            inv[a * k + a] = 1
            for b in 0..<k { for i in 0..<m { g[a * k + b] += x[a * m + i] * x[b * m + i] } }
        }
        for col in 0..<k {
            let pivot = (col..<k).max { abs(g[$0 * k + col]) < abs(g[$1 * k + col]) }!
            for j in 0..<k { g.swapAt(col * k + j, pivot * k + j); inv.swapAt(col * k + j, pivot * k + j) }
            let d = g[col * k + col]
            precondition(d != 0, "X has dependent columns")
            for j in 0..<k { g[col * k + j] /= d; inv[col * k + j] /= d }
            for row in 0..<k where row != col {
                let f = g[row * k + col]
                for j in 0..<k { g[row * k + j] -= f * g[col * k + j]; inv[row * k + j] -= f * inv[col * k + j] }
            }
        }
        return (0..<k).reduce(0) { $0 + inv[$1 * k + $1] }.squareRoot()
    }

    /// An upper bound on ||M_hat - W||_F after one step, W the exact mean
    /// over ranks of the W_i = M_i + E_i when W has rank k <= r and its
    /// column space is that of X = W Q[:, 0..<k] (Q the factor P was computed
    /// from). u = 2^-24, gamma_j = j u / (1 - j u), nu = the mean of the ||W_i||_F;
    /// Float32 products obey |fl(A B) - A B| <= gamma_j |A| |B| (j terms,
    /// any order, FMA or not), so in Frobenius norm <= gamma_j ||A||_F ||B||_F.
    /// - P: each rank's fl(W_i Q) and the mean's one rounding differ from X
    ///   (its first k columns) by at most dP = gamma_n nu ||Q_k||_F + u ||P_k||_F.
    /// - The column space: with Pi the projector onto the reduced P's
    ///   columns, (I - Pi) P = 0, so (I - Pi) X = -(I - Pi) dP and, as W = X X^+ W,
    ///   ||(I - Pi) W||_F <= dP ||X^+||_2 ||W||_F: e1 = dP ||X^+||_F ||W||_F.
    ///   (Exact, not first order; any further columns of P only shrink it.)
    /// - The orthonormal P in Float32 differs from an exact orthonormal basis
    ///   by D, ||D||_F <= 2 u sqrt(r) (each unit column rounded: u; the Double
    ///   Gram-Schmidt's own error is below 1e-16 kappa, kappa < 1e6 here):
    ///   e2 = (2 ||D|| + ||D||^2) ||W||_F.
    /// - Q: each rank's fl(W_i^T P) within gamma_m ||W_i||_F ||P||_F, ||P||_F <= sqrt(r) (1 + 2u),
    ///   plus the mean's rounding u ||Q||_F, times ||P||_2 <= 1 + ||D||: e3.
    /// - M_hat = fl(P Q^T): gamma_r ||P||_F ||Q||_F: e4.
    func stepBound(m: Int, n: Int, r: Int, k: Int, w: [Double], meanOfNorms nu: Double, q: [Float], reducedP: [Float],
                   reducedQ: [Float]) -> Double
    {
        let u = unitRoundoff
        func gamma(_ j: Int) -> Double { Double(j) * u / (1 - Double(j) * u) }
        let qk = frobenius(Array(q[0..<n * k])), pk = frobenius(Array(reducedP[0..<m * k]))
        let dP = gamma(n) * nu * qk + u * pk
        let x = timesColumns(w, q, m: m, n: n, k: k)
        let xPlus = pseudoInverseNorm(x, m: m, k: k)
        XCTAssertLessThan(pk * xPlus, 1e6, "P too ill-conditioned for the bound's Double term")
        let wNorm = frobenius(w)
        let e1 = dP * xPlus * wNorm
        let d = 2 * u * Double(r).squareRoot()
        let e2 = (2 * d + d * d) * wNorm
        let pNorm = Double(r).squareRoot() * (1 + 2 * u), qNorm = frobenius(reducedQ)
        let e3 = (gamma(m) * nu * pNorm + u * qNorm) * (1 + d)
        let e4 = gamma(r) * pNorm * qNorm
        return e1 + e2 + e3 + e4
    }

    /// Runs one step on N simulated ranks in this process, phase by phase,
    /// the all-reduces being means computed in Double and rounded once.
    /// Returns each rank's M_hat and the reduced P (before orthonormalizing) and Q.
    func simulatedStep(_ ranks: [PowerSGD], _ gradients: [[Float]]) throws -> (outputs: [[Float]], reducedP: [Float], reducedQ: [Float]) {
        func mean(_ xs: [[Float]]) -> [Float] {
            (0..<xs[0].count).map { k in Float(xs.reduce(0.0) { $0 + Double($1[k]) } / Double(xs.count)) }
        }
        for (s, g) in zip(ranks, gradients) { try computeP(s, g) }
        let p = mean(ranks.map(\.p))
        for s in ranks { s.p = p; try s.computeQ() }
        let q = mean(ranks.map(\.q))
        var outputs = [[Float]]()
        for s in ranks {
            s.q = q
            outputs.append(try finish(s))
        }
        return (outputs, p, q)
    }

    func computeP(_ s: PowerSGD, _ gradient: [Float]) throws {
        try s.computeP(gradient: gradient.span)
    }

    func finish(_ s: PowerSGD) throws -> [Float] {
        var out = [Float](repeating: .nan, count: s.rows * s.columns)
        var span = out.mutableSpan
        try s.finish(into: &span)
        return out
    }

    func testWhatIsSentDense() {
        XCTAssertNil(PowerSGD.matrixShape([128], rank: 1))  // a bias
        XCTAssertNil(PowerSGD.matrixShape([10, 10], rank: 5))  // 5 x 20 = 100, not below 100
        XCTAssertEqual(PowerSGD.matrixShape([10, 10], rank: 4)?.columns, 10)  // 80 < 100
        XCTAssertNil(PowerSGD.matrixShape([3, 1], rank: 1))
        let fc = PowerSGD.matrixShape([10, 784], rank: 4)!  // 4 x 794 = 3176 < 7840
        XCTAssertEqual([fc.rows, fc.columns], [10, 784])
        let conv = PowerSGD.matrixShape([32, 5, 5, 1], rank: 4)!  // [out, kh, kw, in]: 32 x 25, 228 < 800
        XCTAssertEqual([conv.rows, conv.columns], [32, 25])
        XCTAssertNil(PowerSGD.matrixShape([64, 5, 5, 32], rank: 64))
        XCTAssertTrue(PowerSGD.isWorthCompressing(rows: 784, columns: 256, rank: 4))
    }

    /// r (m + n) floats a step, in exactly the two buffers the closure sees.
    func testBytesPerStepAreTheFactors() throws {
        for (m, n, r) in [(37, 23, 3), (3, 50, 1), (256, 784, 4)] {
            let s = PowerSGD(rows: m, columns: n, rank: r, seed: 1)
            XCTAssertEqual(s.floatsPerStep, r * (m + n))
            XCTAssertEqual(s.bytesPerStep, 4 * r * (m + n))
            var seen = [Int]()
            _ = try s.step(gradient: gaussian(m * n, seed: 2)) { seen.append($0.count) }
            XCTAssertEqual(seen, [m * r, n * r])
            XCTAssertEqual(seen.reduce(0, +), s.floatsPerStep)
        }
    }

    /// A rank-r matrix comes back from one step started at a random Q, and
    /// again from the warm-started next step, within `stepBound`.
    func testRecoversARankRMatrix() throws {
        let (m, n, r) = (37, 23, 3)
        var rng = SeededGenerator(seed: 5)
        let w = product(integerFactor(m, r, &rng), integerFactor(n, r, &rng), m: m, n: n, r: r)
        let mFloat = w.map(Float.init)
        XCTAssertEqual(mFloat.map(Double.init), w)  // exact
        for errorFeedback in [false, true] {
            let s = PowerSGD(rows: m, columns: n, rank: r, errorFeedback: errorFeedback, seed: 9)
            let steps = errorFeedback ? 1 : 2  // with E != 0 the second step's W is no longer of rank r
            for step in 0..<steps {
                let q = s.q
                let (outputs, p, reducedQ) = try simulatedStep([s], [mFloat])
                let bound = stepBound(m: m, n: n, r: r, k: r, w: w, meanOfNorms: frobenius(w), q: q, reducedP: p, reducedQ: reducedQ)
                let error = frobenius(zip(outputs[0], w).map { Double($0) - $1 })
                XCTAssertLessThanOrEqual(error, bound, "step \(step) error feedback \(errorFeedback)")
                XCTAssertLessThan(bound, 1e-4 * frobenius(w), "a bound this loose would not test recovery")
                print("powersgd rank \(r) recovery, step \(step): error \(error / frobenius(w)) x ||M||, bound \(bound / frobenius(w))")
            }
        }
    }

    /// N = 1...5 simulated ranks, each with M_i = A B_i^T (one A, so the mean
    /// has rank r), including m = 3 rows with more ranks than rows: every
    /// rank ends with the same M_hat bit for bit, the mean within
    /// `stepBound`, the same generator, and E_i = M_i - M_hat (E was zero:
    /// within one rounding, u |E_i|).
    func testSimulatedRanksAgreeAndRecoverTheMean() throws {
        for ranks in 1...5 {
            for (m, n, r) in [(41, 29, 2), (3, 29, 1)] {
                var rng = SeededGenerator(seed: UInt64(10 * ranks + m))
                let a = integerFactor(m, r, &rng)
                let ms = (0..<ranks).map { _ in product(a, integerFactor(n, r, &rng), m: m, n: n, r: r) }
                let w = (0..<m * n).map { k in ms.reduce(0.0) { $0 + $1[k] } / Double(ranks) }
                let instances = (0..<ranks).map { _ in PowerSGD(rows: m, columns: n, rank: r, seed: 77) }
                let q = instances[0].q
                let (outputs, p, reducedQ) = try simulatedStep(instances, ms.map { $0.map(Float.init) })
                for o in outputs.dropFirst() { XCTAssertEqual(o.map(\.bitPattern), outputs[0].map(\.bitPattern), "N \(ranks)") }
                for s in instances.dropFirst() { XCTAssertEqual(s.generator, instances[0].generator) }
                let nu = ms.reduce(0.0) { $0 + frobenius($1) } / Double(ranks)
                let bound = stepBound(m: m, n: n, r: r, k: r, w: w, meanOfNorms: nu, q: q, reducedP: p, reducedQ: reducedQ)
                XCTAssertLessThanOrEqual(frobenius(zip(outputs[0], w).map { Double($0) - $1 }), bound, "N \(ranks) m \(m)")
                for (s, mi) in zip(instances, ms) {
                    for k in 0..<m * n {
                        let e = Double(s.error[k])
                        XCTAssertEqual(e + Double(outputs[0][k]), mi[k], accuracy: unitRoundoff * abs(e), "N \(ranks) element \(k)")
                    }
                }
            }
        }
    }

    /// Error feedback over many steps on full-rank gradients: the sum of
    /// every M_hat plus the last E is the sum of every M, within the
    /// roundings of W = M + E and E = W - M_hat (u |W| + u |E| a step).
    /// Without error feedback E stays zero.
    func testErrorFeedbackKeepsWhatWasNotSent() throws {
        let (m, n, r) = (30, 21, 2)
        for errorFeedback in [true, false] {
            let s = PowerSGD(rows: m, columns: n, rank: r, errorFeedback: errorFeedback, seed: 3)
            var sent = [Double](repeating: 0, count: m * n), given = sent, bound = sent
            for step in 0..<10 {
                let g = gaussian(m * n, seed: 300 + UInt64(step))
                let before = s.error
                let out = try s.step(gradient: g) { _ in }
                for k in 0..<m * n {
                    sent[k] += Double(out[k])
                    given[k] += Double(g[k])
                    bound[k] += unitRoundoff * (abs(Double(g[k]) + Double(before[k])) * 1.01 + abs(Double(s.error[k])))
                }
            }
            if errorFeedback {
                for k in 0..<m * n { XCTAssertEqual(sent[k] + Double(s.error[k]), given[k], accuracy: bound[k], "element \(k)") }
            } else {
                XCTAssertEqual(s.error, [Float](repeating: 0, count: m * n))
                XCTAssertGreaterThan(frobenius(zip(sent, given).map(-)), 1, "a rank-2 step of full-rank noise drops a lot")
            }
        }
    }

    /// P^T P = I within 3u per entry after `computeQ`, whatever P was.
    func assertOrthonormal(_ s: PowerSGD, _ message: String, line: UInt = #line) {
        let (m, r) = (s.rows, s.rank)
        for a in 0..<r {
            for b in 0..<r {
                let d = (0..<m).reduce(0.0) { $0 + Double(s.p[a * m + $1]) * Double(s.p[b * m + $1]) }
                XCTAssertEqual(d, a == b ? 1 : 0, accuracy: 3 * unitRoundoff, "\(message): (P^T P)[\(a), \(b)]", line: line)
            }
        }
    }

    /// A column of P that gives no direction is redrawn, not divided by
    /// zero: a zero gradient makes all of P zero, a Q with two equal columns
    /// makes two equal columns of P. P stays orthonormal, nothing is NaN, the
    /// generator moves, and the next step from the kept Q recovers a rank-r
    /// matrix (without error feedback, so that W is that matrix).
    func testColumnsWithoutADirectionAreRedrawn() throws {
        let (m, n, r) = (19, 17, 3)
        var rng = SeededGenerator(seed: 8)
        let w = product(integerFactor(m, r, &rng), integerFactor(n, r, &rng), m: m, n: n, r: r)
        let s = PowerSGD(rows: m, columns: n, rank: r, errorFeedback: false, seed: 4)
        let start = s.generator
        var out = try s.step(gradient: [Float](repeating: 0, count: m * n)) { _ in }
        XCTAssertEqual(out, [Float](repeating: 0, count: m * n))
        assertOrthonormal(s, "zero gradient")
        XCTAssertNotEqual(s.generator, start)
        XCTAssertEqual(s.q, [Float](repeating: 0, count: n * r))  // W^T P = 0
        // Q = 0 now: the next P is zero again, redrawn at random, so this step is no recovery...
        out = try s.step(gradient: w.map(Float.init)) { _ in }
        XCTAssertTrue(out.allSatisfy(\.isFinite))
        // ...but its Q = W^T P spans W's rows, and the step after recovers W.
        let q = s.q
        let (outputs, p, reducedQ) = try simulatedStep([s], [w.map(Float.init)])
        let bound = stepBound(m: m, n: n, r: r, k: r, w: w, meanOfNorms: frobenius(w), q: q, reducedP: p, reducedQ: reducedQ)
        XCTAssertLessThanOrEqual(frobenius(zip(outputs[0], w).map { Double($0) - $1 }), bound)

        // Two equal columns of Q: P's second column repeats its first exactly.
        var dup = s.q
        for j in 0..<n { dup[n + j] = dup[j] }
        s.restore(q: dup, error: s.error, generator: s.generator)
        let before = s.generator
        try computeP(s, w.map(Float.init))
        XCTAssertEqual(Array(s.p[m..<2 * m]), Array(s.p[0..<m]))
        try s.computeQ()
        assertOrthonormal(s, "repeated column")
        XCTAssertNotEqual(s.generator, before)
    }

    /// A gradient of rank 1 at rank 3: two columns of P are rounding noise
    /// around the first; whatever they become, the first column's direction
    /// is kept and M comes back within the bound for k = 1.
    func testRankDeficientGradient() throws {
        let (m, n, r) = (25, 31, 3)
        var rng = SeededGenerator(seed: 12)
        let w = product(integerFactor(m, 1, &rng), integerFactor(n, 1, &rng), m: m, n: n, r: 1)
        let s = PowerSGD(rows: m, columns: n, rank: r, seed: 6)
        let q = s.q
        let (outputs, p, reducedQ) = try simulatedStep([s], [w.map(Float.init)])
        assertOrthonormal(s, "rank 1")
        let bound = stepBound(m: m, n: n, r: r, k: 1, w: w, meanOfNorms: frobenius(w), q: q, reducedP: p, reducedQ: reducedQ)
        XCTAssertLessThanOrEqual(frobenius(zip(outputs[0], w).map { Double($0) - $1 }), bound)
    }

    func testNonFiniteInputsAreRefusedBeforeAnythingChanges() throws {
        let (m, n, r) = (8, 9, 2)
        let s = PowerSGD(rows: m, columns: n, rank: r, seed: 1)
        _ = try s.step(gradient: gaussian(m * n, seed: 1)) { _ in }
        let (q, e) = (s.q, s.error)
        var g = gaussian(m * n, seed: 2)
        g[40] = .infinity
        XCTAssertThrowsError(try s.step(gradient: g) { _ in }) {
            XCTAssertEqual($0 as? CompressionError, .notFinite(position: 40, value: .infinity, encoding: "powersgd"))
            XCTAssertEqual("\($0)", "inf at element 40 of the input; the powersgd encoding takes finite values only")
        }
        XCTAssertEqual(s.q, q)
        XCTAssertEqual(s.error, e)
        // A broken all-reduce: P comes back with an infinity.
        XCTAssertThrowsError(try s.step(gradient: gaussian(m * n, seed: 3)) { $0[5] = -.infinity }) {
            XCTAssertEqual($0 as? CompressionError, .notFinite(position: 5, value: -.infinity, encoding: "powersgd reduced P"))
        }
        XCTAssertEqual(s.q, q)
        XCTAssertEqual(s.error, e)
        // The instance is usable again after a refused step.
        XCTAssertTrue(try s.step(gradient: gaussian(m * n, seed: 4)) { _ in }.allSatisfy(\.isFinite))
    }
}
