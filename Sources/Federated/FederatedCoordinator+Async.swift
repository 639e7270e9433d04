import Compression
import Foundation
import RunSupport

extension FederatedCoordinator {
    /// Asynchronous rounds (FedAsync, Xie et al. 2019; FedBuff, Nguyen et
    /// al. 2022): `perRound` clients train at once, each new one drawn from
    /// all the clients not training; each update is applied
    /// as it arrives, weighted by alpha x s(staleness), where staleness is
    /// how many versions the global model moved since the client got it.
    /// With `--buffer K` the coordinator averages K weighted updates before
    /// applying them. Updates more than `--max-staleness` versions old are
    /// dropped. A "round" here is one new global version.
    ///
    /// In delta form: w += alpha x sum_j s(t_j) delta_j / K, where FedAsync
    /// mixes (1 - a) w + a w_client with w_client = w_(v_j) + delta_j; using
    /// delta_j on the current w avoids keeping old versions.
    ///
    /// Checkpoints happen right after an application, when the buffer is
    /// empty; the clients' work in flight is discarded (counted as late)
    /// and they start again from the saved model, so async runs resume but
    /// not bitwise.
    ///
    /// With `--clients` the order is the clients' emulated one, not the
    /// order an executor happens to finish them in (`EmulatedArrivals`).
    func runAsynchronous() throws {
        let concurrency = config.perRound(clients: clients.count)
        var sentAt = [Int: Double]()
        var draws = 0
        var emulated = EmulatedArrivals()
        // Keeps `concurrency` clients busy, each free slot going to a client
        // drawn (seeded by the draw count) from every client not busy, the one
        // that just answered included.
        func refill() throws {
            while busy.count < concurrency && version < config.rounds {
                let idle = clients.filter { !busy.contains($0) }
                guard let c = selectClients(idle, count: 1, seed: config.seed ^ 0xA5_0000, round: draws).first else { return }
                draws += 1
                sentAt[c] = isVirtual ? emulated.now : monotonicSeconds()
                try sendModel(to: c, round: version + 1, steps: 0)
            }
        }
        try refill()
        var buffer = [(delta: [Float], weight: Double)]()
        var entries = [FederatedClientEntry]()
        var roundStart = monotonicSeconds()
        var emulatedRoundStart = 0.0
        while version < config.rounds {
            let next = isVirtual ? try nextEmulatedArrival(&emulated, sentAt: sentAt) : try nextMessage(deadline: nil)
            guard let (client, message, bytes, refusal) = next else { continue }
            busy.remove(client)
            bytesUp += bytes
            let staleness = version - message[int: .version]
            let seconds = isVirtual ? emulated.now - sentAt[client]! : monotonicSeconds() - (sentAt[client] ?? roundStart)
            let weight = asyncWeight(staleness: staleness, maxStaleness: config.maxStaleness, weighting: config.stalenessWeighting)
            if weight == nil {
                dropped += 1
                entries.append(clientEntry(client, message, bytesUp: bytes, roundSeconds: seconds, staleness: staleness, dropped: true))
            } else {
                var entry = clientEntry(client, message, bytesUp: bytes, roundSeconds: seconds, staleness: staleness, dropped: false)
                do {
                    if let refusal { throw FederatedError.rejectedUpload(refusal) }
                    let c = try checkedContribution(client, message, early: [:])
                    buffer.append((c.delta, weight!))
                } catch FederatedError.rejectedUpload(let reason) {
                    reject(client, round: version + 1, reason)
                    entry.rejected = reason
                }
                entries.append(entry)
            }
            if buffer.count >= config.buffer {
                try apply(bufferedChange(buffer, length: model.parameterCount), scale: config.asyncMixing)
                buffer.removeAll()
                var figures = FederatedRoundFigures(
                    roundSeconds: monotonicSeconds() - roundStart, idleSeconds: 0, clients: entries,
                    participants: entries.filter { !$0.dropped && $0.rejected == nil }.count,
                    dropped: entries.filter(\.dropped).count)
                if isVirtual { figures.emulatedRoundSeconds = emulated.now - emulatedRoundStart }
                try finishRound(version, total: config.rounds, record: figures)
                entries.removeAll()
                roundStart = monotonicSeconds()
                emulatedRoundStart = emulated.now
            }
            // Also sets going again the clients a checkpoint drained.
            try refill()
        }
    }
}

/// `--clients --async`: the updates in the order their clients would have
/// finished on their own devices. A client sent the model at emulated time
/// s finishes at s + its emulated round time (`emulated_s`: download,
/// compute, emulated waits, upload). The next update to apply is the one
/// that finishes first, which is known only once every client in flight has
/// reported: a client still training may yet finish earlier. So the
/// coordinator holds the reports until all are in, applies the earliest
/// (ties: the lower client id), and sends its model to the next client at
/// that emulated time. Only the newly sent client trains between two
/// updates, so the executors work one client at a time after the first
/// `--clients-per-round`; the price of an order that does not depend on
/// which executor serves whom.
struct EmulatedArrivals {
    /// The coordinator's emulated clock: when the last update applied arrived.
    var now = 0.0
    /// Reports in hand, by client, not yet due.
    var held = [Int: (message: FederatedMessage, bytes: Int, refusal: String?)]()

    /// The held report that finishes first once `inFlight` have all
    /// reported, removed and with the clock moved to its finish; nil while
    /// some have not.
    mutating func next(inFlight: Set<Int>, finish: (Int, FederatedMessage) -> Double)
        -> (client: Int, message: FederatedMessage, bytes: Int, refusal: String?)? {
        guard !inFlight.isEmpty, inFlight.allSatisfy({ held[$0] != nil }) else { return nil }
        let client = inFlight.min { (finish($0, held[$0]!.message), $0) < (finish($1, held[$1]!.message), $1) }!
        let report = held.removeValue(forKey: client)!
        now = max(now, finish(client, report.message))
        return (client, report.message, report.bytes, report.refusal)
    }
}

extension FederatedCoordinator {
    /// `--clients --async`: the next update in emulated order (`EmulatedArrivals`).
    func nextEmulatedArrival(_ emulated: inout EmulatedArrivals, sentAt: [Int: Double])
        throws -> (client: Int, message: FederatedMessage, bytes: Int, refusal: String?)? {
        while true {
            if let due = emulated.next(inFlight: busy, finish: { sentAt[$0]! + emulatedSeconds($0, $1) }) { return due }
            guard let (client, message, bytes, refusal) = try nextMessage(deadline: nil) else { continue }
            guard message.kind == .update else {
                throw FederatedError.failed("coordinator: rank \(executorOf[client]) sent a message of kind \(message.header.kind) in an async round")
            }
            emulated.held[client] = (message, bytes, refusal)
        }
    }
}

/// The weight of an async update `staleness` versions old: s(staleness)
/// of `weighting`, or nil when it is older than `maxStaleness` (dropped).
func asyncWeight(staleness: Int, maxStaleness: Int, weighting: StalenessWeighting) -> Double? {
    staleness > maxStaleness ? nil : weighting.weight(staleness: staleness)
}

/// FedBuff's buffered change: sum_j w_j delta_j / K over the K buffered
/// updates (the coordinator then applies alpha x this).
func bufferedChange(_ buffer: [(delta: [Float], weight: Double)], length: Int) -> [Float] {
    var change = [Float](repeating: 0, count: length)
    for (d, w) in buffer {
        let s = Float(w / Double(buffer.count))
        for i in 0..<length { change[i] += s * d[i] }
    }
    return change
}
