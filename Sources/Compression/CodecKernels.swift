import Random

// Small kernels the codecs share: the finite-value check, bit streams, the
// uniform draws of stochastic rounding, and how a decoded value is stored.

/// The position of the first NaN or infinity in `x[0..<n]`, or nil. One
/// vector pass of integer adds and ors: with the sign bit cleared, a float
/// is not finite exactly when its bits reach infinity's (0x7F80_0000), that
/// is when adding 0x0080_0000 carries into the top bit.
func firstNonFinite(_ x: UnsafePointer<Float>, count n: Int) -> Int? {
    let raw = UnsafeRawPointer(x)
    var carries = SIMD16<UInt32>(repeating: 0)
    var i = 0
    while i + 16 <= n {
        carries |= (raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<UInt32>.self) & 0x7FFF_FFFF) &+ 0x0080_0000
        i &+= 16
    }
    var found = any((carries & 0x8000_0000) .!= 0)
    while !found && i < n {
        found = !x[i].isFinite
        i &+= 1
    }
    guard found else { return nil }
    return (0..<n).first { !x[$0].isFinite }
}

/// Throws `CompressionError.notFinite` naming the first NaN or infinity of `x`.
func requireFinite(_ x: UnsafeBufferPointer<Float>, encoding: String) throws {
    guard let base = x.baseAddress, let i = firstNonFinite(base, count: x.count) else { return }
    throw CompressionError.notFinite(position: i, value: x[i], encoding: encoding)
}

/// Writes a stream of fields of `width` bits (1...32), least significant bit
/// first: field i occupies stream bits [i w, (i + 1) w), and stream bit j is
/// bit j mod 8 of byte j / 8. Whole 64-bit words are stored as they fill.
struct BitWriter {
    private let base: UnsafeMutableRawPointer
    private var word: UInt64 = 0
    private var filled = 0
    private var offset = 0

    init(_ base: UnsafeMutableRawPointer) { self.base = base }

    @inline(__always)
    mutating func append(_ value: UInt64, width: Int) {
        assert(width >= 1 && width <= 32 && value >> UInt64(width) == 0)
        word |= value &<< UInt64(filled)
        filled &+= width
        if filled >= 64 {
            base.storeBytes(of: word.littleEndian, toByteOffset: offset, as: UInt64.self)
            offset &+= 8
            filled &-= 64
            word = filled > 0 ? value &>> UInt64(width &- filled) : 0
        }
    }

    /// Stores the last partial word: ceil(bits left / 8) bytes, unused high bits zero.
    mutating func finish() {
        var w = word
        for _ in 0..<(filled + 7) / 8 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: w), toByteOffset: offset, as: UInt8.self)
            offset &+= 1
            w >>= 8
        }
        filled = 0
        word = 0
    }
}

/// Field i of a stream of `width`-bit fields (1...16) that `BitWriter`
/// wrote, `streamBytes` long: one unaligned 4-byte load from the field's
/// first byte (32 bits hold any such field at any bit offset), byte by byte
/// near the end. No state is carried from field to field.
@inline(__always)
func field(_ stream: UnsafeRawPointer, _ i: Int, width: Int, streamBytes: Int) -> UInt32 {
    assert(width >= 1 && width <= 16)
    let bit = i &* width, byte = bit &>> 3
    var w: UInt32
    if byte &+ 4 <= streamBytes {
        w = UInt32(littleEndian: stream.loadUnaligned(fromByteOffset: byte, as: UInt32.self))
    } else {
        w = 0
        for k in 0..<streamBytes &- byte { w |= UInt32(stream.load(fromByteOffset: byte &+ k, as: UInt8.self)) &<< UInt32(8 &* k) }
    }
    return (w &>> UInt32(bit & 7)) & ((1 &<< UInt32(width)) &- 1)
}

/// Bits of a stream of `count` fields of `width` bits: ceil(count x width / 8) bytes.
@inline(__always)
func packedBytes(count: Int, width: Int) -> Int { (count * width + 7) / 8 }

