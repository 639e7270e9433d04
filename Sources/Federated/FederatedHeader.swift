/// The fixed header of every federated message, field by field. On the wire
/// it is 27 little-endian 8-byte words (216 bytes):
///
///     word 0      UInt32 wire version (`FederatedHeader.wireVersion`), UInt32 kind
///     words 1-26  the fields below in `FederatedHeader.Field` order, each a Float64
///
/// Integer fields travel as whole Float64 numbers below 2^53 in size, so that
/// they convert exactly; the real fields (`Field.isReal`) are measurements
/// and may be any Float64, NaN included. `decode` refuses another wire
/// version, a short buffer, an unknown kind or a broken integer field with a
/// `FederatedError` naming the peer and what is wrong.
public struct FederatedHeader: Equatable, Sendable {
    /// Version of this layout. 1 was the unversioned header of 27 Float64
    /// fields (its first four bytes read as version 0); 2 is this one.
    public static let wireVersion: UInt32 = 2
    /// Bytes of the encoded header.
    public static let byteCount = 27 * 8

    public var kind: FederatedMessage.Kind
    public var round = 0
    /// The global model version the message refers to.
    public var version = 0
    public var steps = 0
    /// The virtual client a model or update message is for (`--clients`,
    /// 1...N); 0: the receiving or sending client rank's own client. Word 4
    /// was an unused sample count, always 0, so older peers stay readable.
    public var client = 0
    public var secondsPerStep = 0.0
    public var lossBefore = 0.0
    public var lossAfter = 0.0
    public var computeSeconds = 0.0
    public var waitSeconds = 0.0
    /// How the payload is encoded (`FederatedMessage.PayloadForm`).
    public var payloadForm = 0
    public var rangeStart = 0
    public var rangeCount = 0
    public var referenceTime = 0.0
    public var iteration = 0
    public var downloadBytes = 0
    /// Autonomy: layers whose early copy the coordinator keeps / that were re-sent / sent early (bit masks).
    public var keptLayers = 0
    public var resentLayers = 0
    public var earlyLayers = 0
    /// Autonomy: the iteration the client stopped at (0: ran the full round).
    public var stoppedAt = 0
    public var overlapSeconds = 0.0
    public var plannedSteps = 0
    public var layer = 0
    /// Client seconds from receiving the model to sending the update.
    public var localSeconds = 0.0
    /// Checkpoints: 1 when the client failed to write its file.
    public var failed = 0
    /// Checkpoints: the oldest round still kept; clients delete their older files.
    public var keepFrom = 0
    /// Seconds from the end of local training to the end of the final upload
    /// on the `--client-bandwidth` link model (waiting for early-sent layers included).
    public var uploadSeconds = 0.0

    public init(kind: FederatedMessage.Kind) {
        self.kind = kind
    }

    /// The fields after the kind, in wire order (word 1 is `round`).
    public enum Field: Int, CaseIterable, Sendable {
        case round = 1, version, steps, client, secondsPerStep, lossBefore, lossAfter
        case computeSeconds, waitSeconds, payloadForm, rangeStart, rangeCount, referenceTime, iteration, downloadBytes
        case keptLayers, resentLayers, earlyLayers, stoppedAt, overlapSeconds, plannedSteps, layer
        case localSeconds, failed, keepFrom, uploadSeconds

        /// Whether the field holds a measured number (any Float64, NaN
        /// included) rather than an integer.
        public var isReal: Bool {
            switch self {
            case .secondsPerStep, .lossBefore, .lossAfter, .computeSeconds, .waitSeconds, .referenceTime,
                 .overlapSeconds, .localSeconds, .uploadSeconds: return true
            default: return false
            }
        }
    }

    /// A field by name, as a Float64 (integers converted). Setting an
    /// integer field takes a whole number (`decode` checks one first).
    public subscript(field: Field) -> Double {
        get {
            if let path = Self.real(field) { return self[keyPath: path] }
            return Double(self[keyPath: Self.integer(field)!])
        }
        set {
            if let path = Self.real(field) {
                self[keyPath: path] = newValue
            } else {
                guard let whole = Int(exactly: newValue) else { preconditionFailure("header field \(field) takes an integer, not \(newValue)") }
                self[keyPath: Self.integer(field)!] = whole
            }
        }
    }

    /// An integer field by name (a real field is truncated).
    public subscript(int field: Field) -> Int {
        get { Self.integer(field).map { self[keyPath: $0] } ?? Int(self[keyPath: Self.real(field)!]) }
        set {
            if let path = Self.integer(field) { self[keyPath: path] = newValue } else { self[keyPath: Self.real(field)!] = Double(newValue) }
        }
    }

    private static func real(_ field: Field) -> WritableKeyPath<FederatedHeader, Double>? {
        switch field {
        case .secondsPerStep: return \.secondsPerStep
        case .lossBefore: return \.lossBefore
        case .lossAfter: return \.lossAfter
        case .computeSeconds: return \.computeSeconds
        case .waitSeconds: return \.waitSeconds
        case .referenceTime: return \.referenceTime
        case .overlapSeconds: return \.overlapSeconds
        case .localSeconds: return \.localSeconds
        case .uploadSeconds: return \.uploadSeconds
        default: return nil
        }
    }

    private static func integer(_ field: Field) -> WritableKeyPath<FederatedHeader, Int>? {
        switch field {
        case .round: return \.round
        case .version: return \.version
        case .steps: return \.steps
        case .client: return \.client
        case .payloadForm: return \.payloadForm
        case .rangeStart: return \.rangeStart
        case .rangeCount: return \.rangeCount
        case .iteration: return \.iteration
        case .downloadBytes: return \.downloadBytes
        case .keptLayers: return \.keptLayers
        case .resentLayers: return \.resentLayers
        case .earlyLayers: return \.earlyLayers
        case .stoppedAt: return \.stoppedAt
        case .plannedSteps: return \.plannedSteps
        case .layer: return \.layer
        case .failed: return \.failed
        case .keepFrom: return \.keepFrom
        default: return nil
        }
    }

    /// Appends the `byteCount` header bytes to `bytes`.
    public func encode(into bytes: inout [UInt8]) {
        func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        append(Self.wireVersion)
        append(UInt32(kind.rawValue))
        for field in Field.allCases { append(self[field].bitPattern) }
    }

    /// Reads the header at the start of `bytes`, a message from `peer` (for
    /// example "rank 3" or "the coordinator", named in errors).
    public static func decode(_ bytes: [UInt8], from peer: String) throws -> FederatedHeader {
        guard bytes.count >= byteCount else {
            throw FederatedError.failed("\(peer) sent \(bytes.count) bytes, shorter than the \(byteCount)-byte message header")
        }
        func word<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
        let version = word(0, UInt32.self)
        guard version == wireVersion else {
            throw FederatedError.failed("\(peer) sent a message of header version \(version); this build reads version \(wireVersion)")
        }
        let rawKind = word(4, UInt32.self)
        guard let kind = FederatedMessage.Kind(rawValue: Int(rawKind)) else {
            throw FederatedError.failed("\(peer) sent a message of unknown kind \(rawKind)")
        }
        var header = FederatedHeader(kind: kind)
        for field in Field.allCases {
            let v = Double(bitPattern: word(field.rawValue * 8, UInt64.self))
            if !field.isReal {
                guard v.isFinite, abs(v) < 9_007_199_254_740_992, v.rounded() == v else {
                    throw FederatedError.failed("\(peer) sent a message whose integer header field \(field) is \(v)")
                }
            }
            header[field] = v
        }
        return header
    }
}
