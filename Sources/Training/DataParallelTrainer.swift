import Collectives
import Compression
import Data
import Foundation
import NN
import RunSupport

/// Synchronous data-parallel training: every rank trains the same model on
/// its own partition; each step the ranks average their gradients through a
/// `GradientExchange` and apply the same SGD step, so the models stay
/// bitwise identical. Rank 0 evaluates on the test set after each epoch,
/// prints progress and writes the metrics. With a checkpoint directory the
/// run saves everything every K steps and can resume bitwise exactly.
public final class DataParallelTrainer {
    public let config: TrainConfig
    /// The ranks of the run: MPI (`MPITransport`) or threads in one process (`LoopbackTransport`).
    let peers: PeerGroup
    let progress: ProgressPrinter
    let metrics: MetricsLog
    var state = TrainingProgress()
    let train: ImageDataset
    let test: ImageDataset
    /// Each rank's sample indices into `train`.
    let partitions: [[Int]]
    let model: Model
    let exchange: GradientExchange
    /// `--trace`: this rank's phases.
    let tracer: Tracer
    let optimizer: SGD
    let schedule: LearningRateSchedule
    var sampler: MinibatchSampler
    let stepsPerEpoch: Int
    /// When the run began (set up included), less the time a resumed
    /// checkpoint had already run.
    var start: Double
    /// Rank 0: the last `config.targetWindow` test accuracies (the target's
    /// crossing rule; not checkpointed, so a resumed run refills it).
    var recentAccuracies = [Double]()
    /// The divergence check's reference: the loss of the first step this
    /// process ran, at least ln(classes) (what an untrained model scores).
    var startingLoss: Double?

    /// Loads and partitions the data, checks that a batch fits every
    /// partition, and builds the model, exchange, schedule, optimizer and
    /// sampler (collective: the checks are agreed, so every rank throws the
    /// same error or none does).
    public init(config: TrainConfig, peers: PeerGroup) throws {
        start = monotonicSeconds()
        self.config = config
        self.peers = peers
        progress = ProgressPrinter(enabled: peers.rank == 0, toStandardError: config.json)
        metrics = MetricsLog(path: peers.rank == 0 ? config.metricsPath : nil)
        peers.timeout = config.communicationTimeout
        let ranks = peers.size
        try peers.agree { if let problem = config.settingsProblem { throw TrainingError.invalidSettings(problem) } }
        let (train, test) = try peers.agree { try loadData(config.data, seed: config.seed) }
        partitions = try peers.agree {
            let parts = try partition(labels: train.labels, classes: train.classes, parts: ranks, scheme: config.partition, seed: config.seed)
            try checkBatchFits(config.batch, partitions: parts, firstRank: 0)
            return parts
        }
        (self.train, self.test) = (train, test)
        let model = makeModel(config.model, imageShape: [train.height, train.width, train.channels],
                              classes: train.classes, hidden: config.hidden, seed: config.seed)
        self.model = model
        exchange = makeExchange(config, model: model, peers: peers)
        let tracer = Tracer(enabled: config.tracePath != nil)
        self.tracer = tracer
        if tracer.enabled {
            let observe: (String, Double, Double) -> Void = { tracer.record($0, "communicate", from: $1, to: $2) }
            (exchange as? DenseExchange)?.ring.stepObserver = observe
            (exchange as? GroupTopKExchange)?.ring.stepObserver = observe
            (exchange as? CodecExchange)?.gather.stepObserver = observe
            (exchange as? PowerSGDExchange)?.ring.stepObserver = observe
        }
        stepsPerEpoch = (train.count + ranks * config.batch - 1) / (ranks * config.batch)
        schedule = config.schedule(ranks: ranks, stepsPerEpoch: stepsPerEpoch)
        optimizer = SGD(parameterCount: model.parameterCount, learningRate: Float(schedule.rate(at: 0)),
                        momentum: Float(config.optimizerMomentum.momentum), nesterov: config.nesterov,
                        weightDecay: Float(config.weightDecay))
        sampler = MinibatchSampler(indices: partitions[peers.rank], batchSize: config.batch, seed: config.seed, stream: UInt64(peers.rank))
    }

    var rank: Int { peers.rank }
    var ranks: Int { peers.size }

