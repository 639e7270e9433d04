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
    func runAsynchronous() throws {
        let concurrency = config.perRound(clients: clients.count)
        var sentAt = [Int: Double]()
        var draws = 0
        // Keeps `concurrency` clients busy, each free slot going to a client
        // drawn (seeded by the draw count) from every client not busy, the one
        // that just answered included.
        func refill() throws {
            while busy.count < concurrency && version < config.rounds {
                let idle = clients.filter { !busy.contains($0) }
                guard let c = selectClients(idle, count: 1, seed: config.seed ^ 0xA5_0000, round: draws).first else { return }
                draws += 1
                sentAt[c] = monotonicSeconds()
                try sendModel(to: c, round: version + 1, steps: 0)
            }
        }
        try refill()
        var buffer = [(delta: [Float], weight: Double)]()
        var entries = [FederatedClientEntry]()
        var roundStart = monotonicSeconds()
        while version < config.rounds {
            guard let (client, message, bytes, _) = try nextMessage(deadline: nil) else { continue }
            busy.remove(client)
            bytesUp += bytes
            let staleness = version - message[int: .version]
            let seconds = monotonicSeconds() - (sentAt[client] ?? roundStart)
            let weight = asyncWeight(staleness: staleness, maxStaleness: config.maxStaleness, weighting: config.stalenessWeighting)
            if weight == nil {
                dropped += 1
                entries.append(clientEntry(client, message, bytesUp: bytes, roundSeconds: seconds, staleness: staleness, dropped: true))
            } else {
                var entry = clientEntry(client, message, bytesUp: bytes, roundSeconds: seconds, staleness: staleness, dropped: false)
                do {
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
                try finishRound(version, total: config.rounds, record: FederatedRoundFigures(
                    roundSeconds: monotonicSeconds() - roundStart, idleSeconds: 0, clients: entries,
                    participants: entries.filter { !$0.dropped && $0.rejected == nil }.count,
                    dropped: entries.filter(\.dropped).count))
                entries.removeAll()
                roundStart = monotonicSeconds()
            }
            // Also sets going again the clients a checkpoint drained.
            try refill()
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
