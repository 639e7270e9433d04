/// An error reading a data set or splitting it between partitions.
///
/// `description` is one line that starts with the file concerned (when there
/// is one) and names the problem with the numbers involved, for example
/// `/data/train-images-idx3-ubyte.gz: truncated gzip stream (ends after 1234 bytes)`.
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No file at `path`. `alsoTried` lists other names looked for, in order.
    case missingFile(path: String, alsoTried: [String])
    /// The file exists but could not be read (`reason` is the system's text).
    case unreadableFile(path: String, reason: String)
    /// The first two bytes are not the IDX magic `00 00`; `found` holds the first four bytes.
    case wrongMagic(file: String, found: [UInt8])
    /// An IDX element type other than 0x08 (unsigned byte).
    case unsupportedDataType(file: String, code: UInt8)
    /// An IDX header that is well formed but unusable (no dimensions, sizes that overflow).
    case invalidHeader(file: String, reason: String)
    /// The file ends early: the header promises `expectedBytes` in all, the file has `actualBytes`.
    case truncatedFile(file: String, expectedBytes: Int, actualBytes: Int)
    /// The file goes on after the data: the header accounts for `expectedBytes`, the file has `actualBytes`.
    case trailingBytes(file: String, expectedBytes: Int, actualBytes: Int)
    /// The gzip stream stops before its end marker; `compressedBytes` is the size of the compressed input.
    case truncatedGzip(file: String, compressedBytes: Int)
    /// zlib rejected the gzip stream (bad block, bad checksum, garbage after the stream, ...).
    case corruptGzip(file: String, reason: String)
    /// An IDX array whose dimensions do not fit its role (images must be 3-D, labels 1-D).
    case unexpectedShape(file: String, expected: String, found: [Int])
    /// The images file and the labels file disagree on the number of samples.
    case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)
    /// Label `label` at sample `index` is not below the number of classes.
    case labelOutOfRange(file: String, index: Int, label: Int, classes: Int)
    /// Sample `index` asked for, but `file` holds `count` samples.
    case sampleOutOfRange(file: String, index: Int, count: Int)
    /// A partition request that cannot be carried out (bad counts, bad Dirichlet parameters).
    case invalidPartition(String)
    /// `--batch` `batch` exceeds the `samples` of the partition of `holder`
    /// (a rank, or a client) number `rank`.
    case batchTooLarge(batch: Int, rank: Int, samples: Int, holder: String = "rank")

    public var description: String {
        switch self {
        case let .missingFile(path, alsoTried):
            if alsoTried.isEmpty { return "\(path): no such file" }
            return "\(path): no such file (also tried \(alsoTried.joined(separator: ", ")))"
        case let .unreadableFile(path, reason):
            return "\(path): cannot read file: \(reason)"
        case let .wrongMagic(file, found):
            let shown = found.map(Self.hexByte).joined(separator: " ")
            return "\(file): wrong magic number: expected 00 00 08 <ndims> (IDX of unsigned bytes), found \(shown)"
        case let .unsupportedDataType(file, code):
            return "\(file): unsupported IDX data type 0x\(Self.hexByte(code)) (\(Self.idxTypeName(code))); "
                + "only 0x08 (unsigned byte) is supported"
        case let .invalidHeader(file, reason):
            return "\(file): invalid IDX header: \(reason)"
        case let .truncatedFile(file, expected, actual):
            return "\(file): truncated file (expected \(expected) bytes, found \(actual))"
        case let .trailingBytes(file, expected, actual):
            return "\(file): \(actual - expected) trailing bytes (expected \(expected) bytes, found \(actual))"
        case let .truncatedGzip(file, compressed):
            return "\(file): truncated gzip stream (ends after \(compressed) bytes)"
        case let .corruptGzip(file, reason):
            return "\(file): corrupt gzip stream: \(reason)"
        case let .unexpectedShape(file, expected, found):
            let shown = found.map(String.init).joined(separator: " x ")
            return "\(file): expected \(expected), found dimensions \(found.isEmpty ? "()" : shown)"
        case let .countMismatch(images, imageCount, labels, labelCount):
            return "\(images): \(imageCount) images, but \(labels) has \(labelCount) labels"
        case let .labelOutOfRange(file, index, label, classes):
            return "\(file): label \(label) at index \(index) is outside 0..<\(classes)"
        case let .sampleOutOfRange(file, index, count):
            return "\(file): sample \(index) asked for, but the file holds \(count) samples"
        case let .invalidPartition(message):
            return "invalid partition request: \(message)"
        case let .batchTooLarge(batch, rank, samples, holder):
            return "--batch \(batch) is larger than \(holder) \(rank)'s partition of \(samples) samples"
        }
    }

    private static func hexByte(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }

    private static func idxTypeName(_ code: UInt8) -> String {
        switch code {
        case 0x08: return "unsigned byte"
        case 0x09: return "signed byte"
        case 0x0B: return "16-bit integer"
        case 0x0C: return "32-bit integer"
        case 0x0D: return "32-bit float"
        case 0x0E: return "64-bit float"
        default: return "not an IDX type"
        }
    }
}