    /// Runs the whole training (collective) and returns the final record
    /// (identical keys on every rank; the evaluation figures come from rank 0).
    public func run() throws -> TrainFinalRecord {
        try prepareDumpDirectory()
        if config.resume { try resume() }
        start -= state.elapsedBefore
        printHeader()
        var features = [Float](repeating: 0, count: config.batch * train.featureCount)
        var labels = [Int32](repeating: 0, count: config.batch)
        let trainStart = monotonicSeconds()
        let firstEpoch = state.epoch
        while state.epoch <= config.epochs {
            let epochStart = monotonicSeconds()
            var stopped = false
            while state.stepInEpoch < stepsPerEpoch {
                try step(&features, &labels)
                if let fault = config.injectFault, fault.rank == rank, fault.step == state.step { try inject(fault.kind) }
                if config.checkEvery > 0 && state.step % config.checkEvery == 0 { _ = try agreedModelHash() }
                // Evaluate before checkpointing, so that a checkpoint holds the
                // evaluation's record and a resume does not skip it.
                if config.evalEvery > 0 && state.step % config.evalEvery == 0, try tracer.span("evaluate", "evaluate", { try evaluateNow() }) {
                    stopped = true
                    break
                }
                if config.checkpointEvery > 0 && state.step % config.checkpointEvery == 0 { try tracer.span("checkpoint", "checkpoint", saveCheckpoint) }
            }
            try tracer.span("end of epoch (evaluate, record)", "evaluate") {
                try finishEpoch(seconds: monotonicSeconds() - epochStart,
                                eta: ProgressPrinter.eta(elapsed: monotonicSeconds() - trainStart, done: state.epoch - firstEpoch + 1,
                                                         total: config.epochs - firstEpoch + 1))
            }
            if stopped {
                progress.line(String(format: "reached test accuracy %.4f >= %.4f (mean of the last %d evaluations) at step %d: stopping",
                                     recentAccuracies.reduce(0, +) / Double(max(recentAccuracies.count, 1)),
                                     config.targetAccuracy ?? 0, config.targetWindow, state.step))
                break
            }
            state.epoch += 1
            state.startEpoch()
        }
        return try finish()
    }

    func printHeader() {
        progress.line("""
            edgetrain train: \(model.name) (\(model.parameterCount) parameters), \(ranks) rank(s), \
            batch \(config.batch)/rank (\(config.batch * ranks) global), \(config.epochs) epochs x \(stepsPerEpoch) steps, \
            compression \(compressionSummary), seed \(config.seed)
            data: \(config.data.name) (\(train.count) train, \(test.count) test), partition \(config.partition.name)
            lr: \(schedule.summary)\(scalingSummary); \(config.optimizerSummary)
            \(ComputeKernels.summary)
            """ + (state.step > 0 ? "\nresumed at step \(state.step) (epoch \(state.epoch))" : ""))
        progress.line(partitionSummary(histogram: labelHistogram(labels: train.labels, classes: train.classes, partitions: partitions)))
    }

    /// How the linear rule set the peak, for the header.
    var scalingSummary: String {
        guard config.scaling == .linear else { return "" }
        let factor = schedule.peak / schedule.base
        return String(format: " (linear scaling x%.4g", factor)
            + (config.maxLearningRateScale.isFinite ? String(format: ", at most x%.4g)", config.maxLearningRateScale) : ")")
    }

    /// One step: local batch, forward/backward, checks, exchange, SGD.
    func step(_ features: inout [Float], _ labels: inout [Int32]) throws {
        let t0 = monotonicSeconds()
        let batch = sampler.next()
        let result = tracer.span("forward/backward", "compute") { features.withUnsafeMutableBufferPointer { x in
            labels.withUnsafeMutableBufferPointer { y in
                train.fillBatch(indices: batch, features: x.baseAddress!, labels: y.baseAddress!)
                return model.trainStep(features: x.baseAddress!, labels: y.baseAddress!, batch: config.batch)
            }
        } }
        // Agreed (one tiny MPI_Allreduce per step; the dense exchange has no
        // header to carry it): the lowest failing rank's message, printed once.
        let checks = tracer.now()
        try peers.agree {
            try checkFinite(loss: result.loss)
            try checkDivergence(loss: result.loss)
        }
        tracer.record("checks (agreed)", "wait", from: checks)
        try dumpGradientIfAsked()
        state.lossSum += result.loss * Double(config.batch)
        state.correct += Double(result.correct)
        state.epochCompute += monotonicSeconds() - t0
        let stats = try exchange.average(model.store.gradients)
        for part in stats.compressIntervals where part.end > part.start { tracer.record("compress", "compress", from: part.start, to: part.end) }
        state.epochExchange.add(stats)
        state.total.add(stats)
        state.densitySum += stats.density
        optimizer.learningRate = Float(schedule.rate(at: state.step))
        tracer.span("sgd step", "compute") { optimizer.step(parameters: model.store.parameters, gradients: model.store.gradients) }
        state.step += 1
        state.stepInEpoch += 1
    }

