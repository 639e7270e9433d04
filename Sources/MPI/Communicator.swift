import CMPI

/// A group of processes that talk to each other: a wrapped `MPI_Comm`.
///
/// Calls marked "collective" must be made by every rank of the communicator,
/// in the same order. Errors come back as thrown `MPIError`s, never as codes.
/// Only the thread that initialized MPI may use a communicator.
public final class Communicator {
    var handle: MPI_Comm?
    /// This process's rank, 0..<size.
    public let rank: Int
    /// The number of ranks.
    public let size: Int
    /// Seconds a collective may wait for the other ranks before it throws
    /// `.timeout` (nil: as long as MPI waits). With a deadline, collectives
    /// run as their non-blocking MPI-3 forms and poll, so a rank that is
    /// alive but stuck cannot hold the others forever. Transports over this
    /// communicator use the same deadline for their exchanges.
    public var collectiveTimeout: Double?

    init(owning handle: MPI_Comm) throws {
        self.handle = handle
        var r: Int32 = 0
        var s: Int32 = 0
        try check(MPI_Comm_rank(handle, &r), "MPI_Comm_rank")
        try check(MPI_Comm_size(handle, &s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
    }

    deinit { free() }

    /// Frees the communicator unless MPI has already shut down.
    func free() {
        guard handle != nil, MPIEnvironment.isInitialized, !MPIEnvironment.isFinalized else { return }
        MPI_Comm_free(&handle)
        handle = nil
    }

    /// The rank to the right in a ring of this communicator.
    public var right: Int { (rank + 1) % size }
    /// The rank to the left in a ring of this communicator.
    public var left: Int { (rank + size - 1) % size }

    private func checkPeer(_ peer: Int, _ operation: StaticString) throws -> Int32 {
        guard peer >= 0 && peer < size else {
            throw MPIError(kind: .usage, operation: "\(operation)",
                           message: "rank \(peer) is outside 0..<\(size)")
        }
        return Int32(peer)
    }

    private func tagValue(_ tag: Int, _ operation: StaticString) throws -> Int32 {
        guard tag >= 0 && tag <= 32767 else {
            throw MPIError(kind: .usage, operation: "\(operation)",
                           message: "tag \(tag) is outside 0...32767, the range MPI guarantees")
        }
        return Int32(tag)
    }

    // MARK: Management

    /// `MPI_Comm_split` (collective). Ranks with the same `color` form a new
    /// communicator, ordered by `key`; a nil color takes no part and gets nil.
    public func split(color: Int?, key: Int) throws -> Communicator? {
        var newComm: MPI_Comm? = nil
        let c = color.map { Int32($0) } ?? cmpi_undefined()
        try check(MPI_Comm_split(handle, c, Int32(key), &newComm), "MPI_Comm_split")
        guard let newComm, newComm != cmpi_comm_null() else { return nil }
        try check(MPI_Comm_set_errhandler(newComm, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        return try Communicator(owning: newComm)
    }

    /// Runs a collective: `blocking` without a deadline, else `nonBlocking`
    /// and a bounded wait for its request.
    private func collective(_ operation: StaticString, blocking: () -> Int32,
                            nonBlocking: (UnsafeMutablePointer<MPI_Request?>) -> Int32) throws {
        guard let timeout = collectiveTimeout else { return try check(blocking(), operation) }
        var request: MPI_Request? = nil
        try check(nonBlocking(&request), operation)
        _ = try waitForCompletion(&request, timeout: timeout, operation: operation)
    }

    /// `MPI_Barrier` (collective).
    public func barrier() throws {
        try collective("MPI_Barrier", blocking: { MPI_Barrier(handle) }, nonBlocking: { MPI_Ibarrier(handle, $0) })
    }

    // MARK: Blocking point-to-point

    /// `MPI_Send` of `buffer` to rank `destination`.
    public func send<T: MPIScalar>(_ buffer: UnsafeBufferPointer<T>, to destination: Int, tag: Int = 0) throws {
        let count = try mpiCount(buffer.count, "MPI_Send")
        try check(MPI_Send(buffer.baseAddress, count, T.checkedDatatype,
                           try checkPeer(destination, "MPI_Send"), try tagValue(tag, "MPI_Send"), handle),
                  "MPI_Send")
    }

    /// `MPI_Send` of an array.
    public func send<T: MPIScalar>(_ elements: [T], to destination: Int, tag: Int = 0) throws {
        try elements.withUnsafeBufferPointer { try send($0, to: destination, tag: tag) }
    }

    /// `MPI_Recv` into `buffer`, from `source` (nil: any rank) with `tag`
    /// (nil: any tag). The message may be shorter than the buffer; the status
    /// says how many elements arrived. A longer message is an error. With a
    /// `timeout` (seconds) it is `MPI_Irecv` polled until then, and throws
    /// `.timeout` if nothing arrived.
    @discardableResult
    public func receive<T: MPIScalar>(
        into buffer: UnsafeMutableBufferPointer<T>, from source: Int? = nil, tag: Int? = nil,
        timeout: Double? = nil
    ) throws -> ReceiveStatus {
        let count = try mpiCount(buffer.count, "MPI_Recv")
        let src = try source.map { try checkPeer($0, "MPI_Recv") } ?? cmpi_any_source()
        let t = try tag.map { try tagValue($0, "MPI_Recv") } ?? cmpi_any_tag()
        var status = MPI_Status()
        if let timeout {
            var request: MPI_Request? = nil
            try check(MPI_Irecv(buffer.baseAddress, count, T.checkedDatatype, src, t, handle, &request), "MPI_Irecv")
            do {
                status = try waitForCompletion(&request, timeout: timeout, operation: "MPI_Recv")
            } catch {
                cancelAndFree(&request)
                throw error
            }
        } else {
            try check(MPI_Recv(buffer.baseAddress, count, T.checkedDatatype, src, t, handle, &status), "MPI_Recv")
        }
        return try receiveStatus(status, T.self)
    }

    /// Receives one message of unknown length (`MPI_Probe`, then `MPI_Recv`).
    public func receive<T: MPIScalar>(
        _ type: T.Type = T.self, from source: Int? = nil, tag: Int? = nil, timeout: Double? = nil
    ) throws -> (elements: [T], status: ReceiveStatus) {
        let probed = try probe(type, from: source, tag: tag, timeout: timeout)
        var result = [T](unsafeUninitializedCapacity: probed.count) { _, n in n = probed.count }
        let status = try result.withUnsafeMutableBufferPointer {
            try receive(into: $0, from: probed.source, tag: probed.tag)
        }
        return (result, status)
    }

    /// `MPI_Probe`: blocks until a matching message is ready and reports its
    /// source, tag and element count, without receiving it. With a `timeout`
    /// (seconds) it polls `MPI_Iprobe` and throws `.timeout` after it.
    public func probe<T: MPIScalar>(
        _ type: T.Type, from source: Int? = nil, tag: Int? = nil, timeout: Double? = nil
    ) throws -> ReceiveStatus {
        if let timeout {
            var found: ReceiveStatus?
            try poll(timeout: timeout, operation: "MPI_Probe") {
                found = try probeIfReady(type, from: source, tag: tag)
                return found != nil
            }
            return found!
        }
        let src = try source.map { try checkPeer($0, "MPI_Probe") } ?? cmpi_any_source()
        let t = try tag.map { try tagValue($0, "MPI_Probe") } ?? cmpi_any_tag()
        var status = MPI_Status()
        try check(MPI_Probe(src, t, handle, &status), "MPI_Probe")
        return try receiveStatus(status, T.self)
    }

    /// Waits until a matching message is ready, polling `MPI_Iprobe` (it
    /// yields the core for a millisecond, then sleeps with backoff up to
    /// 1 ms, so a waiting rank leaves the cores to working ones). Returns nil when
    /// `timeout` seconds pass without one.
    public func waitForMessage<T: MPIScalar>(
        _ type: T.Type, from source: Int? = nil, tag: Int? = nil, timeout: Double
    ) throws -> ReceiveStatus? {
        do {
            return try probe(type, from: source, tag: tag, timeout: timeout)
        } catch let error as MPIError where error.kind == .timeout(seconds: timeout) {
            return nil
        }
    }

    /// `MPI_Iprobe`: the status of a matching message if one is ready, else nil.
    public func probeIfReady<T: MPIScalar>(_ type: T.Type, from source: Int? = nil, tag: Int? = nil) throws -> ReceiveStatus? {
        let src = try source.map { try checkPeer($0, "MPI_Iprobe") } ?? cmpi_any_source()
        let t = try tag.map { try tagValue($0, "MPI_Iprobe") } ?? cmpi_any_tag()
        var status = MPI_Status()
        var flag: Int32 = 0
        try check(MPI_Iprobe(src, t, handle, &flag, &status), "MPI_Iprobe")
        return flag != 0 ? try receiveStatus(status, T.self) : nil
    }

    private func receiveStatus<T: MPIScalar>(_ status: MPI_Status, _ type: T.Type) throws -> ReceiveStatus {
        var s = status
        var count: Int32 = 0
        try check(MPI_Get_count(&s, T.checkedDatatype, &count), "MPI_Get_count")
        return ReceiveStatus(source: Int(s.MPI_SOURCE), tag: Int(s.MPI_TAG), count: Int(count))
    }

    /// `MPI_Sendrecv`: sends `outgoing` to `destination` while receiving into
    /// `incoming` from `source`, without deadlock in a ring.
    @discardableResult
    public func sendReceive<T: MPIScalar>(
        _ outgoing: UnsafeBufferPointer<T>, to destination: Int, sendTag: Int = 0,
        into incoming: UnsafeMutableBufferPointer<T>, from source: Int, receiveTag: Int = 0
    ) throws -> ReceiveStatus {
        let sendCount = try mpiCount(outgoing.count, "MPI_Sendrecv")
        let receiveCount = try mpiCount(incoming.count, "MPI_Sendrecv")
        let datatype = T.checkedDatatype
        var status = MPI_Status()
        try check(MPI_Sendrecv(outgoing.baseAddress, sendCount, datatype,
                               try checkPeer(destination, "MPI_Sendrecv"), try tagValue(sendTag, "MPI_Sendrecv"),
                               incoming.baseAddress, receiveCount, datatype,
                               try checkPeer(source, "MPI_Sendrecv"), try tagValue(receiveTag, "MPI_Sendrecv"),
                               handle, &status),
                  "MPI_Sendrecv")
        return try receiveStatus(status, T.self)
    }

    /// Starts `MPI_Isend` of `outgoing` to `destination`, runs `body` (which
    /// typically receives), then completes the send. The pointer never leaves
    /// this call. With a `timeout`, each wait is bounded by it.
    public func withPendingSend<T: MPIScalar, R>(
        _ outgoing: UnsafeBufferPointer<T>, to destination: Int, tag: Int = 0, timeout: Double? = nil,
        _ body: () throws -> R
    ) throws -> R {
        let count = try mpiCount(outgoing.count, "MPI_Isend")
        var request: MPI_Request? = nil
        try check(MPI_Isend(outgoing.baseAddress, count, T.checkedDatatype,
                            try checkPeer(destination, "MPI_Isend"), try tagValue(tag, "MPI_Isend"),
                            handle, &request),
                  "MPI_Isend")
        do {
            let result = try body()
            _ = try waitForCompletion(&request, timeout: timeout, operation: "MPI_Isend")
            return result
        } catch {
            cancelAndFree(&request)
            throw error
        }
    }

    // MARK: Non-blocking point-to-point

    /// `MPI_Isend` of `buffer[range]` (default: all of it). The request keeps
    /// the buffer alive; do not modify that range until the request completes.
    public func isend<T: MPIScalar>(
        _ buffer: MessageBuffer<T>, range: Range<Int>? = nil, to destination: Int, tag: Int = 0
    ) throws -> Request {
        let r = buffer.checkedRange(range)
        let count = try mpiCount(r.count, "MPI_Isend")
        var request: MPI_Request? = nil
        try check(MPI_Isend(buffer.base + r.lowerBound, count, T.checkedDatatype,
                            try checkPeer(destination, "MPI_Isend"), try tagValue(tag, "MPI_Isend"),
                            handle, &request),
                  "MPI_Isend")
        return Request(handle: request, buffer: buffer, datatype: nil, operation: "MPI_Isend")
    }

    /// `MPI_Isend` of a copy of `elements`.
    public func isend<T: MPIScalar>(_ elements: [T], to destination: Int, tag: Int = 0) throws -> Request {
        try isend(MessageBuffer(elements), to: destination, tag: tag)
    }

    /// `MPI_Irecv` into `buffer[range]` (default: all of it), from `source`
    /// (nil: any) with `tag` (nil: any). Read the buffer only after the
    /// request completes.
    public func irecv<T: MPIScalar>(
        into buffer: MessageBuffer<T>, range: Range<Int>? = nil, from source: Int? = nil, tag: Int? = nil
    ) throws -> Request {
        let r = buffer.checkedRange(range)
        let count = try mpiCount(r.count, "MPI_Irecv")
        let src = try source.map { try checkPeer($0, "MPI_Irecv") } ?? cmpi_any_source()
        let t = try tag.map { try tagValue($0, "MPI_Irecv") } ?? cmpi_any_tag()
        var request: MPI_Request? = nil
        let datatype = T.checkedDatatype
        try check(MPI_Irecv(buffer.base + r.lowerBound, count, datatype, src, t, handle, &request), "MPI_Irecv")
        return Request(handle: request, buffer: buffer, datatype: datatype, operation: "MPI_Irecv")
    }

    // MARK: Collectives

    /// `MPI_Bcast` (collective): every rank ends with root's `buffer`.
    public func broadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        let count = try mpiCount(buffer.count, "MPI_Bcast")
        let r = try checkPeer(root, "MPI_Bcast")
        try collective("MPI_Bcast", blocking: { MPI_Bcast(buffer.baseAddress, count, T.checkedDatatype, r, handle) },
                       nonBlocking: { MPI_Ibcast(buffer.baseAddress, count, T.checkedDatatype, r, handle, $0) })
    }

    /// `MPI_Bcast` of an array (collective). Every rank must pass the same count.
    public func broadcast<T: MPIScalar>(_ elements: inout [T], root: Int) throws {
        try elements.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }

    /// `MPI_Bcast` of one value (collective); returns root's value.
    public func broadcast<T: MPIScalar>(_ value: T, root: Int) throws -> T {
        var v = [value]
        try broadcast(&v, root: root)
        return v[0]
    }

    /// `MPI_Allreduce` in place (collective): every rank ends with the
    /// element-wise reduction of all ranks' buffers.
    public func allReduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp) throws {
        let count = try mpiCount(buffer.count, "MPI_Allreduce")
        try collective("MPI_Allreduce",
                       blocking: { MPI_Allreduce(cmpi_in_place(), buffer.baseAddress, count, T.checkedDatatype, op.handle, handle) },
                       nonBlocking: { MPI_Iallreduce(cmpi_in_place(), buffer.baseAddress, count, T.checkedDatatype, op.handle, handle, $0) })
    }

    /// `MPI_Allreduce` of an array in place (collective).
    public func allReduce<T: MPIScalar>(_ elements: inout [T], op: ReductionOp) throws {
        try elements.withUnsafeMutableBufferPointer { try allReduce($0, op: op) }
    }

    /// `MPI_Allreduce` of one value (collective).
    public func allReduce<T: MPIScalar>(_ value: T, op: ReductionOp) throws -> T {
        var v = [value]
        try allReduce(&v, op: op)
        return v[0]
    }

    /// `MPI_Reduce` in place at `root` (collective). Root's buffer ends with
    /// the reduction; other ranks' buffers are unchanged.
    public func reduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp, root: Int) throws {
        let count = try mpiCount(buffer.count, "MPI_Reduce")
        let r = try checkPeer(root, "MPI_Reduce")
        let send: UnsafeRawPointer? = rank == root ? UnsafeRawPointer(cmpi_in_place()) : UnsafeRawPointer(buffer.baseAddress)
        try collective("MPI_Reduce", blocking: { MPI_Reduce(send, buffer.baseAddress, count, T.checkedDatatype, op.handle, r, handle) },
                       nonBlocking: { MPI_Ireduce(send, buffer.baseAddress, count, T.checkedDatatype, op.handle, r, handle, $0) })
    }

    /// `MPI_Reduce` of an array in place at `root` (collective).
    public func reduce<T: MPIScalar>(_ elements: inout [T], op: ReductionOp, root: Int) throws {
        try elements.withUnsafeMutableBufferPointer { try reduce($0, op: op, root: root) }
    }

    /// `MPI_Gather` (collective): every rank sends the same number of
    /// elements; root gets them concatenated in rank order, others get nil.
    public func gather<T: MPIScalar>(_ elements: [T], root: Int) throws -> [T]? {
        let count = try mpiCount(elements.count, "MPI_Gather")
        let r = try checkPeer(root, "MPI_Gather")
        let total = rank == root ? elements.count * size : 0
        var result = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        try elements.withUnsafeBufferPointer { send in
            try result.withUnsafeMutableBufferPointer { receive in
                try collective("MPI_Gather",
                               blocking: { MPI_Gather(send.baseAddress, count, T.checkedDatatype, receive.baseAddress, count,
                                                      T.checkedDatatype, r, handle) },
                               nonBlocking: { MPI_Igather(send.baseAddress, count, T.checkedDatatype, receive.baseAddress, count,
                                                          T.checkedDatatype, r, handle, $0) })
            }
        }
        return rank == root ? result : nil
    }

    /// `MPI_Gatherv` (collective): each rank sends any number of elements;
    /// root gets one array per rank, others get nil.
    public func gatherv<T: MPIScalar>(_ elements: [T], root: Int) throws -> [[T]]? {
        let counts = try gather([Int32(try mpiCount(elements.count, "MPI_Gatherv"))], root: root)
        let displacements = try counts.map { try exclusivePrefixSum($0, "MPI_Gatherv") }
        let total = Int(counts?.reduce(0) { $0 + Int($1) } ?? 0)
        var flat = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        var countsArg = counts ?? []
        var displacementsArg = displacements ?? []
        try elements.withUnsafeBufferPointer { send in
            try flat.withUnsafeMutableBufferPointer { receive in
                // The count arrays stay pinned until the (possibly non-blocking) call completes.
                try countsArg.withUnsafeMutableBufferPointer { c in
                    try displacementsArg.withUnsafeMutableBufferPointer { d in
                        try collective("MPI_Gatherv",
                                       blocking: { MPI_Gatherv(send.baseAddress, Int32(elements.count), T.checkedDatatype, receive.baseAddress,
                                                               c.baseAddress, d.baseAddress, T.checkedDatatype, Int32(root), handle) },
                                       nonBlocking: { MPI_Igatherv(send.baseAddress, Int32(elements.count), T.checkedDatatype,
                                                                   receive.baseAddress, c.baseAddress, d.baseAddress, T.checkedDatatype,
                                                                   Int32(root), handle, $0) })
                    }
                }
            }
        }
        guard let counts, let displacements else { return nil }
        return (0..<size).map { i in
            Array(flat[Int(displacements[i])..<Int(displacements[i]) + Int(counts[i])])
        }
    }

    /// `MPI_Allgather` (collective): every rank sends the same number of
    /// elements and gets everyone's, concatenated in rank order.
    public func allGather<T: MPIScalar>(_ elements: [T]) throws -> [T] {
        let count = try mpiCount(elements.count, "MPI_Allgather")
        let total = elements.count * size
        var result = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        try elements.withUnsafeBufferPointer { send in
            try result.withUnsafeMutableBufferPointer { receive in
                try collective("MPI_Allgather",
                               blocking: { MPI_Allgather(send.baseAddress, count, T.checkedDatatype, receive.baseAddress, count,
                                                         T.checkedDatatype, handle) },
                               nonBlocking: { MPI_Iallgather(send.baseAddress, count, T.checkedDatatype, receive.baseAddress, count,
                                                             T.checkedDatatype, handle, $0) })
            }
        }
        return result
    }

    /// `MPI_Allgatherv` (collective): each rank sends any number of elements
    /// and gets one array per rank.
    public func allGatherv<T: MPIScalar>(_ elements: [T]) throws -> [[T]] {
        var counts = try allGather([Int32(try mpiCount(elements.count, "MPI_Allgatherv"))])
        var displacements = try exclusivePrefixSum(counts, "MPI_Allgatherv")
        let total = counts.reduce(0) { $0 + Int($1) }
        var flat = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        try elements.withUnsafeBufferPointer { send in
            try flat.withUnsafeMutableBufferPointer { receive in
                try counts.withUnsafeMutableBufferPointer { c in
                    try displacements.withUnsafeMutableBufferPointer { d in
                        try collective("MPI_Allgatherv",
                                       blocking: { MPI_Allgatherv(send.baseAddress, Int32(elements.count), T.checkedDatatype,
                                                                  receive.baseAddress, c.baseAddress, d.baseAddress, T.checkedDatatype, handle) },
                                       nonBlocking: { MPI_Iallgatherv(send.baseAddress, Int32(elements.count), T.checkedDatatype,
                                                                      receive.baseAddress, c.baseAddress, d.baseAddress, T.checkedDatatype,
                                                                      handle, $0) })
                    }
                }
            }
        }
        return (0..<size).map { i in
            Array(flat[Int(displacements[i])..<Int(displacements[i]) + Int(counts[i])])
        }
    }

    private func exclusivePrefixSum(_ counts: [Int32], _ operation: StaticString) throws -> [Int32] {
        var result = [Int32]()
        result.reserveCapacity(counts.count)
        var running = 0
        for c in counts {
            result.append(try mpiCount(running, operation))
            running += Int(c)
        }
        _ = try mpiCount(running, operation)
        return result
    }
}
