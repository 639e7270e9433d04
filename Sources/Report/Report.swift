import Foundation

/// `edgetrain report`: the figures and tables of one or more runs' metrics
/// files, as one self-contained HTML page (inline SVG and CSS, no script,
/// nothing fetched), or each figure as its own SVG file.
///
/// For each command among the runs, curves of every run overlaid: test
/// accuracy and loss against step (train) or round, accuracy against wall
/// seconds and against bytes sent. Then per run: where the time went (per
/// epoch or round), the federated timeline (`FederatedGantt`), the
/// cloud-edge bytes per tier. Then the final figures of every run and each
/// run's configuration (its final record). A run without a final record
/// yet is drawn from the records it has.
public struct Report {
    public let runs: [MetricsFile]
    /// `--trace` files to draw, each over `traceWindow` (seconds from its start; nil: all).
    public let traces: [TraceFile]
    public var traceWindow: ClosedRange<Double>?

    /// Runs (and traces) whose file names are alike are told apart by their
    /// directories, so their legend entries, table rows and figure ids differ.
    public init(runs: [MetricsFile], traces: [TraceFile] = []) {
        var runs = runs, traces = traces
        for (i, name) in Self.distinctNames(runs.map(\.path), dropping: "jsonl").enumerated() { runs[i].name = name }
        for (i, name) in Self.distinctNames(traces.map(\.path), dropping: "json").enumerated() { traces[i].name = name }
        self.runs = runs
        self.traces = traces
    }

    /// Each path's file name without the extension `ext`; where two are
    /// alike, as many of their directories as tell them apart
    /// ("a/metrics", "b/metrics"), and a count where nothing does (one
    /// file given twice).
    static func distinctNames(_ paths: [String], dropping ext: String) -> [String] {
        let parts = paths.map { path in
            var c = ((path as NSString).standardizingPath as NSString).pathComponents.filter { $0 != "/" && $0 != "." }
            if let last = c.last { c[c.count - 1] = shortName(last, dropping: ext) }
            return c
        }
        func name(_ i: Int, _ depth: Int) -> String { parts[i].suffix(depth).joined(separator: "/") }
        var names = parts.indices.map { name($0, 1) }
        let deepest = parts.map(\.count).max() ?? 1
        for depth in 2...max(2, deepest) {
            let alike = Dictionary(grouping: names.indices, by: { names[$0] }).values.filter { $0.count > 1 }.flatMap { $0 }
            if alike.isEmpty { break }
            for i in alike { names[i] = name(i, depth) }
        }
        // The first of alike names keeps it; the others get the first count no name has.
        var taken = Set(names), kept = Set<String>()
        return names.map { n in
            if kept.insert(n).inserted { return n }
            var k = 2
            while taken.contains("\(n) (\(k))") { k += 1 }
            taken.insert("\(n) (\(k))")
            return "\(n) (\(k))"
        }
    }

    /// Settings that tell runs apart in a legend, when they differ.
    static let legendKeys = ["model", "ranks", "compression", "ratio", "group_size", "strategy", "aggregation", "mode", "clients",
                             "clustering", "matching", "distill", "partition", "batch", "seed"]

    /// A run's legend entry: its name and the settings in which it differs
    /// from the other runs of its command.
    func legendName(_ run: MetricsFile) -> String {
        let peers = runs.filter { $0.command == run.command }
        guard peers.count > 1, let final = run.final else { return run.name }
        let differing = Self.legendKeys.filter { key in
            Set(peers.map { $0.final.map { "\($0.fields[key] ?? "-")" } ?? "-" }).count > 1
        }
        let settings = differing.compactMap { key in final.fields[key].map { "\(key)=\($0)" } }
        return settings.isEmpty ? run.name : run.name + " (" + settings.joined(separator: " ") + ")"
    }

    /// The curves of one run against one x key: (x, accuracy, loss) points
    /// and, for cloud-edge, the cloud model's accuracy and loss.
    struct Curve {
        var accuracy = [(x: Double, y: Double)](), loss = [(x: Double, y: Double)]()
        var cloudAccuracy = [(x: Double, y: Double)](), cloudLoss = [(x: Double, y: Double)]()
    }

    enum XAxis: String, CaseIterable {
        case progress, wall, bytes
    }

