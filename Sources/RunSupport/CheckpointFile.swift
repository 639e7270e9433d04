import Foundation

/// One rank's part of a checkpoint: named sections of floats, doubles,
/// integers or bytes, in a small self-checking binary format (little-endian):
///
///     "EDGETRAINCKPT", format version (ASCII decimal, NUL-padded)   16 bytes
///     section count                            UInt32
///     per section: name length UInt16, name (UTF-8), kind UInt8
///                  (0 Float32, 1 Float64, 2 Int64, 3 bytes), element count UInt64, payload
///     SHA-256 of everything before             32 bytes
///
/// Decoding checks every length against the file before reading it and the
/// digest last, so a damaged or truncated file is refused with a reason and
/// never crashes the reader (a fuzz test holds it to that).
///
/// Every scalar is a section of its own name (`progress.step`,
/// `progress.loss_sum`), never a position in an array. Version 1 stored
/// them by position; a file of any version but `formatVersion` is refused
/// with one line naming the file and both versions.
public struct CheckpointFile: Equatable, Sendable {
    public enum Section: Equatable, Sendable {
        case floats([Float])
        case doubles([Double])
        case integers([Int64])
        case bytes([UInt8])
    }

    public var sections: [String: Section] = [:]
    /// The version this build writes and reads: 2, named scalar sections.
    public static let formatVersion = 2
    static let prefix = Array("EDGETRAINCKPT".utf8)
    static let magic = prefix + Array("\(formatVersion)".utf8) + [UInt8](repeating: 0, count: 16 - prefix.count - "\(formatVersion)".utf8.count)

    public init() {}

    public subscript(name: String) -> Section? {
        get { sections[name] }
        set { sections[name] = newValue }
    }

    // MARK: Typed access (throwing when missing or of another kind)

    public func floats(_ name: String, file: String) throws -> [Float] {
        guard case let .floats(v)? = sections[name] else { throw missing(name, file) }
        return v
    }

    public func doubles(_ name: String, file: String) throws -> [Double] {
        guard case let .doubles(v)? = sections[name] else { throw missing(name, file) }
        return v
    }

    public func integers(_ name: String, file: String) throws -> [Int64] {
        guard case let .integers(v)? = sections[name] else { throw missing(name, file) }
        return v
    }

    public func bytes(_ name: String, file: String) throws -> [UInt8] {
        guard case let .bytes(v)? = sections[name] else { throw missing(name, file) }
        return v
    }

    public func integer(_ name: String, file: String) throws -> Int {
        let v = try integers(name, file: file)
        guard v.count == 1 else { throw RunSupportError.checkpoint(file: file, problem: "section '\(name)' holds \(v.count) integers, expected 1") }
        return Int(v[0])
    }

    public func string(_ name: String, file: String) throws -> String {
        String(decoding: try bytes(name, file: file), as: UTF8.self)
    }

    public func double(_ name: String, file: String) throws -> Double {
        let v = try doubles(name, file: file)
        guard v.count == 1 else { throw RunSupportError.checkpoint(file: file, problem: "section '\(name)' holds \(v.count) numbers, expected 1") }
        return v[0]
    }

    public mutating func set(_ name: String, integer: Int) { sections[name] = .integers([Int64(integer)]) }
    public mutating func set(_ name: String, double: Double) { sections[name] = .doubles([double]) }
    public mutating func set(_ name: String, string: String) { sections[name] = .bytes(Array(string.utf8)) }

    private func missing(_ name: String, _ file: String) -> RunSupportError {
        RunSupportError.checkpoint(file: file, problem: "no section '\(name)' of the expected kind")
    }

    // MARK: Encoding

