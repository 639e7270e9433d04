/// The messages between the coordinator (rank 0) and the clients: flat
/// bytes over MPI, never serialized objects. Each is a versioned header of
/// named fields (`FederatedHeader`, 216 bytes), then a payload: weights
/// (model), a dense delta, one layer's parameters, or an encoded Group-TopK
/// block.
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

    /// How the payload is encoded.
    public enum PayloadForm: Int, Sendable {
        /// `codec`: one `GradientCodec` message (`--compression` fp16, int8,
        /// qsgd, sign, group-topk-fp16, group-topk-int8) of the whole change.
        case none = 0, denseFloats = 1, sparseBlock = 2, codec = 3
    }

    public typealias Field = FederatedHeader.Field

    public static let headerBytes = FederatedHeader.byteCount
    public var header: FederatedHeader
    public var payload: [UInt8]

    public init(kind: Kind) {
        header = FederatedHeader(kind: kind)
        payload = []
    }

    public var kind: Kind? { header.kind }

    /// A header field by name, as a Float64 (integers converted).
    public subscript(field: Field) -> Double {
        get { header[field] }
        set { header[field] = newValue }
    }

    /// An integer header field by name.
    public subscript(int field: Field) -> Int {
        get { header[int: field] }
        set { header[int: field] = newValue }
    }

    /// Sets a dense float payload.
    package mutating func setFloats(_ values: UnsafeBufferPointer<Float>) {
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
        header.encode(into: &bytes)
        bytes.append(contentsOf: payload)
        return bytes
    }

    /// Parses `encoded()` from `peer` (named in errors). Throws a
    /// `FederatedError` when the header is short, of another wire version,
    /// of an unknown kind, or holds an integer field that is not a whole
    /// number below 2^53 in size (see `FederatedHeader.decode`).
    public init(decoding bytes: [UInt8], from peer: String) throws {
        header = try FederatedHeader.decode(bytes, from: peer)
        payload = Array(bytes[Self.headerBytes...])
    }
}
