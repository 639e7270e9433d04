import Foundation

/// A `--trace` file (Chrome Trace Event format, as `Tracer` writes it):
/// each rank's complete events.
public struct TraceFile: @unchecked Sendable {
    public let path: String
    /// Track names by pid ("rank R (host)").
    public let names: [Int: String]
    /// Complete events by pid: (name, category, start, end) in seconds.
    public let slices: [Int: [(name: String, category: String, start: Double, end: Double)]]

    /// The file name without `.json`, made distinct from the other
    /// traces' by a `Report` (`distinctNames`).
    public internal(set) var name: String

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReportError.unreadable(file: path, reason: FileManager.default.fileExists(atPath: path) ? "not readable" : "no such file")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let events = object["traceEvents"] as? [[String: Any]] else {
            throw ReportError.badLine(file: path, line: 1, problem: "not a Chrome trace (a JSON object with a traceEvents array)")
        }
        var names = [Int: String](), slices = [Int: [(name: String, category: String, start: Double, end: Double)]]()
        for e in events {
            guard let pid = e["pid"] as? Int else { continue }
            if e["ph"] as? String == "M", e["name"] as? String == "process_name" {
                names[pid] = (e["args"] as? [String: Any])?["name"] as? String
            } else if e["ph"] as? String == "X", let ts = (e["ts"] as? NSNumber)?.doubleValue, let dur = (e["dur"] as? NSNumber)?.doubleValue {
                slices[pid, default: []].append((e["name"] as? String ?? "", e["cat"] as? String ?? "", ts / 1e6, (ts + dur) / 1e6))
            }
        }
        guard !slices.isEmpty else { throw ReportError.empty(file: path) }
        self.path = path
        self.name = shortName((path as NSString).lastPathComponent, dropping: "json")
        self.names = names
        self.slices = slices
    }
}

/// A trace drawn as one row per rank over time. Each pixel column of a row
/// is painted with the category that took most of that column's time
/// (what a zoomed-out trace viewer shows), neighbouring columns of one
/// category merged into one rectangle, so a 10,000-step run stays small;
/// zoomed into a few steps (`window`) every slice is its own rectangle.
struct TraceTimeline {
    let title: String
    let trace: TraceFile
    /// Seconds from the trace's start (nil: all of it).
    var window: ClosedRange<Double>?
    var box = PlotBox()

    static let categories = ["compute", "compress", "communicate", "wait", "evaluate", "checkpoint"]

    func svg() -> String {
        let origin = trace.slices.values.flatMap { $0.map(\.start) }.min() ?? 0
        let end = trace.slices.values.flatMap { $0.map(\.end) }.max() ?? origin
        let lo = window?.lowerBound ?? 0, hi = max(window?.upperBound ?? end - origin, lo + 1e-6)
        let ranks = trace.slices.keys.sorted()
        var b = box
        b.left = 150
        b.legendRows = (Self.categories.count + 1) / 2
        b.height = b.top + b.bottom + Double(ranks.count) * 22 + Double(b.legendRows) * 16
        let (xt, xstep) = SVG.ticks(lo * 1e3, hi * 1e3)
        let xlo = xt.first!, xhi = max(xt.last!, xlo + xstep)
        func px(_ seconds: Double) -> Double { b.left + (seconds * 1e3 - xlo) / (xhi - xlo) * b.plotWidth }
        var s = LinePlot(title: title, xLabel: "", yLabel: "", series: []).frame(b)
        s += axes(b, xLabel: "milliseconds since the trace's start (rank 0's clock)", yLabel: "")
        for v in xt {
            let x = SVG.px(px(v / 1e3))
            s += "<g class=\"xtick\"><line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(SVG.px(b.top))\" y2=\"\(SVG.px(b.top + b.plotHeight + 4))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(x)\" y=\"\(SVG.px(b.top + b.plotHeight + 16))\" text-anchor=\"middle\">\(SVG.label(v, step: xstep))</text></g>\n"
        }
        let columns = Int(b.plotWidth)
        for (row, rank) in ranks.enumerated() {
            let y = b.top + Double(row) * 22 + 3
            s += "<g class=\"trace-row\" data-rank=\"\(rank)\"><text x=\"\(SVG.px(b.left - 4))\" y=\"\(SVG.px(y + 12))\" text-anchor=\"end\" font-size=\"9\">\(SVG.escape(trace.names[rank] ?? "rank \(rank)"))</text>"
            // Time per category in each pixel column.
            var time = [[Double]](repeating: [Double](repeating: 0, count: Self.categories.count + 1), count: columns)
            for slice in trace.slices[rank] ?? [] {
                let a = max(slice.start - origin, lo), z = min(slice.end - origin, hi)
                guard z > a else { continue }
                let c = Self.categories.firstIndex(of: slice.category) ?? Self.categories.count
                let first = max(0, Int(px(a) - b.left)), last = min(columns - 1, Int(px(z) - b.left))
                guard first <= last else { continue }
                for col in first...last {
                    let colStart = (xlo + Double(col) / b.plotWidth * (xhi - xlo)) / 1e3, colEnd = colStart + (xhi - xlo) / b.plotWidth / 1e3
                    time[col][c] += max(0, min(z, colEnd) - max(a, colStart))
                }
            }
            var col = 0
            while col < columns {
                guard let c = time[col].indices.max(by: { time[col][$0] < time[col][$1] }), time[col][c] > 0 else { col += 1; continue }
                var stop = col + 1
                while stop < columns, let d = time[stop].indices.max(by: { time[stop][$0] < time[stop][$1] }), d == c, time[stop][d] > 0 { stop += 1 }
                let name = c < Self.categories.count ? Self.categories[c] : "other"
                s += "<rect x=\"\(SVG.px(b.left + Double(col)))\" y=\"\(SVG.px(y))\" width=\"\(stop - col)\" height=\"16\" fill=\"\(Self.colour(name))\" data-category=\"\(name)\"/>"
                col = stop
            }
            s += "</g>\n"
        }
        s += legend(Self.categories.map { ($0, Self.colour($0), false) }, b, top: b.legendTop)
        return s + "</svg>\n"
    }

    static func colour(_ category: String) -> String {
        switch category {
        case "wait": return "#ccc"
        case "other": return "#999"
        default: return SVG.colour(categories.firstIndex(of: category) ?? 7)
        }
    }
}
