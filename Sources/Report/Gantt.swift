import Foundation

/// The federated timeline: one row per client per round, x the seconds since
/// the round's start. A row shows the client's compute, its emulated
/// slowness (`wait_s`), its upload and its idle time until the round ended,
/// and marks an early stop, layers sent early, a dropped, stale or rejected
/// update. Without `--clients` times are the coordinator's measurements
/// (`round_s` per client, the round's slowest); with `--clients` they are the
/// clients' emulated clocks (`emulated_s`, `emulated_round_s`), which the
/// row says.
///
/// A run of many rounds shows at most `maxRows` rows: the first rounds, the
/// last ones and the slowest ones between (the rounds a reader looks for),
/// in round order; the caption names the rounds left out. The plots above
/// it keep every round.
struct FederatedGantt {
    let title: String
    let rounds: [MetricsRecord]
    var maxRows = 600
    var box = PlotBox()

    struct Row {
        var label: String
        var segments: [(kind: String, start: Double, end: Double)]
        var marks: [String]
        var end: Double
    }

    static let kinds = ["compute", "slowdown (wait_s)", "upload", "other (download, queue)", "idle"]

    static func colour(_ kind: String) -> String {
        kind == kinds[4] ? "#ddd" : SVG.colour(kinds.firstIndex(of: kind) ?? 7)
    }

    /// The rounds drawn, by index into `rounds`.
    func shownRounds() -> [Int] {
        let perRound = max(1, rounds.map { ($0.fields["clients"] as? [[String: Any]])?.count ?? 0 }.max() ?? 1)
        let budget = max(3, maxRows / perRound)
        guard rounds.count > budget else { return Array(rounds.indices) }
        let edge = max(1, budget / 4)
        var chosen = Set(rounds.indices.prefix(edge)).union(rounds.indices.suffix(edge))
        let middle = rounds.indices.dropFirst(edge).dropLast(edge).sorted {
            (rounds[$0].number("round_s") ?? 0, $1) > (rounds[$1].number("round_s") ?? 0, $0)
        }
        chosen.formUnion(middle.prefix(budget - chosen.count))
        return chosen.sorted()
    }

    func rows(of r: MetricsRecord) -> [Row] {
        let entries = r.fields["clients"] as? [[String: Any]] ?? []
        let virtual = r.fields["emulated_round_s"] != nil
        func num(_ e: [String: Any], _ k: String) -> Double { (e[k] as? NSNumber)?.doubleValue ?? 0 }
        let roundEnd = virtual ? r.number("emulated_round_s") ?? 0 : entries.map { num($0, "round_s") }.max() ?? 0
        let round = r.fields["round"] as? Int ?? 0
        return entries.map { e in
            let who = (e["client"] as? Int).map { "client \($0)" } ?? "rank \(e["rank"] as? Int ?? 0)"
            var row = Row(label: "r\(round) \(who)", segments: [], marks: [], end: roundEnd)
            if e["dropped"] as? Bool == true && e["steps"] == nil {
                row.marks.append("dropped: missed the round")
                return row
            }
            let compute = num(e, "compute_s"), wait = num(e, "wait_s"), upload = num(e, "upload_s")
            let total = virtual ? num(e, "emulated_s") : num(e, "round_s")
            let download = max(0, total - compute - wait - upload)
            // Emulated: download, compute, slowdown, upload in that order. Measured:
            // compute and slowdown from the start, the upload just before arrival, the
            // rest (the model's download, queueing) between.
            var t = virtual ? download : 0
            if virtual && download > 0 { row.segments.append((Self.kinds[3], 0, download)) }
            row.segments.append((Self.kinds[0], t, t + compute)); t += compute
            if wait > 0 { row.segments.append((Self.kinds[1], t, t + wait)); t += wait }
            if !virtual && total - upload > t { row.segments.append((Self.kinds[3], t, total - upload)); t = total - upload }
            if upload > 0 { row.segments.append((Self.kinds[2], t, t + upload)); t += upload }
            if roundEnd > t { row.segments.append((Self.kinds[4], t, roundEnd)) }
            if e["stopped_early"] as? Bool == true { row.marks.append("stopped early at step \(e["stop_iteration"] as? Int ?? 0)") }
            if let layers = e["layers_sent_early"] as? [String], !layers.isEmpty { row.marks.append("sent early: \(layers.joined(separator: ","))") }
            if e["dropped"] as? Bool == true { row.marks.append("dropped: stale (\(e["staleness"] as? Int ?? 0) versions)") }
            else if let s = e["staleness"] as? Int, s > 0 { row.marks.append("stale by \(s)") }
            if let why = e["rejected"] as? String { row.marks.append("rejected: \(why)") }
            return row
        }
    }

