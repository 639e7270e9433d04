/// How far a sampling round's training had come after each iteration: the
/// fraction of the round's final update reached,
///
///     p(i) = <C(i), C(I)> / |C(I)|^2,   C(i) = w(0) - w(i),
///
/// overall and per layer (the client-autonomy seed's statistical feature).
/// p(0) = 0 and p(I) = 1 by definition.
///
/// C(i) is kept at up to `checkpoints` evenly spaced iterations, not at
/// every one (a copy of the model each, 60 MB for 64 copies of the MLP);
/// p between two checkpoints is interpolated linearly.
public struct ProgressCurve: Sendable, Equatable {
    /// p(i) for i = 0...I, overall.
    public let overall: [Double]
    /// p_l(i) for i = 0...I, per layer (in the model's layer order).
    public let layers: [[Double]]

    public init(overall: [Double], layers: [[Double]]) {
        self.overall = overall
        self.layers = layers
    }

    /// The iterations I of the sampling round.
    public var iterations: Int { overall.count - 1 }

    /// Builds the curve from the cumulative updates `snapshots` (C at the
    /// iterations `at`, ascending, the last being I) and the layer ranges.
    public init(snapshots: [[Float]], at iterations: [Int], layers ranges: [Range<Int>]) {
        precondition(!snapshots.isEmpty && snapshots.count == iterations.count, "one snapshot per iteration")
        let final = snapshots.last!
        let total = iterations.last!
        func fractions(_ range: Range<Int>) -> [Double] {
            var norm = 0.0
            for k in range { norm += Double(final[k]) * Double(final[k]) }
            // Known points: p(0) = 0, then each snapshot.
            var points: [(Int, Double)] = [(0, 0)]
            for (s, i) in zip(snapshots, iterations) where i > 0 {
                var dot = 0.0
                for k in range { dot += Double(s[k]) * Double(final[k]) }
                points.append((i, norm > 0 ? dot / norm : 1))
            }
            var curve = [Double](repeating: 0, count: total + 1)
            for j in 1..<points.count {
                let (i0, p0) = points[j - 1], (i1, p1) = points[j]
                guard i1 > i0 else { continue }
                for i in i0...i1 { curve[i] = p0 + (p1 - p0) * Double(i - i0) / Double(i1 - i0) }
            }
            return curve
        }
        let all = 0..<(final.count)
        overall = fractions(all)
        layers = ranges.map(fractions)
    }

    /// The iterations at which to keep C for a round of `iterations`: about
    /// `count` evenly spaced ones, always including the last.
    public static func checkpointIterations(_ iterations: Int, count: Int = 64) -> [Int] {
        guard iterations > 0 else { return [0] }
        let stride = max(1, (iterations + count - 1) / count)
        var result = Array(Swift.stride(from: stride, to: iterations, by: stride))
        result.append(iterations)
        return result
    }

    /// Progress gained by iteration i (1-based: the i-th iteration):
    /// p(i) - p(i-1), estimated as the mean gain per iteration over the
    /// last `window` iterations (the curve is noisy and, between its
    /// checkpoints, interpolated), never negative; 0 beyond the sampled
    /// iterations.
    public func marginalBenefit(iteration i: Int, window: Int = 1) -> Double {
        guard i >= 1 && i <= iterations else { return 0 }
        let h = max(1, min(window, i))
        return max(0, (overall[i] - overall[i - h]) / Double(h))
    }

    /// The smoothing window of `marginalBenefit` for this curve: 5% of its
    /// iterations.
    public var benefitWindow: Int { max(1, iterations / 20) }

    /// The prior before any sampling round: steady progress, p(i) = i / I
    /// (what the sampled curves after the first rounds look like).
    public static func straightLine(iterations: Int) -> ProgressCurve {
        let n = max(iterations, 1)
        return ProgressCurve(overall: (0...n).map { Double($0) / Double(n) }, layers: [])
    }
}

/// The first iteration at which layer `layer` has reached `threshold` of its
/// round's update in both of the last two sampling rounds' curves (at the same
/// iteration), or nil if it never does in both before their last iteration
/// (where p is 1 by definition, so nothing would be early).
public func convergedIteration(_ curves: [ProgressCurve], layer: Int, threshold: Double) -> Int? {
    guard curves.count >= 2 else { return nil }
    let a = curves[curves.count - 2].layers[layer], b = curves[curves.count - 1].layers[layer]
    let last = min(a.count, b.count) - 1
    guard last > 1 else { return nil }
    for i in 1..<last where a[i] >= threshold && b[i] >= threshold { return i }
    return nil
}

/// cos(a, b); 1 when both are zero, 0 when only one is.
public func cosineSimilarity(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
    precondition(a.count == b.count, "vectors of different lengths")
    var dot = 0.0, na = 0.0, nb = 0.0
    for (x, y) in zip(a, b) {
        dot += Double(x) * Double(y)
        na += Double(x) * Double(x)
        nb += Double(y) * Double(y)
    }
    if na == 0 && nb == 0 { return 1 }
    if na == 0 || nb == 0 { return 0 }
    return dot / (na.squareRoot() * nb.squareRoot())
}
