import Foundation

/// One figure of a report: an id (its file name under `--svg DIR`), a
/// title and the SVG text.
public struct Figure: Sendable {
    public let id: String
    public let title: String
    public let svg: String
}

/// A named curve.
struct Series {
    let name: String
    var points: [(x: Double, y: Double)]
    var dashed = false
    var colour: Int
}

/// The drawing box every plot shares: the plot area inside margins.
struct PlotBox {
    var width = 720.0, height = 300.0
    var left = 70.0, right = 20.0, top = 34.0, bottom = 46.0
    /// Legend lines below the axes (16 px each), inside `height`.
    var legendRows = 0
    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom - Double(legendRows) * 16 }
    var legendTop: Double { height - Double(legendRows) * 16 }
}

/// A line plot: curves over shared axes, with 1-2-5 ticks and a legend below.
/// Each tick is `<g class="xtick">` / `<g class="ytick">` holding a line at
/// its pixel position and its label; each curve is `<polyline
/// class="series" data-series="NAME">`, its points in pixels (two decimals).
/// Mapping a point back through two ticks gives its data value to within
/// 0.005 pixel (tests do). Curves of more points than 4 per pixel column are
/// thinned (`thinned`), keeping every column's extremes.
struct LinePlot {
    let title: String
    let xLabel: String
    let yLabel: String
    var series: [Series]
    var box = PlotBox()

    func svg() -> String {
        let drawn = series.map { s -> Series in
            var t = s
            t.points = thinned(s.points.filter { $0.x.isFinite && $0.y.isFinite }, columns: Int(box.plotWidth))
            return t
        }
        let xs = drawn.flatMap { $0.points.map(\.x) }, ys = drawn.flatMap { $0.points.map(\.y) }
        var b = box
        b.legendRows = (drawn.count + 1) / 2
        b.height += Double(b.legendRows) * 16
        guard let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() else {
            return frame(b) + "<text x=\"\(SVG.px(b.left + 10))\" y=\"\(SVG.px(b.top + 20))\">no data yet</text></svg>\n"
        }
        let (xt, xstep) = SVG.ticks(x0, x1 > x0 ? x1 : x0 + 1)
        let (yt, ystep) = SVG.ticks(y0, y1 > y0 ? y1 : y0 + (y0 == 0 ? 1 : abs(y0) * 0.1))
        let (xlo, xhi, ylo, yhi) = (xt.first!, xt.last! > xt.first! ? xt.last! : xt.first! + xstep, yt.first!, yt.last! > yt.first! ? yt.last! : yt.first! + ystep)
        func px(_ x: Double) -> Double { b.left + (x - xlo) / (xhi - xlo) * b.plotWidth }
        func py(_ y: Double) -> Double { b.top + (1 - (y - ylo) / (yhi - ylo)) * b.plotHeight }
        var s = frame(b)
        s += axes(b, xLabel: xLabel, yLabel: yLabel)
        for v in xt {
            let x = SVG.px(px(v))
            s += "<g class=\"xtick\"><line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(SVG.px(b.top))\" y2=\"\(SVG.px(b.top + b.plotHeight + 4))\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(x)\" y=\"\(SVG.px(b.top + b.plotHeight + 16))\" text-anchor=\"middle\">\(SVG.label(v, step: xstep))</text></g>\n"
        }
        for v in yt {
            let y = SVG.px(py(v))
            s += "<g class=\"ytick\"><line x1=\"\(SVG.px(b.left - 4))\" x2=\"\(SVG.px(b.left + b.plotWidth))\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(SVG.px(b.left - 6))\" y=\"\(y)\" dy=\"4\" text-anchor=\"end\">\(SVG.label(v, step: ystep))</text></g>\n"
        }
        for c in drawn where !c.points.isEmpty {
            let points = c.points.map { "\(SVG.px(px($0.x))),\(SVG.px(py($0.y)))" }.joined(separator: " ")
            let dash = c.dashed ? " stroke-dasharray=\"6 3\"" : ""
            s += "<polyline class=\"series\" data-series=\"\(SVG.escape(c.name))\" fill=\"none\" stroke=\"\(SVG.colour(c.colour))\" stroke-width=\"1.6\"\(dash) points=\"\(points)\"/>\n"
            if c.points.count == 1 {
                s += "<circle cx=\"\(SVG.px(px(c.points[0].x)))\" cy=\"\(SVG.px(py(c.points[0].y)))\" r=\"3\" fill=\"\(SVG.colour(c.colour))\"/>\n"
            }
        }
        s += legend(drawn.map { ($0.name, SVG.colour($0.colour), $0.dashed) }, b, top: b.legendTop)
        return s + "</svg>\n"
    }

