import Collectives
import Foundation

/// `--trace FILE`: a timeline of every rank's phases in the Chrome Trace
/// Event format (the JSON object form: `{"traceEvents": [...]}`), which
/// Perfetto (ui.perfetto.dev) and `chrome://tracing` open, as Horovod's
/// timeline does.
///
/// Each rank keeps its slices (name, category, start, end on its own
/// monotonic clock) in memory while it runs. At the end `write` (collective)
/// measures each rank's clock offset to rank 0, gathers the slices at rank 0
/// and writes one file atomically: one track ("process") per rank, named
/// "rank R (host)", each slice a complete event (`"ph": "X"`, microseconds
/// since rank 0's first slice), moved onto rank 0's clock.
///
/// Clock offsets: rank 0 and each rank r exchange `pings` round trips; in
/// each, rank 0 notes its clock when it sends (t0) and when the answer
/// arrives (t1), and the answer carries rank r's clock (tr). The round trip
/// with the smallest t1 - t0 gives offset_r = tr - (t0 + t1) / 2, off by at
/// most (t1 - t0) / 2 (NTP's estimate). Offsets and that bound are in the
/// file's metadata (`clock_offsets_s`, `clock_offset_error_s`). On one
/// host every rank reads the same monotonic clock and the offsets are ~0;
/// across hosts they line the ranks up.
public final class Tracer {
    public struct Slice: Sendable {
        public let name: String
        public let category: String
        public let start: Double
        public let end: Double
    }

    public let enabled: Bool
    public private(set) var slices = [Slice]()

    public init(enabled: Bool) {
        self.enabled = enabled
    }

    /// The clock to start a slice with (0 when tracing is off).
    @inline(__always)
    public func now() -> Double { enabled ? monotonicSeconds() : 0 }

    /// Records a slice from `start` to now.
    public func record(_ name: String, _ category: String, from start: Double, to end: Double? = nil) {
        guard enabled else { return }
        slices.append(Slice(name: name, category: category, start: start, end: end ?? monotonicSeconds()))
    }

    /// Runs `body` as one slice.
    public func span<T>(_ name: String, _ category: String, _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        let start = monotonicSeconds()
        defer { record(name, category, from: start) }
        return try body()
    }

    static let pingTag = 9_101
    static let sliceTag = 9_102
    static let pings = 8

    /// Collective over `peers` (every rank calls it, tracing or not, with the
    /// same `path`; a no-op without a path): clock offsets, then every
    /// rank's slices to rank 0, which writes `path` atomically.
    public func write(to path: String?, peers: PeerGroup, timeout: Double) throws {
        guard let path else { return }
        let host = ProcessInfo.processInfo.hostName
        if peers.rank == 0 {
            var offsets = [0.0], errors = [0.0]
            for r in 1..<max(peers.size, 1) {
                var best = (rtt: Double.infinity, offset: 0.0)
                for _ in 0..<Self.pings {
                    let t0 = monotonicSeconds()
                    try peers.send([], to: r, tag: Self.pingTag)
                    guard let (_, answer) = try peers.receive(from: r, tag: Self.pingTag, waiting: timeout), answer.count == 8 else {
                        throw RunSupportError.trace("rank \(r) did not answer the trace's clock ping")
                    }
                    let t1 = monotonicSeconds()
                    let tr = answer.withUnsafeBytes { Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
                    if t1 - t0 < best.rtt { best = (t1 - t0, tr - (t0 + t1) / 2) }
                }
                offsets.append(best.offset)
                errors.append(best.rtt / 2)
            }
            var perRank = [(host: String, slices: [Slice])]()
            perRank.append((host, slices))
            for r in 1..<max(peers.size, 1) {
                guard let (_, bytes) = try peers.receive(from: r, tag: Self.sliceTag, waiting: timeout) else {
                    throw RunSupportError.trace("rank \(r) sent no trace slices within \(Int(timeout)) s")
                }
                perRank.append(try Self.decode(bytes, rank: r))
            }
            let json = Self.chromeTrace(perRank, offsets: offsets, errors: errors)
            try writeAtomically(Array(json.utf8), to: path)
        } else {
            for _ in 0..<Self.pings {
                guard try peers.receive(from: 0, tag: Self.pingTag, waiting: timeout) != nil else {
                    throw RunSupportError.trace("rank 0 sent no trace clock ping within \(Int(timeout)) s")
                }
                try peers.send(withUnsafeBytes(of: monotonicSeconds().bitPattern.littleEndian) { Array($0) }, to: 0, tag: Self.pingTag)
            }
            try peers.send(Self.encode(host: host, slices), to: 0, tag: Self.sliceTag)
        }
    }

    /// A rank's slices on the wire: JSON `{"host": ..., "slices": [[name, category, start, end], ...]}`.
    static func encode(host: String, _ slices: [Slice]) -> [UInt8] {
        let object: [String: Any] = ["host": host, "slices": slices.map { [$0.name, $0.category, $0.start, $0.end] as [Any] }]
        return Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data())
    }

