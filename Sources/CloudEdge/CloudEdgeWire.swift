import Collectives

/// The messages of the cloud-edge mode: a few named-by-position scalars
/// (Doubles), floats (activations, gradients or parameters) and Int32
/// labels, as
///
///     scalar count, float count, label count    3 x UInt32, little-endian
///     scalars (Float64), floats (Float32), labels (Int32)
///
/// Each message kind has its own tag, which fixes what its scalars mean
/// (`CloudEdgeTag`). Decoding checks the lengths and names the sender.
struct WireMessage: Equatable {
    var scalars: [Double] = []
    var floats: [Float] = []
    var labels: [Int32] = []

    init(scalars: [Double] = [], floats: [Float] = [], labels: [Int32] = []) {
        (self.scalars, self.floats, self.labels) = (scalars, floats, labels)
    }

    static let headerBytes = 12

    func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.headerBytes + scalars.count * 8 + floats.count * 4 + labels.count * 4)
        for n in [scalars.count, floats.count, labels.count] { withUnsafeBytes(of: UInt32(n).littleEndian) { bytes += $0 } }
        scalars.withUnsafeBytes { bytes += $0 }
        floats.withUnsafeBytes { bytes += $0 }
        labels.withUnsafeBytes { bytes += $0 }
        return bytes
    }

    /// Decodes `bytes` from `sender` (for the error line), expecting
    /// `scalars` scalars, and `floats` floats when given.
    init(decoding bytes: [UInt8], from sender: String, scalars expectedScalars: Int, floats expectedFloats: Int? = nil) throws {
        func fail(_ problem: String) -> CloudEdgeError { .failed("malformed message from \(sender): \(problem)") }
        guard bytes.count >= Self.headerBytes else { throw fail("\(bytes.count) bytes, shorter than the header") }
        let counts = (0..<3).map { i in
            Int(UInt32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) }))
        }
        guard bytes.count == Self.headerBytes + counts[0] * 8 + counts[1] * 4 + counts[2] * 4 else {
            throw fail("\(bytes.count) bytes do not hold \(counts[0]) scalars, \(counts[1]) floats and \(counts[2]) labels")
        }
        guard counts[0] == expectedScalars else { throw fail("\(counts[0]) scalars, expected \(expectedScalars)") }
        if let expectedFloats, counts[1] != expectedFloats { throw fail("\(counts[1]) floats, expected \(expectedFloats)") }
        var offset = Self.headerBytes
        func read<T>(_ count: Int, _ type: T.Type) -> [T] {
            let size = MemoryLayout<T>.stride
            defer { offset += count * size }
            return [T](unsafeUninitializedCapacity: count) { out, n in
                bytes.withUnsafeBytes { src in
                    UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<offset + count * size]))
                }
                n = count
            }
        }
        scalars = read(counts[0], Double.self)
        floats = read(counts[1], Float.self)
        labels = read(counts[2], Int32.self)
    }
}

/// The tags of the cloud-edge mode's messages, one per kind (0...32767).
enum CloudEdgeTag {
    /// Device -> edge (device-edge tier): activations and labels of one step. No scalars.
    static let activations = 31
    /// Edge -> device: the gradient at the cut for that step. No scalars.
    static let gradient = 32
    /// Device -> aggregator (device-edge tier rank 0): the trained front.
    /// Scalars: samples, compute seconds, peak RSS KiB.
    static let front = 33
    /// Edge -> aggregator (edge-cloud tier rank 1): the trained back half.
    /// Scalars: cluster samples.
    static let back = 34
    /// Edge -> cloud: distillation samples (activations, labels) and the
    /// edge's round figures. Scalars: `EdgeFigures`.
    static let distill = 35
    /// Aggregator -> cloud: the averaged front and back, and the devices'
    /// figures. Scalars: `AggregateFigures`.
    static let aggregate = 36
    /// Cloud -> aggregator (edge-cloud tier), at the start and on resume:
    /// the global front, which the aggregator then broadcasts. No scalars.
    static let globalFront = 37
}

/// Waits for one message with `tag` from `source` of `group`, at most
/// `timeout` seconds; `what` names it in the error.
func receiveMessage(_ group: PeerGroup, from source: Int, tag: Int, timeout: Double, what: String) throws -> [UInt8] {
    guard let (_, bytes) = try group.receive(from: source, tag: tag, waiting: timeout) else {
        throw CloudEdgeError.failed("\(what): nothing arrived within \(timeout) s; a peer is gone or stuck")
    }
    return bytes
}

extension WireMessage {
    /// Checks that every label lies in 0..<`classes`, naming `sender` and
    /// the first label outside (a label the loss would trap on).
    func checkLabels(classes: Int, from sender: String) throws {
        if let i = labels.firstIndex(where: { $0 < 0 || Int($0) >= classes }) {
            throw CloudEdgeError.failed("malformed message from \(sender): label \(labels[i]) at position \(i) is outside 0..<\(classes)")
        }
    }
}

/// A count (samples, bytes, KiB) received as a scalar: a finite,
/// non-negative integer, or a `.failed` line naming `sender` and `what`.
func wireCount(_ value: Double, _ what: String, from sender: String) throws -> Int {
    guard value >= 0, let n = Int(exactly: value) else {
        throw CloudEdgeError.failed("malformed message from \(sender): \(what) \(value) is not a non-negative integer")
    }
    return n
}

/// Seconds received as a scalar: finite and non-negative, or a `.failed`
/// line naming `sender` and `what`.
func wireSeconds(_ value: Double, _ what: String, from sender: String) throws -> Double {
    guard value.isFinite, value >= 0 else {
        throw CloudEdgeError.failed("malformed message from \(sender): \(what) \(value) is not finite and non-negative")
    }
    return value
}

/// Checks a sample count from the wire against the plan's.
func checkSampleCount(_ value: Double, expected: Int, from sender: String) throws {
    guard try wireCount(value, "sample count", from: sender) == expected else {
        throw CloudEdgeError.failed("malformed message from \(sender): sample count \(Int(value)), the plan gives \(expected)")
    }
}
