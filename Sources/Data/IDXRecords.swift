/// Reading some records of an IDX file without holding the rest: the file
/// is streamed (a gzip file read and inflated 256 KiB at a time) and only the
/// wanted records along the first dimension are kept.
extension IDX {
    /// The records `indices` (strictly ascending, each below the file's
    /// first dimension) of the IDX file at `path`, plain or gzip, as an
    /// array of dimensions `[indices.count] + the file's other dimensions`.
    /// Holds only fixed buffers (1 MiB plain, 256 KiB in and out of zlib) and the kept records.
    /// `checkHeader` sees the file's dimensions once its header is parsed,
    /// before any record is read, and may throw to refuse them.
    /// - Throws: the errors of `IDX.read` for the same file, what
    ///   `checkHeader` throws, and `DataError.invalidHeader` when an index
    ///   is past the records.
    public static func readRecords(path: String, indices: [Int],
                                   checkHeader: @escaping ([Int]) throws -> Void = { _ in }) throws -> IDXArray {
        precondition(zip(indices, indices.dropFirst()).allSatisfy { $0 < $1 }, "indices must be strictly ascending")
        var filter = RecordFilter(name: path, indices: indices, checkHeader: checkHeader)
        try streamPossiblyCompressedFile(path: path) { try filter.take($0) }
        return try filter.finish()
    }
}

/// The state of `IDX.readRecords` between chunks.
private struct RecordFilter {
    let name: String
    let indices: [Int]
    var header = [UInt8]()
    var dimensions: [Int]?
    var recordSize = 0
    /// Data bytes (after the header) seen so far.
    var position = 0
    var next = 0
    var kept = [UInt8]()
    let checkHeader: ([Int]) throws -> Void

    init(name: String, indices: [Int], checkHeader: @escaping ([Int]) throws -> Void) {
        self.name = name
        self.indices = indices
        self.checkHeader = checkHeader
    }

    mutating func take(_ chunk: UnsafeBufferPointer<UInt8>) throws {
        var offset = 0
        if dimensions == nil {
            while offset < chunk.count && dimensions == nil {
                header.append(chunk[offset])
                offset += 1
                if header.count >= 4 && header.count == 4 + 4 * Int(header[3]) { try parseHeader() }
            }
        }
        guard dimensions != nil else { return }
        while offset < chunk.count {
            let available = chunk.count - offset
            guard next < indices.count, recordSize > 0 else {
                position += available
                return
            }
            let start = indices[next] * recordSize
            if position < start {
                let skip = min(start - position, available)
                position += skip
                offset += skip
                continue
            }
            let take = min(start + recordSize - position, available)
            kept.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[offset..<offset + take]))
            position += take
            offset += take
            if position == start + recordSize { next += 1 }
        }
    }

    mutating func parseHeader() throws {
        // Parsing the header alone gives IDX's own checks and messages; the
        // data is then checked for its size at the end.
        let rank = Int(header[3])
        var dims = [Int]()
        for d in 0..<rank {
            let o = 4 + 4 * d
            dims.append(Int(UInt32(header[o]) << 24 | UInt32(header[o + 1]) << 16 | UInt32(header[o + 2]) << 8 | UInt32(header[o + 3])))
        }
        guard header[0] == 0, header[1] == 0 else { throw DataError.wrongMagic(file: name, found: Array(header[0..<4])) }
        guard header[2] == IDX.unsignedByteType else { throw DataError.unsupportedDataType(file: name, code: header[2]) }
        guard rank >= 1 else { throw DataError.invalidHeader(file: name, reason: "zero dimensions") }
        guard let size = IDX.elementCount(Array(dims.dropFirst())), IDX.elementCount(dims) != nil else {
            throw DataError.invalidHeader(file: name, reason: "\(dims.map(String.init).joined(separator: " x ")) elements overflow Int")
        }
        try checkHeader(dims)
        if let last = indices.last, last >= dims[0] {
            throw DataError.invalidHeader(file: name, reason: "record \(last) asked for, but the file holds \(dims[0])")
        }
        dimensions = dims
        recordSize = size
    }

    func finish() throws -> IDXArray {
        guard let dimensions else {
            if header.count >= 4 {
                guard header[0] == 0, header[1] == 0 else { throw DataError.wrongMagic(file: name, found: Array(header[0..<4])) }
                guard header[2] == IDX.unsignedByteType else { throw DataError.unsupportedDataType(file: name, code: header[2]) }
                if header[3] == 0 { throw DataError.invalidHeader(file: name, reason: "zero dimensions") }
            }
            let expected = header.count >= 4 ? 4 + 4 * Int(header[3]) : 4
            throw DataError.truncatedFile(file: name, expectedBytes: expected, actualBytes: header.count)
        }
        let headerSize = header.count
        let expected = headerSize + dimensions[0] * recordSize
        let actual = headerSize + position
        if actual < expected { throw DataError.truncatedFile(file: name, expectedBytes: expected, actualBytes: actual) }
        if actual > expected { throw DataError.trailingBytes(file: name, expectedBytes: expected, actualBytes: actual) }
        return IDXArray(dimensions: [indices.count] + dimensions.dropFirst(), bytes: kept)
    }
}