/// True when the stream's unused high bits of its last byte are zero (an
/// encoder writes zeros there; anything else is not a message of ours).
func paddingIsZero(_ stream: UnsafeRawPointer, count: Int, width: Int) -> Bool {
    let used = (count * width) % 8
    guard used > 0 else { return true }
    let last = stream.load(fromByteOffset: packedBytes(count: count, width: width) - 1, as: UInt8.self)
    return last >> UInt8(used) == 0
}

/// Uniform draws on the grid k / 2^24, two per 64-bit word of the generator.
/// Rounding t up when a draw is below frac(t) happens with probability
/// ceil(frac x 2^24) / 2^24, which is frac(t) within 2^-24: stochastic
/// rounding unbiased to 2^-24 of a level.
struct UniformDraws {
    private var spare: UInt64 = 0
    private var hasSpare = false

    @inline(__always)
    mutating func next(_ generator: inout SeededGenerator) -> Float {
        if hasSpare {
            hasSpare = false
            return Float(spare &>> 8) * 0x1p-24
        }
        let w = generator.next()
        spare = w & 0xFFFF_FFFF
        hasSpare = true
        return Float(w &>> 40) * 0x1p-24
    }

    /// The next `n` draws, in order, into `u` (a bucket's draws before its
    /// vector pass: filling memory keeps the generator out of that loop).
    mutating func fill(_ u: UnsafeMutablePointer<Float>, count n: Int, _ generator: inout SeededGenerator) {
        var i = 0
        if hasSpare && n > 0 {
            u[0] = next(&generator)
            i = 1
        }
        // Whole words, two draws each, in `next`'s order.
        while i + 2 <= n {
            let w = generator.next()
            u[i] = Float(w &>> 40) * 0x1p-24
            u[i &+ 1] = Float((w & 0xFFFF_FFFF) &>> 8) * 0x1p-24
            i &+= 2
        }
        if i < n { u[i] = next(&generator) }
    }
}

/// Where a decoder puts the value of element i (or of the 16 elements from
/// i): generic, so each decode kernel is specialised once per mode and the
/// store inlines.
protocol ElementStore {
    static func store(_ v: Float, _ p: UnsafeMutablePointer<Float>, _ i: Int)
    static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int)
}

enum OverwriteStore: ElementStore {
    @inline(__always) static func store(_ v: Float, _ p: UnsafeMutablePointer<Float>, _ i: Int) { p[i] = v }
    @inline(__always) static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, toByteOffset: i &* 4, as: SIMD16<Float>.self)
    }
}

enum AddStore: ElementStore {
    @inline(__always) static func store(_ v: Float, _ p: UnsafeMutablePointer<Float>, _ i: Int) { p[i] += v }
    @inline(__always) static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        let r = UnsafeMutableRawPointer(p)
        r.storeBytes(of: r.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self) + v, toByteOffset: i &* 4, as: SIMD16<Float>.self)
    }
}

enum SubtractStore: ElementStore {
    @inline(__always) static func store(_ v: Float, _ p: UnsafeMutablePointer<Float>, _ i: Int) { p[i] -= v }
    @inline(__always) static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        let r = UnsafeMutableRawPointer(p)
        r.storeBytes(of: r.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self) - v, toByteOffset: i &* 4, as: SIMD16<Float>.self)
    }
}

/// The float the message holds at `offset` (little-endian).
@inline(__always)
func loadFloat(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
}

@inline(__always)
func storeFloat(_ v: Float, _ p: UnsafeMutableRawPointer, _ offset: Int) {
    p.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: offset, as: UInt32.self)
}

/// Checks that the `count` Float32 scales at `offset` are finite and not
/// negative (what an encoder writes); else throws naming the first bad one.
func checkScales(_ p: UnsafeRawPointer, at offset: Int, count: Int, what: String, encoding: String) throws {
    for b in 0..<count {
        let s = loadFloat(p, offset + 4 * b)
        guard s.isFinite && s >= 0 else {
            throw CompressionError.undecodable(encoding: encoding, reason: "\(what) \(b) is \(s)")
        }
    }
}
