import Foundation

/// The number of samples of each class in each partition: `partitions.count`
/// rows of `classes` counts. Every label must be below `classes` and every
/// index inside `labels`.
public func labelHistogram(labels: [UInt8], classes: Int, partitions: [[Int]]) -> [[Int]] {
    precondition(classes >= 1, "classes must be positive")
    return partitions.map { members in
        var counts = [Int](repeating: 0, count: classes)
        for i in members {
            precondition(i >= 0 && i < labels.count, "index \(i) is outside 0..<\(labels.count)")
            let label = Int(labels[i])
            precondition(label < classes, "label \(label) is not below \(classes)")
            counts[label] += 1
        }
        return counts
    }
}

/// A table of a label histogram for people to read: a header line, then one
/// line per partition with its index, its size and its count of each class,
/// in right-aligned columns. Lines are separated by newlines; no trailing newline.
public func partitionSummary(histogram: [[Int]]) -> String {
    let classes = histogram.map(\.count).max() ?? 0
    let sizes = histogram.map { $0.reduce(0, +) }
    let countWidth = max(
        String(max(classes - 1, 0)).count,
        histogram.flatMap { $0 }.map { String($0).count }.max() ?? 1)
    let partWidth = max("part".count, String(max(histogram.count - 1, 0)).count)
    let sizeWidth = max("size".count, sizes.map { String($0).count }.max() ?? 1)

    func padded(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(width - text.count, 0)) + text
    }
    var lines = [
        padded("part", partWidth) + " " + padded("size", sizeWidth) + " |"
            + (0..<classes).map { " " + padded(String($0), countWidth) }.joined()
    ]
    for (p, row) in histogram.enumerated() {
        lines.append(
            padded(String(p), partWidth) + " " + padded(String(sizes[p]), sizeWidth) + " |"
                + row.map { " " + padded(String($0), countWidth) }.joined())
    }
    return lines.joined(separator: "\n")
}

/// A partition summary for many partitions, where `partitionSummary`'s
/// table would run to a line each: the count, the sizes (min, median, max)
/// and the mean number of classes held, then one line per rank with its
/// partitions and samples. `holder` names a partition's owner ("client",
/// "device"); `ranks[i]` is the rank serving partition i. No trailing newline.
public func compactPartitionSummary(histogram: [[Int]], holder: String, ranks: [Int]) -> String {
    precondition(ranks.count == histogram.count, "one rank per partition")
    let sizes = histogram.map { $0.reduce(0, +) }
    let sorted = sizes.sorted()
    let classes = histogram.map { $0.filter { $0 > 0 }.count }
    var perRank = [Int: (parts: Int, samples: Int)]()
    for (i, size) in sizes.enumerated() {
        perRank[ranks[i], default: (0, 0)].parts += 1
        perRank[ranks[i], default: (0, 0)].samples += size
    }
    let meanClasses = Double(classes.reduce(0, +)) / Double(max(classes.count, 1))
    let head = "partition: \(sizes.count) \(holder)s, samples per \(holder) min \(sorted.first ?? 0) median "
        + "\(sorted.isEmpty ? 0 : sorted[sorted.count / 2]) max \(sorted.last ?? 0), classes per \(holder) mean "
        + String(format: "%.2f", meanClasses)
    let lines = perRank.keys.sorted().map { "rank \($0): \(perRank[$0]!.parts) \(holder)s, \(perRank[$0]!.samples) samples" }
    return ([head] + lines).joined(separator: "\n")
}
