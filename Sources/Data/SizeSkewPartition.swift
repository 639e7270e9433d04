import Foundation
import Random

/// How unequal the clients' sample counts are (`--size-skew`), as LEAF and
/// FedScale have them: each partition gets a seeded weight, and sizes are
/// proportional to the weights.
public enum SizeSkew: Sendable, Equatable, CustomStringConvertible {
    /// Weights exp(sigma x z), z standard normal: a log-normal spread.
    case lognormal(sigma: Double)
    /// Weights u^(-1/a), u uniform in (0, 1]: a Pareto (power-law) tail of
    /// exponent `a`; smaller `a`, heavier tail.
    case powerLaw(exponent: Double)

    /// Parses `lognormal:SIGMA` or `powerlaw:A`; nil for anything else or a
    /// parameter that is not positive and finite.
    public init?(argument: String) {
        let parts = argument.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let v = Double(parts[1]), v > 0, v.isFinite else { return nil }
        switch parts[0] {
        case "lognormal": self = .lognormal(sigma: v)
        case "powerlaw": self = .powerLaw(exponent: v)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case let .lognormal(sigma): return "lognormal:\(sigma)"
        case let .powerLaw(a): return "powerlaw:\(a)"
        }
    }

    /// The natural log of one seeded weight: sigma x z, or -ln(u) / a. It
    /// stays in range where the weight itself overflows (powerlaw:0.01 gives
    /// u^-100); only absurd parameters (powerlaw:1e-300) make it infinite.
    func logWeight(_ rng: inout SeededGenerator) -> Double {
        switch self {
        case let .lognormal(sigma): return sigma * rng.nextGaussian()
        case let .powerLaw(a): return -log(1 - rng.nextUnit()) / a
        }
    }
}

/// `parts` sizes summing to `count`, each at least `minSize`, the rest
/// shared in proportion to seeded `skew` weights (largest remainders get
/// the leftover samples, ties to the lower partition). Requires
/// `parts * minSize <= count`.
func skewedSizes(count: Int, parts: Int, minSize: Int, skew: SizeSkew, rng: inout SeededGenerator) -> [Int] {
    // Weights relative to the largest (in [0, 1], the largest exactly 1):
    // the total is finite and at least 1 however wide the spread, infinite
    // logs included.
    let logs = (0..<parts).map { _ in skew.logWeight(&rng) }
    let largest = logs.max() ?? 0
    let weights = logs.map { $0 == largest ? 1 : exp($0 - largest) }
    let total = weights.reduce(0, +)
    let free = count - parts * minSize
    let shares = weights.map { Double(free) * $0 / total }
    var sizes = shares.map { minSize + Int($0.rounded(.down)) }
    let leftover = count - sizes.reduce(0, +)
    let byRemainder = shares.indices.sorted {
        let (a, b) = (shares[$0] - shares[$0].rounded(.down), shares[$1] - shares[$1].rounded(.down))
        return a != b ? a > b : $0 < $1
    }
    for k in byRemainder.prefix(leftover) { sizes[k] += 1 }
    return sizes
}

/// The iid split with skewed sizes: a seeded shuffle cut at `skewedSizes`.
func skewedPartition(count: Int, parts: Int, minSize: Int, skew: SizeSkew, rng: inout SeededGenerator) throws -> [[Int]] {
    let (needed, overflow) = minSize.multipliedReportingOverflow(by: parts)
    guard minSize >= 1, !overflow, needed <= count else {
        throw DataError.invalidPartition("\(parts) partitions of at least \(max(minSize, 1)) samples need more than the \(count) samples")
    }
    let sizes = skewedSizes(count: count, parts: parts, minSize: minSize, skew: skew, rng: &rng)
    var order = Array(0..<count)
    rng.shuffle(&order)
    var start = 0
    return sizes.map { size in
        defer { start += size }
        return order[start..<start + size].sorted()
    }
}
