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
    try inflateGzip(compressed, name: name, reserve: { output.reserveCapacity($0) }) { output.append(contentsOf: $0) }
    return output
}

/// `decompressGzip` chunk by chunk: hands each piece of the output to
/// `consume` (at most 256 KiB, valid only during the call), so that a
/// caller keeping part of the data never holds all of it. `reserve` gets
/// the size hint of the gzip trailer. Throws as `decompressGzip` does, and
/// what `consume` throws.
func inflateGzip(_ compressed: [UInt8], name: String, reserve: (Int) -> Void = { _ in },
                 consume: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
    // The last four bytes hold the uncompressed size modulo 2^32: a hint only.
    if compressed.count >= 18 {
        let n = compressed.count
        let isize = Int(compressed[n - 4]) | Int(compressed[n - 3]) << 8
            | Int(compressed[n - 2]) << 16 | Int(compressed[n - 1]) << 24
        reserve(min(max(isize, compressed.count), 1 << 30))
    }
    let chunkSize = 1 << 18
    let chunk = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkSize)
    defer { chunk.deallocate() }

    var stream = z_stream()
    // windowBits 15 + 32: the largest window, with gzip/zlib header detection.
    let initCode = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    guard initCode == Z_OK else {
        throw DataError.corruptGzip(file: name, reason: "zlib could not start (code \(initCode))")
    }
    defer { inflateEnd(&stream) }

    try compressed.withUnsafeBufferPointer { input in
        let total = input.count
        var handedOver = 0  // input bytes given to zlib so far
        while true {
            if stream.avail_in == 0 && handedOver < total {
                let piece = min(total - handedOver, Int(UInt32.max))
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + handedOver)
                stream.avail_in = UInt32(piece)
                handedOver += piece
            }
            stream.next_out = chunk
            stream.avail_out = UInt32(chunkSize)
            let code = inflate(&stream, Z_NO_FLUSH)
            let produced = chunkSize - Int(stream.avail_out)
            if produced > 0 {
                try consume(UnsafeBufferPointer(start: chunk, count: produced))
            }
            let inputLeft = total - handedOver + Int(stream.avail_in)
            switch code {
            case Z_OK:
                continue
            case Z_STREAM_END:
                if inputLeft == 0 { return }
                let next = total - inputLeft
                guard inputLeft >= 2, input[next] == 0x1F, input[next + 1] == 0x8B else {
                    throw DataError.corruptGzip(
                        file: name, reason: "\(inputLeft) bytes of non-gzip data after the stream")
                }
                inflateReset(&stream)  // another member follows
            case Z_BUF_ERROR where inputLeft == 0:
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
}

private func zlibMessage(_ stream: z_stream, _ code: Int32) -> String {
    if let text = stream.msg { return String(cString: text) }
    return "zlib error \(code)"
}
