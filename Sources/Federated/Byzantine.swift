import Foundation
import Random

/// A poisoned update, for testing robust aggregation (`--attack`).
public enum Attack: String, CaseIterable, Sendable {
    /// Sends -S x its honest change.
    case signFlip = "sign-flip"
    /// Sends S x its honest change.
    case scale
    /// Sends Gaussian noise with S times the root mean square of its honest change.
    case noise
    /// Sends NaN everywhere (the coordinator's finite check must reject it).
    case nan
}

/// Which clients attack, how, and how hard (`--byzantine`, `--attack`,
/// `--attack-scale`).
public struct ByzantineSettings: Sendable, Equatable {
    public var ranks: [Int]
    public var attack: Attack
    public var scale: Double

    public init(ranks: [Int], attack: Attack, scale: Double = 10) {
        self.ranks = ranks
        self.attack = attack
        self.scale = scale
    }

    /// Replaces an honest change by this attack's poisoned one. The noise is
    /// drawn from (seed, rank, round), so runs repeat exactly.
    public func poison(_ delta: inout [Float], seed: UInt64, rank: Int, round: Int) {
        switch attack {
        case .signFlip, .scale:
            let s = Float(attack == .signFlip ? -scale : scale)
            for i in delta.indices { delta[i] *= s }
        case .noise:
            let rms = delta.isEmpty ? 0 : (delta.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(delta.count)).squareRoot()
            var rng = SeededGenerator(seed: seed ^ 0xB12A_471E, stream: UInt64(rank) << 32 | UInt64(round))
            for i in delta.indices { delta[i] = Float(scale * rms * rng.nextGaussian()) }
        case .nan:
            for i in delta.indices { delta[i] = .nan }
        }
    }
}

/// Why the coordinator refuses an upload: wrong length, a non-finite value,
/// or a norm above `maxNorm`; nil when it is fine.
public func uploadProblem(_ delta: [Float], expected: Int, maxNorm: Double?) -> String? {
    guard delta.count == expected else { return "\(delta.count) values, expected \(expected)" }
    var sum = 0.0
    for (i, v) in delta.enumerated() {
        guard v.isFinite else { return "non-finite value \(v) at index \(i)" }
        sum += Double(v) * Double(v)
    }
    if let maxNorm, sum.squareRoot() > maxNorm {
        return String(format: "norm %.4g above --max-update-norm %.4g", sum.squareRoot(), maxNorm)
    }
    return nil
}
