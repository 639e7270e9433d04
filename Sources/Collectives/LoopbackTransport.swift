import Foundation

/// An in-process group of `size` ranks joined by mailboxes, one thread per
/// rank, for single-process tests of the collectives and of whole runs.
/// Messages are copied, as on a network. Waits are bounded by `timeout`,
/// and when one rank's body throws, every wait of the others throws too
/// (`CollectiveError.cancelled`), so no thread is left blocked.
///
/// `split` makes sub-groups over the same hub: a sub-group numbers its
/// members 0..<size and translates to the hub's ranks, and its messages
/// carry the sub-group's identity, so sibling sub-groups never see each
/// other's messages. Failures and cancellation are the hub's: a rank that
/// fails in any group wakes every wait in every group.
public final class LoopbackTransport: PeerGroup, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public var traffic = TrafficStats()
    public var timeout: Double?
    private let hub: LoopbackHub
    /// The hub ranks of this group's members, in this group's rank order.
    private let members: [Int]
    /// The group's identity in the hub's mailbox keys: "" for the whole
    /// group, then "/<split number>:<color>" per split.
    private let group: String
    /// Splits made from this group so far (every member makes the same ones).
    private var splits = 0

    init(rank: Int, hub: LoopbackHub) {
        self.rank = rank
        self.size = hub.size
        self.hub = hub
        members = Array(0..<hub.size)
        group = ""
    }

    private init(rank: Int, members: [Int], group: String, hub: LoopbackHub, timeout: Double?) {
        self.rank = rank
        self.size = members.count
        self.members = members
        self.group = group
        self.hub = hub
        self.timeout = timeout
    }

    /// The collective split of `PeerGroup`: an all-gather of every member's
    /// (color, key), then each color's members ordered by key, then by rank
    /// here. The sub-group inherits `timeout`. A negative color is refused
    /// on every rank (`CollectiveError.invalidArgument`).
    public func split(color: Int?, key: Int) throws -> PeerGroup? {
        let mine = [Int64(color ?? -1), color == nil ? 0 : 1, Int64(key)]
        let all = try allGather(mine.withUnsafeBytes { Array($0) }).map {
            $0.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        }
        guard all.allSatisfy({ $0.count == 3 }) else { throw CollectiveError.brokenProtocol("split: malformed (color, key)") }
        if let bad = all.firstIndex(where: { $0[1] == 1 && $0[0] < 0 }) {
            throw CollectiveError.invalidArgument("split: rank \(bad) passed color \(all[bad][0]); colors must be >= 0 (nil leaves a rank out)")
        }
        splits += 1
        guard let color else { return nil }
        let same = (0..<size).filter { all[$0][1] == 1 && all[$0][0] == Int64(color) }
            .sorted { (all[$0][2], $0) < (all[$1][2], $1) }
        return LoopbackTransport(rank: same.firstIndex(of: rank)!, members: same.map { members[$0] },
                                 group: "\(group)/\(splits):\(color)", hub: hub, timeout: timeout)
    }

    /// Runs `body` once per rank, each on its own thread with its own
    /// transport, and returns the results in rank order. When a rank throws,
    /// the others' waits are cancelled; the error rethrown is the first one
    /// thrown (the cause, not the cancellations it led to).
    public static func run<R>(ranks: Int, _ body: @escaping @Sendable (LoopbackTransport) throws -> R) throws -> [R] {
        precondition(ranks >= 1, "need at least one rank")
        let hub = LoopbackHub(size: ranks)
        let results = ResultBox<R>(count: ranks)
        let done = DispatchGroup()
        for r in 0..<ranks {
            done.enter()
            let thread = Thread {
                let transport = LoopbackTransport(rank: r, hub: hub)
                do {
                    results.set(r, .success(try body(transport)))
                } catch {
                    hub.cancel(failed: r, error: error)
                    results.set(r, .failure(error))
                }
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        if let cause = hub.failure { throw cause.error }
        return try results.values()
    }

    /// The deadline of a wait starting now.
    private var deadline: Date? { timeout.map { Date(timeIntervalSinceNow: $0) } }

    /// Posts to `destination` (a rank of this group) on `channel`.
    private func post(_ bytes: [UInt8], to destination: Int, channel: Int) {
        hub.post(bytes, group: group, from: members[rank], to: members[destination], channel: channel)
    }

    /// The next message from `source` (nil: any member) on `channel`, with
    /// its source as a rank of this group, or nil once `deadline` passes.
    private func take(from source: Int?, channel: Int, deadline: Date?) throws -> (source: Int, bytes: [UInt8])? {
        let sources = source.map { [members[$0]] } ?? members
        guard let (from, bytes) = try hub.take(group: group, from: sources, to: members[rank], channel: channel,
                                               deadline: deadline, rank: rank) else { return nil }
        return (members.firstIndex(of: from)!, bytes)
    }

    private func take(from source: Int, channel: Int, _ operation: String) throws -> [UInt8] {
        guard let message = try take(from: source, channel: channel, deadline: deadline) else {
            throw CollectiveError.timeout(rank: rank, peer: source, seconds: timeout ?? 0, operation: operation)
        }
        return message.bytes
    }

    public func exchange(
        sending outgoing: RawSpan, to destination: Int,
        receiving incoming: inout MutableRawSpan, from source: Int
    ) throws {
        post(outgoing.withUnsafeBytes { Array($0) }, to: destination, channel: LoopbackHub.ring)
        let message = try take(from: source, channel: LoopbackHub.ring, "ring exchange")
        guard message.count == incoming.byteCount else {
            throw CollectiveError.brokenProtocol(
                "rank \(source) sent \(message.count) bytes where \(incoming.byteCount) were expected")
        }
        message.withUnsafeBytes { bytes in incoming.withUnsafeMutableBytes { $0.copyMemory(from: bytes) } }
        count(sent: outgoing.byteCount, received: message.count)
    }

    public func exchangeVariable(
        sending outgoing: RawSpan, to destination: Int,
        receivingFrom source: Int, into incoming: inout [UInt8]
    ) throws -> Int {
        post(outgoing.withUnsafeBytes { Array($0) }, to: destination, channel: LoopbackHub.ring)
        let message = try take(from: source, channel: LoopbackHub.ring, "ring exchange")
        if incoming.count < message.count { incoming = [UInt8](repeating: 0, count: message.count) }
        incoming.withUnsafeMutableBytes { dst in
            message.withUnsafeBytes { src in
                UnsafeMutableRawBufferPointer(rebasing: dst[0..<src.count]).copyMemory(from: src)
            }
        }
        count(sent: outgoing.byteCount, received: message.count)
        return message.count
    }

    /// Every rank's `bytes` to every other rank, then theirs in rank order.
    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        for peer in 0..<size where peer != rank { post(bytes, to: peer, channel: LoopbackHub.collective) }
        return try (0..<size).map { peer in
            peer == rank ? bytes : try take(from: peer, channel: LoopbackHub.collective, "all-gather")
        }
    }

    public func minMax(_ values: [Int]) throws -> [(min: Int, max: Int)] {
        let all = try allGather(values.map { Int64($0) }.withUnsafeBytes { Array($0) })
        var result = values.map { (min: $0, max: $0) }
        for bytes in all {
            let theirs = bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
            guard theirs.count == values.count else {
                throw CollectiveError.invalidArgument("ranks passed different numbers of values to minMax")
            }
            for i in 0..<values.count {
                result[i] = (Swift.min(result[i].min, Int(theirs[i])), Swift.max(result[i].max, Int(theirs[i])))
            }
        }
        return result
    }

    /// Sums in rank order, so every rank gets the same bits.
    public func sum(_ values: inout [Double]) throws {
        let all = try allGather(values.withUnsafeBytes { Array($0) })
        var total = [Double](repeating: 0, count: values.count)
        for bytes in all {
            let theirs = bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
            guard theirs.count == values.count else {
                throw CollectiveError.invalidArgument("ranks passed different numbers of values to sum")
            }
            for i in 0..<total.count { total[i] += theirs[i] }
        }
        values = total
    }

    public func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        guard root != rank else {
            for peer in 0..<size where peer != rank { post(bytes, to: peer, channel: LoopbackHub.collective) }
            return bytes
        }
        return try take(from: root, channel: LoopbackHub.collective, "broadcast")
    }

    public func startSend(_ bytes: [UInt8], to destination: Int, tag: Int) throws -> PendingSend {
        try send(bytes, to: destination, tag: tag)
        return DeliveredSend()
    }

    public func send(_ bytes: [UInt8], to destination: Int, tag: Int) throws {
        guard destination >= 0 && destination < size, tag >= 0 else {
            throw CollectiveError.brokenProtocol("rank \(rank): cannot send to rank \(destination) with tag \(tag) in a group of \(size)")
        }
        post(bytes, to: destination, channel: tag)
    }

    public func receive(from source: Int?, tag: Int, waiting seconds: Double) throws -> (source: Int, bytes: [UInt8])? {
        if let source, !(0..<size).contains(source) {
            throw CollectiveError.brokenProtocol("rank \(rank): cannot receive from rank \(source) in a group of \(size)")
        }
        return try take(from: source, channel: tag, deadline: Date(timeIntervalSinceNow: seconds))
    }

    /// Waits until another rank fails (the others' waits for this one time
    /// out), then throws. A lone rank has no one to notice it: it waits
    /// `timeout`.
    public func stopResponding() throws -> Never {
        guard let cause = hub.waitForFailure(deadline: size == 1 ? deadline : nil) else {
            throw CollectiveError.timeout(rank: rank, peer: nil, seconds: timeout ?? 0, operation: "stopped responding")
        }
        throw CollectiveError.cancelled(rank: rank, failed: cause.rank, message: "\(cause.error)")
    }

    private func count(sent: Int, received: Int) {
        traffic.bytesSent += sent
        traffic.bytesReceived += received
        traffic.messagesSent += 1
        traffic.messagesReceived += 1
    }

    /// A send in one process is delivered when it is posted.
    final class DeliveredSend: PendingSend {
        func test() throws -> Bool { true }
        func wait(timeout: Double?) throws {}
    }

    final class ResultBox<R>: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [Result<R, Error>?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ value: Result<R, Error>) { lock.lock(); slots[i] = value; lock.unlock() }
        func values() throws -> [R] { try slots.map { try $0!.get() } }
    }
}
