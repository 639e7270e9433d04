#if canImport(Glibc)
import Glibc
#endif
import Random

/// What `measureCompression` found for one (group size, ratio).
public struct CompressionThroughput: Sendable {
    public let length: Int
    public let groupSize: Int
    public let ratio: Double
    public let k: Int
    /// Median seconds of one Group-TopK selection + encoding of the vector.
    public let seconds: Double
    /// Median seconds of the same with error feedback (residual += gradient,
    /// select from the residual, clear what was sent).
    public let secondsWithFeedback: Double
    /// Median seconds of copying the same vector (memcpy), measured
    /// interleaved with the others as this machine's yardstick.
    public let copySeconds: Double
    /// Input bytes per second, plain selection.
    public var gigabytesPerSecond: Double { Double(length * 4) / seconds / 1e9 }
    public var gigabytesPerSecondWithFeedback: Double { Double(length * 4) / secondsWithFeedback / 1e9 }
    /// Bytes copied per second by memcpy (each byte read once and written once).
    public var copyGigabytesPerSecond: Double { Double(length * 4) / copySeconds / 1e9 }
}

/// Times Group-TopK on `length` seeded Gaussian floats, one core, median of
/// `iterations` after one warm-up, interleaved with a memcpy of the same
/// vector so that the ratio to a memory copy is measured side by side.
public func measureCompression(length: Int, groupSize: Int, ratio: Double, iterations: Int, seed: UInt64 = 1)
    -> CompressionThroughput
{
    let layout = GroupLayout(length: length, groupSize: groupSize, ratio: ratio)
    var rng = SeededGenerator(seed: seed)
    let input = (0..<length).map { _ in Float(rng.nextGaussian()) }
    let compressor = GroupTopK(layout: layout)
    var out = SparseGradient(layout: layout)
    var residual = [Float](repeating: 0, count: length)
    var copy = [Float](repeating: 0, count: length)
    var plain = [Double](), feedback = [Double](), copies = [Double]()
    input.withUnsafeBufferPointer { x in
        for i in 0...iterations {
            var t0 = monotonicSeconds()
            try! compressor.compress(x, into: &out)  // Gaussian input: never NaN
            let a = monotonicSeconds() - t0
            t0 = monotonicSeconds()
            residual.withUnsafeMutableBufferPointer { try! compressor.compress(gradient: x, residual: $0, into: &out) }
            let b = monotonicSeconds() - t0
            t0 = monotonicSeconds()
            copy.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: x.baseAddress!, count: length) }
            let c = monotonicSeconds() - t0
            if i > 0 {
                plain.append(a)
                feedback.append(b)
                copies.append(c)
            }
        }
    }
    return CompressionThroughput(length: length, groupSize: groupSize, ratio: ratio, k: layout.k,
                                 seconds: middle(plain), secondsWithFeedback: middle(feedback), copySeconds: middle(copies))
}

private func middle(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : s[s.count / 2]
}
