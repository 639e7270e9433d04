import Foundation

/// The mailboxes of a `LoopbackTransport` group: one FIFO queue per
/// (source, destination, channel). Channels at or above 0 are the tags of
/// point-to-point messages; the ring and the collectives have their own.
/// Once a rank fails, every wait throws.
final class LoopbackHub: @unchecked Sendable {
    static let ring = -1
    static let collective = -2

    let size: Int
    private let condition = NSCondition()
    private var queues: [Key: [(order: Int, bytes: [UInt8])]] = [:]
    private var posted = 0
    /// The first rank that failed, and its error.
    private var cause: (rank: Int, error: Error)?

    private struct Key: Hashable {
        let from: Int, to: Int, channel: Int
    }

    init(size: Int) {
        self.size = size
    }

    func post(_ bytes: [UInt8], from: Int, to: Int, channel: Int) {
        condition.lock()
        queues[Key(from: from, to: to, channel: channel), default: []].append((posted, bytes))
        posted += 1
        condition.broadcast()
        condition.unlock()
    }

    /// The oldest message to `to` on `channel` from `from` (nil: from any
    /// rank, the earliest posted first), or nil once `deadline` passes
    /// (nil: no deadline). Throws `CollectiveError.cancelled` once a rank failed.
    func take(from: Int?, to: Int, channel: Int, deadline: Date?) throws -> (source: Int, bytes: [UInt8])? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let cause { throw CollectiveError.cancelled(rank: to, failed: cause.rank, message: "\(cause.error)") }
            let sources = from.map { [$0] } ?? Array(0..<size)
            let ready = sources.filter { queues[Key(from: $0, to: to, channel: channel)]?.isEmpty == false }
            if let source = ready.min(by: { queues[Key(from: $0, to: to, channel: channel)]![0].order
                                            < queues[Key(from: $1, to: to, channel: channel)]![0].order }) {
                return (source, queues[Key(from: source, to: to, channel: channel)]!.removeFirst().bytes)
            }
            if let deadline {
                if !condition.wait(until: deadline) && Date() >= deadline { return nil }
            } else {
                condition.wait()
            }
        }
    }

    /// Records that rank `failed` threw `error` (the first call wins) and
    /// wakes every wait, which then throws.
    func cancel(failed: Int, error: Error) {
        condition.lock()
        if cause == nil { cause = (failed, error) }
        condition.broadcast()
        condition.unlock()
    }

    /// The first failure, if any.
    var failure: (rank: Int, error: Error)? {
        condition.lock()
        defer { condition.unlock() }
        return cause
    }

    /// Blocks until some rank has failed and returns that failure, or nil
    /// once `deadline` passes (nil: no deadline).
    func waitForFailure(deadline: Date?) -> (rank: Int, error: Error)? {
        condition.lock()
        defer { condition.unlock() }
        while cause == nil {
            if let deadline {
                if !condition.wait(until: deadline) && Date() >= deadline { return cause }
            } else {
                condition.wait()
            }
        }
        return cause
    }
}