    func curve(_ run: MetricsFile, x axis: XAxis) -> Curve {
        var c = Curve()
        switch run.command {
        case .train:
            let evals = run.events("eval")
            let points = evals.isEmpty ? run.events("epoch") : evals
            var bytes = 0.0
            for r in points {
                bytes = evals.isEmpty ? bytes + (r.number("bytes_sent") ?? 0) : r.number("bytes_sent") ?? 0
                let x: Double? = switch axis {
                case .progress: r.number("step")
                case .wall: r.number("wall_s")
                case .bytes: bytes
                }
                guard let x else { continue }
                if let a = r.number("test_accuracy") { c.accuracy.append((x, a)) }
                if let l = r.number("test_loss") { c.loss.append((x, l)) }
            }
        case .federated, .cloudEdge:
            var bytes = 0.0
            for r in run.events("round") {
                if run.command == .federated {
                    bytes = (r.number("bytes_up_total") ?? 0) + (r.number("bytes_down_total") ?? 0)
                } else {
                    bytes += r.fields.keys.filter { $0.hasSuffix("_bytes") && $0 != "device_rss_peak_bytes" }.reduce(0) { $0 + (r.number($1) ?? 0) }
                }
                let x: Double? = switch axis {
                case .progress: r.number("round")
                case .wall: r.number("wall_s")
                case .bytes: bytes
                }
                guard let x else { continue }
                if let a = r.number("test_accuracy") { c.accuracy.append((x, a)) }
                if let l = r.number("test_loss") { c.loss.append((x, l)) }
                if let a = r.number("cloud_test_accuracy") { c.cloudAccuracy.append((x, a)) }
                if let l = r.number("cloud_test_loss") { c.cloudLoss.append((x, l)) }
            }
        }
        return c
    }

    static func xLabel(_ axis: XAxis, _ command: RunCommand) -> String {
        switch (axis, command) {
        case (.progress, .train): return "optimizer step"
        case (.progress, .federated): return "round (async: global version)"
        case (.progress, .cloudEdge): return "round"
        case (.wall, _): return "wall seconds"
        case (.bytes, .train): return "bytes sent by rank 0 (gradient exchange)"
        case (.bytes, .federated): return "bytes through the coordinator (up + down)"
        case (.bytes, .cloudEdge): return "bytes on every link (all tiers)"
        }
    }

    /// Every figure, in page order, with its caption.
    public func figures() -> [(figure: Figure, caption: String)] {
        var out = [(figure: Figure, caption: String)]()
        let commands = [RunCommand.train, .federated, .cloudEdge].filter { c in runs.contains { $0.command == c } }
        for command in commands {
            let group = runs.filter { $0.command == command }
            for (metric, yLabel) in [("accuracy", "test accuracy"), ("loss", "test loss (nats)")] {
                for axis in XAxis.allCases where metric == "accuracy" || axis == .progress {
                    var series = [Series]()
                    for (k, run) in group.enumerated() {
                        let c = curve(run, x: axis)
                        let name = legendName(run)
                        if command == .cloudEdge {
                            series.append(Series(name: name + " edge model", points: metric == "accuracy" ? c.accuracy : c.loss, colour: k))
                            series.append(Series(name: name + " cloud model", points: metric == "accuracy" ? c.cloudAccuracy : c.cloudLoss,
                                                 dashed: true, colour: k))
                        } else {
                            series.append(Series(name: name, points: metric == "accuracy" ? c.accuracy : c.loss, colour: k))
                        }
                    }
                    let x = Self.xLabel(axis, command)
                    let title = "\(command.rawValue): \(yLabel) against \(x)"
                    let plot = LinePlot(title: title, xLabel: x, yLabel: yLabel, series: series)
                    out.append((Figure(id: "\(command.rawValue)-\(metric)-\(axis.rawValue)", title: title, svg: plot.svg()), ""))
                }
            }
            for run in group {
                if let f = timeBreakdown(run) { out.append((f, "")) }
                if command == .federated, !run.events("round").isEmpty {
                    let gantt = FederatedGantt(title: "\(run.name): clients per round", rounds: run.events("round"))
                    let (svg, caption) = gantt.svg()
                    out.append((Figure(id: "federated-timeline-\(slug(run.name))", title: gantt.title, svg: svg), caption))
                }
                if command == .cloudEdge, let f = tierBytes(run) { out.append((f, "")) }
            }
        }
        for trace in traces {
            let window = traceWindow.map { String(format: " (%.3f-%.3f s)", $0.lowerBound, $0.upperBound) } ?? ""
            let t = TraceTimeline(title: "\(trace.name): every rank's phases\(window)", trace: trace, window: traceWindow)
            out.append((Figure(id: "trace-\(slug(trace.name))", title: t.title, svg: t.svg()),
                        "Each pixel column shows the phase that took most of its time; --trace-window zooms in."))
        }
        // Ids are file names under --svg: names that differ only in what slug() replaces get a count.
        var used = Set<String>()
        let all = Set(out.map(\.figure.id))
        return out.map { entry in
            var id = entry.figure.id, n = 1
            while used.contains(id) || (id != entry.figure.id && all.contains(id)) {
                n += 1
                id = "\(entry.figure.id)-\(n)"
            }
            used.insert(id)
            return id == entry.figure.id ? entry : (Figure(id: id, title: entry.figure.title, svg: entry.figure.svg), entry.caption)
        }
    }