    func svg() -> (svg: String, caption: String) {
        let shown = shownRounds()
        let rows: [Row] = shown.flatMap { self.rows(of: rounds[$0]) }
        let virtual = rounds.contains { $0.fields["emulated_round_s"] != nil }
        let rowHeight = 11.0
        var b = box
        b.legendRows = 3
        let rowsHeight = Double(max(rows.count, 1)) * rowHeight
        b.height = b.top + b.bottom + rowsHeight + 3 * 16
        b.left = 130
        let ends: [Double] = rows.map(\Row.end) + rows.flatMap { $0.segments.map { $0.end } }
        let xmax = max(ends.max() ?? 1, 1e-9)
        let (xt, xstep) = SVG.ticks(0, xmax)
        let xhi = xt.last!
        func px(_ x: Double) -> Double { b.left + x / xhi * b.plotWidth }
        var s = LinePlot(title: title, xLabel: "", yLabel: "", series: []).frame(b)
        s += axes(b, xLabel: virtual ? "emulated seconds since the round's start (--clients)" : "seconds since the round's start (measured)", yLabel: "")
        for v in xt {
            let x = SVG.px(px(v))
            s += "<g class=\"xtick\"><line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(SVG.px(b.top))\" y2=\"\(SVG.px(b.top + b.plotHeight + 4))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(x)\" y=\"\(SVG.px(b.top + b.plotHeight + 16))\" text-anchor=\"middle\">\(SVG.label(v, step: xstep))</text></g>\n"
        }
        for (k, row) in rows.enumerated() {
            let y = b.top + Double(k) * rowHeight
            s += "<g class=\"gantt-row\" data-row=\"\(SVG.escape(row.label))\"><text x=\"\(SVG.px(b.left - 4))\" y=\"\(SVG.px(y + 9))\" text-anchor=\"end\" font-size=\"9\">\(SVG.escape(row.label))</text>"
            for seg in row.segments where seg.end > seg.start {
                let colour = Self.colour(seg.kind)
                s += "<rect x=\"\(SVG.px(px(seg.start)))\" y=\"\(SVG.px(y + 1))\" width=\"\(SVG.px(px(seg.end) - px(seg.start)))\" height=\"9\" fill=\"\(colour)\" data-kind=\"\(seg.kind)\"><title>\(SVG.escape(seg.kind)) \(SVG.cell(seg.end - seg.start)) s</title></rect>"
            }
            if !row.marks.isEmpty {
                let x = px(row.segments.last?.end ?? 0) + 3
                let colour = row.marks.contains { $0.hasPrefix("dropped") || $0.hasPrefix("rejected") } ? "#c00" : "#333"
                s += "<text x=\"\(SVG.px(row.segments.isEmpty ? b.left + 3 : min(x, b.left + b.plotWidth - 120)))\" y=\"\(SVG.px(y + 9))\" font-size=\"9\" fill=\"\(colour)\" class=\"mark\">\(SVG.escape(row.marks.joined(separator: "; ")))</text>"
            }
            s += "</g>\n"
        }
        s += legend(Self.kinds.map { ($0, Self.colour($0), false) }, b, top: b.legendTop)
        let left = rounds.count - shown.count
        let caption = left == 0 ? "" : "\(shown.count) of \(rounds.count) rounds shown (the first, the last and the slowest); every round is in the plots above."
        return (s + "</svg>\n", caption)
    }
}
