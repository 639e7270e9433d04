import ArgumentParser
import Collectives
import Data
import Foundation
import NN
import RunSupport

/// Options that pick the model; shared by `train`, `federated` and `cloud-edge`.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model: mlp (784-256-128-10) or cnn (conv5x5x32, pool, conv5x5x64, pool, fc128, fc10).")
    var model: ModelKind = .mlp

    static let defaultHidden = [256, 128]

    @Option(help: CommaSeparated.help("Hidden layer sizes of the MLP, comma-separated.", default: defaultHidden),
            transform: CommaSeparated.parser(of: Int.self))
    var hidden: [Int] = defaultHidden

    func validate() throws {
        try requireEach(hidden, "--hidden", "sizes must be at least 1", { $0 >= 1 })
    }
}

/// Checkpoint and resume; shared by `train` (K in steps), `federated` and `cloud-edge` (K in rounds).
struct CheckpointOptions: ParsableArguments {
    @Option(help: "Directory for checkpoints (every rank writes its own file; rank 0 marks each complete).")
    var checkpointDir: String?

    @Option(help: "Write a checkpoint every K steps (train) or rounds (federated, cloud-edge); needs --checkpoint-dir.")
    var checkpointEvery: Int = 0

    @Flag(help: "Continue from the newest complete checkpoint in --checkpoint-dir.")
    var resume = false

    func validate() throws {
        try requireAtLeast(0, checkpointEvery, "--checkpoint-every")
        if checkpointEvery > 0 && checkpointDir == nil { throw ValidationError("--checkpoint-every needs --checkpoint-dir") }
        if resume && checkpointDir == nil { throw ValidationError("--resume needs --checkpoint-dir") }
    }
}

/// Options that pick the data and its partition across ranks.
struct DataOptions: ParsableArguments {
    @Option(help: "Directory of the Fashion-MNIST IDX files (plain or .gz).")
    var dataDir: String = FashionMNIST.defaultDirectory

    @Flag(help: "Use seeded synthetic 28x28 images instead of Fashion-MNIST (fast tests).")
    var synthetic = false

    @Option(help: "Synthetic training samples.")
    var syntheticTrain: Int = 6000

    @Option(help: "Synthetic test samples.")
    var syntheticTest: Int = 1000

    @Option(help: "How the training set is split over ranks: iid, dirichlet or shards.")
    var partition: PartitionKind = .iid

    @Option(help: "Dirichlet concentration (smaller: more skewed labels per rank).")
    var alpha: Double = 0.5

    @Option(help: "The smallest partition allowed: Dirichlet redraws below it, --size-skew gives every partition at least it.")
    var minPartitionSize: Int = 10

    @Option(help: "Shards: shards per partition.")
    var shards: Int = 2

    @Option(help: """
        Unequal partition sizes (iid labels): lognormal:SIGMA or powerlaw:A, seeded; each partition keeps at least \
        --min-partition-size samples. Replaces --partition iid.
        """, transform: { text in
            guard let skew = SizeSkew(argument: text) else {
                throw ValidationError("--size-skew takes lognormal:SIGMA or powerlaw:A with a positive number, got \(text)")
            }
            return skew
        })
    var sizeSkew: SizeSkew?

    func validate() throws {
        guard alpha > 0 && alpha.isFinite else { throw ValidationError("--alpha must be > 0, got \(alpha)") }
        try requireAtLeast(0, minPartitionSize, "--min-partition-size")
        try requireAtLeast(1, shards, "--shards")
        try requireAtLeast(1, syntheticTrain, "--synthetic-train")
        try requireAtLeast(1, syntheticTest, "--synthetic-test")
        if sizeSkew != nil && partition != .iid {
            throw ValidationError("--size-skew skews an iid split; drop --partition \(partition.rawValue)")
        }
        if sizeSkew != nil { try requireAtLeast(1, minPartitionSize, "--min-partition-size") }
    }

    func scheme() -> PartitionScheme {
        if let sizeSkew { return .skewed(sizeSkew, minSize: minPartitionSize) }
        switch partition {
        case .iid: return .iid
        case .dirichlet: return .dirichlet(alpha: alpha, minSize: minPartitionSize)
        case .shards: return .shards(perPartition: shards)
        }
    }