    /// Where the time went: train per epoch (compute, compress,
    /// communicate, the rest of the epoch's wall time); federated per round
    /// (per participant on average: compute, emulated slowdown, upload,
    /// idle waiting for the slowest).
    func timeBreakdown(_ run: MetricsFile) -> Figure? {
        switch run.command {
        case .train:
            let epochs = run.events("epoch")
            guard !epochs.isEmpty else { return nil }
            func v(_ k: String) -> [Double] { epochs.map { $0.number(k) ?? 0 } }
            let (compute, compress, communicate, wall) = (v("compute_s"), v("compress_s"), v("communicate_s"), v("epoch_s"))
            let other = wall.indices.map { max(0, wall[$0] - compute[$0] - compress[$0] - communicate[$0]) }
            let bars = StackedBars(title: "\(run.name): where an epoch's time goes", xLabel: "epoch", yLabel: "seconds",
                                   categories: epochs.map { "\($0.fields["epoch"] ?? "?")" },
                                   parts: [("compute", compute), ("compress", compress), ("communicate", communicate), ("other (data, waits)", other)])
            return Figure(id: "train-time-\(slug(run.name))", title: bars.title, svg: bars.svg())
        case .federated:
            let rounds = run.events("round")
            guard !rounds.isEmpty else { return nil }
            func mean(_ r: MetricsRecord, _ k: String) -> Double {
                let entries = (r.fields["clients"] as? [[String: Any]] ?? []).filter { $0["steps"] != nil }
                guard !entries.isEmpty else { return 0 }
                return entries.reduce(0) { $0 + (($1[k] as? NSNumber)?.doubleValue ?? 0) } / Double(entries.count)
            }
            // With --clients the round is on the clients' emulated clocks:
            // idle is the round's emulated time less each client's.
            let idle = rounds.map { r -> Double in
                if let emulatedRound = r.number("emulated_round_s") { return max(0, emulatedRound - mean(r, "emulated_s")) }
                let n = max(1, Int(r.number("participants") ?? 1))
                return (r.number("idle_s") ?? 0) / Double(n)
            }
            // The rest of a participant's own round time (emulated_s with
            // --clients, else round_s): the model's download and queueing.
            let other = rounds.map { r -> Double in
                let total = r.number("emulated_round_s") != nil ? mean(r, "emulated_s") : mean(r, "round_s")
                return max(0, total - mean(r, "compute_s") - mean(r, "wait_s") - mean(r, "upload_s"))
            }
            let bars = StackedBars(
                title: "\(run.name): a participant's round, on average", xLabel: "round", yLabel: "seconds",
                categories: rounds.map { "\($0.fields["round"] ?? "?")" },
                parts: [("compute", rounds.map { mean($0, "compute_s") }), ("slowdown (wait_s)", rounds.map { mean($0, "wait_s") }),
                        ("upload", rounds.map { mean($0, "upload_s") }), ("other (download, queue)", other),
                        ("idle (waiting for the slowest)", idle)])
            return Figure(id: "federated-time-\(slug(run.name))", title: bars.title, svg: bars.svg())
        case .cloudEdge:
            return nil
        }
    }

    /// Cloud-edge: bytes per tier per round.
    func tierBytes(_ run: MetricsFile) -> Figure? {
        let rounds = run.events("round")
        guard !rounds.isEmpty else { return nil }
        let keys = ["device_edge_up", "device_edge_down", "front_upload", "back_upload", "edge_cloud_up", "front_broadcast", "back_broadcast"]
        let bars = StackedBars(title: "\(run.name): bytes per tier and round", xLabel: "round", yLabel: "bytes",
                               categories: rounds.map { "\($0.fields["round"] ?? "?")" },
                               parts: keys.map { k in (k.replacingOccurrences(of: "_", with: " "), rounds.map { $0.number(k + "_bytes") ?? 0 }) })
        return Figure(id: "cloud-edge-bytes-\(slug(run.name))", title: bars.title, svg: bars.svg())
    }

    func slug(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" })
    }

