import Collectives
import Compression
import Data
import Foundation
import MPI
import NN

/// Synchronous data-parallel training: every rank trains the same model on
/// its own partition; each step the ranks average their gradients through a
/// `GradientExchange` and apply the same SGD step, so the models stay
/// bitwise identical. Rank 0 evaluates on the test set after each epoch,
/// prints progress and writes the metrics.
public final class DataParallelTrainer {
    public let config: TrainConfig
    let world: Communicator
    let progress: ProgressPrinter
    let metrics: MetricsLog

    public init(config: TrainConfig, world: Communicator) {
        self.config = config
        self.world = world
        progress = ProgressPrinter(enabled: world.rank == 0, toStandardError: config.json)
        metrics = MetricsLog(path: world.rank == 0 ? config.metricsPath : nil)
    }

    /// Runs the whole training (collective) and returns the final record
    /// (identical keys on every rank; the evaluation figures come from rank 0).
    public func run() throws -> [String: Any] {
        let start = monotonicNow()
        let rank = world.rank, ranks = world.size
        let (train, test) = try world.agree { try loadData(config.data, seed: config.seed) }
        let parts = try world.agree {
            try partition(labels: train.labels, classes: train.classes, parts: ranks, scheme: config.partition, seed: config.seed)
        }
        let model = makeModel(config.model, imageShape: [train.height, train.width, train.channels],
                              classes: train.classes, hidden: config.hidden, seed: config.seed)
        let transport = MPITransport(communicator: world)
        let exchange: GradientExchange = config.compression.map {
            GroupTopKExchange(length: model.parameterCount, settings: $0, momentum: config.momentum, transport: transport)
        } ?? DenseExchange(transport: transport)
        let (momentum, rateFactor) = config.optimizerMomentum
        let stepsPerEpoch = (train.count + ranks * config.batch - 1) / (ranks * config.batch)
        let totalSteps = stepsPerEpoch * config.epochs
        let base = config.learningRate * rateFactor
        let peak = LearningRateSchedule.scaledRate(
            base: base, scaling: config.scaling, ranks: ranks, localBatch: config.batch,
            baseBatch: config.baseBatch ?? config.batch)
        let schedule = LearningRateSchedule(
            base: base, peak: peak,
            warmupSteps: Int((config.warmupEpochs(ranks: ranks) * Double(stepsPerEpoch)).rounded()),
            totalSteps: totalSteps, decay: config.decay)
        let optimizer = SGD(parameterCount: model.parameterCount, learningRate: Float(schedule.rate(at: 0)),
                            momentum: Float(momentum), nesterov: config.nesterov,
                            weightDecay: Float(config.weightDecay))

        progress.line("""
            edgetrain train: \(model.name) (\(model.parameterCount) parameters), \(ranks) rank(s), \
            batch \(config.batch)/rank (\(config.batch * ranks) global), \(config.epochs) epochs x \(stepsPerEpoch) steps, \
            compression \(compressionSummary), seed \(config.seed)
            data: \(config.data.name) (\(train.count) train, \(test.count) test), partition \(config.partition.name)
            lr: \(schedule.summary); \(config.optimizerSummary)
            """)
        progress.line(partitionSummary(histogram: labelHistogram(labels: train.labels, classes: train.classes, partitions: parts)))

        var sampler = MinibatchSampler(indices: parts[rank], batchSize: config.batch, seed: config.seed, stream: UInt64(rank))
        var features = [Float](repeating: 0, count: config.batch * train.featureCount)
        var labels = [Int32](repeating: 0, count: config.batch)
        var step = 0
        var total = ExchangeStats()
        var computeSeconds = 0.0
        var lastTest = (loss: Double.nan, accuracy: Double.nan)
        let trainStart = monotonicNow()
        var timeToTarget: Double?
        var stopped = false
        /// Rank 0 evaluates and records; with a target to stop at, every rank
        /// learns by one broadcast whether it was reached (collective).
        func evaluateNow(epoch: Int) throws -> Bool {
            if rank == 0 {
                lastTest = evaluate(model, on: test, batch: config.evalBatch)
                let wall = monotonicNow() - start
                if let target = config.targetAccuracy, timeToTarget == nil, lastTest.accuracy >= target { timeToTarget = wall }
                try metrics.append([
                    "event": "eval", "epoch": epoch, "step": step, "wall_s": wall,
                    "test_accuracy": lastTest.accuracy, "test_loss": lastTest.loss,
                    "bytes_sent": total.traffic.bytesSent,
                ])
            }
            guard config.stopAtTarget else { return false }
            return try world.broadcast(Int32(timeToTarget != nil ? 1 : 0), root: 0) == 1
        }

        for epoch in 1...config.epochs {
            let epochStart = monotonicNow()
            var epochCompute = 0.0
            var epochStats = ExchangeStats()
            var lossSum = 0.0, correct = 0.0, densitySum = 0.0
            var stepsThisEpoch = 0
            for _ in 0..<stepsPerEpoch {
                let t0 = monotonicNow()
                let batch = sampler.next()
                features.withUnsafeMutableBufferPointer { x in
                    labels.withUnsafeMutableBufferPointer { y in
                        train.fillBatch(indices: batch, features: x.baseAddress!, labels: y.baseAddress!)
                    }
                }
                let result = features.withUnsafeBufferPointer { x in
                    labels.withUnsafeBufferPointer { y in
                        model.trainStep(features: x.baseAddress!, labels: y.baseAddress!, batch: config.batch)
                    }
                }
                lossSum += result.loss * Double(config.batch)
                correct += Double(result.correct)
                epochCompute += monotonicNow() - t0
                let stats = try exchange.average(model.store.gradients)
                epochStats.add(stats)
                total.add(stats)
                densitySum += stats.density
                optimizer.learningRate = Float(schedule.rate(at: step))
                optimizer.step(parameters: model.store.parameters, gradients: model.store.gradients)
                step += 1
                stepsThisEpoch += 1
                if config.evalEvery > 0 && step % config.evalEvery == 0 {
                    if try evaluateNow(epoch: epoch) {
                        stopped = true
                        break
                    }
                }
            }
            computeSeconds += epochCompute
            var sums = [lossSum, correct, Double(stepsThisEpoch * config.batch)]
            try world.allReduce(&sums, op: .sum)
            if rank == 0 {
                lastTest = evaluate(model, on: test, batch: config.evalBatch)
                if let target = config.targetAccuracy, timeToTarget == nil, lastTest.accuracy >= target {
                    timeToTarget = monotonicNow() - start
                }
            }
            let wall = monotonicNow() - start
            let epochSeconds = monotonicNow() - epochStart
            var record: [String: Any] = [
                "event": "epoch", "epoch": epoch, "step": step,
                "train_loss": sums[0] / sums[2], "train_accuracy": sums[1] / sums[2],
                "test_loss": lastTest.loss, "test_accuracy": lastTest.accuracy,
                "lr": Double(optimizer.learningRate), "wall_s": wall, "epoch_s": epochSeconds,
                "bytes_sent": epochStats.traffic.bytesSent, "bytes_received": epochStats.traffic.bytesReceived,
                "bytes_sent_per_step": Double(epochStats.traffic.bytesSent) / Double(max(stepsThisEpoch, 1)),
                "bytes_received_per_step": Double(epochStats.traffic.bytesReceived) / Double(max(stepsThisEpoch, 1)),
                "density": densitySum / Double(max(stepsThisEpoch, 1)),
                "compute_s": epochCompute, "communicate_s": epochStats.communicateSeconds,
                "compress_s": epochStats.compressSeconds,
            ]
            record.merge(compressionFields) { a, _ in a }
            try metrics.append(record)
            progress.line(String(
                format: "epoch %d/%d  loss %.4f  train acc %.4f  test acc %.4f  %@  ETA %@",
                epoch, config.epochs, sums[0] / sums[2], sums[1] / sums[2], lastTest.accuracy,
                ProgressPrinter.duration(epochSeconds),
                ProgressPrinter.duration(ProgressPrinter.eta(elapsed: monotonicNow() - trainStart, done: epoch,
                                                             total: config.epochs))))
            if stopped {
                progress.line(String(format: "reached test accuracy %.4f >= %.4f at step %d: stopping",
                                     lastTest.accuracy, config.targetAccuracy ?? 0, step))
                break
            }
        }

        let hash = try agreedModelHash(model)
        let wall = monotonicNow() - start
        var final: [String: Any] = [
            "event": "final", "model": model.name, "parameters": model.parameterCount,
            "ranks": ranks, "epochs": config.epochs, "steps": step, "batch": config.batch, "seed": config.seed,
            "data": config.data.name, "partition": config.partition.name,
            "test_accuracy": lastTest.accuracy, "test_loss": lastTest.loss, "wall_s": wall,
            "compute_s": computeSeconds, "communicate_s": total.communicateSeconds, "compress_s": total.compressSeconds,
            "bytes_sent": total.traffic.bytesSent, "bytes_received": total.traffic.bytesReceived,
            "samples_per_s": Double(step * config.batch * ranks) / wall, "lr_peak": peak,
            "model_sha256": hash, "bytes_sent_per_step": Double(total.traffic.bytesSent) / Double(max(step, 1)),
            "lr_scaling": config.scaling.rawValue, "warmup_epochs": config.warmupEpochs(ranks: ranks),
        ]
        final.merge(compressionFields) { a, _ in a }
        if let target = config.targetAccuracy {
            final["target_accuracy"] = target
            final["time_to_target_s"] = timeToTarget ?? Double.nan
        }
        try metrics.append(final)
        progress.line(String(
            format: "done: test accuracy %.4f, test loss %.4f, %d epochs, %d steps, %@, %@ sent by rank 0",
            lastTest.accuracy, lastTest.loss, config.epochs, step, ProgressPrinter.duration(wall),
            formatBytes(total.traffic.bytesSent)))
        return final
    }

