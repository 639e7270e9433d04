import Foundation
@testable import Report
import XCTest

final class ReportTests: XCTestCase {
    // MARK: synthetic runs

    func jsonl(_ records: [[String: Any]]) -> [UInt8] {
        Array(records.map { String(decoding: try! JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) + "\n" }
            .joined().utf8)
    }

    /// A train run's eval records (cumulative bytes) and final record.
    func trainRecords(steps: Int, every: Int = 1, seed: Double = 0) -> [[String: Any]] {
        var out = [[String: Any]]()
        for s in stride(from: every, through: steps, by: every) {
            let t = Double(s)
            out.append(["event": "eval", "epoch": 1 + s / 1000, "step": s, "wall_s": 0.37 * t + 0.01 * sin(t),
                        "test_accuracy": 0.1 + 0.8 * (1 - exp(-t / 300)) + 0.01 * sin(t * 1.7 + seed),
                        "test_loss": 2.3 * exp(-t / 400) + 0.3, "bytes_sent": 40_960 * s])
        }
        out.append(["event": "final", "model": "mlp", "ranks": 4, "seed": 1, "compression": "group-topk", "ratio": 0.01,
                    "samples_per_s": 1000.5, "test_accuracy": 0.85, "test_loss": 0.41, "wall_s": 37.1, "steps": steps,
                    "bytes_sent": 40_960 * steps, "model_sha256": "ab12cd34ef56ab12cd34ef56"])
        return out
    }

    /// A federated run: `clients` entries a round, one of them dropped every 7th round.
    func federatedRecords(rounds: Int, clients: Int, virtual: Bool = false) -> [[String: Any]] {
        var out = [[String: Any]]()
        for r in 1...rounds {
            var entries = [[String: Any]]()
            for c in 1...clients {
                if r % 7 == 0 && c == 2 {
                    entries.append(["rank": c, "dropped": true, "staleness": 0])
                    continue
                }
                var e: [String: Any] = ["rank": c, "dropped": false, "staleness": 0, "steps": 10, "compute_s": 0.1 * Double(c),
                                        "wait_s": c == 3 ? 0.3 : 0.0, "upload_s": 0.05, "round_s": 0.2 * Double(c) + 0.1,
                                        "bytes_up": 1000, "bytes_down": 1000, "seconds_per_step": 0.01, "loss_change": 0.1]
                if virtual {
                    e["client"] = c
                    e["emulated_s"] = 0.2 * Double(c) + 0.4
                }
                if c == 1 && r % 5 == 0 {
                    e["stopped_early"] = true
                    e["stop_iteration"] = 6
                    e["planned_steps"] = 10
                    e["layers_sent_early"] = ["fc1"]
                }
                entries.append(e)
            }
            var record: [String: Any] = [
                "event": "round", "round": r, "wall_s": 1.5 * Double(r), "test_accuracy": 0.5 + 0.4 * Double(r) / Double(rounds),
                "test_loss": 1.2 - 0.5 * Double(r) / Double(rounds), "bytes_up_total": 5000 * r, "bytes_down_total": 5000 * r,
                "round_s": 1.4, "idle_s": 0.6, "clients": entries, "participants": entries.count, "dropped": 0]
            if virtual { record["emulated_round_s"] = 0.2 * Double(clients) + 0.4 }
            out.append(record)
        }
        out.append(["event": "final", "mode": "sync", "model": "mlp", "clients": clients, "rounds": rounds, "versions": rounds,
                    "test_accuracy": 0.9, "test_loss": 0.7, "wall_s": 1.5 * Double(rounds), "bytes_up": 5000 * rounds,
                    "bytes_down": 5000 * rounds, "model_sha256": "ffee"])
        return out
    }

    // MARK: the numbers in the picture are the numbers in the data