    func inject(_ kind: InjectedFault.Kind) throws {
        switch kind {
        case .diverge: model.store.parameters[0] += 1e-3
        case .hang: try peers.stopResponding()
        }
    }

    /// A non-finite loss or gradient stops the run, naming the step, rank
    /// and layer: the first layer whose weights, else whose gradient, holds a
    /// NaN or an infinity (`step` agrees it, so rank 0 prints it once).
    func checkFinite(loss: Double) throws {
        let store = model.store
        let badGradient = store.spans.first { !allFinite(store.gradients.baseAddress! + $0.offset, count: $0.count) }
        guard !loss.isFinite || badGradient != nil else { return }
        let what = loss.isFinite ? "non-finite gradient" : "non-finite loss \(loss)"
        var place = "in layer \(badGradient.map { "\($0.layer) (\($0.name)) gradient" } ?? "?")"
        if let span = store.spans.first(where: { !allFinite(UnsafePointer(store.parameters.baseAddress! + $0.offset), count: $0.count) }) {
            place = "in layer \(span.layer) (\(span.name)) weights"
        } else if badGradient == nil {
            place = "with finite weights and gradients (the activations overflowed)"
        }
        throw TrainingError.nonFinite("\(what) at step \(state.step + 1) on rank \(rank) \(place); lower --lr")
    }

    /// A loss that explodes while staying finite stops the run too: a step
    /// whose local loss exceeds `TrainConfig.divergenceFactor` x the starting
    /// loss (the first step's, but at least ln(classes), so that a run
    /// resumed near convergence is not stopped by a noisy batch;
    /// cross-entropy ten times an untrained model's is not noise), naming the
    /// step, rank and the rate that produced the loss (the last one applied).
    /// `step` agrees it, so rank 0 prints it once.
    func checkDivergence(loss: Double) throws {
        guard let start = startingLoss else {
            startingLoss = max(loss, log(Double(train.classes)))
            return
        }
        guard loss > TrainConfig.divergenceFactor * start else { return }
        throw TrainingError.nonFinite(String(
            format: "training diverged: loss %.4g at step %d on rank %d is more than %.0fx the starting loss %.4g "
                + "(learning rate %.4g, peak %.4g); lower --lr or --max-lr-scale, or lengthen --warmup-epochs",
            loss, state.step + 1, rank, TrainConfig.divergenceFactor, start, schedule.rate(at: state.step - 1), schedule.peak))
    }

    /// Rank 0 evaluates and records; with a target to stop at, every rank
    /// learns by one broadcast whether it was reached (collective).
    func evaluateNow() throws -> Bool {
        if rank == 0 {
            let wall = evaluateTest()
            try record(TrainEvalRecord(
                epoch: state.epoch, step: state.step, wallSeconds: wall,
                testAccuracy: state.lastTest.accuracy, testLoss: state.lastTest.loss,
                bytesSent: state.total.traffic.bytesSent))
        }
        guard config.stopAtTarget else { return false }
        return try peers.broadcast(state.timeToTarget != nil, root: 0)
    }

    /// Rank 0: evaluates the test set and notes when the target was first
    /// reached. Returns the run's wall seconds at that moment.
    func evaluateTest() -> Double {
        state.lastTest = evaluate(model, on: test, batch: config.evalBatch)
        let wall = monotonicSeconds() - start
        recentAccuracies.append(state.lastTest.accuracy)
        if recentAccuracies.count > config.targetWindow { recentAccuracies.removeFirst() }
        if let target = config.targetAccuracy, state.timeToTarget == nil, recentAccuracies.count == config.targetWindow,
           recentAccuracies.reduce(0, +) / Double(config.targetWindow) >= target {
            state.timeToTarget = wall
        }
        return wall
    }

