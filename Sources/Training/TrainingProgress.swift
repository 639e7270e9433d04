import Collectives
import RunSupport

/// Everything about a training run that changes as it goes, besides the
/// model, optimizer, exchange and sampler: where it is, what it has summed
/// so far, and what it has measured. Checkpoints save it whole.
struct TrainingProgress {
    var step = 0
    var epoch = 1
    var stepInEpoch = 0
    // The current epoch's sums.
    var lossSum = 0.0
    var correct = 0.0
    var densitySum = 0.0
    var epochCompute = 0.0
    var epochExchange = ExchangeStats()
    // The whole run.
    var total = ExchangeStats()
    var computeSeconds = 0.0
    /// Wall seconds of the run before this process (a resumed run continues them).
    var elapsedBefore = 0.0
    var lastTest = (loss: Double.nan, accuracy: Double.nan)
    var timeToTarget: Double?
    /// Metrics records written (rank 0), so that a resumed run truncates the
    /// metrics file to what this checkpoint had seen.
    var metricsRecords = 0

    mutating func startEpoch() {
        lossSum = 0
        correct = 0
        densitySum = 0
        epochCompute = 0
        epochExchange = ExchangeStats()
        stepInEpoch = 0
    }

    func save(into file: inout CheckpointFile, elapsed: Double) {
        file.set("progress.step", integer: step)
        file.set("progress.epoch", integer: epoch)
        file.set("progress.step_in_epoch", integer: stepInEpoch)
        file.set("progress.metrics_records", integer: metricsRecords)
        file.set("progress.loss_sum", double: lossSum)
        file.set("progress.correct", double: correct)
        file.set("progress.density_sum", double: densitySum)
        file.set("progress.epoch_compute_s", double: epochCompute)
        file.set("progress.compute_s", double: computeSeconds)
        file.set("progress.elapsed_s", double: elapsed)
        file.set("progress.test_loss", double: lastTest.loss)
        file.set("progress.test_accuracy", double: lastTest.accuracy)
        if let timeToTarget { file.set("progress.time_to_target_s", double: timeToTarget) }
        epochExchange.save(into: &file, prefix: "progress.epoch_exchange")
        total.save(into: &file, prefix: "progress.total_exchange")
    }

    init() {}

    init(from file: CheckpointFile, name: String) throws {
        step = try file.integer("progress.step", file: name)
        epoch = try file.integer("progress.epoch", file: name)
        stepInEpoch = try file.integer("progress.step_in_epoch", file: name)
        metricsRecords = try file.integer("progress.metrics_records", file: name)
        lossSum = try file.double("progress.loss_sum", file: name)
        correct = try file.double("progress.correct", file: name)
        densitySum = try file.double("progress.density_sum", file: name)
        epochCompute = try file.double("progress.epoch_compute_s", file: name)
        computeSeconds = try file.double("progress.compute_s", file: name)
        elapsedBefore = try file.double("progress.elapsed_s", file: name)
        lastTest = (try file.double("progress.test_loss", file: name), try file.double("progress.test_accuracy", file: name))
        timeToTarget = file["progress.time_to_target_s"] == nil ? nil : try file.double("progress.time_to_target_s", file: name)
        epochExchange = try ExchangeStats(from: file, prefix: "progress.epoch_exchange", name: name)
        total = try ExchangeStats(from: file, prefix: "progress.total_exchange", name: name)
    }
}

extension ExchangeStats {
    /// Saves the stats as named sections under `prefix`, for checkpoints.
    func save(into file: inout CheckpointFile, prefix: String) {
        file.set("\(prefix).bytes_sent", integer: traffic.bytesSent)
        file.set("\(prefix).bytes_received", integer: traffic.bytesReceived)
        file.set("\(prefix).messages_sent", integer: traffic.messagesSent)
        file.set("\(prefix).messages_received", integer: traffic.messagesReceived)
        file.set("\(prefix).traffic_s", double: traffic.seconds)
        file.set("\(prefix).compress_s", double: compressSeconds)
        file.set("\(prefix).communicate_s", double: communicateSeconds)
        file.set("\(prefix).density", double: density)
    }

    init(from file: CheckpointFile, prefix: String, name: String) throws {
        self.init()
        traffic.bytesSent = try file.integer("\(prefix).bytes_sent", file: name)
        traffic.bytesReceived = try file.integer("\(prefix).bytes_received", file: name)
        traffic.messagesSent = try file.integer("\(prefix).messages_sent", file: name)
        traffic.messagesReceived = try file.integer("\(prefix).messages_received", file: name)
        traffic.seconds = try file.double("\(prefix).traffic_s", file: name)
        compressSeconds = try file.double("\(prefix).compress_s", file: name)
        communicateSeconds = try file.double("\(prefix).communicate_s", file: name)
        density = try file.double("\(prefix).density", file: name)
    }

    mutating func add(_ other: ExchangeStats) {
        traffic = traffic + other.traffic
        compressSeconds += other.compressSeconds
        communicateSeconds += other.communicateSeconds
        density = other.density
    }
}
