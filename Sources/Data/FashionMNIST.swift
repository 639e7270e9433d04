/// Zalando's Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 28 x 28 grey
/// images of clothing in 10 classes, 60 000 for training and 10 000 for test,
/// in the IDX files of the original distribution.
public enum FashionMNIST {
    /// Where Debian's `dataset-fashion-mnist` package installs the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    /// Mean of the training pixels scaled to [0, 1].
    public static let mean: Float = 0.2860
    /// Standard deviation of the training pixels scaled to [0, 1].
    public static let std: Float = 0.3530
    /// Number of classes.
    public static let classes = 10

    public enum Split: String, Sendable, CaseIterable {
        case train
        case test

        /// The file name prefix of the split in the original distribution.
        var filePrefix: String { self == .train ? "train" : "t10k" }
    }

    /// Loads one split from `directory`, which holds
    /// `{train,t10k}-{images-idx3,labels-idx1}-ubyte`, each gzip-compressed
    /// with a `.gz` suffix or plain (the `.gz` file is used when both exist).
    ///
    /// Accepts images of any size (n x height x width, one channel); both
    /// splits are normalized with the training constants `mean` and `std`.
    /// - Throws: `DataError.missingFile` (naming the `.gz` path and the plain
    ///   one tried after it), the reading and parsing errors of `IDX.read`,
    ///   `.unexpectedShape` unless the images are 3-D and the labels 1-D,
    ///   `.countMismatch` when the files disagree on the number of samples,
    ///   `.labelOutOfRange` for a label of 10 or more.
    public static func load(directory: String = defaultDirectory, split: Split) throws -> ImageDataset {
        let imagesPath = try locate(directory: directory, name: "\(split.filePrefix)-images-idx3-ubyte")
        let labelsPath = try locate(directory: directory, name: "\(split.filePrefix)-labels-idx1-ubyte")
        let images = try IDX.read(path: imagesPath)
        try checkImageShape(images.dimensions, file: imagesPath)
        let labels = try readLabels(path: labelsPath)
        try checkCounts(images: imagesPath, imageCount: images.dimensions[0], labels: labelsPath, labelCount: labels.count)
        return ImageDataset(
            count: images.dimensions[0], height: images.dimensions[1], width: images.dimensions[2],
            channels: 1, classes: classes, pixels: images.bytes, labels: labels, mean: mean, std: std)
    }

    /// The training labels alone (what partitioning needs), checked as `load` checks them.
    public static func labels(directory: String = defaultDirectory, split: Split) throws -> [UInt8] {
        try readLabels(path: try locate(directory: directory, name: "\(split.filePrefix)-labels-idx1-ubyte"))
    }

    /// The samples `indices` (strictly ascending) of one split, streamed
    /// from the files: the other images are never held (`IDX.readRecords`).
    /// Equals `load(directory:split:).subset(indices)`.
    /// - Throws: as `load` (the shape and count checks come from the images
    ///   file's header, before its records are read), and
    ///   `DataError.sampleOutOfRange` for an index outside the samples.
    public static func load(directory: String = defaultDirectory, split: Split, indices: [Int]) throws -> ImageDataset {
        let imagesPath = try locate(directory: directory, name: "\(split.filePrefix)-images-idx3-ubyte")
        let labelsPath = try locate(directory: directory, name: "\(split.filePrefix)-labels-idx1-ubyte")
        let all = try readLabels(path: labelsPath)
        if let bad = indices.first(where: { $0 < 0 || $0 >= all.count }) {
            throw DataError.sampleOutOfRange(file: labelsPath, index: bad, count: all.count)
        }
        let images = try IDX.readRecords(path: imagesPath, indices: indices) { dimensions in
            try checkImageShape(dimensions, file: imagesPath)
            try checkCounts(images: imagesPath, imageCount: dimensions[0], labels: labelsPath, labelCount: all.count)
        }
        return ImageDataset(
            count: indices.count, height: images.dimensions[1], width: images.dimensions[2], channels: 1, classes: classes,
            pixels: images.bytes, labels: indices.map { all[$0] }, mean: mean, std: std)
    }

    /// The labels file at `path`: 1-D, every label below `classes`.
    private static func readLabels(path: String) throws -> [UInt8] {
        let labels = try IDX.read(path: path)
        guard labels.dimensions.count == 1 else {
            throw DataError.unexpectedShape(file: path, expected: "1 dimension (count)", found: labels.dimensions)
        }
        if let bad = labels.bytes.firstIndex(where: { Int($0) >= classes }) {
            throw DataError.labelOutOfRange(file: path, index: bad, label: Int(labels.bytes[bad]), classes: classes)
        }
        return labels.bytes
    }

    /// Images are count x height x width, each image at least one pixel.
    private static func checkImageShape(_ dimensions: [Int], file: String) throws {
        guard dimensions.count == 3, dimensions[1] > 0, dimensions[2] > 0 else {
            throw DataError.unexpectedShape(file: file, expected: "3 dimensions (count x height x width)", found: dimensions)
        }
    }

    private static func checkCounts(images: String, imageCount: Int, labels: String, labelCount: Int) throws {
        guard imageCount == labelCount else {
            throw DataError.countMismatch(images: images, imageCount: imageCount, labels: labels, labelCount: labelCount)
        }
    }

    /// The path of `name` in `directory`, compressed or not.
    private static func locate(directory: String, name: String) throws -> String {
        let plain = directory.hasSuffix("/") ? directory + name : directory + "/" + name
        let compressed = plain + ".gz"
        if fileExists(compressed) { return compressed }
        if fileExists(plain) { return plain }
        throw DataError.missingFile(path: compressed, alsoTried: [plain])
    }
}
