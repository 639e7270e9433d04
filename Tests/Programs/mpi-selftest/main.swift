// mpi-selftest: checks the MPI layer and the dense ring under a real mpirun.
//
//   mpi-selftest [all]          every check; rank 0 prints "selftest passed: ..."
//   mpi-selftest fault R        rank R throws while the others wait on it
//   mpi-selftest agreed         every rank throws the same agreed JobError
//   mpi-selftest bad-block R    rank R sends a dense block into a reselect sparse ring;
//                               its right neighbour must stop the job naming rank R
//
// Every rank computes the expected value of every check itself. A rank that
// disagrees throws, prints "[rank r] ..." and aborts the job (non-zero exit).
import Collectives
import Compression
import Foundation
import MPI

struct CheckFailure: Error, CustomStringConvertible {
    let description: String
}

struct SameEverywhere: JobError {
    var description: String { "every rank raised this on purpose" }
    var raisedOnEveryRank: Bool { true }
}

nonisolated(unsafe) var checks = 0  // MPI is funneled: one thread runs every check

func expect(_ condition: Bool, _ what: @autoclosure () -> String) throws {
    checks += 1
    if !condition { throw CheckFailure(description: "check failed: \(what())") }
}

/// A value every rank can compute for any (rank, index): small integers, so
/// float sums are exact in any order.
func value(_ rank: Int, _ i: Int) -> Float {
    Float((rank * 31 + i * 7) % 17) - 8
}

func checkPointToPoint(_ comm: Communicator) throws {
    let n = comm.size, r = comm.rank
    // Ring sendReceive of every buffer type.
    func ring<T: MPIScalar & Equatable>(_ make: (Int, Int) -> T) throws {
        let out = (0..<5).map { make(r, $0) }
        var into = [T](repeating: make(0, 0), count: 5)
        let status = try out.withUnsafeBufferPointer { o in
            try into.withUnsafeMutableBufferPointer { i in
                try comm.sendReceive(o, to: comm.right, sendTag: 3, into: i, from: comm.left, receiveTag: 3)
            }
        }
        try expect(status.count == 5 && status.source == comm.left && status.tag == 3, "sendReceive status \(status)")
        try expect(into == (0..<5).map { make(comm.left, $0) }, "sendReceive \(T.self) payload")
    }
    try ring { Float($0) + Float($1) / 4 }
    try ring { Double($0) * 1e10 + Double($1) }
    try ring { Int32($0) - Int32($1) * 100_000 }
    try ring { Int64($0) << 40 | Int64($1) }
    try ring { UInt8(truncatingIfNeeded: $0 * 10 + $1) }
    try ring { UInt16($0 * 1000 + $1) }
    try ring { UInt32($0) << 20 | UInt32($1) }
    try ring { UInt64($0) << 50 | UInt64($1) }

    // Blocking send and receive between rank 0 and every other rank.
    if r == 0 {
        for peer in 1..<max(n, 1) {
            try comm.send([Int32(peer), Int32(peer * peer)], to: peer, tag: 7)
            let (back, status) = try comm.receive(Int32.self, from: peer, tag: 8)
            try expect(back == [Int32(peer * 3)] && status.source == peer, "reply from \(peer)")
        }
    } else {
        var got = [Int32](repeating: 0, count: 2)
        try got.withUnsafeMutableBufferPointer { _ = try comm.receive(into: $0, from: 0, tag: 7) }
        try expect(got == [Int32(r), Int32(r * r)], "receive from 0")
        try comm.send([Int32(r * 3)], to: 0, tag: 8)
    }

    // Unknown length: rank r sends r + 1 values to its right; probe, then receive.
    let outgoing = (0...r).map { Double($0) }
    let received = try outgoing.withUnsafeBufferPointer { o in
        try comm.withPendingSend(o, to: comm.right, tag: 9) {
            try comm.receive(Double.self, from: comm.left, tag: 9, timeout: 30)
        }
    }
    try expect(received.elements == (0...comm.left).map { Double($0) }, "probed receive of \(comm.left + 1) values")

    // Non-blocking: every rank sends to every rank (itself included).
    var sends = [Request]()
    var receives = [(Int, MessageBuffer<Float>, Request)]()
    for peer in 0..<n {
        let buffer = MessageBuffer<Float>(count: 3, repeating: -1)
        receives.append((peer, buffer, try comm.irecv(into: buffer, from: peer, tag: 11)))
    }
    for peer in 0..<n {
        sends.append(try comm.isend([Float(r), Float(peer), Float(r * n + peer)], to: peer, tag: 11))
    }
    try Request.waitAll(sends, timeout: 30)
    for (peer, buffer, request) in receives {
        let status = try request.wait(timeout: 30)
        try expect(status?.count == 3 && status?.source == peer, "irecv status from \(peer)")
        try expect(buffer.elements == [Float(peer), Float(r), Float(peer * n + r)], "irecv payload from \(peer)")
    }

    // A receive nobody answers times out instead of hanging.
    var nothing = [UInt8](repeating: 0, count: 1)
    do {
        try nothing.withUnsafeMutableBufferPointer { _ = try comm.receive(into: $0, from: r, tag: 12, timeout: 0.2) }
        try expect(false, "receive with timeout returned without a message")
    } catch let error as MPIError {
        try expect(error.kind == .timeout(seconds: 0.2), "timeout error kind \(error.kind)")
    }

    // Counts beyond Int32.max are refused before MPI sees them.
    let tooLong = UnsafeBufferPointer<UInt8>(start: nothing.withUnsafeBufferPointer { $0.baseAddress },
                                             count: Int(Int32.max) + 1)
    do {
        try comm.send(tooLong, to: r, tag: 13)
        try expect(false, "send of Int32.max + 1 elements was accepted")
    } catch let error as MPIError {
        try expect(error.kind == .countTooLarge(Int(Int32.max) + 1), "count error kind \(error.kind)")
    }
    // A bad peer rank is refused.
    do {
        try comm.send([UInt8(1)], to: n, tag: 1)
        try expect(false, "send to rank \(n) was accepted")
    } catch let error as MPIError {
        try expect(error.kind == .usage, "bad rank error kind")
    }
}

