import Foundation

/// Small pieces every figure uses: number formatting, escaping, colours and
/// 1-2-5 tick steps.
enum SVG {
    /// Eight colours that stay apart for common colour blindness (Okabe-Ito).
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

    static func colour(_ k: Int) -> String { palette[k % palette.count] }

    /// A pixel coordinate, two decimals (what the tests map back through the axes).
    static func px(_ v: Double) -> String { String(format: "%.2f", v) }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Tick values at a 1, 2 or 5 x 10^k step covering [lo, hi] with about
    /// `count` ticks, and the step.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 6) -> (values: [Double], step: Double) {
        guard lo.isFinite, hi.isFinite, hi > lo else { return ([lo], 1) }
        let raw = (hi - lo) / Double(max(count - 1, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = (lo / step).rounded(.down)
        let last = (hi / step).rounded(.up)
        return (stride(from: first, through: last, by: 1).map { $0 * step }, step)
    }

    /// A tick label: exact for a tick on a step of `step` (enough decimals),
    /// with k/M/G for large values.
    static func label(_ v: Double, step: Double) -> String {
        let a = abs(v)
        if a >= 1e9 && step >= 1e8 { return trimmed(v / 1e9, step / 1e9) + "G" }
        if a >= 1e6 && step >= 1e5 { return trimmed(v / 1e6, step / 1e6) + "M" }
        if a >= 1e4 && step >= 1e3 { return trimmed(v / 1e3, step / 1e3) + "k" }
        return trimmed(v, step)
    }

    private static func trimmed(_ v: Double, _ step: Double) -> String {
        let decimals = max(0, Int(-floor(log10(step) + 1e-9)))
        let s = String(format: "%.\(decimals)f", v)
        return s == "-0" ? "0" : s
    }

    /// Reads a tick label back (the inverse of `label`), for tests and tools.
    static func value(ofLabel s: String) -> Double? {
        let scale: [Character: Double] = ["k": 1e3, "M": 1e6, "G": 1e9]
        if let last = s.last, let m = scale[last] { return Double(s.dropLast()).map { $0 * m } }
        return Double(s)
    }

    /// A number for a table cell: 4 significant digits, or an integer.
    static func cell(_ v: Double?) -> String {
        guard let v else { return "" }
        if !v.isFinite { return v.isNaN ? "NaN" : (v > 0 ? "inf" : "-inf") }
        if v == v.rounded() && abs(v) < 1e15 { return String(format: "%.0f", v) }
        return String(format: "%.4g", v)
    }
}
