/// Labelled images held as bytes, with the constants that normalize them.
///
/// `pixels` holds `count * height * width * channels` bytes, sample-major,
/// then rows, then columns, channels last. A pixel `p` becomes the feature
/// `(p / 255 - mean) / std`. `labels` holds one class in `0..<classes` per sample.
public struct ImageDataset: Sendable {
    public let count: Int
    public let height: Int
    public let width: Int
    public let channels: Int
    public let classes: Int
    public let pixels: [UInt8]
    public let labels: [UInt8]
    /// Mean of the pixels scaled to [0, 1], subtracted before dividing by `std`.
    public let mean: Float
    /// Standard deviation of the pixels scaled to [0, 1].
    public let std: Float
    /// The normalized value of each of the 256 pixel values.
    let featureTable: [Float]

    /// Features per sample: `height * width * channels`.
    public var featureCount: Int { height * width * channels }

    /// Requires positive `height`, `width`, `channels`, `classes` (at most 256)
    /// and `std`, a finite `mean`, `pixels.count == count * featureCount`,
    /// `labels.count == count` and every label below `classes`.
    public init(
        count: Int, height: Int, width: Int, channels: Int, classes: Int,
        pixels: [UInt8], labels: [UInt8], mean: Float, std: Float
    ) {
        precondition(count >= 0, "count must not be negative")
        precondition(height > 0 && width > 0 && channels > 0, "image sizes must be positive")
        precondition((1...256).contains(classes), "classes must be in 1...256")
        precondition(mean.isFinite && std.isFinite && std > 0, "mean must be finite and std positive")
        let features = height.multipliedReportingOverflow(by: width)
        let perSample = features.partialValue.multipliedReportingOverflow(by: channels)
        let total = perSample.partialValue.multipliedReportingOverflow(by: count)
        precondition(
            !features.overflow && !perSample.overflow && !total.overflow && pixels.count == total.partialValue,
            "\(pixels.count) pixels do not fill \(count) images of \(height) x \(width) x \(channels)")
        precondition(labels.count == count, "\(labels.count) labels for \(count) images")
        precondition(labels.allSatisfy { Int($0) < classes }, "a label is not below \(classes)")
        self.count = count
        self.height = height
        self.width = width
        self.channels = channels
        self.classes = classes
        self.pixels = pixels
        self.labels = labels
        self.mean = mean
        self.std = std
        self.featureTable = (0..<256).map { (Float($0) / 255 - mean) / std }
    }

    /// The samples at `indices`, in that order (repeats allowed), with the same
    /// shape, classes and normalization constants as this data set.
    public func subset(_ indices: [Int]) -> ImageDataset {
        let n = featureCount
        var newPixels = [UInt8]()
        newPixels.reserveCapacity(indices.count * n)
        var newLabels = [UInt8]()
        newLabels.reserveCapacity(indices.count)
        for i in indices {
            precondition(i >= 0 && i < count, "index \(i) is outside 0..<\(count)")
            newPixels += pixels[i * n..<(i + 1) * n]
            newLabels.append(labels[i])
        }
        return ImageDataset(
            count: indices.count, height: height, width: width, channels: channels, classes: classes,
            pixels: newPixels, labels: newLabels, mean: mean, std: std)
    }

    /// The number of samples of each class: `classes` entries.
    public func labelCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }
}