    /// The final figures of every run: one row each.
    func finalTable() -> String {
        var s = "<table><tr><th>run</th><th>command</th><th>test accuracy</th><th>test loss</th><th>wall s</th><th>bytes</th><th>steps / rounds</th><th>model_sha256</th></tr>\n"
        for run in runs {
            let last = run.final ?? run.records.last!
            let bytes: Double? = switch run.command {
            case .train: last.number("bytes_sent")
            case .federated: last.event == "final" ? (last.number("bytes_up") ?? 0) + (last.number("bytes_down") ?? 0)
                : (last.number("bytes_up_total") ?? 0) + (last.number("bytes_down_total") ?? 0)
            case .cloudEdge: last.fields.keys.filter { $0.hasSuffix("_bytes") && $0 != "device_rss_peak_bytes" }.reduce(0) { $0 + (last.number($1) ?? 0) }
            }
            let progress = last.number("steps") ?? last.number("step") ?? last.number("versions") ?? last.number("round")
            let state = run.final == nil ? " <em>(no final record: in progress or killed)</em>" : ""
            s += "<tr><td>\(SVG.escape(run.name))\(state)</td><td>\(run.command.rawValue)</td><td>\(SVG.cell(last.number("test_accuracy")))</td>"
            s += "<td>\(SVG.cell(last.number("test_loss")))</td><td>\(SVG.cell(last.number("wall_s")))</td><td>\(SVG.cell(bytes))</td>"
            s += "<td>\(SVG.cell(progress))</td><td><code>\(SVG.escape(String(last.string("model_sha256")?.prefix(16) ?? "")))</code></td></tr>\n"
        }
        return s + "</table>\n"
    }

    /// Each run's configuration: every key of its final record.
    func configurations() -> String {
        var s = ""
        for run in runs {
            s += "<details><summary>\(SVG.escape(run.name)) (\(SVG.escape(run.path)))</summary>"
            guard let final = run.final else {
                s += "<p>No final record yet: the run is in progress or was killed; \(run.records.count) records so far.</p></details>\n"
                continue
            }
            s += "<table>"
            for key in final.fields.keys.sorted() where key != "event" {
                s += "<tr><td><code>\(SVG.escape(key))</code></td><td>\(SVG.escape(describe(final.fields[key]!)))</td></tr>"
            }
            s += "</table></details>\n"
        }
        return s
    }

    func describe(_ v: Any) -> String {
        if v is NSNull { return "null" }
        if MetricsRecord.isBoolean(v), let b = v as? Bool { return b ? "true" : "false" }
        if let n = v as? NSNumber { return SVG.cell(n.doubleValue) }
        if let s = v as? String { return s }
        if let data = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys]) { return String(decoding: data, as: UTF8.self) }
        return "\(v)"
    }

    /// The whole page.
    public func html(title: String) -> String { html(title: title, figures: figures()) }

    /// The page around `figures` (made once by a caller that also writes them as SVG files).
    public func html(title: String, figures: [(figure: Figure, caption: String)]) -> String {
        var s = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(SVG.escape(title))</title>
            <style>
            body{font-family:sans-serif;margin:24px;max-width:1100px;color:#222}
            h1{font-size:20px} h2{font-size:16px;margin-top:28px}
            figure{margin:8px 0} figcaption{font-size:12px;color:#555} svg{max-width:100%;height:auto}
            .curves{display:grid;grid-template-columns:1fr 1fr;gap:4px 12px}
            table{border-collapse:collapse;font-size:12px;margin:8px 0} td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}
            .warn{color:#a00}
            </style></head><body>
            <h1>\(SVG.escape(title))</h1>
            <p>\((runs.map { "\(SVG.escape($0.name)) (\($0.command.rawValue), \($0.records.count) records)" }
                   + traces.map { "\(SVG.escape($0.name)) (trace, \($0.slices.count) ranks)" }).joined(separator: ", ")).</p>

            """
        for w in runs.flatMap(\.warnings) { s += "<p class=\"warn\">\(SVG.escape(w))</p>\n" }
        // Curves two to a row; bars and timelines full width.
        var inGrid = false
        for (figure, caption) in figures {
            let curve = figure.id.contains("-accuracy-") || figure.id.contains("-loss-")
            if curve != inGrid { s += curve ? "<div class=\"curves\">\n" : "</div>\n" }
            inGrid = curve
            s += "<figure id=\"\(figure.id)\">\n\(figure.svg)"
            if !caption.isEmpty { s += "<figcaption>\(SVG.escape(caption))</figcaption>" }
            s += "</figure>\n"
        }
        if inGrid { s += "</div>\n" }
        if !runs.isEmpty {
            s += "<h2>Final figures</h2>\n" + finalTable()
            s += "<h2>Configuration</h2>\n" + configurations()
        }
        return s + "</body></html>\n"
    }
}