    func frame(_ b: PlotBox) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(b.width))" height="\(Int(b.height))" viewBox="0 0 \(Int(b.width)) \(Int(b.height))" \
        font-family="sans-serif" font-size="11" class="plot">
        <rect width="100%" height="100%" fill="white"/>
        <text class="title" x="\(SVG.px(b.left))" y="18" font-size="13" font-weight="bold">\(SVG.escape(title))</text>

        """
    }
}

/// The frame and axis titles of a plot area.
func axes(_ b: PlotBox, xLabel: String, yLabel: String) -> String {
    """
    <rect x="\(SVG.px(b.left))" y="\(SVG.px(b.top))" width="\(SVG.px(b.plotWidth))" height="\(SVG.px(b.plotHeight))" fill="none" stroke="#888"/>
    <text x="\(SVG.px(b.left + b.plotWidth / 2))" y="\(SVG.px(b.top + b.plotHeight + 34))" text-anchor="middle">\(SVG.escape(xLabel))</text>
    <text transform="translate(14,\(SVG.px(b.top + b.plotHeight / 2))) rotate(-90)" text-anchor="middle">\(SVG.escape(yLabel))</text>

    """
}

/// A legend of two columns below the plot area, from y = `top`.
func legend(_ entries: [(name: String, colour: String, dashed: Bool)], _ b: PlotBox, top: Double) -> String {
    var s = "<g class=\"legend\">"
    for (k, e) in entries.enumerated() {
        let x = b.left + Double(k % 2) * (b.plotWidth / 2), y = top + Double(k / 2) * 16 + 4
        let dash = e.dashed ? " stroke-dasharray=\"6 3\"" : ""
        s += "<line x1=\"\(SVG.px(x))\" x2=\"\(SVG.px(x + 22))\" y1=\"\(SVG.px(y))\" y2=\"\(SVG.px(y))\" stroke=\"\(e.colour)\" stroke-width=\"4\"\(dash)/>"
        s += "<text x=\"\(SVG.px(x + 28))\" y=\"\(SVG.px(y + 4))\">\(SVG.escape(e.name))</text>"
    }
    return s + "</g>\n"
}

/// Stacked bars, one per category (epoch, round), each split into named
/// parts. More categories than `maxBars` are merged into consecutive
/// buckets of equal size, each bar the mean of its bucket (named by its
/// first and last category), so the total time is never dropped.
struct StackedBars {
    let title: String
    let xLabel: String
    let yLabel: String
    let categories: [String]
    /// Part names and, per part, one value per category.
    let parts: [(name: String, values: [Double])]
    var maxBars = 120
    var box = PlotBox()

    func svg() -> String {
        let n = categories.count
        let per = max(1, (n + maxBars - 1) / maxBars)
        let buckets = stride(from: 0, to: n, by: per).map { $0..<min(n, $0 + per) }
        let names = buckets.map { $0.count == 1 ? categories[$0.lowerBound] : "\(categories[$0.lowerBound])-\(categories[$0.upperBound - 1])" }
        let values = parts.map { p in buckets.map { r in r.map { p.values[$0].isFinite ? max(0, p.values[$0]) : 0 }.reduce(0, +) / Double(r.count) } }
        let totals = buckets.indices.map { k in values.reduce(0) { $0 + $1[k] } }
        var b = box
        b.legendRows = (parts.count + 1) / 2
        b.height += Double(b.legendRows) * 16
        let (yt, ystep) = SVG.ticks(0, max(totals.max() ?? 1, 1e-9))
        let yhi = yt.last!
        func py(_ y: Double) -> Double { b.top + (1 - y / yhi) * b.plotHeight }
        var s = LinePlot(title: title, xLabel: "", yLabel: "", series: []).frame(b)
        s += axes(b, xLabel: xLabel + (per > 1 ? " (bars are means of \(per) consecutive)" : ""), yLabel: yLabel)
        for v in yt {
            let y = SVG.px(py(v))
            s += "<g class=\"ytick\"><line x1=\"\(SVG.px(b.left - 4))\" x2=\"\(SVG.px(b.left + b.plotWidth))\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#eee\"/>"
            s += "<text x=\"\(SVG.px(b.left - 6))\" y=\"\(y)\" dy=\"4\" text-anchor=\"end\">\(SVG.label(v, step: ystep))</text></g>\n"
        }
        let slot = b.plotWidth / Double(max(buckets.count, 1))
        let labelEvery = max(1, Int((40 / slot).rounded(.up)))
        for k in buckets.indices {
            let x = b.left + Double(k) * slot + slot * 0.1
            var base = 0.0
            s += "<g class=\"bar\" data-category=\"\(SVG.escape(names[k]))\">"
            for (p, part) in parts.enumerated() where values[p][k] > 0 {
                let top = py(base + values[p][k])
                s += "<rect x=\"\(SVG.px(x))\" y=\"\(SVG.px(top))\" width=\"\(SVG.px(slot * 0.8))\" height=\"\(SVG.px(py(base) - top))\" "
                s += "fill=\"\(SVG.colour(p))\" data-part=\"\(SVG.escape(part.name))\" data-value=\"\(values[p][k])\"><title>\(SVG.escape(names[k])) \(SVG.escape(part.name)): \(SVG.cell(values[p][k]))</title></rect>"
                base += values[p][k]
            }
            s += "</g>\n"
            if k % labelEvery == 0 {
                s += "<text x=\"\(SVG.px(x + slot * 0.4))\" y=\"\(SVG.px(b.top + b.plotHeight + 14))\" text-anchor=\"middle\">\(SVG.escape(names[k]))</text>\n"
            }
        }
        s += legend(parts.enumerated().map { ($1.name, SVG.colour($0), false) }, b, top: b.legendTop)
        return s + "</svg>\n"
    }
}
