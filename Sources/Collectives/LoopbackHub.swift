import Foundation

/// The mailboxes of a `LoopbackTransport` group and of every sub-group split
/// from it: one FIFO queue per (group, source, destination, channel), with
/// source and destination as ranks of the whole group (the hub's ranks).
/// Channels at or above 0 are the tags of point-to-point messages; the ring
/// and the collectives have their own. The group's identity keeps sibling
/// sub-groups' messages apart. Once a rank fails, every wait of every group
/// throws.
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
        let group: String, from: Int, to: Int, channel: Int
    }

    init(size: Int) {
        self.size = size
    }

    func post(_ bytes: [UInt8], group: String, from: Int, to: Int, channel: Int) {
        condition.lock()
        queues[Key(group: group, from: from, to: to, channel: channel), default: []].append((posted, bytes))
        posted += 1
        condition.broadcast()
        condition.unlock()
    }

    /// The oldest message of `group` to `to` on `channel` from one of
    /// `sources` (the earliest posted first), or nil once `deadline` passes
    /// (nil: no deadline). Throws `CollectiveError.cancelled` once a rank
    /// failed; `rank` is the waiting rank as its group numbers it.
    func take(group: String, from sources: [Int], to: Int, channel: Int, deadline: Date?, rank: Int) throws
        -> (source: Int, bytes: [UInt8])?
    {
        condition.lock()
        defer { condition.unlock() }
        func key(_ source: Int) -> Key { Key(group: group, from: source, to: to, channel: channel) }
        while true {
            if let cause { throw CollectiveError.cancelled(rank: rank, failed: cause.rank, message: "\(cause.error)") }
            let ready = sources.filter { queues[key($0)]?.isEmpty == false }
            if let source = ready.min(by: { queues[key($0)]![0].order < queues[key($1)]![0].order }) {
                return (source, queues[key(source)]!.removeFirst().bytes)
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
