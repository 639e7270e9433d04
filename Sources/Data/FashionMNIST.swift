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
        guard images.dimensions.count == 3, images.dimensions[1] > 0, images.dimensions[2] > 0 else {
            throw DataError.unexpectedShape(
                file: imagesPath, expected: "3 dimensions (count x height x width)", found: images.dimensions)
        }
        let labels = try IDX.read(path: labelsPath)
        guard labels.dimensions.count == 1 else {
            throw DataError.unexpectedShape(file: labelsPath, expected: "1 dimension (count)", found: labels.dimensions)
        }
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw DataError.countMismatch(
                images: imagesPath, imageCount: images.dimensions[0],
                labels: labelsPath, labelCount: labels.dimensions[0])
        }
        if let bad = labels.bytes.firstIndex(where: { Int($0) >= classes }) {
            throw DataError.labelOutOfRange(
                file: labelsPath, index: bad, label: Int(labels.bytes[bad]), classes: classes)
        }
        return ImageDataset(
            count: images.dimensions[0], height: images.dimensions[1], width: images.dimensions[2],
            channels: 1, classes: classes, pixels: images.bytes, labels: labels.bytes, mean: mean, std: std)
    }

    /// The training labels alone (what partitioning needs), checked as `load` checks them.
    public static func labels(directory: String = defaultDirectory, split: Split) throws -> [UInt8] {
        let labelsPath = try locate(directory: directory, name: "\(split.filePrefix)-labels-idx1-ubyte")
        let labels = try IDX.read(path: labelsPath)
        guard labels.dimensions.count == 1 else {
            throw DataError.unexpectedShape(file: labelsPath, expected: "1 dimension (count)", found: labels.dimensions)
        }
        if let bad = labels.bytes.firstIndex(where: { Int($0) >= classes }) {
            throw DataError.labelOutOfRange(file: labelsPath, index: bad, label: Int(labels.bytes[bad]), classes: classes)
        }
        return labels.bytes
    }

    /// The samples `indices` (strictly ascending) of one split, streamed
    /// from the files: the other images are never held (`IDX.readRecords`).
    /// Throws as `load`, and when an index is past the samples.
    public static func load(directory: String = defaultDirectory, split: Split, indices: [Int]) throws -> ImageDataset {
        let imagesPath = try locate(directory: directory, name: "\(split.filePrefix)-images-idx3-ubyte")
        let all = try labels(directory: directory, split: split)
        let images = try IDX.readRecords(path: imagesPath, indices: indices)
        guard images.dimensions.count == 3, images.dimensions[1] > 0, images.dimensions[2] > 0 else {
            throw DataError.unexpectedShape(
                file: imagesPath, expected: "3 dimensions (count x height x width)", found: images.dimensions)
        }
        return ImageDataset(
            count: indices.count, height: images.dimensions[1], width: images.dimensions[2], channels: 1, classes: classes,
            pixels: images.bytes, labels: indices.map { all[$0] }, mean: mean, std: std)
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
