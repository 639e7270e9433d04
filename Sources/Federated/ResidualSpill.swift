import Foundation

/// `--clients` with Group-TopK error feedback: the residuals of an
/// executor's idle clients, on disk. A residual is as long as the model, so
/// an executor of C clients would hold C model copies once each has been
/// sampled (10,000 MLP clients: 8 GB). With the spill, only the client
/// being trained holds its residual in memory; the others' sit in one file,
/// a slot of `length` floats per client, written when the executor switches
/// away from a client and read back when it switches to it. The bits are
/// the same as in memory.
///
/// The file is created in `directory` and unlinked at once, so it takes no
/// name and vanishes when the process ends, however it ends.
final class ResidualSpill {
    let length: Int
    let directory: String
    private let descriptor: Int32
    /// The slot of each client written so far.
    private var slots = [Int: Int]()

    /// - Throws: `FederatedError.setup` when the file cannot be created.
    init(directory: String, length: Int, rank: Int) throws {
        self.length = length
        self.directory = directory
        let path = (directory as NSString).appendingPathComponent(".edgetrain-residuals-\(getpid())-\(rank)-\(UUID().uuidString)")
        descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw FederatedError.setup("rank \(rank): cannot create the residual spill file in \(directory): \(String(cString: strerror(errno)))")
        }
        unlink(path)
    }

    deinit { close(descriptor) }

    /// Bytes written to the file so far (slots are reused).
    var bytesOnDisk: Int { slots.count * length * MemoryLayout<Float>.stride }

    /// Residuals written to any spill in this process (tests check that a
    /// run meant to spill did).
    package static let stores = Counter()

    package final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        package var value: Int { lock.withLock { count } }
        func increment() { lock.withLock { count += 1 } }
    }

    /// Writes `residual` as client `client`'s.
    func store(_ residual: [Float], client: Int) throws {
        precondition(residual.count == length, "a residual of \(residual.count) floats, expected \(length)")
        let slot = slots[client] ?? slots.count
        slots[client] = slot
        let written = residual.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(slot * $0.count)) }
        guard written == length * MemoryLayout<Float>.stride else { throw failure("writing client \(client)'s residual") }
        Self.stores.increment()
    }

    /// Client `client`'s residual, or nil when none was stored.
    func load(client: Int) throws -> [Float]? {
        guard let slot = slots[client] else { return nil }
        let bytes = length * MemoryLayout<Float>.stride
        var residual = [Float](repeating: 0, count: length)
        let read = residual.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, bytes, off_t(slot * bytes)) }
        guard read == bytes else { throw failure("reading client \(client)'s residual") }
        return residual
    }

    private func failure(_ what: String) -> FederatedError {
        FederatedError.failed("\(what) in the spill file in \(directory) failed: \(errno == 0 ? "short transfer" : String(cString: strerror(errno)))")
    }
}
