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
    var runs: [String]

    @Option(name: [.short, .customLong("output")], help: "The HTML file to write (atomically).")
    var output: String = "report.html"

    @Option(help: "Also write each figure as its own SVG file into this directory (created if missing).")
    var svg: String?

    @Option(help: "The page title (default: the run names).")
    var title: String?

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one metrics file") }
    }

    func run() throws {
        let files = try runs.map { try MetricsFile(path: $0) }
        for w in files.flatMap(\.warnings) { writeStandardError("edgetrain: warning: \(w)") }
        let report = Report(runs: files)
        let page = report.html(title: title ?? "EdgeTrain report: " + files.map(\.name).joined(separator: ", "))
        try writeAtomically(Array(page.utf8), to: output)
        var written = [output]
        if let svg {
            try FileManager.default.createDirectory(atPath: svg, withIntermediateDirectories: true)
            for (figure, _) in report.figures() {
                let path = (svg as NSString).appendingPathComponent(figure.id + ".svg")
                try writeAtomically(Array(figure.svg.utf8), to: path)
                written.append(path)
            }
        }
        writeStandardError("report: \(files.count) run\(files.count == 1 ? "" : "s") -> \(output)\(svg.map { " and \(written.count - 1) SVG files in \($0)" } ?? "") (\(page.utf8.count / 1024) KiB)")
    }
}