    /// The (x, y) data points of every polyline of `svg`, mapped back from
    /// pixels through the first and last tick of each axis, by series name.
    func curves(in svg: String) throws -> [String: [(x: Double, y: Double)]] {
        func ticks(_ cls: String, coordinate: String) throws -> [(px: Double, value: Double)] {
            let re = try NSRegularExpression(pattern: "<g class=\"\(cls)\"><line [^>]*?\(coordinate)1=\"([-0-9.]+)\"[^>]*/><text[^>]*>([^<]+)</text></g>")
            return re.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)).map {
                (Double(svg[Range($0.range(at: 1), in: svg)!])!, SVG.value(ofLabel: String(svg[Range($0.range(at: 2), in: svg)!]))!)
            }
        }
        let xt = try ticks("xtick", coordinate: "x"), yt = try ticks("ytick", coordinate: "y")
        guard let x0 = xt.first, let x1 = xt.last, let y0 = yt.first, let y1 = yt.last else { return [:] }
        let lines = try NSRegularExpression(pattern: "<polyline class=\"series\" data-series=\"([^\"]*)\"[^>]* points=\"([^\"]*)\"/>")
        var out = [String: [(x: Double, y: Double)]]()
        for m in lines.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)) {
            let name = String(svg[Range(m.range(at: 1), in: svg)!])
            out[name] = svg[Range(m.range(at: 2), in: svg)!].split(separator: " ").map { pair in
                let p = pair.split(separator: ",").map { Double($0)! }
                return (x0.value + (p[0] - x0.px) / (x1.px - x0.px) * (x1.value - x0.value),
                        y0.value + (p[1] - y0.px) / (y1.px - y0.px) * (y1.value - y0.value))
            }
        }
        return out
    }

    /// Pixels carry two decimals: a point is off by at most 0.005 px on
    /// each axis, and each tick's pixel by as much, so a value read back is
    /// within 0.015 px of data-per-pixel (plus Float64 rounding).
    func assertSame(_ drawn: [(x: Double, y: Double)], _ data: [(x: Double, y: Double)], xPerPx: Double, yPerPx: Double,
                    _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(drawn.count, data.count, message, file: file, line: line)
        for (d, v) in zip(drawn, data) {
            XCTAssertEqual(d.x, v.x, accuracy: 0.015 * xPerPx + 1e-9 * abs(v.x), message, file: file, line: line)
            XCTAssertEqual(d.y, v.y, accuracy: 0.015 * yPerPx + 1e-9 * abs(v.y), message, file: file, line: line)
        }
    }

    func testTrainCurvesMapBackToTheRecords() throws {
        let a = try MetricsFile(path: "a.jsonl", bytes: jsonl(trainRecords(steps: 400, every: 20)))
        var bRecords = trainRecords(steps: 300, every: 30, seed: 1)
        bRecords[bRecords.count - 1]["compression"] = "none"
        let b = try MetricsFile(path: "b.jsonl", bytes: jsonl(bRecords))
        let report = Report(runs: [a, b])
        let figures = Dictionary(uniqueKeysWithValues: report.figures().map { ($0.figure.id, $0.figure) })
        for (id, xKey, yKey) in [("train-accuracy-progress", "step", "test_accuracy"), ("train-loss-progress", "step", "test_loss"),
                                 ("train-accuracy-wall", "wall_s", "test_accuracy"), ("train-accuracy-bytes", "bytes_sent", "test_accuracy")] {
            let svg = try XCTUnwrap(figures[id]?.svg, id)
            let drawn = try curves(in: svg)
            XCTAssertEqual(Set(drawn.keys), ["a (compression=group-topk)", "b (compression=none)"], "legend names the differing setting")
            for (name, run) in [("a (compression=group-topk)", a), ("b (compression=none)", b)] {
                let data = run.events("eval").map { ($0.number(xKey)!, $0.number(yKey)!) }
                let all = [a, b].flatMap { $0.events("eval") }
                let xs = all.map { $0.number(xKey)! }, ys = all.map { $0.number(yKey)! }
                // Axes span at most twice the data range (1-2-5 ticks), over 630 x 220 pixels.
                let xPerPx = 2 * (xs.max()! - xs.min()!) / 630, yPerPx = 2 * (ys.max()! - ys.min()!) / 220
                assertSame(try XCTUnwrap(drawn[name]), data, xPerPx: xPerPx, yPerPx: yPerPx, "\(id) \(name)")
            }
        }
    }

    /// Runs whose files are alike are told apart by their directories (a
    /// file given twice by a count), and no two figures share an id (a
    /// file name under --svg), also when names differ only in what ids drop.
    func testRunsWithAlikeFileNamesGetDistinctNamesAndFigureIds() throws {
        func names(_ paths: [String]) -> [String] { Report.distinctNames(paths, dropping: "jsonl") }
        XCTAssertEqual(names(["x/a/metrics.jsonl", "y/a/metrics.jsonl", "z/run.jsonl", "/r/z/run2.jsonl"]),
                       ["x/a/metrics", "y/a/metrics", "run", "run2"])
        XCTAssertEqual(names(["/runs/m.jsonl", "m.jsonl", "/runs/m.jsonl"]), ["runs/m", "m", "runs/m (2)"])
        XCTAssertEqual(names(["a/1/m.jsonl", "b/1/m.jsonl", "c/2/m.jsonl"]), ["a/1/m", "b/1/m", "2/m"])
        // Only .jsonl is dropped; a path and the same path spelled with ./ are one file; a count never repeats a name.
        XCTAssertEqual(names(["/tmp/tmp.abc", "/tmp/tmp.def", "lr-0.1.jsonl", "lr-0.5.jsonl"]), ["tmp.abc", "tmp.def", "lr-0.1", "lr-0.5"])
        XCTAssertEqual(names(["m.jsonl", "./m.jsonl"]), ["m", "m (2)"])
        XCTAssertEqual(names(["m.jsonl", "m.jsonl", "m (2).jsonl"]), ["m", "m (3)", "m (2)"])
        var rows = trainRecords(steps: 100, every: 20)
        rows.insert(["event": "epoch", "epoch": 1, "compute_s": 1.0, "compress_s": 0.1, "communicate_s": 0.2, "epoch_s": 1.5], at: rows.count - 1)
        let records = jsonl(rows)
        let runs = try ["x/a/metrics.jsonl", "y/a/metrics.jsonl", "run 1.jsonl", "run-1.jsonl"].map { try MetricsFile(path: $0, bytes: records) }
        let report = Report(runs: runs)
        XCTAssertEqual(report.runs.map(\.name), ["x/a/metrics", "y/a/metrics", "run 1", "run-1"])
        let ids = report.figures().map(\.figure.id)
        XCTAssertEqual(ids.count, Set(ids).count, "figure ids are distinct: \(ids)")
        XCTAssertEqual(ids.filter { $0.hasPrefix("train-time-") }.count, 4, "one time breakdown per run")
        XCTAssertTrue(ids.contains("train-time-run-1") && ids.contains("train-time-run-1-2"), "\(ids)")
        let legend = try curves(in: try XCTUnwrap(report.figures().first { $0.figure.id == "train-accuracy-progress" }?.figure.svg))
        XCTAssertEqual(Set(legend.keys), ["x/a/metrics", "y/a/metrics", "run 1", "run-1"])
    }

    func testFederatedAndCloudEdgeCurvesMapBack() throws {
        let fed = try MetricsFile(path: "fed.jsonl", bytes: jsonl(federatedRecords(rounds: 30, clients: 4)))
        XCTAssertEqual(fed.command, .federated)
        let fig = try XCTUnwrap(Report(runs: [fed]).figures().first { $0.figure.id == "federated-accuracy-bytes" }).figure
        let drawn = try XCTUnwrap(curves(in: fig.svg)["fed"])
        let data = fed.events("round").map { ($0.number("bytes_up_total")! + $0.number("bytes_down_total")!, $0.number("test_accuracy")!) }
        assertSame(drawn, data, xPerPx: 2 * 300_000 / 630, yPerPx: 2 * 0.4 / 220, "federated bytes")

        var rounds = [[String: Any]]()
        for r in 1...12 {
            rounds.append(["event": "round", "round": r, "wall_s": Double(r), "test_accuracy": 0.3 + 0.05 * Double(r), "test_loss": 1.0,
                           "cloud_test_accuracy": 0.2 + 0.06 * Double(r), "cloud_test_loss": 1.1, "device_edge_up_bytes": 1000 * r,
                           "front_upload_bytes": 500, "device_rss_peak_bytes": 1 << 30])
        }
        let ce = try MetricsFile(path: "ce.jsonl", bytes: jsonl(rounds))
        XCTAssertEqual(ce.command, .cloudEdge)
        let figures = Report(runs: [ce]).figures().map(\.figure)
        let acc = try curves(in: try XCTUnwrap(figures.first { $0.id == "cloud-edge-accuracy-bytes" }).svg)
        // Bytes: the running sum of the round's link keys; peak memory is not traffic.
        var total = 0.0
        let xs = rounds.map { r -> Double in total += Double(r["device_edge_up_bytes"] as! Int + 500); return total }
        assertSame(try XCTUnwrap(acc["ce cloud model"]), zip(xs, rounds).map { ($0, $1["cloud_test_accuracy"] as! Double) },
                   xPerPx: 2 * xs.last! / 630, yPerPx: 2 * 0.66 / 220, "cloud model")
        assertSame(try XCTUnwrap(acc["ce edge model"]), zip(xs, rounds).map { ($0, $1["test_accuracy"] as! Double) },
                   xPerPx: 2 * xs.last! / 630, yPerPx: 2 * 0.66 / 220, "edge model")
        XCTAssertTrue(figures.contains { $0.id == "cloud-edge-bytes-ce" }, "bytes per tier")
    }

    // MARK: thinning

    /// 10,000 points with spikes thinned for 650 columns: at most 4 a
    /// column, and every column keeps its data's lowest and highest value.
    func testThinningKeepsEachColumnsExtremes() {
        func y(_ k: Int) -> Double {
            if k % 997 == 0 { return 5 }
            if k % 1_301 == 0 { return -5 }
            return sin(Double(k) / 50)
        }
        let points: [(x: Double, y: Double)] = (0..<10_000).map { (Double($0), y($0)) }
        let columns = 650
        let kept = thinned(points, columns: columns)
        XCTAssertLessThanOrEqual(kept.count, 4 * columns)
        XCTAssertEqual(kept.first?.x, 0)
        XCTAssertEqual(kept.last?.x, 9_999)
        func bucket(_ x: Double) -> Int { min(columns - 1, Int(Double(columns) * x / 9_999)) }
        let all = Dictionary(grouping: points, by: { bucket($0.x) })
        let some = Dictionary(grouping: kept, by: { bucket($0.x) })
        XCTAssertEqual(Set(all.keys), Set(some.keys))
        for (b, ps) in all {
            let keptYs: [Double] = some[b]!.map { $0.y }, dataYs: [Double] = ps.map { $0.y }
            XCTAssertEqual(keptYs.min(), dataYs.min(), "column \(b)")
            XCTAssertEqual(keptYs.max(), dataYs.max(), "column \(b)")
        }
        let spikes = points.filter { $0.y == 5 }.count
        XCTAssertEqual(kept.filter { $0.y == 5 }.count, spikes, "every spike survives")
        XCTAssertEqual(thinned(Array(points.prefix(100)), columns: columns).count, 100, "short curves stay whole")
    }

    // MARK: the federated timeline

    func testTheTimelineHasARowPerClientPerRoundWithItsMarks() throws {
        let fed = try MetricsFile(path: "v.jsonl", bytes: jsonl(federatedRecords(rounds: 10, clients: 3, virtual: true)))
        let gantt = FederatedGantt(title: "t", rounds: fed.events("round"))
        let (svg, caption) = gantt.svg()
        XCTAssertEqual(caption, "", "10 rounds x 3 clients fit")
        let rows = try NSRegularExpression(pattern: "class=\"gantt-row\" data-row=\"([^\"]+)\"")
            .matches(in: svg, range: NSRange(svg.startIndex..., in: svg)).map { String(svg[Range($0.range(at: 1), in: svg)!]) }
        XCTAssertEqual(rows.count, 30)
        XCTAssertEqual(rows.prefix(3), ["r1 client 1", "r1 client 2", "r1 client 3"])
        XCTAssertTrue(svg.contains("emulated seconds since the round's start"))
        XCTAssertTrue(svg.contains(">dropped: missed the round</text>"), "round 7's client 2")
        XCTAssertTrue(svg.contains(">stopped early at step 6; sent early: fc1</text>"), "rounds 5 and 10, client 1")
        // Client 3 of a virtual round: download 0.2 (emulated 1.0 - compute 0.3 - wait 0.3 - upload 0.05 = 0.35), in kind order.
        let kinds = try NSRegularExpression(pattern: "data-kind=\"([^\"]+)\"><title>[^<]* ([0-9.e-]+) s</title>")
        let row3 = svg.components(separatedBy: "data-row=\"r1 client 3\"")[1].components(separatedBy: "</g>")[0]
        let segments = kinds.matches(in: row3, range: NSRange(row3.startIndex..., in: row3)).map {
            (String(row3[Range($0.range(at: 1), in: row3)!]), Double(row3[Range($0.range(at: 2), in: row3)!])!)
        }
        XCTAssertEqual(segments.map(\.0), ["other (download, queue)", "compute", "slowdown (wait_s)", "upload"])
        XCTAssertEqual(segments.map(\.1).reduce(0, +), 1.0, accuracy: 4e-4, "the segments add up to emulated_s (4 cells of 4 digits)")
    }

    func testALongRunsTimelineShowsTheFirstLastAndSlowestRounds() throws {
        var records = federatedRecords(rounds: 400, clients: 10)
        records[222]["round_s"] = 99.0
        let fed = try MetricsFile(path: "long.jsonl", bytes: jsonl(records))
        let gantt = FederatedGantt(title: "t", rounds: fed.events("round"))
        let shown = gantt.shownRounds()
        XCTAssertEqual(shown.count, 60)
        XCTAssertTrue(shown.contains(0) && shown.contains(399), "first and last")
        XCTAssertTrue(shown.contains(222), "the slowest round")
        XCTAssertTrue(gantt.svg().caption.hasPrefix("60 of 400 rounds shown"))
    }

    // MARK: bad input

    func testBadInputGetsOneLineNamingTheFileAndLine() throws {
        let good = jsonl(trainRecords(steps: 3))
        func problem(_ bytes: [UInt8]) -> String {
            do { _ = try MetricsFile(path: "m.jsonl", bytes: bytes); return "none" } catch { return "\(error)" }
        }
        // A killed run's last line: left out with a warning, the rest reported.
        let cut = try MetricsFile(path: "m.jsonl", bytes: good + Array("{\"event\":\"eval\",\"st".utf8))
        XCTAssertEqual(cut.records.count, 4)
        XCTAssertEqual(cut.warnings, ["m.jsonl:5: the last line is cut short (the run was killed or is still writing); left out"])
        XCTAssertEqual(problem(Array("{\"event\":\"eval\",\"step\":1}\n{oops\n".utf8) + good), "m.jsonl:2: not JSON: {oops")
        XCTAssertEqual(problem(Array("{\"name\":\"ring\",\"wall_s\":1}\n".utf8)),
                       "m.jsonl:1: not a metrics record of train, federated or cloud-edge (no \"event\" key; `edgetrain bench` output?)")
        XCTAssertEqual(problem(good + jsonl([federatedRecords(rounds: 1, clients: 1)[0]])), "m.jsonl:5: a federated record in a train metrics file")
        XCTAssertEqual(problem(Array("[1,2]\n".utf8)), "m.jsonl:1: not a JSON object")
        XCTAssertEqual(problem(Array("{\"event\":\"step\"}\n".utf8)), "m.jsonl:1: unknown record \"step\" (expected eval, epoch, round or final)")
        XCTAssertEqual(problem([]), "m.jsonl: no metrics records (an empty file, or the run wrote none yet)")
        XCTAssertThrowsError(try MetricsFile(path: "/nonexistent/m.jsonl")) {
            XCTAssertEqual("\($0)", "/nonexistent/m.jsonl: cannot read: no such file")
        }
    }

    func testARunInProgressIsReportedFromWhatExists() throws {
        var records = federatedRecords(rounds: 5, clients: 2)
        records.removeLast()
        let run = try MetricsFile(path: "live.jsonl", bytes: jsonl(records))
        XCTAssertNil(run.final)
        XCTAssertEqual(run.records.count, 5)
        let html = Report(runs: [run]).html(title: "t")
        XCTAssertTrue(html.contains("no final record: in progress or killed"))
        let finished = Report(runs: [try MetricsFile(path: "done.jsonl", bytes: jsonl(federatedRecords(rounds: 1, clients: 1)))]).html(title: "t")
        XCTAssertTrue(finished.contains("<tr><td><code>clients</code></td><td>1</td></tr>"), "a 1 is a number, not true")
        XCTAssertEqual(try curves(in: try XCTUnwrap(Report(runs: [run]).figures().first { $0.figure.id == "federated-accuracy-progress" }).figure.svg)["live"]?.count, 5)
    }

    // MARK: the page

    /// A 10,000-step train run and a 1,000-round federated run of 10
    /// clients make a page under 5 MB, with no script and nothing fetched.
    func testLargeRunsMakeASmallSelfContainedPage() throws {
        let train = try MetricsFile(path: "long-train.jsonl", bytes: jsonl(trainRecords(steps: 10_000)))
        let fed = try MetricsFile(path: "long-fed.jsonl", bytes: jsonl(federatedRecords(rounds: 1_000, clients: 10)))
        let html = Report(runs: [train, fed]).html(title: "large")
        XCTAssertLessThan(html.utf8.count, 5 << 20)
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("src="))
        XCTAssertFalse(html.contains("href="))
        XCTAssertEqual(html.components(separatedBy: "http").count - 1, html.components(separatedBy: "<svg xmlns=\"http://www.w3.org/2000/svg\"").count - 1,
                       "the only URLs are SVG's namespace, which is never fetched")
        XCTAssertTrue(html.contains("<figure id=\"federated-timeline-long-fed\">"))
        XCTAssertTrue(html.contains("<figure id=\"train-time-long-train\">") == false, "eval records only: no epoch breakdown")
    }

    func testTickLabelsReadBack() {
        for (v, step) in [(0.85, 0.05), (120_000.0, 20_000.0), (3e9, 1e9), (-0.2, 0.1), (0.0, 0.5), (12.0, 2.0)] {
            XCTAssertEqual(SVG.value(ofLabel: SVG.label(v, step: step))!, v, accuracy: 1e-9 * max(1, abs(v)), "\(v)")
        }
        XCTAssertEqual(SVG.ticks(0.12, 0.87).values, [0, 0.2, 0.4, 0.6, 0.8, 1], accuracy: 1e-12)
        XCTAssertEqual(SVG.ticks(3, 1_000_003).step, 200_000)
    }
}

