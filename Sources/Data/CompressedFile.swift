#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The whole content of the file at `path`, decompressed if it is gzip.
///
/// Gzip is recognised by its magic bytes `1f 8b`, not by the file name, so a
/// plain file named `.gz` (or a compressed one without the suffix) reads
/// correctly. Concatenated gzip members are decompressed one after another.
///
/// - Throws: `DataError.missingFile` when nothing is at `path`,
///   `.unreadableFile` on other I/O errors, `.truncatedGzip` / `.corruptGzip`
///   when the gzip stream ends early or is damaged.
public func readPossiblyCompressedFile(path: String) throws -> [UInt8] {
    let raw = try readWholeFile(path: path)
    if raw.count >= 2 && raw[0] == 0x1F && raw[1] == 0x8B {
        return try decompressGzip(raw, name: path)
    }
    return raw
}

/// The contents of the file at `path`, decompressed when it is gzip, handed
/// to `consume` piece by piece (each valid only during the call): a plain
/// file is read 1 MiB at a time, a gzip file read 256 KiB at a time and
/// inflated 256 KiB at a time (`inflateGzip`), so only fixed buffers are
/// held. Throws as `readPossiblyCompressedFile`.
func streamPossiblyCompressedFile(path: String, consume: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
    let fd = try openForReading(path: path)
    defer { close(fd) }
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    var first = true
    while true {
        let n = try chunk.withUnsafeMutableBufferPointer { try readSome(fd, into: $0, path: path) }
        if n == 0 { return }
        if first && n >= 2 && chunk[0] == 0x1F && chunk[1] == 0x8B {
            // The bytes already read go to zlib first, then the rest of the file.
            var handedOver = 0
            return try inflateGzip(name: path, read: { buffer in
                guard handedOver < n else { return try readSome(fd, into: buffer, path: path) }
                let k = min(n - handedOver, buffer.count)
                chunk.withUnsafeBufferPointer { _ = buffer.initialize(from: $0[handedOver..<handedOver + k]) }
                handedOver += k
                return k
            }, consume: consume)
        }
        first = false
        try chunk.withUnsafeBufferPointer { try consume(UnsafeBufferPointer(rebasing: $0[0..<n])) }
    }
}

/// Reads every byte of a regular file.
func readWholeFile(path: String) throws -> [UInt8] {
    let fd = try openForReading(path: path)
    defer { close(fd) }

    var info = stat()
    let sizeHint = fstat(fd, &info) == 0 ? max(Int(info.st_size), 0) : 0
    // One spare chunk past the expected size lets a single read observe end of file.
    var bytes = [UInt8](repeating: 0, count: sizeHint + 1)
    var filled = 0
    while true {
        if filled == bytes.count {
            bytes.append(contentsOf: repeatElement(0, count: max(bytes.count, 1 << 16)))
        }
        let n = try bytes.withUnsafeMutableBufferPointer {
            try readSome(fd, into: UnsafeMutableBufferPointer(rebasing: $0[filled...]), path: path)
        }
        if n == 0 { break }
        filled += n
    }
    bytes.removeLast(bytes.count - filled)
    return bytes
}

/// A read-only descriptor of the file at `path`.
/// - Throws: `DataError.missingFile` when nothing is there, `.unreadableFile` otherwise.
private func openForReading(path: String) throws -> Int32 {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
        let code = errno
        if code == ENOENT { throw DataError.missingFile(path: path, alsoTried: []) }
        throw DataError.unreadableFile(path: path, reason: systemErrorMessage(code))
    }
    return fd
}

/// One `read(2)` into `buffer` (retried on EINTR): the bytes read, 0 at the end of the file.
/// - Throws: `DataError.unreadableFile` naming `path`.
private func readSome(_ fd: Int32, into buffer: UnsafeMutableBufferPointer<UInt8>, path: String) throws -> Int {
    while true {
        let n = read(fd, buffer.baseAddress, buffer.count)
        if n >= 0 { return n }
        let code = errno
        if code != EINTR { throw DataError.unreadableFile(path: path, reason: systemErrorMessage(code)) }
    }
}

/// True when something (file, directory, ...) exists at `path`.
func fileExists(_ path: String) -> Bool {
    access(path, F_OK) == 0
}
