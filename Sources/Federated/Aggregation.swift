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
    _ contributions: [ClientContribution], rule: AggregationRule, momentum: Double = 0, layers: [Range<Int>]? = nil
) -> [Float]? {
    let sorted = contributions.sorted { $0.rank < $1.rank }
    guard let first = sorted.first else { return nil }
    let total = Double(sorted.reduce(0) { $0 + $1.samples })
    guard total > 0 else { return nil }
    var result = [Double](repeating: 0, count: first.delta.count)
    switch rule {
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