    func record<Record: Encodable>(_ r: Record) throws {
        try metrics.append(r)
        state.metricsRecords += 1
    }

    /// The end of an epoch: training figures summed over ranks, rank 0's test
    /// evaluation, the epoch record and progress line.
    func finishEpoch(seconds: Double, eta: Double) throws {
        let steps = max(state.stepInEpoch, 1)
        var sums = [state.lossSum, state.correct, Double(state.stepInEpoch * config.batch)]
        try peers.sum(&sums)
        if rank == 0 { _ = evaluateTest() }
        state.computeSeconds += state.epochCompute
        let e = state.epochExchange
        let r = TrainEpochRecord(figures: .init(
            epoch: state.epoch, step: state.step,
            trainLoss: sums[0] / max(sums[2], 1), trainAccuracy: sums[1] / max(sums[2], 1),
            testLoss: state.lastTest.loss, testAccuracy: state.lastTest.accuracy,
            learningRate: Double(optimizer.learningRate), wallSeconds: monotonicSeconds() - start, epochSeconds: seconds,
            bytesSent: e.traffic.bytesSent, bytesReceived: e.traffic.bytesReceived,
            bytesSentPerStep: Double(e.traffic.bytesSent) / Double(steps),
            bytesReceivedPerStep: Double(e.traffic.bytesReceived) / Double(steps),
            density: state.densitySum / Double(steps), computeSeconds: state.epochCompute,
            communicateSeconds: e.communicateSeconds, compressSeconds: e.compressSeconds),
            compression: compressionKeys, memory: try memoryKeys())
        if rank == 0 { try record(r) }
        progress.line(String(
            format: "epoch %d/%d  loss %.4f  train acc %.4f  test acc %.4f  %@  ETA %@",
            state.epoch, config.epochs, sums[0] / max(sums[2], 1), sums[1] / max(sums[2], 1), state.lastTest.accuracy,
            ProgressPrinter.duration(seconds), ProgressPrinter.duration(eta)))
    }

    /// The final record, after checking every rank holds the same model.
    func finish() throws -> TrainFinalRecord {
        let hash = try agreedModelHash()
        let wall = monotonicSeconds() - start
        let final = TrainFinalRecord(figures: .init(
            model: model.name, parameters: model.parameterCount,
            ranks: ranks, epochs: config.epochs, steps: state.step, batch: config.batch, seed: config.seed,
            data: config.data.name, partition: config.partition.name,
            testAccuracy: state.lastTest.accuracy, testLoss: state.lastTest.loss, wallSeconds: wall,
            computeSeconds: state.computeSeconds, communicateSeconds: state.total.communicateSeconds,
            compressSeconds: state.total.compressSeconds,
            bytesSent: state.total.traffic.bytesSent, bytesReceived: state.total.traffic.bytesReceived,
            samplesPerSecond: Double(state.step * config.batch * ranks) / wall, peakLearningRate: schedule.peak,
            modelSHA256: hash, bytesSentPerStep: Double(state.total.traffic.bytesSent) / Double(max(state.step, 1)),
            learningRateScaling: config.scaling.rawValue, maxLearningRateScale: config.maxLearningRateScale,
            warmupEpochs: config.warmupEpochs(ranks: ranks)),
            compression: compressionKeys,
            // A target never reached keeps its key, as null.
            target: .init(targetAccuracy: config.targetAccuracy, targetWindow: config.targetAccuracy.map { _ in config.targetWindow },
                          timeToTargetSeconds: config.targetAccuracy.map { _ in state.timeToTarget ?? .nan }),
            memory: try memoryKeys())
        if rank == 0 { try record(final) }
        try tracer.write(to: config.tracePath, peers: peers, timeout: config.communicationTimeout)
        if rank == 0, let path = config.tracePath { progress.line("trace: \(path) (open in ui.perfetto.dev or chrome://tracing)") }
        progress.line(String(
            format: "done: test accuracy %.4f, test loss %.4f, %d epochs, %d steps, %@, %@ sent by rank 0",
            state.lastTest.accuracy, state.lastTest.loss, config.epochs, state.step, ProgressPrinter.duration(wall),
            formatBytes(state.total.traffic.bytesSent)))
        return final
    }

