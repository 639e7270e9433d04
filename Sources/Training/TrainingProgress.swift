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
        file["progress.counts"] = .integers([Int64(step), Int64(epoch), Int64(stepInEpoch), Int64(metricsRecords)])
        file["progress.sums"] = .doubles([
            lossSum, correct, densitySum, epochCompute, computeSeconds, elapsed,
            lastTest.loss, lastTest.accuracy, timeToTarget ?? -1,
        ])
        file["progress.epoch_exchange"] = .doubles(epochExchange.numbers)
        file["progress.total_exchange"] = .doubles(total.numbers)
    }

    init() {}

    init(from file: CheckpointFile, name: String) throws {
        let counts = try file.integers("progress.counts", file: name)
        let sums = try file.doubles("progress.sums", file: name)
        let epochNumbers = try file.doubles("progress.epoch_exchange", file: name)
        let totalNumbers = try file.doubles("progress.total_exchange", file: name)
        guard counts.count == 4, sums.count == 9,
              let epochExchange = ExchangeStats(numbers: epochNumbers), let total = ExchangeStats(numbers: totalNumbers)
        else { throw CheckpointError(file: name, problem: "progress sections have the wrong sizes") }
        (step, epoch, stepInEpoch, metricsRecords) = (Int(counts[0]), Int(counts[1]), Int(counts[2]), Int(counts[3]))
        (lossSum, correct, densitySum, epochCompute, computeSeconds, elapsedBefore) = (sums[0], sums[1], sums[2], sums[3], sums[4], sums[5])
        lastTest = (sums[6], sums[7])
        timeToTarget = sums[8] >= 0 ? sums[8] : nil
        self.epochExchange = epochExchange
        self.total = total
    }
}

extension ExchangeStats {
    /// The stats as numbers, for checkpoints.
    var numbers: [Double] {
        [Double(traffic.bytesSent), Double(traffic.bytesReceived), Double(traffic.messagesSent), Double(traffic.messagesReceived),
         traffic.seconds, compressSeconds, communicateSeconds, density]
    }

    init?(numbers v: [Double]) {
        guard v.count == 8 else { return nil }
        self.init()
        traffic.bytesSent = Int(v[0])
        traffic.bytesReceived = Int(v[1])
        traffic.messagesSent = Int(v[2])
        traffic.messagesReceived = Int(v[3])
        traffic.seconds = v[4]
        compressSeconds = v[5]
        communicateSeconds = v[6]
        density = v[7]
    }

    mutating func add(_ other: ExchangeStats) {
        traffic = traffic + other.traffic
        compressSeconds += other.compressSeconds
        communicateSeconds += other.communicateSeconds
        density = other.density
    }
}