func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}

final class TraceTimelineTests: XCTestCase {
    func write(_ object: [String: Any]) throws -> String {
        let path = NSTemporaryDirectory() + "t-\(UUID().uuidString).json"
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Two ranks, 10,000 alternating compute/communicate slices each: one
    /// row per rank, at most one rectangle per pixel column; zoomed into the
    /// first 100 microseconds every slice is its own rectangle, in order.
    func testRowsPerRankThinnedByPixelColumn() throws {
        var events: [[String: Any]] = [["ph": "M", "name": "process_name", "pid": 0, "tid": 0, "args": ["name": "rank 0 (a)"]],
                                       ["ph": "M", "name": "process_name", "pid": 1, "tid": 0, "args": ["name": "rank 1 (b)"]]]
        for pid in 0...1 {
            for k in 0..<10_000 {
                events.append(["ph": "X", "pid": pid, "tid": 0, "name": k % 2 == 0 ? "forward/backward" : "all-gather 1",
                               "cat": k % 2 == 0 ? "compute" : "communicate", "ts": Double(k) * 10, "dur": 10.0])
            }
        }
        let path = try write(["traceEvents": events])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let trace = try TraceFile(path: path)
        XCTAssertEqual(trace.slices[1]?.count, 10_000)
        let whole = TraceTimeline(title: "t", trace: trace).svg()
        XCTAssertTrue(whole.contains(">rank 0 (a)</text>") && whole.contains(">rank 1 (b)</text>"))
        // One rectangle at most per pixel column and rank, plus the page's background.
        var box = PlotBox()
        box.left = 150
        XCTAssertLessThanOrEqual(whole.components(separatedBy: "<rect x=").count - 1, 2 * Int(box.plotWidth) + 1)
        let zoomed = TraceTimeline(title: "t", trace: trace, window: 0...0.0001).svg()
        let row0 = zoomed.components(separatedBy: "data-rank=\"0\"")[1].components(separatedBy: "</g>")[0]
        let categories = row0.components(separatedBy: "data-category=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertEqual(categories, (0..<10).map { $0 % 2 == 0 ? "compute" : "communicate" })
    }

    func testANonTraceIsOneLine() throws {
        let path = try write(["event": "final"])
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try TraceFile(path: path)) {
            XCTAssertEqual("\($0)", "\(path):1: not a Chrome trace (a JSON object with a traceEvents array)")
        }
    }
}
