import CMPI
#if canImport(Glibc)
import Glibc
#endif

/// What a completed receive reports: who sent it, with which tag, and how
/// many elements arrived.
public struct ReceiveStatus: Sendable, Equatable {
    public let source: Int
    public let tag: Int
    public let count: Int
}

/// A pending non-blocking operation (`MPI_Isend`, `MPI_Irecv`, a
/// collective's `MPI_I...` form). It must be completed with `wait` or `test`.
/// It owns the buffers the operation reads and writes until then, so no
/// pointer MPI holds outlives its memory. A request dropped while pending (a
/// wait that timed out, a thrown error) leaks its buffers on purpose, since
/// MPI may still use them: a point-to-point request is cancelled and freed
/// first; a collective one can be neither (MPI forbids both), and the job is
/// about to abort.
public final class Request {
    var handle: MPI_Request?
    private var buffers: [AnyObject]
    private let datatype: MPI_Datatype?
    private let operation: StaticString
    private let isCollective: Bool
    public private(set) var isComplete = false
    private var completedStatus: ReceiveStatus?

    init(handle: MPI_Request?, buffers: [AnyObject], datatype: MPI_Datatype?, operation: StaticString,
         isCollective: Bool = false) {
        self.handle = handle
        self.buffers = buffers
        self.datatype = datatype
        self.operation = operation
        self.isCollective = isCollective
    }

    deinit {
        guard !isComplete, MPIEnvironment.isInitialized, !MPIEnvironment.isFinalized else { return }
        if !isCollective, handle != nil, handle != cmpi_request_null() {
            MPI_Cancel(&handle)
            MPI_Request_free(&handle)
        }
        for buffer in buffers { _ = Unmanaged.passRetained(buffer) }
    }

    private func complete(_ status: MPI_Status) -> ReceiveStatus? {
        isComplete = true
        buffers = []
        guard let datatype else { return nil }
        var s = status
        var count: Int32 = 0
        MPI_Get_count(&s, datatype, &count)
        completedStatus = ReceiveStatus(source: Int(s.MPI_SOURCE), tag: Int(s.MPI_TAG), count: Int(count))
        return completedStatus
    }

    /// Waits for completion. Without a timeout this is `MPI_Wait`. With one it
    /// polls `MPI_Test` (see `waitForCompletion`) and throws
    /// `MPIError.Kind.timeout` when `timeout` seconds pass; the request is then
    /// still pending. Returns the receive status for receives.
    @discardableResult
    public func wait(timeout: Double? = nil) throws -> ReceiveStatus? {
        if isComplete { return completedStatus }
        let status = try waitForCompletion(&handle, timeout: timeout, operation: operation)
        return complete(status)
    }

    /// `MPI_Test`: true if the operation has completed.
    public func test() throws -> Bool {
        if isComplete { return true }
        var flag: Int32 = 0
        var status = MPI_Status()
        try check(MPI_Test(&handle, &flag, &status), "MPI_Test")
        if flag != 0 { _ = complete(status) }
        return flag != 0
    }

    /// The status of a completed receive.
    public var status: ReceiveStatus? { completedStatus }

    /// Waits for every request in `requests`.
    public static func waitAll(_ requests: [Request], timeout: Double? = nil) throws {
        for r in requests { try r.wait(timeout: timeout) }
    }
}

/// Completes one request: `MPI_Wait` without a timeout, else `MPI_Test`
/// under `poll`. Throws `.timeout` when `timeout` seconds pass; the request
/// then stays pending.
func waitForCompletion(_ handle: inout MPI_Request?, timeout: Double?, operation: StaticString) throws -> MPI_Status {
    var status = MPI_Status()
    guard let timeout else {
        try check(MPI_Wait(&handle, &status), "MPI_Wait")
        return status
    }
    try poll(timeout: timeout, operation: operation) {
        var flag: Int32 = 0
        try check(MPI_Test(&handle, &flag, &status), "MPI_Test")
        return flag != 0
    }
    return status
}

/// Calls `done` until it returns true: for the first millisecond (latency)
/// yielding the core between calls (`sched_yield`, which returns at once on
/// an idle core, so that more ranks than cores do not spin against the one
/// doing the work), then sleeping with backoff up to 1 ms between calls.
/// Throws `.timeout` after `timeout` seconds.
func poll(timeout: Double, operation: StaticString, until done: () throws -> Bool) throws {
    let start = MPI_Wtime()
    var sleepMicros: UInt32 = 0
    while try !done() {
        let elapsed = MPI_Wtime() - start
        if elapsed > timeout {
            throw MPIError(
                kind: .timeout(seconds: timeout), operation: "\(operation)",
                message: "nothing arrived within \(timeout) s; a peer is gone or stuck")
        }
        if elapsed > 0.001 {
            sleepMicros = Swift.min(Swift.max(sleepMicros * 2, 20), 1000)
            usleep(sleepMicros)
        } else {
            sched_yield()
        }
    }
}
