import Foundation

/// An in-process ring of `size` ranks joined by mailboxes, one thread per
/// rank, for single-process tests of the collectives. Messages are copied, as
/// on a network.
public final class LoopbackTransport: Transport, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public var traffic = TrafficStats()
    private let hub: Hub

    init(rank: Int, hub: Hub) {
        self.rank = rank
        self.size = hub.size
        self.hub = hub
    }

    /// Runs `body` once per rank, each on its own thread with its own
    /// transport, and returns the results in rank order. Rethrows the first
    /// error any rank threw.
    public static func run<R>(ranks: Int, _ body: @escaping @Sendable (LoopbackTransport) throws -> R) throws -> [R] {
        precondition(ranks >= 1, "need at least one rank")
        let hub = Hub(size: ranks)
        let results = ResultBox<R>(count: ranks)
        let done = DispatchGroup()
        for r in 0..<ranks {
            done.enter()
            let thread = Thread {
                let transport = LoopbackTransport(rank: r, hub: hub)
                do { results.set(r, .success(try body(transport))) } catch { results.set(r, .failure(error)) }
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        return try results.values()
    }

    public func exchange(
        sending outgoing: UnsafeRawBufferPointer, to destination: Int,
        receiving incoming: UnsafeMutableRawBufferPointer, from source: Int
    ) throws {
        hub.post(Array(outgoing.bindMemory(to: UInt8.self)), from: rank, to: destination, channel: 0)
        let message = hub.take(from: source, to: rank, channel: 0)
        guard message.count == incoming.count else {
            throw TransportError(
                "rank \(source) sent \(message.count) bytes where \(incoming.count) were expected")
        }
        message.withUnsafeBytes { incoming.copyMemory(from: $0) }
        count(sent: outgoing.count, received: message.count)
    }

    public func exchangeVariable(
        sending outgoing: UnsafeRawBufferPointer, to destination: Int,
        receivingFrom source: Int, into incoming: inout [UInt8]
    ) throws -> Int {
        hub.post(Array(outgoing.bindMemory(to: UInt8.self)), from: rank, to: destination, channel: 0)
        let message = hub.take(from: source, to: rank, channel: 0)
        if incoming.count < message.count { incoming = [UInt8](repeating: 0, count: message.count) }
        incoming.withUnsafeMutableBytes { dst in
            message.withUnsafeBytes { src in
                UnsafeMutableRawBufferPointer(rebasing: dst[0..<src.count]).copyMemory(from: src)
            }
        }
        count(sent: outgoing.count, received: message.count)
        return message.count
    }

    public func minMax(_ values: [Int]) throws -> [(min: Int, max: Int)] {
        let bytes = values.map { Int64($0) }.withUnsafeBytes { Array($0) }
        for peer in 0..<size where peer != rank { hub.post(bytes, from: rank, to: peer, channel: 1) }
        var result = values.map { (min: $0, max: $0) }
        for peer in 0..<size where peer != rank {
            let theirs = hub.take(from: peer, to: rank, channel: 1).withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
            for i in 0..<values.count {
                result[i] = (Swift.min(result[i].min, Int(theirs[i])), Swift.max(result[i].max, Int(theirs[i])))
            }
        }
        return result
    }

    private func count(sent: Int, received: Int) {
        traffic.bytesSent += sent
        traffic.bytesReceived += received
        traffic.messagesSent += 1
        traffic.messagesReceived += 1
    }

    /// FIFO mailboxes, one per (source, destination, channel).
    final class Hub: @unchecked Sendable {
        let size: Int
        private let condition = NSCondition()
        private var queues: [[[UInt8]]]

        init(size: Int) {
            self.size = size
            queues = Array(repeating: [], count: size * size * 2)
        }

        private func index(_ from: Int, _ to: Int, _ channel: Int) -> Int { (channel * size + from) * size + to }

        func post(_ message: [UInt8], from: Int, to: Int, channel: Int) {
            condition.lock()
            queues[index(from, to, channel)].append(message)
            condition.broadcast()
            condition.unlock()
        }

        func take(from: Int, to: Int, channel: Int) -> [UInt8] {
            condition.lock()
            defer { condition.unlock() }
            let i = index(from, to, channel)
            while queues[i].isEmpty { condition.wait() }
            return queues[i].removeFirst()
        }
    }

    final class ResultBox<R>: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [Result<R, Error>?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ value: Result<R, Error>) { lock.lock(); slots[i] = value; lock.unlock() }
        func values() throws -> [R] { try slots.map { try $0!.get() } }
    }
}