    public func encoded() -> [UInt8] {
        var out = Self.magic
        append(UInt32(sections.count), to: &out)
        for name in sections.keys.sorted() {
            let nameBytes = Array(name.utf8)
            append(UInt16(nameBytes.count), to: &out)
            out += nameBytes
            switch sections[name]! {
            case let .floats(v): out.append(0); append(UInt64(v.count), to: &out); v.withUnsafeBytes { out += $0 }
            case let .doubles(v): out.append(1); append(UInt64(v.count), to: &out); v.withUnsafeBytes { out += $0 }
            case let .integers(v): out.append(2); append(UInt64(v.count), to: &out); v.withUnsafeBytes { out += $0 }
            case let .bytes(v): out.append(3); append(UInt64(v.count), to: &out); out += v
            }
        }
        var h = SHA256()
        h.update(out)
        let digest = h.finalize()
        return out + digest
    }

    private func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    // MARK: Decoding

    /// Parses `bytes` (the contents of `file`, named in errors).
    public init(decoding bytes: [UInt8], file: String) throws {
        func fail(_ problem: String) -> RunSupportError { RunSupportError.checkpoint(file: file, problem: problem) }
        guard bytes.count >= Self.magic.count + 4 + 32 else { throw fail("truncated: \(bytes.count) bytes is shorter than any checkpoint") }
        guard Array(bytes[0..<Self.prefix.count]) == Self.prefix else { throw fail("not an EdgeTrain checkpoint (wrong magic)") }
        let digits = bytes[Self.prefix.count..<Self.magic.count].prefix { $0 != 0 }
        guard let version = Int(String(decoding: digits, as: UTF8.self)) else { throw fail("not an EdgeTrain checkpoint (no format version)") }
        guard version == Self.formatVersion else {
            throw fail("checkpoint format version \(version); this build reads version \(Self.formatVersion) (resume with the build that wrote it, or start afresh)")
        }
        let body = bytes.count - 32
        var offset = Self.magic.count
        func read<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> T {
            guard body - offset >= MemoryLayout<T>.size else { throw fail("truncated in \(what) at byte \(offset)") }
            let v = bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
            offset += MemoryLayout<T>.size
            return v
        }
        let count = try read(UInt32.self, "the section count")
        var sections = [String: Section]()
        for s in 0..<count {
            let nameLength = Int(try read(UInt16.self, "section \(s)'s name length"))
            guard body - offset >= nameLength else { throw fail("truncated in section \(s)'s name") }
            let name = String(decoding: bytes[offset..<offset + nameLength], as: UTF8.self)
            offset += nameLength
            guard sections[name] == nil else { throw fail("section '\(name)' appears twice") }
            let kind = try read(UInt8.self, "section '\(name)''s kind")
            let elements = try read(UInt64.self, "section '\(name)''s length")
            let width: Int
            switch kind {
            case 0: width = 4
            case 1, 2: width = 8
            case 3: width = 1
            default: throw fail("section '\(name)' has unknown kind \(kind)")
            }
            let (size, overflow) = Int(clamping: elements).multipliedReportingOverflow(by: width)
            guard !overflow, elements <= UInt64(Int.max), body - offset >= size else {
                throw fail("truncated: section '\(name)' claims \(elements) elements, more than the file holds")
            }
            let payload = bytes[offset..<offset + size]
            offset += size
            switch kind {
            case 0: sections[name] = .floats(Self.load(payload, as: Float.self))
            case 1: sections[name] = .doubles(Self.load(payload, as: Double.self))
            case 2: sections[name] = .integers(Self.load(payload, as: Int64.self))
            default: sections[name] = .bytes(Array(payload))
            }
        }
        guard offset == body else { throw fail("\(body - offset) unexpected bytes after the last section") }
        var h = SHA256()
        h.update(bytes[0..<body])
        let digest = h.finalize()
        guard digest == Array(bytes[body...]) else { throw fail("checksum mismatch: the file is damaged") }
        self.sections = sections
    }

    private static func load<T>(_ bytes: ArraySlice<UInt8>, as: T.Type) -> [T] {
        let n = bytes.count / MemoryLayout<T>.size
        return [T](unsafeUninitializedCapacity: n) { buffer, count in
            bytes.withUnsafeBytes { raw in
                if n > 0 { UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: raw.baseAddress!, byteCount: n * MemoryLayout<T>.size) }
            }
            count = n
        }
    }
}
