import ArgumentParser
import Foundation
import MPI
import Report
import RunSupport

/// `edgetrain report`: metrics files to one self-contained HTML page (and
/// optionally each figure as an SVG file). No MPI, no network.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Plots of one or more runs' --metrics files, side by side, as one HTML page (inline SVG, works offline).",
        discussion: """
            Reads the JSON Lines of train, federated and cloud-edge (--metrics FILE). A last line cut short (a run \
            killed, or still writing) is left out with a warning; any other bad line is an error naming the file and \
            the line. Figures and tables: docs/report.md.
            """
    )

    @Argument(help: "Metrics files (JSON Lines) of train, federated or cloud-edge runs.")
    var runs: [String] = []

    @Option(name: .customLong("trace"), help: "A --trace file to draw as one row per rank (repeatable).")
    var traces: [String] = []

    @Option(help: "Draw the traces from A to B seconds after their start (A:B), e.g. 2.5:2.8 for a few steps.")
    var traceWindow: String?

    @Option(name: [.short, .customLong("output")], help: "The HTML file to write (atomically).")
    var output: String = "report.html"

    @Option(help: "Also write each figure as its own SVG file into this directory (created if missing).")
    var svg: String?

    @Option(help: "The page title (default: the run names).")
    var title: String?

    func validate() throws {
        guard !runs.isEmpty || !traces.isEmpty else { throw ValidationError("give at least one metrics file or --trace file") }
        if let traceWindow, window(traceWindow) == nil {
            throw ValidationError("--trace-window must be A:B with 0 <= A < B seconds, got \(traceWindow)")
        }
    }

    func run() throws {
        let files = try runs.map { try MetricsFile(path: $0) }
        for w in files.flatMap(\.warnings) { writeStandardError("edgetrain: warning: \(w)") }
        var report = Report(runs: files, traces: try traces.map { try TraceFile(path: $0) })
        report.traceWindow = traceWindow.flatMap(window)
        let figures = report.figures()
        let page = report.html(title: title ?? "EdgeTrain report: " + (report.runs.map(\.name) + report.traces.map(\.name)).joined(separator: ", "),
                               figures: figures)
        try writeAtomically(Array(page.utf8), to: output)
        var written = [output]
        if let svg {
            try FileManager.default.createDirectory(atPath: svg, withIntermediateDirectories: true)
            for (figure, _) in figures {
                let path = (svg as NSString).appendingPathComponent(figure.id + ".svg")
                try writeAtomically(Array(figure.svg.utf8), to: path)
                written.append(path)
            }
        }
        writeStandardError("report: \(files.count) run\(files.count == 1 ? "" : "s"), \(traces.count) trace\(traces.count == 1 ? "" : "s") -> \(output)\(svg.map { " and \(written.count - 1) SVG files in \($0)" } ?? "") (\(page.utf8.count / 1024) KiB)")
    }

    /// "A:B" as seconds, or nil.
    func window(_ text: String) -> ClosedRange<Double>? {
        let parts = text.split(separator: ":").map { Double($0) }
        guard parts.count == 2, let a = parts[0], let b = parts[1], a >= 0, b > a, b.isFinite else { return nil }
        return a...b
    }

}
