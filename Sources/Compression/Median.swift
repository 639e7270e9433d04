/// The median of `values` (the mean of the middle two for an even count), or
/// 0 for an empty list. The benchmarks report it for repeated timings. It
/// lives in the lowest module both timed benchmarks (Compression's and
/// Collectives') import.
public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let s = values.sorted()
    let m = s.count / 2
    return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
}
