/// An n-dimensional array of unsigned bytes as stored in an IDX file.
///
/// `bytes` holds the elements in row-major order (the last dimension varies
/// fastest); its count is the product of `dimensions`.
public struct IDXArray: Sendable, Equatable {
    public let dimensions: [Int]
    public let bytes: [UInt8]

    /// Requires 1 to 255 dimensions, each in `0...UInt32.max` (what IDX can
    /// store), whose product equals `bytes.count`.
    public init(dimensions: [Int], bytes: [UInt8]) {
        precondition((1...255).contains(dimensions.count), "IDX arrays have 1 to 255 dimensions")
        precondition(
            dimensions.allSatisfy { $0 >= 0 && UInt64($0) <= UInt64(UInt32.max) },
            "IDX dimensions must be in 0...\(UInt32.max)")
        precondition(
            IDX.elementCount(dimensions) == bytes.count,
            "dimensions \(dimensions) do not match \(bytes.count) bytes")
        self.dimensions = dimensions
        self.bytes = bytes
    }
}

/// LeCun's IDX format, as used by MNIST and Fashion-MNIST, for unsigned bytes.
///
/// A file is the magic `00 00 08 n`, then `n` big-endian `UInt32` dimensions,
/// then the product of the dimensions in bytes, and nothing else.
public enum IDX {
    /// The IDX element type code for unsigned bytes, the only one supported.
    public static let unsignedByteType: UInt8 = 0x08

    /// Parses the bytes of an uncompressed IDX file. `name` (usually the path)
    /// is used in error messages only.
    ///
    /// Never traps, whatever `bytes` holds: every size is checked for overflow.
    /// - Throws: `DataError.wrongMagic`, `.unsupportedDataType`,
    ///   `.invalidHeader` (no dimensions, or sizes that overflow `Int`),
    ///   `.truncatedFile` (header or data cut short; counts are whole-file
    ///   bytes) or `.trailingBytes` (more bytes than the header accounts for).
    public static func parse(_ bytes: [UInt8], name: String) throws -> IDXArray {
        guard bytes.count >= 4 else {
            throw DataError.truncatedFile(file: name, expectedBytes: 4, actualBytes: bytes.count)
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataError.wrongMagic(file: name, found: Array(bytes[0..<4]))
        }
        guard bytes[2] == unsignedByteType else {
            throw DataError.unsupportedDataType(file: name, code: bytes[2])
        }
        let rank = Int(bytes[3])
        guard rank >= 1 else {
            throw DataError.invalidHeader(file: name, reason: "zero dimensions")
        }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw DataError.truncatedFile(file: name, expectedBytes: headerSize, actualBytes: bytes.count)
        }
        var dimensions: [Int] = []
        dimensions.reserveCapacity(rank)
        for d in 0..<rank {
            let o = 4 + 4 * d
            let value = UInt32(bytes[o]) << 24 | UInt32(bytes[o + 1]) << 16
                | UInt32(bytes[o + 2]) << 8 | UInt32(bytes[o + 3])
            guard let dimension = Int(exactly: value) else {
                throw DataError.invalidHeader(file: name, reason: "dimension \(value) does not fit Int")
            }
            dimensions.append(dimension)
        }
        guard let elements = elementCount(dimensions) else {
            let shown = dimensions.map(String.init).joined(separator: " x ")
            throw DataError.invalidHeader(file: name, reason: "\(shown) elements overflow Int")
        }
        let (expected, overflow) = headerSize.addingReportingOverflow(elements)
        guard !overflow else {
            throw DataError.invalidHeader(file: name, reason: "file size \(headerSize) + \(elements) overflows Int")
        }
        if bytes.count < expected {
            throw DataError.truncatedFile(file: name, expectedBytes: expected, actualBytes: bytes.count)
        }
        if bytes.count > expected {
            throw DataError.trailingBytes(file: name, expectedBytes: expected, actualBytes: bytes.count)
        }
        return IDXArray(dimensions: dimensions, bytes: Array(bytes[headerSize...]))
    }

    /// Reads and parses the IDX file at `path`, plain or gzip-compressed.
    /// - Throws: the errors of `readPossiblyCompressedFile(path:)` and `parse(_:name:)`.
    public static func read(path: String) throws -> IDXArray {
        try parse(readPossiblyCompressedFile(path: path), name: path)
    }

    /// The bytes of the uncompressed IDX file holding `array`.
    public static func encode(_ array: IDXArray) -> [UInt8] {
        var out: [UInt8] = [0, 0, unsignedByteType, UInt8(array.dimensions.count)]
        out.reserveCapacity(4 + 4 * array.dimensions.count + array.bytes.count)
        for d in array.dimensions {
            let v = UInt32(d)
            out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        }
        out += array.bytes
        return out
    }

    /// The product of `dimensions`, or nil when it overflows `Int`.
    static func elementCount(_ dimensions: [Int]) -> Int? {
        var product = 1
        for d in dimensions {
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            product = p
        }
        return product
    }
}