    static func decode(_ bytes: [UInt8], rank: Int) throws -> (host: String, slices: [Slice]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let host = object["host"] as? String, let rows = object["slices"] as? [[Any]] else {
            throw RunSupportError.trace("rank \(rank) sent trace slices that do not decode")
        }
        let slices = try rows.map { row -> Slice in
            guard row.count == 4, let name = row[0] as? String, let category = row[1] as? String,
                  let start = (row[2] as? NSNumber)?.doubleValue, let end = (row[3] as? NSNumber)?.doubleValue else {
                throw RunSupportError.trace("rank \(rank) sent a malformed trace slice")
            }
            return Slice(name: name, category: category, start: start, end: end)
        }
        return (host, slices)
    }

    /// `chromeTrace` from plain tuples (name, start, end), for tests.
    package static func chromeTraceForTesting(_ perRank: [(host: String, slices: [(String, Double, Double)])], offsets: [Double]) -> String {
        chromeTrace(perRank.map { ($0.host, $0.slices.map { Slice(name: $0.0, category: "test", start: $0.1, end: $0.2) }) },
                    offsets: offsets, errors: offsets.map { _ in 0 })
    }

    /// The Chrome Trace Event file: a process per rank, complete events in
    /// microseconds on rank 0's clock from the earliest slice.
    static func chromeTrace(_ perRank: [(host: String, slices: [Slice])], offsets: [Double], errors: [Double]) -> String {
        let origin = perRank.enumerated().compactMap { r, p in p.slices.map(\.start).min().map { $0 - offsets[r] } }.min() ?? 0
        var events = [[String: Any]]()
        for (r, p) in perRank.enumerated() {
            events.append(["ph": "M", "name": "process_name", "pid": r, "tid": 0, "args": ["name": "rank \(r) (\(p.host))"]])
            events.append(["ph": "M", "name": "process_sort_index", "pid": r, "tid": 0, "args": ["sort_index": r]])
            for s in p.slices {
                let ts = ((s.start - offsets[r] - origin) * 1e6 * 1000).rounded() / 1000
                let dur = (max(0, s.end - s.start) * 1e6 * 1000).rounded() / 1000
                events.append(["ph": "X", "name": s.name, "cat": s.category, "pid": r, "tid": 0, "ts": ts, "dur": dur])
            }
        }
        let object: [String: Any] = [
            "traceEvents": events, "displayTimeUnit": "ms",
            "metadata": ["clock_offsets_s": offsets, "clock_offset_error_s": errors, "ranks": perRank.count,
                         "clock": "each rank's monotonic clock, moved onto rank 0's by the offsets"],
        ]
        // Slashes unescaped: Perfetto's JSON importer shows "\/" in a name as two characters.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