func checkCollectives(_ comm: Communicator) throws {
    let n = comm.size, r = comm.rank
    try comm.barrier()

    var b = r == n - 1 ? [Int64](arrayLiteral: 5, 6, 7) : [0, 0, 0]
    try comm.broadcast(&b, root: n - 1)
    try expect(b == [5, 6, 7], "broadcast array")
    try expect(try comm.broadcast(Double(r) + 0.5, root: 0) == 0.5, "broadcast scalar")

    try expect(try comm.allReduce(Int64(r + 1), op: .sum) == Int64(n * (n + 1) / 2), "allReduce sum")
    try expect(try comm.allReduce(Int32(r), op: .max) == Int32(n - 1), "allReduce max")
    try expect(try comm.allReduce(Float(r), op: .min) == 0, "allReduce min")
    try expect(try comm.allReduce(Double(2), op: .product) == pow(2, Double(n)), "allReduce product")
    var v = (0..<7).map { UInt32($0 + r) }
    try comm.allReduce(&v, op: .sum)
    try expect(v == (0..<7).map { UInt32($0 * n + n * (n - 1) / 2) }, "allReduce array")

    var red = [Int32(r), 1]
    try comm.reduce(&red, op: .sum, root: 0)
    if r == 0 { try expect(red == [Int32(n * (n - 1) / 2), Int32(n)], "reduce at root") }
    else { try expect(red == [Int32(r), 1], "reduce leaves non-root buffers alone") }

    let g = try comm.gather([UInt16(r), UInt16(r + 100)], root: 0)
    if r == 0 { try expect(g == (0..<n).flatMap { [UInt16($0), UInt16($0 + 100)] }, "gather") }
    else { try expect(g == nil, "gather gives nil off root") }

    // Rank r contributes r elements: rank 0 sends none, lengths below N.
    let mine = (0..<r).map { Float(r * 10 + $0) }
    let expected = (0..<n).map { k in (0..<k).map { Float(k * 10 + $0) } }
    let gv = try comm.gatherv(mine, root: n - 1)
    if r == n - 1 { try expect(gv == expected, "gatherv") } else { try expect(gv == nil, "gatherv off root") }
    try expect(try comm.allGather([Int64(r)]) == (0..<n).map { Int64($0) }, "allGather")
    try expect(try comm.allGatherv(mine) == expected, "allGatherv")

    // split: even and odd world ranks.
    if let half = try comm.split(color: r % 2, key: -r) {
        let members = (0..<n).filter { $0 % 2 == r % 2 }
        try expect(half.size == members.count, "split size")
        try expect(half.rank == members.count - 1 - members.firstIndex(of: r)!, "split rank follows key")
        try expect(try half.allReduce(Int64(r), op: .sum) == Int64(members.reduce(0, +)), "split allReduce")
    } else {
        try expect(false, "split gave no communicator")
    }
    try expect(try comm.split(color: nil, key: 0) == nil, "split with no color")
}