    func source() -> DataSource {
        synthetic ? .synthetic(trainCount: syntheticTrain, testCount: syntheticTest) : .fashionMNIST(directory: dataDir)
    }
}

enum PartitionKind: String, CaseIterable, ExpressibleByArgument {
    case iid, dirichlet, shards
}

/// Group-TopK options of `train` (federated uploads have their own, off by default).
struct CompressionOptions: ParsableArguments {
    @Option(help: "Gradient compression: group-topk or none (dense).")
    var compression: CompressionKind = .groupTopK

    @Option(help: "Group-TopK: fraction of each group kept (k = max(1, round(ratio x group size))).")
    var ratio: Double = 0.01

    @Option(help: "Group-TopK: elements per group.")
    var groupSize: Int = 1024

    @Option(help: "Sparse ring merge: exact (union, dense when smaller) or reselect (cut back to top-k).")
    var sparseReduce: SparseReducePolicy = .exact

    @Flag(name: .customLong("no-error-feedback"), help: "Drop what Group-TopK does not send instead of accumulating it.")
    var noErrorFeedback = false

    @Option(help: "Where momentum goes under compression: fold (plain SGD at lr/(1-m)), correction (DGC), optimizer.")
    var sparseMomentum: SparseMomentum = .fold

    @Flag(help: "DGC momentum correction; the same as --sparse-momentum correction.")
    var momentumCorrection = false

    func validate() throws {
        try checkRatio(ratio)
        try checkGroupSize(groupSize)
        if momentumCorrection && sparseMomentum != .fold && sparseMomentum != .correction {
            throw ValidationError("--momentum-correction contradicts --sparse-momentum \(sparseMomentum.rawValue)")
        }
        if (momentumCorrection || sparseMomentum == .correction) && noErrorFeedback {
            throw ValidationError("--momentum-correction needs error feedback; drop --no-error-feedback")
        }
        if sparseReduce == .reselect && noErrorFeedback {
            throw ValidationError("""
                --sparse-reduce reselect needs error feedback: what its merges drop is kept in the residual, \
                and without one it would be lost; drop --no-error-feedback or use --sparse-reduce exact
                """)
        }
    }

    func settings() -> CompressionSettings? {
        guard compression == .groupTopK else { return nil }
        var s = CompressionSettings()
        s.ratio = ratio
        s.groupSize = groupSize
        s.policy = sparseReduce
        s.errorFeedback = !noErrorFeedback
        s.momentum = momentumCorrection ? .correction : sparseMomentum
        return s
    }
}

enum CompressionKind: String, CaseIterable, ExpressibleByArgument {
    case groupTopK = "group-topk"
    case none
}

extension SparseReducePolicy: ExpressibleByArgument {}
extension SparseMomentum: ExpressibleByArgument {}

/// The compute kernels' threads and instruction-set cap; shared by `train`,
/// `federated` and `bench train`.
struct KernelOptions: ParsableArguments {
    @Option(help: "Compute threads per rank (oneDNN's OpenMP threads).")
    var threads: Int = 1

    @Option(help: ArgumentHelp(
        "Hold the kernels to this instruction set or below (default: the CPU's own; ONEDNN_MAX_CPU_ISA also works).",
        valueName: CPUISA.allCases.map(\.rawValue).joined(separator: "|")))
    var maxIsa: CPUISA?

    func validate() throws {
        try requireAtLeast(1, threads, "--threads")
    }

    /// The instruction-set cap in force and where it came from: `--max-isa`
    /// (which overrides the variables), else oneDNN's ONEDNN_MAX_CPU_ISA,
    /// else its older DNNL_MAX_CPU_ISA (as oneDNN reads them, in that
    /// order); "all" from "none" without any.
    var cap: (isa: String, source: String) {
        if let maxIsa { return (maxIsa.rawValue, "--max-isa") }
        let environment = ProcessInfo.processInfo.environment
        for name in ["ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"] {
            if let value = environment[name], !value.isEmpty { return (value.lowercased(), name) }
        }
        return ("all", "none")
    }

    /// Sets the threads and the cap; call before any model runs.
    func apply() throws {
        ComputeKernels.setThreads(threads)
        if let maxIsa, !ComputeKernels.setMaxISA(maxIsa) {
            throw ValidationError("--max-isa \(maxIsa.rawValue): oneDNN refused the cap")
        }
    }
}

extension CPUISA: ExpressibleByArgument {}
