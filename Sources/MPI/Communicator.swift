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

    /// Runs a collective under a deadline: `start` begins its non-blocking
    /// form on `buffers` (copies the caller made), and a request that owns
    /// them waits at most `timeout` seconds. A wait that times out leaves MPI
    /// holding only memory that stays alive (`Request`). Without a deadline
    /// the collectives make the blocking call on the caller's memory instead,
    /// which MPI no longer holds once the call returns.
    private func ownedCollective(_ operation: StaticString, owning buffers: [AnyObject], timeout: Double,
                                 start: (UnsafeMutablePointer<MPI_Request?>) -> Int32) throws {
        let request = Request(handle: nil, buffers: buffers, datatype: nil, operation: operation, isCollective: true)
        try check(start(&request.handle), operation)
        try request.wait(timeout: timeout)
    }

    /// `MPI_Barrier` (collective).
    public func barrier() throws {
        guard let timeout = collectiveTimeout else { return try check(MPI_Barrier(handle), "MPI_Barrier") }
        try ownedCollective("MPI_Barrier", owning: [], timeout: timeout) { MPI_Ibarrier(handle, $0) }
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
    /// `timeout` (seconds) it is `MPI_Irecv` into a buffer its request owns,
    /// polled until then, and throws `.timeout` if nothing arrived (`buffer`
    /// is then untouched, and MPI holds no pointer into it).
    @discardableResult
    public func receive<T: MPIScalar>(
        into buffer: UnsafeMutableBufferPointer<T>, from source: Int? = nil, tag: Int? = nil,
        timeout: Double? = nil
    ) throws -> ReceiveStatus {
        let count = try mpiCount(buffer.count, "MPI_Recv")
        let src = try source.map { try checkPeer($0, "MPI_Recv") } ?? cmpi_any_source()
        let t = try tag.map { try tagValue($0, "MPI_Recv") } ?? cmpi_any_tag()
        if let timeout {
            var staging: MessageBuffer<T>?
            return try receive(into: buffer, from: source, tag: tag, timeout: timeout, staging: &staging)
        }
        var status = MPI_Status()
        try check(MPI_Recv(buffer.baseAddress, count, T.checkedDatatype, src, t, handle, &status), "MPI_Recv")
        return try receiveStatus(status, T.self)
    }

    /// The timed receive into `buffer` through a buffer the request owns
    /// (`MPI_Irecv`, waited for up to `timeout` seconds, then copied out), so
    /// that a receive abandoned at its deadline never writes into `buffer`.
    /// The owned buffer is taken from `staging` when it is large enough and
    /// put back there once the receive has completed: a caller that receives
    /// at every step keeps one buffer instead of allocating one per call.
    public func receive<T: MPIScalar>(
        into buffer: UnsafeMutableBufferPointer<T>, from source: Int?, tag: Int?, timeout: Double,
        staging: inout MessageBuffer<T>?
    ) throws -> ReceiveStatus {
        let owned = MessageBuffer.take(&staging, sizedLike: UnsafeBufferPointer(buffer))
        let request = try irecv(into: owned, range: 0..<buffer.count, from: source, tag: tag)
        guard let status = try request.wait(timeout: timeout) else { preconditionFailure("a receive has a status") }
        // One memcpy. (`update(from:)` with a slice went element by element
        // through the generic path: 85 ms for a 0.47 MB ring step, half a
        // second for a ring all-reduce of the MLP's gradient under a deadline.)
        precondition(status.count <= buffer.count, "received \(status.count) elements into \(buffer.count)")
        if status.count > 0, let destination = buffer.baseAddress {
            owned.withUnsafeMutableBufferPointer { destination.update(from: $0.baseAddress!, count: status.count) }
        }
        staging = owned
        return status
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

    /// Starts `MPI_Isend` of a copy of `outgoing` to `destination`, runs
    /// `body` (which typically receives), then completes the send. MPI sends
    /// from the copy, which the send's request owns: if `body` throws or the
    /// wait (bounded by `timeout`) runs out, the copy stays alive.
    public func withPendingSend<T: MPIScalar, R>(
        _ outgoing: UnsafeBufferPointer<T>, to destination: Int, tag: Int = 0, timeout: Double? = nil,
        _ body: () throws -> R
    ) throws -> R {
        var staging: MessageBuffer<T>?
        return try withPendingSend(outgoing, to: destination, tag: tag, timeout: timeout, staging: &staging, body)
    }

    /// `withPendingSend`, copying into a buffer taken from `staging` when it
    /// is large enough and put back there once the send has completed (a
    /// send that fails keeps its buffer, and `staging` stays empty).
    public func withPendingSend<T: MPIScalar, R>(
        _ outgoing: UnsafeBufferPointer<T>, to destination: Int, tag: Int = 0, timeout: Double? = nil,
        staging: inout MessageBuffer<T>?, _ body: () throws -> R
    ) throws -> R {
        let copy = MessageBuffer.take(&staging, holding: outgoing)
        let request = try isend(copy, range: 0..<outgoing.count, to: destination, tag: tag)
        let result = try body()
        try request.wait(timeout: timeout)
        staging = copy
        return result
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
        return Request(handle: request, buffers: [buffer], datatype: nil, operation: "MPI_Isend")
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
        return Request(handle: request, buffers: [buffer], datatype: datatype, operation: "MPI_Irecv")
    }

    // MARK: Collectives

    /// `MPI_Bcast` (collective): every rank ends with root's `buffer`.
    public func broadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        let count = try mpiCount(buffer.count, "MPI_Bcast")
        let r = try checkPeer(root, "MPI_Bcast")
        guard let timeout = collectiveTimeout else {
            return try check(MPI_Bcast(buffer.baseAddress, count, T.checkedDatatype, r, handle), "MPI_Bcast")
        }
        let owned = MessageBuffer(copying: UnsafeBufferPointer(buffer))
        try ownedCollective("MPI_Bcast", owning: [owned], timeout: timeout) {
            MPI_Ibcast(owned.base, count, T.checkedDatatype, r, handle, $0)
        }
        owned.copy(into: buffer)
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
        guard let timeout = collectiveTimeout else {
            return try check(MPI_Allreduce(cmpi_in_place(), buffer.baseAddress, count, T.checkedDatatype, op.handle, handle),
                             "MPI_Allreduce")
        }
        let owned = MessageBuffer(copying: UnsafeBufferPointer(buffer))
        try ownedCollective("MPI_Allreduce", owning: [owned], timeout: timeout) {
            MPI_Iallreduce(cmpi_in_place(), owned.base, count, T.checkedDatatype, op.handle, handle, $0)
        }
        owned.copy(into: buffer)
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
        let atRoot = rank == root
        guard let timeout = collectiveTimeout else {
            let send: UnsafeRawPointer? = atRoot ? UnsafeRawPointer(cmpi_in_place()) : UnsafeRawPointer(buffer.baseAddress)
            return try check(MPI_Reduce(send, buffer.baseAddress, count, T.checkedDatatype, op.handle, r, handle), "MPI_Reduce")
        }
        let owned = MessageBuffer(copying: UnsafeBufferPointer(buffer))
        try ownedCollective("MPI_Reduce", owning: [owned], timeout: timeout) {
            let send: UnsafeRawPointer? = atRoot ? UnsafeRawPointer(cmpi_in_place()) : UnsafeRawPointer(owned.base)
            return MPI_Ireduce(send, owned.base, count, T.checkedDatatype, op.handle, r, handle, $0)
        }
        if atRoot { owned.copy(into: buffer) }
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
        if let timeout = collectiveTimeout {
            let send = MessageBuffer(elements), receive = MessageBuffer(result)
            try ownedCollective("MPI_Gather", owning: [send, receive], timeout: timeout) {
                MPI_Igather(send.base, count, T.checkedDatatype, receive.base, count, T.checkedDatatype, r, handle, $0)
            }
            result = receive.elements
        } else {
            try elements.withUnsafeBufferPointer { send in
                try result.withUnsafeMutableBufferPointer { receive in
                    try check(MPI_Gather(send.baseAddress, count, T.checkedDatatype, receive.baseAddress, count,
                                         T.checkedDatatype, r, handle), "MPI_Gather")
                }
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
        let r = try checkPeer(root, "MPI_Gatherv")
        let count = Int32(elements.count)
        // The count arrays, like the data, stay owned until the call completes.
        let send = MessageBuffer(elements)
        let receive = MessageBuffer([T](unsafeUninitializedCapacity: total) { _, n in n = total })
        let c = MessageBuffer(counts ?? []), d = MessageBuffer(displacements ?? [])
        if let timeout = collectiveTimeout {
            try ownedCollective("MPI_Gatherv", owning: [send, receive, c, d], timeout: timeout) {
                MPI_Igatherv(send.base, count, T.checkedDatatype, receive.base, c.base, d.base, T.checkedDatatype, r, handle, $0)
            }
        } else {
            try check(MPI_Gatherv(send.base, count, T.checkedDatatype, receive.base, c.base, d.base, T.checkedDatatype, r, handle),
                      "MPI_Gatherv")
        }
        guard let counts, let displacements else { return nil }
        let flat = receive.elements
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
        if let timeout = collectiveTimeout {
            let send = MessageBuffer(elements), receive = MessageBuffer(result)
            try ownedCollective("MPI_Allgather", owning: [send, receive], timeout: timeout) {
                MPI_Iallgather(send.base, count, T.checkedDatatype, receive.base, count, T.checkedDatatype, handle, $0)
            }
            return receive.elements
        }
        try elements.withUnsafeBufferPointer { send in
            try result.withUnsafeMutableBufferPointer { receive in
                try check(MPI_Allgather(send.baseAddress, count, T.checkedDatatype, receive.baseAddress, count,
                                        T.checkedDatatype, handle), "MPI_Allgather")
            }
        }
        return result
    }

    /// `MPI_Allgatherv` (collective): each rank sends any number of elements
    /// and gets one array per rank.
    public func allGatherv<T: MPIScalar>(_ elements: [T]) throws -> [[T]] {
        let counts = try allGather([Int32(try mpiCount(elements.count, "MPI_Allgatherv"))])
        let displacements = try exclusivePrefixSum(counts, "MPI_Allgatherv")
        let total = counts.reduce(0) { $0 + Int($1) }
        let count = Int32(elements.count)
        var flat = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        if let timeout = collectiveTimeout {
            let send = MessageBuffer(elements), receive = MessageBuffer(flat)
            let c = MessageBuffer(counts), d = MessageBuffer(displacements)
            try ownedCollective("MPI_Allgatherv", owning: [send, receive, c, d], timeout: timeout) {
                MPI_Iallgatherv(send.base, count, T.checkedDatatype, receive.base, c.base, d.base, T.checkedDatatype, handle, $0)
            }
            flat = receive.elements
        } else {
            try elements.withUnsafeBufferPointer { send in
                try flat.withUnsafeMutableBufferPointer { receive in
                    try counts.withUnsafeBufferPointer { c in
                        try displacements.withUnsafeBufferPointer { d in
                            try check(MPI_Allgatherv(send.baseAddress, count, T.checkedDatatype, receive.baseAddress,
                                                     c.baseAddress, d.baseAddress, T.checkedDatatype, handle), "MPI_Allgatherv")
                        }
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
