import ArgumentParser
import Collectives
import Compression
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

/// Gradient compression options of `train` (federated uploads have their own, off by default).
/// The options a method does not read are optional (nil: not given) and
/// refused with another method (`CompressionKind.refuseInapplicable`).
struct CompressionOptions: ParsableArguments {
    @Option(help: """
        Gradient compression: none (dense ring), group-topk (sparse ring), group-topk-fp16, group-topk-int8, fp16, int8, \
        qsgd, sign (each rank's message all-gathered) or powersgd (low-rank factors on the dense ring); docs/compression.md. \
        An option the method does not read is refused.
        """)
    var compression: CompressionKind = .groupTopK

    @Option(help: "Group-TopK methods: fraction of each group kept (k = max(1, round(ratio x group size))) (default: \(defaults.ratio)).")
    var ratio: Double?

    @Option(help: "Group-TopK methods: elements per group (default: \(defaults.groupSize)).")
    var groupSize: Int?

    @Option(help: """
        group-topk: the sparse ring's merge, exact (union, dense when smaller) or reselect (cut back to top-k) \
        (default: \(defaults.policy.rawValue)).
        """)
    var sparseReduce: SparseReducePolicy?

    @Flag(name: .customLong("no-error-feedback"), help: "Drop what the compression does not send instead of accumulating it.")
    var noErrorFeedback = false

    @Flag(name: .customLong("error-feedback"), help: "Error feedback for qsgd or fp16 too (on by default for the other methods).")
    var errorFeedback = false

    @Option(help: """
        Where momentum goes under compression: fold (plain SGD at lr/(1-m)), correction (DGC, group-topk only), optimizer \
        (default: fold for the group-topk methods and sign, optimizer for fp16, int8, qsgd and powersgd).
        """)
    var sparseMomentum: SparseMomentum?

    @OptionGroup var codec: CodecFlags

    @Option(help: "powersgd: the rank of the factors (default: \(defaults.powerRank)).")
    var powersgdRank: Int?

    @Flag(help: "DGC momentum correction (group-topk only); the same as --sparse-momentum correction.")
    var momentumCorrection = false

    /// The settings of an option not given.
    static let defaults = CompressionSettings()

    /// The options given, each with the setting it fills, in the order of `--help`.
    var given: [(flag: String, field: CompressionSettings.Field)] {
        var given = [(flag: String, field: CompressionSettings.Field)]()
        if ratio != nil { given.append(("--ratio", .ratio)) }
        if groupSize != nil { given.append(("--group-size", .groupSize)) }
        if sparseReduce != nil { given.append(("--sparse-reduce", .policy)) }
        if noErrorFeedback { given.append(("--no-error-feedback", .errorFeedback)) }
        if errorFeedback { given.append(("--error-feedback", .errorFeedback)) }
        if let sparseMomentum {
            given.append(sparseMomentum == .correction ? ("--sparse-momentum correction", .momentumCorrection) : ("--sparse-momentum", .momentum))
        }
        given += codec.given
        if powersgdRank != nil { given.append(("--powersgd-rank", .powerRank)) }
        if momentumCorrection { given.append(("--momentum-correction", .momentumCorrection)) }
        return given
    }

