/// The messages between the coordinator (rank 0) and the clients: flat
/// bytes over MPI, never serialized objects. Each is a header of 27 Float64
/// fields, then a payload: weights (model), a dense delta, one layer's
/// parameters, or an encoded Group-TopK block.
public struct FederatedMessage: Sendable, Equatable {
    public enum Kind: Int, Sendable {
        /// coordinator -> client: train on these weights.
        case model = 1
        /// coordinator -> client: stop; reply with `bye`.
        case stop = 2
        /// client -> coordinator: the end-of-round update.
        case update = 3
        /// client -> coordinator: one layer's parameters, sent early (autonomy).
        case layer = 4
        /// client -> coordinator: stopped, nothing more will come.
        case bye = 5
        /// coordinator -> client: write your checkpoint file for this round.
        case checkpoint = 6
        /// client -> coordinator: checkpoint file written (or failed: `failed` = 1).
        case checkpointDone = 7
    }

    /// Header fields by index.
    public enum Field: Int, CaseIterable, Sendable {
        case kind = 0, round, version, steps, samples, secondsPerStep, lossBefore, lossAfter
        case computeSeconds, waitSeconds, payloadForm, rangeStart, rangeCount, referenceTime, iteration, downloadBytes
        /// Autonomy: layers whose early copy the coordinator keeps / that were re-sent (bit masks).
        case keptLayers, resentLayers, earlyLayers
        /// Autonomy: the iteration the client stopped at (0: ran the full round).
        case stoppedAt
        case overlapSeconds, plannedSteps, layer
        /// Client seconds from receiving the model to sending the update.
        case localSeconds
        /// Checkpoints: 1 when the client failed to write its file.
        case failed
        /// Checkpoints: the oldest round still kept; clients delete their older files.
        case keepFrom
        /// Seconds from the end of local training to the end of the final upload
        /// on the `--client-bandwidth` link model (waiting for early-sent layers included).
        case uploadSeconds
    }

    static let fieldCount = Field.allCases.count

    /// How the payload is encoded.
    public enum PayloadForm: Int, Sendable {
        case none = 0, denseFloats = 1, sparseBlock = 2
    }

    public static let headerBytes = fieldCount * 8
    public var header: [Double]
    public var payload: [UInt8]

    public init(kind: Kind) {
        header = [Double](repeating: 0, count: Self.fieldCount)
        header[Field.kind.rawValue] = Double(kind.rawValue)
        payload = []
    }

    public var kind: Kind? { Kind(rawValue: Int(header[Field.kind.rawValue])) }

    public subscript(field: Field) -> Double {
        get { header[field.rawValue] }
        set { header[field.rawValue] = newValue }
    }

    public subscript(int field: Field) -> Int {
        get { Int(header[field.rawValue]) }
        set { header[field.rawValue] = Double(newValue) }
    }

    /// Sets a dense float payload.
    public mutating func setFloats(_ values: UnsafeBufferPointer<Float>) {
        payload = Array(UnsafeRawBufferPointer(values))
        self[int: .payloadForm] = PayloadForm.denseFloats.rawValue
    }

    /// The payload as floats (dense payloads).
    public func floats() -> [Float] {
        payload.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: raw.count / 4) { buffer, n in
                n = raw.count / 4
                if n > 0 { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: raw.baseAddress!, byteCount: n * 4) }
            }
        }
    }

    /// Header and payload as one byte string.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.headerBytes + payload.count)
        header.withUnsafeBytes { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: payload)
        return bytes
    }

    /// The fields that hold measured numbers (any Double, NaN included); all
    /// others hold integers.
    static let realFields: Set<Field> = [.secondsPerStep, .lossBefore, .lossAfter, .computeSeconds, .waitSeconds,
                                          .referenceTime, .overlapSeconds, .localSeconds, .uploadSeconds]

    /// Parses `encoded()`; nil when the bytes are too short, an integer field
    /// is not a whole number below 2^53 in size (so it converts safely), or
    /// the kind is unknown.
    public init?(decoding bytes: [UInt8]) {
        guard bytes.count >= Self.headerBytes else { return nil }
        header = bytes.withUnsafeBytes { raw in
            (0..<Self.fieldCount).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }
        }
        payload = Array(bytes[Self.headerBytes...])
        for f in Field.allCases where !Self.realFields.contains(f) {
            let v = header[f.rawValue]
            guard v.isFinite, abs(v) < 9_007_199_254_740_992, v.rounded() == v else { return nil }
        }
        guard kind != nil else { return nil }
    }
}
