/// Where the training and test images come from.
public enum DataSource: Sendable, Equatable {
    /// Fashion-MNIST's four IDX files (plain or gzip) in `directory`.
    case fashionMNIST(directory: String)
    /// Seeded synthetic 28x28 images of `SyntheticData.defaultClasses` classes, for fast tests.
    case synthetic(trainCount: Int, testCount: Int)

    /// Classes of the labels.
    public var classes: Int {
        switch self {
        case .fashionMNIST: return FashionMNIST.classes
        case .synthetic: return SyntheticData.defaultClasses
        }
    }

    public var name: String {
        switch self {
        case .fashionMNIST: return "fashion-mnist"
        case .synthetic: return "synthetic"
        }
    }
}

/// Loads the training and test sets. Throws `DataError` naming the file.
public func loadData(_ source: DataSource, seed: UInt64) throws -> (train: ImageDataset, test: ImageDataset) {
    switch source {
    case let .fashionMNIST(directory):
        return (try FashionMNIST.load(directory: directory, split: .train),
                try FashionMNIST.load(directory: directory, split: .test))
    case let .synthetic(trainCount, testCount):
        // One draw, split, so that both halves share the class prototypes.
        let all = SyntheticData.make(count: trainCount + testCount, seed: seed)
        return (all.subset(Array(0..<trainCount)), all.subset(Array(trainCount..<trainCount + testCount)))
    }
}

/// The training labels alone, for partitioning. Throws `DataError` naming the file.
public func loadTrainingLabels(_ source: DataSource, seed: UInt64) throws -> [UInt8] {
    switch source {
    case let .fashionMNIST(directory): return try FashionMNIST.labels(directory: directory, split: .train)
    case .synthetic: return try loadData(source, seed: seed).train.labels
    }
}

/// The training samples `indices` (strictly ascending) alone, in that
/// order: from Fashion-MNIST streamed (`FashionMNIST.load(directory:split:indices:)`).
public func loadTrainingSubset(_ source: DataSource, seed: UInt64, indices: [Int]) throws -> ImageDataset {
    switch source {
    case let .fashionMNIST(directory): return try FashionMNIST.load(directory: directory, split: .train, indices: indices)
    case .synthetic: return try loadData(source, seed: seed).train.subset(indices)
    }
}

/// The test set alone.
public func loadTestSet(_ source: DataSource, seed: UInt64) throws -> ImageDataset {
    switch source {
    case let .fashionMNIST(directory): return try FashionMNIST.load(directory: directory, split: .test)
    case .synthetic: return try loadData(source, seed: seed).test
    }
}