    func validate() throws {
        if let ratio { try checkRatio(ratio) }
        if let groupSize { try checkGroupSize(groupSize) }
        if let powersgdRank { try requireAtLeast(1, powersgdRank, "--powersgd-rank") }
        try compression.refuseInapplicable(given)
        if noErrorFeedback && errorFeedback { throw ValidationError("give --error-feedback or --no-error-feedback, not both") }
        if momentumCorrection && sparseMomentum != nil && sparseMomentum != .fold && sparseMomentum != .correction {
            throw ValidationError("--momentum-correction contradicts --sparse-momentum \(sparseMomentum!.rawValue)")
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
        guard let method = compression.method else { return nil }
        var s = Self.defaults
        s.method = method
        s.ratio = ratio ?? s.ratio
        s.groupSize = groupSize ?? s.groupSize
        s.policy = sparseReduce ?? s.policy
        s.errorFeedback = noErrorFeedback ? false : (errorFeedback || method.errorFeedbackByDefault)
        // Fold for the methods error feedback releases in bursts (measured:
        // optimizer momentum costs them 1.7-2.1 points on the MLP).
        let burst = method.isTopK || method == .sign
        s.momentum = momentumCorrection ? .correction : (sparseMomentum ?? (burst ? .fold : .optimizer))
        codec.apply(to: &s)
        s.powerRank = powersgdRank ?? s.powerRank
        return s
    }
}

/// The dense codecs' options, shared by `train`'s compression,
/// `federated`'s uploads and `bench codecs`; nil or false: not given.
struct CodecFlags: ParsableArguments {
    @Option(help: "int8 and qsgd: elements per scale; sign: elements per scale group (default: \(CodecOptions().bucketSize)).")
    var bucketSize: Int?

    @Option(help: "qsgd: quantization levels s (1...32767) (default: \(CodecOptions().levels)).")
    var qsgdLevels: Int?

    @Flag(help: "int8: stochastic rounding (unbiased) instead of round-to-nearest.")
    var stochasticRounding = false

    func validate() throws {
        if let bucketSize, !(bucketSize >= 1 && bucketSize <= Int(UInt32.max)) {
            throw ValidationError("--bucket-size must be in 1...\(UInt32.max), got \(bucketSize)")
        }
        if let qsgdLevels, !(1...32_767).contains(qsgdLevels) {
            throw ValidationError("--qsgd-levels must be in 1...32767, got \(qsgdLevels)")
        }
    }

    /// The options given, each with the setting it fills.
    var given: [(flag: String, field: CompressionSettings.Field)] {
        var given = [(flag: String, field: CompressionSettings.Field)]()
        if bucketSize != nil { given.append(("--bucket-size", .bucketSize)) }
        if qsgdLevels != nil { given.append(("--qsgd-levels", .levels)) }
        if stochasticRounding { given.append(("--stochastic-rounding", .stochasticRounding)) }
        return given
    }

    /// Sets the options given; the others keep `s`'s values.
    func apply(to s: inout CompressionSettings) {
        s.bucketSize = bucketSize ?? s.bucketSize
        s.levels = qsgdLevels ?? s.levels
        s.stochasticRounding = stochasticRounding
    }

    /// Sets the options given; the others keep `o`'s values.
    func apply(to o: inout CodecOptions) {
        o.bucketSize = bucketSize ?? o.bucketSize
        o.levels = qsgdLevels ?? o.levels
        o.rounding = stochasticRounding ? .stochastic : .nearest
    }
}

/// `--compression`: none or a `CompressionMethod`.
enum CompressionKind: String, CaseIterable, ExpressibleByArgument {
    case none
    case groupTopK = "group-topk"
    case groupTopKFP16 = "group-topk-fp16"
    case groupTopKInt8 = "group-topk-int8"
    case fp16, int8, qsgd, sign
    case powerSGD = "powersgd"

    /// The method; nil for none, which reads no compression option.
    var method: CompressionMethod? { CompressionMethod(rawValue: rawValue) }

    /// Refuses the first option in `given` this method does not read
    /// (`CompressionMethod.reads(_:)`) with one line naming the option,
    /// the methods of `methods` that read it and this one:
    /// "--qsgd-levels applies to --compression qsgd only, not int8".
    /// An ignored option would let a user believe they ran a setting they did not.
    func refuseInapplicable(_ given: [(flag: String, field: CompressionSettings.Field)],
                            methods: [CompressionMethod] = CompressionMethod.allCases) throws {
        guard let (flag, field) = given.first(where: { method?.reads($0.field) != true }) else { return }
        let readers = methods.filter { $0.reads(field) }.map(\.rawValue)
        let list = readers.count > 1 ? readers.dropLast().joined(separator: ", ") + " and " + readers.last! : readers.joined()
        throw ValidationError("\(flag) applies to --compression \(list) only, not \(rawValue)")
    }
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
