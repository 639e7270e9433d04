import Foundation

extension SeededGenerator {
    /// Two independent standard normal samples from one Box-Muller draw:
    /// r = sqrt(-2 ln u1), then (r cos 2 pi u2, r sin 2 pi u2), with u1 > 0
    /// redrawn until normal.
    public mutating func nextGaussianPair() -> (Double, Double) {
        var u1 = nextUnit()
        while u1 <= Double.leastNormalMagnitude { u1 = nextUnit() }
        let u2 = nextUnit()
        let r = (-2 * log(u1)).squareRoot()
        return (r * cos(2 * Double.pi * u2), r * sin(2 * Double.pi * u2))
    }

    /// A standard normal sample: the first of `nextGaussianPair` (the second
    /// is dropped). Uses two uniforms per call and keeps no cached value, so
    /// the state alone defines the stream.
    public mutating func nextGaussian() -> Double {
        nextGaussianPair().0
    }

    /// A Gamma(shape, 1) sample (Marsaglia & Tsang 2000; shape < 1 by the
    /// boost U^(1/shape)). Used for Dirichlet partitions.
    public mutating func nextGamma(shape: Double) -> Double {
        precondition(shape > 0, "gamma shape must be positive")
        if shape < 1 {
            let g = nextGamma(shape: shape + 1)
            var u = nextUnit()
            while u <= 0 { u = nextUnit() }
            return g * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = nextGaussian()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = nextUnit()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// A sample from Dirichlet(alpha, ..., alpha) of the given dimension.
    public mutating func nextDirichlet(alpha: Double, count: Int) -> [Double] {
        var g = (0..<count).map { _ in nextGamma(shape: alpha) }
        let s = g.reduce(0, +)
        if s <= 0 || !s.isFinite {
            // Every gamma underflowed (tiny alpha): put all mass on one entry.
            g = [Double](repeating: 0, count: count)
            g[nextIndex(below: count)] = 1
            return g
        }
        return g.map { $0 / s }
    }
}
