/// The emulated upload link of `--client-bandwidth`: it carries one transfer
/// at a time, in the order they were queued, at `megabitsPerSecond` (no
/// limit when nil). Times are seconds on the caller's clock: training passes
/// the monotonic clock, tests their own.
struct UploadLink {
    let megabitsPerSecond: Double?
    /// When everything queued so far has crossed.
    private(set) var freeAt = -Double.infinity

    init(megabitsPerSecond: Double?) {
        self.megabitsPerSecond = megabitsPerSecond
    }

    /// Seconds `bytes` take on the link alone.
    func seconds(bytes: Int) -> Double {
        linkSeconds(bytes: bytes, megabitsPerSecond: megabitsPerSecond)
    }

    /// Queues `bytes` at time `now` and returns when they have crossed: they
    /// start once everything queued before them has (or now, if later).
    mutating func send(bytes: Int, at now: Double) -> Double {
        let end = max(now, freeAt) + seconds(bytes: bytes)
        freeAt = end
        return end
    }
}
