import CZlib

/// Decompresses a complete gzip file held in memory.
///
/// Accepts one gzip member or several concatenated members (as `cat a.gz b.gz`
/// makes); their outputs are joined. `name` is only used in error messages.
///
/// - Throws: `DataError.truncatedGzip` when the input ends before a member's
///   end marker, `DataError.corruptGzip` when zlib reports bad data (including a
///   wrong checksum) or when non-gzip bytes follow the last member.
public func decompressGzip(_ compressed: [UInt8], name: String) throws -> [UInt8] {
    var output: [UInt8] = []
    // The last four bytes hold the uncompressed size modulo 2^32: a hint only.
    if compressed.count >= 18 {
        let n = compressed.count
        let isize = Int(compressed[n - 4]) | Int(compressed[n - 3]) << 8
            | Int(compressed[n - 2]) << 16 | Int(compressed[n - 1]) << 24
        output.reserveCapacity(min(max(isize, compressed.count), 1 << 30))
    }
    var offset = 0
    try inflateGzip(name: name, read: { buffer in
        let n = min(buffer.count, compressed.count - offset)
        compressed.withUnsafeBufferPointer { _ = buffer.initialize(from: $0[offset..<offset + n]) }
        offset += n
        return n
    }, consume: { output.append(contentsOf: $0) })
    return output
}

/// Bytes of the input buffer `inflateGzip` refills, and of its output pieces.
let gzipBufferBytes = 1 << 18

/// `decompressGzip` with the input and the output in pieces: `read` fills
/// the start of the buffer it gets (at most `gzipBufferBytes`) with the
/// next compressed bytes and returns how many (0 only at the end of the
/// input); each piece of the output goes to `consume` (at most
/// `gzipBufferBytes`, valid only during the call). Only these two fixed
/// buffers and zlib's window are held, whatever the sizes. Throws as
/// `decompressGzip` does (the counts in its errors are of the whole input),
/// and what `read` and `consume` throw.
func inflateGzip(name: String, read: (UnsafeMutableBufferPointer<UInt8>) throws -> Int,
                 consume: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
    let input = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: gzipBufferBytes)
    defer { input.deallocate() }
    let output = UnsafeMutablePointer<UInt8>.allocate(capacity: gzipBufferBytes)
    defer { output.deallocate() }

    var stream = z_stream()
    // windowBits 15 + 32: the largest window, with gzip/zlib header detection.
    let initCode = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    guard initCode == Z_OK else {
        throw DataError.corruptGzip(file: name, reason: "zlib could not start (code \(initCode))")
    }
    defer { inflateEnd(&stream) }

    var total = 0  // input bytes read so far
    var ended = false  // `read` returned 0
    // Moves the unread input to the buffer's start and reads until it holds
    // at least `count` bytes or the input ends.
    func refill(atLeast count: Int) throws {
        let left = Int(stream.avail_in)
        guard left < count, !ended else { return }
        if left > 0, let next = stream.next_in { input.baseAddress!.update(from: next, count: left) }
        var filled = left
        while filled < count && !ended {
            let n = try read(UnsafeMutableBufferPointer(rebasing: input[filled...]))
            precondition(n >= 0 && n <= input.count - filled, "read returned \(n)")
            if n == 0 { ended = true }
            filled += n
            total += n
        }
        stream.next_in = input.baseAddress
        stream.avail_in = UInt32(filled)
    }

    while true {
        try refill(atLeast: 1)
        stream.next_out = output
        stream.avail_out = UInt32(gzipBufferBytes)
        let code = inflate(&stream, Z_NO_FLUSH)
        let produced = gzipBufferBytes - Int(stream.avail_out)
        if produced > 0 {
            try consume(UnsafeBufferPointer(start: output, count: produced))
        }
        switch code {
        case Z_OK:
            continue
        case Z_STREAM_END:
            // Another member may follow: it starts with the gzip magic.
            try refill(atLeast: 2)
            let left = Int(stream.avail_in)
            if left == 0 { return }
            guard left >= 2, stream.next_in[0] == 0x1F, stream.next_in[1] == 0x8B else {
                var after = left
                while !ended {
                    let n = try read(input)
                    if n == 0 { ended = true }
                    after += n
                }
                throw DataError.corruptGzip(file: name, reason: "\(after) bytes of non-gzip data after the stream")
            }
            inflateReset(&stream)
        case Z_BUF_ERROR where stream.avail_in == 0 && ended:
            throw DataError.truncatedGzip(file: name, compressedBytes: total)
        case Z_DATA_ERROR:
            throw DataError.corruptGzip(file: name, reason: zlibMessage(stream, code))
        case Z_NEED_DICT:
            throw DataError.corruptGzip(file: name, reason: "stream needs a preset dictionary")
        default:
            throw DataError.corruptGzip(file: name, reason: zlibMessage(stream, code))
        }
    }
}

private func zlibMessage(_ stream: z_stream, _ code: Int32) -> String {
    if let text = stream.msg { return String(cString: text) }
    return "zlib error \(code)"
}
