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
    let checkHeader: ([Int]) throws -> Void
    /// The header's bytes until it is complete, and the count needed so far.
    var headerBytes = [UInt8]()
    var needed = 4
    var header: IDX.Header?
    /// Data bytes (after the header) seen so far.
    var position = 0
    var next = 0
    var kept = [UInt8]()

    init(name: String, indices: [Int], checkHeader: @escaping ([Int]) throws -> Void) {
        self.name = name
        self.indices = indices
        self.checkHeader = checkHeader
    }

    mutating func take(_ chunk: UnsafeBufferPointer<UInt8>) throws {
        var offset = 0
        while header == nil && offset < chunk.count {
            let n = min(needed - headerBytes.count, chunk.count - offset)
            headerBytes.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[offset..<offset + n]))
            offset += n
            if headerBytes.count == needed { try parseHeader() }
        }
        guard let recordSize = header?.recordBytes else { return }
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

    /// IDX's own header checks and messages (`IDX.parseHeader`), then the
    /// caller's, then the indices against the records.
    mutating func parseHeader() throws {
        switch try IDX.parseHeader(headerBytes, name: name) {
        case let .needs(count):
            needed = count
        case let .complete(parsed):
            try checkHeader(parsed.dimensions)
            if let last = indices.last, last >= parsed.dimensions[0] {
                throw DataError.invalidHeader(file: name, reason: "record \(last) asked for, but the file holds \(parsed.dimensions[0])")
            }
            header = parsed
        }
    }

    /// The kept records, once the whole file has been seen; its size is
    /// checked as `IDX.parse` checks it.
    func finish() throws -> IDXArray {
        guard let header else {
            throw DataError.truncatedFile(file: name, expectedBytes: needed, actualBytes: headerBytes.count)
        }
        let actual = header.byteCount + position
        if actual < header.fileBytes { throw DataError.truncatedFile(file: name, expectedBytes: header.fileBytes, actualBytes: actual) }
        if actual > header.fileBytes { throw DataError.trailingBytes(file: name, expectedBytes: header.fileBytes, actualBytes: actual) }
        return IDXArray(dimensions: [indices.count] + header.dimensions.dropFirst(), bytes: kept)
    }
}