func checkRing(_ comm: Communicator) throws {
    let n = comm.size, r = comm.rank
    // With a deadline, as training runs it: exchanges poll and collectives are non-blocking.
    comm.collectiveTimeout = 60
    defer { comm.collectiveTimeout = nil }
    let transport = MPITransport(communicator: comm)
    let ring = RingAllReduce(transport: transport, clock: { MPIEnvironment.wallTime })
    let lengths = Array(Set([0, 1, 2, max(n - 1, 0), n, n + 1, 7, 13, 1000, 4099, 65_537])).sorted()
    for length in lengths {
        var x = (0..<length).map { value(r, $0) }
        let traffic = try ring.sum(&x)
        let want = (0..<length).map { i in (0..<n).reduce(Float(0)) { $0 + value($1, i) } }
        try expect(x == want, "ring sum of length \(length)")
        // Bitwise the same on every rank: compare with rank 0's copy.
        var copy = x
        try comm.broadcast(&copy, root: 0)
        try expect(copy.elementsEqual(x) { $0.bitPattern == $1.bitPattern }, "ring result identical across ranks, length \(length)")
        // Each rank sends N-1 blocks in each phase.
        let blocks = ringBlocks(length: length, parts: n)
        var bytes = 0
        for s in 0..<(n - 1) {
            bytes += blocks[(r - s + 2 * n) % n].count + blocks[(r + 1 - s + 2 * n) % n].count
        }
        try expect(traffic.bytesSent == bytes * 4, "ring bytes sent for length \(length): \(traffic.bytesSent) vs \(bytes * 4)")
        try expect(traffic.messagesSent == 2 * (n - 1), "ring message count")
    }
    // Ranks that disagree on the length all throw, before any data moves.
    if n > 1 {
        var x = [Float](repeating: 1, count: r == 0 ? 11 : 10)
        do {
            try ring.sum(&x)
            try expect(false, "ring accepted different lengths")
        } catch let error as CollectiveError {
            try expect(error == .lengthMismatch(local: x.count, min: 10, max: 11), "length mismatch \(error)")
        }
    }
}

/// `PeerGroup.split` over MPI, as PeerGroupSplitTests checks it in one
/// process: every third rank is left out, the others alternate between two
/// colors, keys reverse the order. Messages go by any-source receives, so a
/// message crossing into a sibling group, or from the parent, would be seen.
func checkSplit(_ comm: Communicator) throws {
    let world = MPITransport(communicator: comm)
    world.timeout = 60
    defer { world.timeout = nil }
    func color(_ r: Int) -> Int? { r % 3 == 2 ? nil : (r % 2 == 0 ? 0 : 5) }
    let r = comm.rank
    // A parent message with the tag the sub-groups use, to itself.
    try world.send([UInt8(r)], to: r, tag: 7)
    let sub = try world.split(color: color(r), key: -r)
    try expect((sub == nil) == (color(r) == nil), "split membership of rank \(r)")
    if let sub, let c = color(r) {
        let members = (0..<comm.size).filter { color($0) == c }
        try expect(sub.size == members.count && sub.rank == members.reversed().firstIndex(of: r),
                   "sub-group rank \(sub.rank) of \(sub.size) for world rank \(r)")
        try expect(sub.timeout == 60, "sub-group deadline")
        for peer in 0..<sub.size where peer != sub.rank { try sub.send([UInt8(r)], to: peer, tag: 7) }
        var senders = [Int]()
        for _ in 0..<(sub.size - 1) {
            guard let (_, bytes) = try sub.receive(from: nil, tag: 7, waiting: 30) else { throw CheckFailure(description: "split: a message is missing") }
            senders.append(Int(bytes[0]))
        }
        try expect(senders.sorted() == members.filter { $0 != r }, "split: rank \(r) heard \(senders.sorted())")
        var v = [Double(r)]
        try sub.sum(&v)
        try expect(v == [Double(members.reduce(0, +))], "split: sub-group sum")
    }
    let own = try world.receive(from: r, tag: 7, waiting: 30)
    try expect(own?.bytes == [UInt8(r)], "split: the parent's message stays in the parent")
}

