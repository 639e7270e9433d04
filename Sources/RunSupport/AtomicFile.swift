import Foundation
import Data

/// Writes `bytes` to `path` so that a reader sees either the old file or the
/// new one, never a mix, even across a crash: a temporary file in the same
/// directory, `fsync`, `rename` over the target, then `fsync` of the
/// directory. On any failure the old file is untouched and the temporary
/// file is removed.
public func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    let temporary = "\(directory)/.\(url.lastPathComponent).tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw RunSupportError.output(path: path, problem: "cannot create \(temporary): \(systemErrorMessage(errno))") }
    var ok = false
    defer {
        if !ok { unlink(temporary) }
    }
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        if n < 0 {
            if errno == EINTR { continue }
            let text = systemErrorMessage(errno)
            close(fd)
            throw RunSupportError.output(path: path, problem: "write failed: \(text)")
        }
        offset += n
    }
    if fsync(fd) != 0 {
        let text = systemErrorMessage(errno)
        close(fd)
        throw RunSupportError.output(path: path, problem: "fsync failed: \(text)")
    }
    close(fd)
    guard rename(temporary, path) == 0 else { throw RunSupportError.output(path: path, problem: "rename failed: \(systemErrorMessage(errno))") }
    ok = true
    let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dfd >= 0 {
        fsync(dfd)
        close(dfd)
    }
}
