import Random

/// A gradient codec: a flat vector of floats in, an exactly sized message of
/// bytes out, and back. Mode- and collective-agnostic: the ring, an
/// all-gather and the federated uploads all move the same messages.
///
/// Contract, for every conforming codec:
/// - `encode` writes exactly `encodedBytes(count: values.count)` bytes,
///   little-endian, in the format its doc comment (and docs/compression.md)
///   gives; the byte count is a function of the length alone, so a receiver
///   sizes its buffer before anything arrives.
/// - `encode` refuses what it cannot represent with a thrown
///   `CompressionError` (NaN or infinity: `.notFinite`), before writing.
/// - `decode` checks every byte it reads (size, header, scales, levels,
///   padding) and throws `CompressionError.undecodable` (one line) on
///   anything an encoder of the same settings cannot have written, before it
///   writes to `values`: hostile bytes never crash and never leave a half-
///   added accumulator.
/// - Stochastic codecs (QSGD, int8 with stochastic rounding) draw from the
///   generator passed in, so a run is reproducible from its seed; the others
///   leave it untouched.
///
/// `encode` and `decode` take spans (no pointer escapes the call); the array
/// forms below wrap them.
public protocol GradientCodec {
    /// The name used on the command line and in metrics (`qsgd`, `int8`,
    /// `fp16`, `sign`, `group-topk-fp16`, ...).
    var name: String { get }

    /// Bytes of the message encoding `count` floats, header included.
    func encodedBytes(count: Int) -> Int

    /// Encodes `values` into `bytes`, which holds exactly
    /// `encodedBytes(count: values.count)` bytes (a precondition).
    func encode(_ values: Span<Float>, into bytes: inout MutableRawSpan, using generator: inout SeededGenerator) throws

    /// Decodes the message `bytes` of `values.count` floats into `values`:
    /// overwriting, adding or subtracting (`mode`). Throws
    /// `CompressionError.undecodable` without touching `values` when the
    /// bytes are not such a message.
    func decode(_ bytes: RawSpan, into values: inout MutableSpan<Float>, _ mode: DecodeMode) throws
}

/// How a decoded vector meets the buffer it is decoded into.
public enum DecodeMode: Sendable {
    /// values = decoded
    case overwrite
    /// values += decoded (summing several ranks' messages, as an all-gather does)
    case add
    /// values -= decoded (error feedback: residual = p - C(p))
    case subtract
}

extension GradientCodec {
    /// Encodes `values` into a new array of `encodedBytes(count: values.count)` bytes.
    public func encode(_ values: [Float], using generator: inout SeededGenerator) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: encodedBytes(count: values.count))
        var span = bytes.mutableSpan
        var raw = span.mutableBytes
        try encode(values.span, into: &raw, using: &generator)
        return bytes
    }

    /// Decodes a message of `count` floats.
    public func decode(_ bytes: [UInt8], count: Int) throws -> [Float] {
        var values = [Float](repeating: 0, count: count)
        var span = values.mutableSpan
        try decode(bytes.span.bytes, into: &span, .overwrite)
        return values
    }

    /// Decodes a message of `values.count` floats and adds it to `values`.
    public func decode(_ bytes: [UInt8], adding values: inout [Float]) throws {
        var span = values.mutableSpan
        try decode(bytes.span.bytes, into: &span, .add)
    }

    /// Error feedback around this codec (EF-SGD, Karimireddy et al. 2019):
    ///
    ///     p = gradient + residual;  bytes = C(p);  residual = p - decode(bytes)
    ///
    /// so that what was sent plus the residual is every gradient ever given
    /// (up to one Float32 rounding of each sum and difference). `residual`
    /// and `gradient` have the same length; `bytes` holds
    /// `encodedBytes(count: gradient.count)` bytes. When encoding throws,
    /// `residual` holds p and nothing was sent: the caller cannot go on.
    public func encode(
        gradient: Span<Float>, residual: inout MutableSpan<Float>, into bytes: inout MutableRawSpan,
        using generator: inout SeededGenerator
    ) throws {
        precondition(gradient.count == residual.count, "gradient has \(gradient.count) elements, residual \(residual.count)")
        gradient.withUnsafeBufferPointer { g in
            residual.withUnsafeMutableBufferPointer { r in
                if let rb = r.baseAddress, let gb = g.baseAddress { addInPlace(rb, gb, count: g.count) }
            }
        }
        try encode(residual.span, into: &bytes, using: &generator)
        try decode(bytes.bytes, into: &residual, .subtract)
    }

    /// Error feedback on arrays; returns the message (see the span form).
    public func encode(gradient: [Float], residual: inout [Float], using generator: inout SeededGenerator) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: encodedBytes(count: gradient.count))
        var byteSpan = bytes.mutableSpan
        var raw = byteSpan.mutableBytes
        var r = residual.mutableSpan
        try encode(gradient: gradient.span, residual: &r, into: &raw, using: &generator)
        return bytes
    }
}