/// Every rank but `liar` runs the reselect sparse ring; `liar` plays its
/// first ring step with a dense block, which reselect cannot merge. Nobody
/// reaches the end: the liar's right neighbour must throw naming it.
func sendBadBlock(_ comm: Communicator, liar: Int) throws {
    let layout = GroupLayout(length: 10_000, groupSize: 256, ratio: 0.01)
    let x = (0..<layout.length).map { value(comm.rank, $0) }
    var compressed = SparseGradient(layout: layout)
    try x.withUnsafeBufferPointer { try GroupTopK(layout: layout).compress($0, into: &compressed) }
    let transport = MPITransport(communicator: comm)
    if comm.rank == liar {
        _ = try transport.minMax([layout.length, layout.groupSize, layout.k])
        var block = SparseBlock(compressed, groups: ringBlocks(length: layout.groupCount, parts: comm.size)[liar])
        block.makeDense()
        var bytes = [UInt8]()
        let n = block.encode(into: &bytes)
        var incoming = [UInt8]()
        _ = try transport.exchangeVariable(sending: bytes.span.bytes.extracting(0..<n), to: comm.right,
                                           receivingFrom: comm.left, into: &incoming)
        // Wait for the abort the neighbour's error causes (bounded by mpirun --timeout).
        var sink = [UInt8](repeating: 0, count: 1)
        try sink.withUnsafeMutableBufferPointer { _ = try comm.receive(into: $0, from: comm.right, tag: 99) }
        return
    }
    var output = [Float](repeating: 0, count: layout.length)
    try output.withUnsafeMutableBufferPointer { _ = try SparseRingAllReduce(transport: transport, policy: .reselect, clock: { MPIEnvironment.wallTime }).sum(compressed, into: $0) }
    try expect(false, "the ring summed a dense block under reselect")
}

let arguments = Array(CommandLine.arguments.dropFirst())
let mode = arguments.first ?? "all"
do {
    let env = try MPIEnvironment.initialize()
    let comm = env.world
    switch mode {
    case "all":
        if let launched = MPIEnvironment.launcherSize {
            try expect(launched == comm.size, "world size \(comm.size) vs launcher \(launched)")
        }
        do {
            _ = try MPIEnvironment.initialize()
            try expect(false, "second initialize succeeded")
        } catch let error as MPIError {
            try expect(error.kind == .usage, "second initialize refused")
        }
        try checkPointToPoint(comm)
        try checkCollectives(comm)
        try checkRing(comm)
        try checkSplit(comm)
        let total = try comm.allReduce(Int64(checks), op: .sum)
        if comm.rank == 0 { print("selftest passed: \(total) checks on \(comm.size) ranks") }
    case "fault":
        let culprit = arguments.count > 1 ? Int(arguments[1]) ?? 0 : 0
        if comm.rank == culprit {
            usleep(200_000)
            throw CheckFailure(description: "injected fault on rank \(culprit)")
        }
        var sink = [UInt8](repeating: 0, count: 1)
        try sink.withUnsafeMutableBufferPointer { _ = try comm.receive(into: $0, from: culprit, tag: 1) }
    case "agreed":
        try comm.barrier()
        throw SameEverywhere()
    case "yield":
        print("rank \(comm.rank): OMPI_MCA_mpi_yield_when_idle=\(getenv("OMPI_MCA_mpi_yield_when_idle").map { String(cString: $0) } ?? "unset")")
    case "bad-block":
        let liar = arguments.count > 1 ? Int(arguments[1]) ?? 0 : 0
        try sendBadBlock(comm, liar: liar)
    default:
        throw CheckFailure(description: "unknown mode '\(mode)'")
    }
    try env.finalize()
} catch {
    if MPIEnvironment.isInitialized && !MPIEnvironment.isFinalized {
        MPIEnvironment.terminate(after: error, program: "mpi-selftest")
    }
    writeStandardError("mpi-selftest: \(error)")
    exit(1)
}