    /// The Group-TopK layout of this model's gradient (nil: dense).
    var layout: GroupLayout? {
        guard let c = config.compression, c.method.isTopK else { return nil }
        return GroupLayout(length: model.parameterCount, groupSize: c.groupSize, ratio: c.ratio)
    }

    /// The compression keys of every metrics record: the method's own
    /// (`CompressionKeys`) and train's.
    var compressionKeys: TrainCompressionKeys {
        var keys = TrainCompressionKeys(codec: CompressionKeys(config.compression, parameterCount: model.parameterCount))
        guard let c = config.compression else { return keys }
        (keys.sparseMomentum, keys.momentumCorrection) = (c.momentum.rawValue, c.momentum == .correction)
        // The train-only options the method reads (`CompressionMethod.reads(_:)`).
        if c.method.reads(.policy) { keys.sparseReduce = c.policy.rawValue }
        if c.method.reads(.powerRank) { keys.powerRank = c.powerRank }
        return keys
    }

    var compressionSummary: String {
        guard let c = config.compression else { return "none (dense ring)" }
        let feedback = "error feedback " + (c.errorFeedback ? "on" : "off")
        switch c.method {
        case .groupTopK: break
        case .powerSGD:
            let ex = exchange as? PowerSGDExchange
            return "powersgd (rank \(c.powerRank), \(ex?.matrices.count ?? 0) matrices low-rank, \(ex?.dense.count ?? 0) tensors dense, "
                + "\(ex?.floatsPerStep ?? 0) of \(model.parameterCount) floats a step on two dense rings, \(feedback))"
        default:
            let bytes = (exchange as? CodecExchange)?.codec.encodedBytes(count: model.parameterCount) ?? 0
            return "\(c.method.rawValue) (\(bytes) bytes a message for \(model.parameterCount) floats, all-gathered, \(feedback))"
        }
        guard let layout else { return "none (dense ring)" }
        return "group-topk (ratio \(c.ratio) (effective \(String(format: "%.4g", layout.effectiveRatio))), group \(c.groupSize), \(c.policy.rawValue), error feedback "
            + (c.errorFeedback ? "on" : "off") + ")"
    }

    /// With `--report-memory`, every rank's peak resident memory (collective):
    /// for the soak benchmark. Without, no keys.
    func memoryKeys() throws -> MemoryKeys {
        guard config.reportMemory else { return MemoryKeys() }
        let all = try peers.allGather(withUnsafeBytes(of: Int64(peakResidentKilobytes())) { Array($0) }).map {
            $0.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
        }
        return MemoryKeys(peakKilobytesPerRank: all.map { Int($0) }, peakKilobytesMax: Int(all.max() ?? 0))
    }

    /// SHA-256 of the parameters, checked equal on every rank (collective).
    func agreedModelHash() throws -> String {
        let hash = SHA256.hex(model.store.copyParameters())
        let all = try peers.allGather(Array(hash.utf8)).map { String(decoding: $0, as: UTF8.self) }
        if let r = all.firstIndex(where: { $0 != hash }) {
            throw TrainingError.modelDivergence(step: state.step, rank: r, hash: all[r], rankZeroHash: all[0])
        }
        return hash
    }
}

/// True when none of `count` floats at `p` is NaN or infinite: x * 0 is 0
/// for every finite x and NaN otherwise, so one sum tells.
func allFinite(_ p: UnsafePointer<Float>, count: Int) -> Bool {
    let raw = UnsafeRawPointer(p)
    var acc = SIMD16<Float>(repeating: 0)
    var i = 0
    while i + 16 <= count {
        acc += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * 0
        i += 16
    }
    var tail: Float = 0
    while i < count {
        tail += p[i] * 0
        i += 1
    }
    return acc == SIMD16<Float>(repeating: 0) && tail == 0
}

extension PartitionScheme {
    var name: String {
        switch self {
        case .iid: return "iid"
        case let .dirichlet(alpha, minSize): return "dirichlet(alpha \(alpha), min \(minSize))"
        case let .shards(perPartition): return "shards(\(perPartition) per rank)"
        case let .skewed(skew, minSize): return "iid, sizes \(skew) (min \(minSize))"
        }
    }
}
