/// Keeps a curve's shape at a fraction of its points: the x range is cut
/// into `columns` equal buckets (one per pixel column of the plot) and each
/// bucket keeps its first, lowest, highest and last point, in x order. Every
/// bucket's extremes survive, so a spike or a dip is never thinned away, and
/// the drawn envelope is the data's. A curve of at most 4 x `columns` points
/// is kept whole.
func thinned(_ points: [(x: Double, y: Double)], columns: Int) -> [(x: Double, y: Double)] {
    guard points.count > 4 * columns, columns > 0, let lo = points.first?.x, let hi = points.last?.x, hi > lo else { return points }
    var out = [(x: Double, y: Double)]()
    out.reserveCapacity(4 * columns)
    var start = 0
    while start < points.count {
        let bucket = min(columns - 1, Int(Double(columns) * (points[start].x - lo) / (hi - lo)))
        var end = start + 1
        while end < points.count && min(columns - 1, Int(Double(columns) * (points[end].x - lo) / (hi - lo))) == bucket { end += 1 }
        var lowest = start, highest = start
        for k in start..<end {
            if points[k].y < points[lowest].y { lowest = k }
            if points[k].y > points[highest].y { highest = k }
        }
        for k in Set([start, lowest, highest, end - 1]).sorted() { out.append(points[k]) }
        start = end
    }
    return out
}