    /// The compression keys of every metrics record.
    var compressionFields: [String: Any] {
        guard let c = config.compression else { return ["compression": "none"] }
        return ["compression": "group-topk", "ratio": c.ratio, "group_size": c.groupSize,
                "sparse_reduce": c.policy.rawValue, "error_feedback": c.errorFeedback,
                "sparse_momentum": c.momentum.rawValue, "momentum_correction": c.momentum == .correction]
    }

    var compressionSummary: String {
        guard let c = config.compression else { return "none (dense ring)" }
        return "group-topk (ratio \(c.ratio), group \(c.groupSize), \(c.policy.rawValue), error feedback "
            + (c.errorFeedback ? "on" : "off") + ")"
    }

    /// SHA-256 of the parameters, checked equal on every rank (collective).
    func agreedModelHash(_ model: Model) throws -> String {
        let hash = SHA256.hex(UnsafeRawBufferPointer(model.store.parameters))
        let all = try world.allGather(Array(hash.utf8))
        let mine = Array(hash.utf8)
        for r in 0..<world.size where Array(all[r * mine.count..<(r + 1) * mine.count]) != mine {
            throw ModelDivergence(rank: r, hash: String(decoding: all[r * mine.count..<(r + 1) * mine.count], as: UTF8.self),
                                  rankZeroHash: String(decoding: all[0..<mine.count], as: UTF8.self))
        }
        return hash
    }
}

