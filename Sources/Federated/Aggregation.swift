import Foundation

/// One client's contribution to a round, as the coordinator aggregates it.
public struct ClientContribution: Sendable {
    public let rank: Int
    /// Training samples the client holds (FedAvg's weight).
    public let samples: Int
    /// Local steps it ran (FedNova's normalizer).
    public let steps: Int
    /// Its model change, w_local - w_global, one float per parameter.
    public let delta: [Float]
    /// Local steps behind each layer's part of `delta`, when layers were
    /// taken at different moments (early transmission); nil: all `steps`.
    public let layerSteps: [Int]?

    public init(rank: Int, samples: Int, steps: Int, delta: [Float], layerSteps: [Int]? = nil) {
        self.rank = rank
        self.samples = samples
        self.steps = steps
        self.delta = delta
        self.layerSteps = layerSteps
    }
}

/// How the coordinator combines the clients' changes.
public enum AggregationRule: String, CaseIterable, Sendable {
    /// FedAvg (McMahan et al. 2017): sum of p_i delta_i, p_i = n_i / sum n.
    case weighted
    /// FedNova (Wang et al. 2020): tau_eff x sum of p_i delta_i / a_i, with
    /// a_i the client's effective step count and tau_eff = sum of p_i a_i.
    case fednova
    /// Coordinate-wise median of the changes, unweighted (Yin et al. 2018).
    case median
    /// Coordinate-wise trimmed mean, unweighted: each coordinate drops its
    /// ceil(beta x n) largest and smallest values (Yin et al. 2018).
    case trimmedMean = "trimmed-mean"

    /// Whether the rule is one of the Byzantine-robust ones.
    public var isRobust: Bool { self == .median || self == .trimmedMean }
}

/// FedNova's a_i for `steps` local SGD steps with momentum m:
/// (tau - m (1 - m^tau) / (1 - m)) / (1 - m); tau itself without momentum.
public func fedNovaNormalizer(steps: Int, momentum: Double) -> Double {
    guard momentum > 0 else { return Double(steps) }
    let tau = Double(steps)
    return (tau - momentum * (1 - pow(momentum, tau)) / (1 - momentum)) / (1 - momentum)
}

/// The global change of a round (collective-free, pure): contributions are
/// combined in rank order so the result does not depend on arrival order.
/// Layer by layer (`layers`: the model's layer ranges), so that a layer taken
/// early is normalized by its own step count under FedNova. Returns nil when
/// there is nothing to aggregate.
public func aggregate(
    _ contributions: [ClientContribution], rule: AggregationRule, momentum: Double = 0, layers: [Range<Int>]? = nil,
    trimFraction: Double = 0.1
) -> [Float]? {
    let sorted = contributions.sorted { $0.rank < $1.rank }
    guard let first = sorted.first else { return nil }
    let total = Double(sorted.reduce(0) { $0 + $1.samples })
    guard total > 0 else { return nil }
    var result = [Double](repeating: 0, count: first.delta.count)
    switch rule {
    case .median, .trimmedMean:
        return coordinateWise(sorted.map(\.delta), trim: rule == .median ? nil : trimFraction)
    case .weighted:
        for c in sorted {
            precondition(c.delta.count == result.count, "contributions of different lengths")
            let p = Double(c.samples) / total
            for i in 0..<result.count { result[i] += p * Double(c.delta[i]) }
        }
    case .fednova:
        let ranges = layers ?? [0..<result.count]
        for (l, range) in ranges.enumerated() {
            let normalizers = sorted.map {
                max(fedNovaNormalizer(steps: $0.layerSteps?[l] ?? $0.steps, momentum: momentum), 1e-12)
            }
            let tauEffective = zip(sorted, normalizers).reduce(0.0) { $0 + Double($1.0.samples) / total * $1.1 }
            for (c, a) in zip(sorted, normalizers) {
                precondition(c.delta.count == result.count, "contributions of different lengths")
                let scale = tauEffective * Double(c.samples) / total / a
                for i in range { result[i] += scale * Double(c.delta[i]) }
            }
        }
    }
    return result.map { Float($0) }
}

/// How many values the trimmed mean drops at each end out of `n`:
/// ceil(beta x n), at most (n - 1) / 2 so that one value is left.
public func trimCount(clients n: Int, fraction beta: Double) -> Int {
    min(Int((beta * Double(n)).rounded(.up)), (n - 1) / 2)
}

/// Coordinate-wise median (`trim` nil) or trimmed mean of equal-length
/// vectors; nil when there are none. The median of an even count is the
/// mean of the two middle values.
func coordinateWise(_ vectors: [[Float]], trim: Double?) -> [Float]? {
    guard let first = vectors.first else { return nil }
    let n = vectors.count
    precondition(vectors.allSatisfy { $0.count == first.count }, "contributions of different lengths")
    let drop = trim.map { trimCount(clients: n, fraction: $0) }
    var column = [Float](repeating: 0, count: n)
    var result = [Float](repeating: 0, count: first.count)
    for i in 0..<first.count {
        for j in 0..<n { column[j] = vectors[j][i] }
        column.sort()
        if let drop {
            var sum = 0.0
            for j in drop..<(n - drop) { sum += Double(column[j]) }
            result[i] = Float(sum / Double(n - 2 * drop))
        } else {
            result[i] = n % 2 == 1 ? column[n / 2] : Float((Double(column[n / 2 - 1]) + Double(column[n / 2])) / 2)
        }
    }
    return result
}
