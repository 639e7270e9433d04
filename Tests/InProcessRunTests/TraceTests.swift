import Collectives
import Federated
import Foundation
import RunSupport
import Compression
import Training
import XCTest

/// `--trace FILE`: every rank's phases, gathered by rank 0 into one Chrome
/// Trace Event file.
final class TraceTests: XCTestCase {
    func events(_ path: String) throws -> (all: [[String: Any]], metadata: [String: Any]) {
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path), "the trace was written")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (try XCTUnwrap(object["traceEvents"] as? [[String: Any]]), try XCTUnwrap(object["metadata"] as? [String: Any]))
    }

    /// The names of the complete events on each rank's track.
    func slices(_ all: [[String: Any]]) -> [Int: [String]] {
        Dictionary(grouping: all.filter { $0["ph"] as? String == "X" }, by: { $0["pid"] as! Int }).mapValues { $0.map { $0["name"] as! String } }
    }

    /// Data-parallel runs with Group-TopK on 1, 2, 4 and 5 ranks: every rank
    /// has a track named by rank and host, with forward/backward, compress
    /// and each of the ring's 2 (N - 1) steps every step; every event is
    /// well formed; the clock offsets of threads of one process are within
    /// their error bound.
    func testATrainingRunTracesEveryRanksPhases() throws {
        for ranks in [1, 2, 4, 5] {
            try traceEveryRanksPhases(ranks: ranks)
        }
    }

    func traceEveryRanksPhases(ranks: Int) throws {
        let path = NSTemporaryDirectory() + "trace-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var c = TrainConfig()
        c.data = .synthetic(trainCount: 400, testCount: 100)
        c.hidden = [16]
        c.epochs = 1
        c.batch = 16
        c.evalBatch = 100
        c.json = true
        c.tracePath = path
        let config = c
        let steps = try LoopbackTransport.run(ranks: ranks) { try DataParallelTrainer(config: config, peers: $0).run().figures.steps }
        let (all, metadata) = try events(path)
        let names = all.filter { $0["ph"] as? String == "M" && $0["name"] as? String == "process_name" }
            .map { ($0["pid"] as! Int, ($0["args"] as! [String: Any])["name"] as! String) }.sorted { $0.0 < $1.0 }
        XCTAssertEqual(names.map(\.0), Array(0..<ranks))
        XCTAssertTrue(names.allSatisfy { $0.1.hasPrefix("rank \($0.0) (") }, "\(names)")
        let perRank = slices(all)
        // N - 1 reduce-scatter and N - 1 all-gather steps a step (none on one rank).
        let ringSteps = (1..<max(ranks, 1)).flatMap { ["reduce-scatter \($0)", "all-gather \($0)"] }
        for r in 0..<ranks {
            let mine = try XCTUnwrap(perRank[r], "rank \(r) of \(ranks)")
            for name in ["forward/backward", "compress", "sgd step"] + ringSteps {
                XCTAssertEqual(mine.filter { $0 == name }.count, steps[r], "\(ranks) ranks, rank \(r): \(name) once a step")
            }
            XCTAssertFalse(mine.contains("reduce-scatter \(ranks)"), "\(ranks - 1) steps on \(ranks) ranks")
        }
        for e in all where e["ph"] as? String == "X" {
            let ts = try XCTUnwrap(e["ts"] as? Double), dur = try XCTUnwrap(e["dur"] as? Double)
            XCTAssertGreaterThanOrEqual(ts, 0)
            XCTAssertGreaterThanOrEqual(dur, 0)
            XCTAssertNotNil(e["cat"] as? String)
            XCTAssertEqual(e["tid"] as? Int, 0)
        }
        let offsets = try XCTUnwrap(metadata["clock_offsets_s"] as? [Double]), errors = try XCTUnwrap(metadata["clock_offset_error_s"] as? [Double])
        XCTAssertEqual(offsets.count, ranks)
        // One process, one clock: the true offset is 0, so each estimate is within its bound.
        for r in 0..<ranks { XCTAssertLessThanOrEqual(abs(offsets[r]), errors[r] + 1e-9, "rank \(r)") }
    }

    /// Offsets move every rank onto rank 0's clock: slices recorded at the
    /// same instant on clocks 5 s and -2 s apart land on the same `ts`.
    func testOffsetsLineTheRanksUp() throws {
        let json = Tracer.chromeTraceForTesting(
            [("a", [("x", 10.0, 10.5)]), ("b", [("x", 15.0, 15.25)]), ("c", [("forward/backward", 8.0, 8.1)])], offsets: [0, 5, -2])
        XCTAssertTrue(json.contains("\"forward/backward\""), "a slash written as is: Perfetto shows \\/ as two characters")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let x = (object["traceEvents"] as! [[String: Any]]).filter { $0["ph"] as? String == "X" }
        XCTAssertEqual(x.map { $0["ts"] as! Double }, [0, 0, 0])
        XCTAssertEqual(x.map { $0["dur"] as! Double }, [500_000, 250_000, 100_000], "microseconds")
    }

    /// A federated run of 3 virtual clients on 2 executors: the
    /// coordinator's rounds and each client's training and upload.
    func testAFederatedRunTracesTheCoordinatorAndTheClients() throws {
        let path = NSTemporaryDirectory() + "trace-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var c = FederatedConfig()
        c.data = .synthetic(trainCount: 240, testCount: 60)
        c.hidden = [8]
        c.rounds = 2
        c.batch = 8
        c.localSteps = 2
        c.virtualClients = 3
        c.evalBatch = 60
        c.json = true
        c.tracePath = path
        let config = c
        _ = try LoopbackTransport.run(ranks: 3) { try runFederated(config: config, peers: $0) }
        let perRank = slices(try events(path).all)
        XCTAssertEqual(Set(perRank.keys), [0, 1, 2])
        for round in 1...2 {
            for name in ["send models", "wait for updates", "aggregate"] {
                XCTAssertTrue(perRank[0]!.contains("round \(round): \(name)"), "round \(round): \(name)")
            }
        }
        let clientSlices = perRank[1]! + perRank[2]!
        for client in 1...3 {
            XCTAssertEqual(clientSlices.filter { $0.hasSuffix("client \(client): train") }.count, 2, "client \(client) trains each round")
            XCTAssertEqual(clientSlices.filter { $0.hasSuffix("client \(client): upload") }.count, 2)
        }
        XCTAssertTrue(perRank[1]!.contains("wait for the coordinator"))
    }

    /// The codec and PowerSGD exchanges report their compression in parts
    /// (encode before the collective, decode after; PowerSGD around each
    /// ring): their compress slices sit between the ring steps, never over
    /// them, so every track nests, as the viewers require.
    func testCompressSlicesOfEveryExchangeNestWithTheRingSteps() throws {
        for method in [CompressionMethod.fp16, .sign, .powerSGD, .groupTopK] {
            let path = NSTemporaryDirectory() + "trace-\(UUID().uuidString).json"
            defer { try? FileManager.default.removeItem(atPath: path) }
            var c = TrainConfig()
            c.data = .synthetic(trainCount: 200, testCount: 50)
            c.hidden = [16]
            c.epochs = 1
            c.batch = 16
            c.evalBatch = 50
            c.json = true
            c.compression!.method = method
            c.compression!.momentum = .optimizer
            c.tracePath = path
            let config = c
            _ = try LoopbackTransport.run(ranks: 3) { try DataParallelTrainer(config: config, peers: $0).run() }
            let perRank = Dictionary(grouping: try events(path).all.filter { $0["ph"] as? String == "X" }, by: { $0["pid"] as! Int })
            for (rank, slices) in perRank {
                let spans = slices.map { (start: $0["ts"] as! Double, end: ($0["ts"] as! Double) + ($0["dur"] as! Double), name: $0["name"] as! String) }
                    .sorted { ($0.start, -$0.end) < ($1.start, -$1.end) }
                XCTAssertTrue(spans.contains { $0.name == "compress" }, "\(method.rawValue) rank \(rank)")
                var open = [(start: Double, end: Double, name: String)]()
                for s in spans {
                    while let top = open.last, s.start >= top.end - 1e-3 { open.removeLast() }
                    if let top = open.last {
                        XCTAssertLessThanOrEqual(s.end, top.end + 1e-3, "\(method.rawValue) rank \(rank): \(s.name) overlaps \(top.name)")
                    }
                    open.append(s)
                }
            }
        }
    }
}