/// The ranks' models differ: a bug or a corrupted rank. Every rank sees the
/// gathered hashes, so every rank throws the same error.
public struct ModelDivergence: AgreedError {
    public let rank: Int
    public let hash: String
    public let rankZeroHash: String
    public var description: String {
        "model diverged across ranks: rank 0 has sha256 \(rankZeroHash), rank \(rank) has \(hash)"
    }
}

extension ExchangeStats {
    mutating func add(_ other: ExchangeStats) {
        traffic = traffic + other.traffic
        compressSeconds += other.compressSeconds
        communicateSeconds += other.communicateSeconds
        density = other.density
    }
}

extension PartitionScheme {
    var name: String {
        switch self {
        case .iid: return "iid"
        case let .dirichlet(alpha, minSize): return "dirichlet(alpha \(alpha), min \(minSize))"
        case let .shards(perPartition): return "shards(\(perPartition) per rank)"
        }
    }
}

/// Bytes in a short human form (decimal units).
public func formatBytes(_ bytes: Int) -> String {
    let b = Double(bytes)
    if b >= 1e9 { return String(format: "%.2f GB", b / 1e9) }
    if b >= 1e6 { return String(format: "%.2f MB", b / 1e6) }
    if b >= 1e3 { return String(format: "%.1f kB", b / 1e3) }
    return "\(bytes) B"
}

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
