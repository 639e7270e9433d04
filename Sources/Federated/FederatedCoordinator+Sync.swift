import Compression
import Foundation
import RunSupport

extension FederatedCoordinator {
    /// Synchronous rounds: select, send, wait for every selected client (or
    /// the round deadline), aggregate in rank order, evaluate.
    ///
    /// With `--round-timeout`, updates that miss the deadline are left out
    /// (FedAvg's drop-the-stragglers baseline); a late update arrives during
    /// a later round and is discarded there. Clients still busy with an old
    /// round are not selected.
    func runSynchronous() throws {
        for round in (roundsDone + 1)..<(config.rounds + 1) {
            let roundStart = monotonicSeconds()
            let idle = clients.filter { !busy.contains($0) }
            let selected = selectClients(idle, count: config.perRound(clients: clients.count), seed: config.seed, round: round)
            var sentAt = [Int: Double]()
            for c in selected {
                sentAt[c] = monotonicSeconds()
                try sendModel(to: c, round: round, steps: assignment[c] ?? 0, reference: config.roundTimeout ?? reference)
            }
            let deadline = config.roundTimeout.map { roundStart + $0 }
            var arrived = [Int: (message: FederatedMessage, bytes: Int, seconds: Double)]()
            var earlyCopies = [Int: [Int: (delta: [Float], steps: Int)]]()
            var refused = [Int: RejectedUpload]()
            while arrived.count < selected.count {
                guard let (client, message, bytes) = try nextMessage(deadline: deadline) else { break }
                bytesUp += bytes
                if message.kind == .layer {
                    if message[int: .round] == round, sentAt[client] != nil {
                        do {
                            earlyCopies[client, default: [:]][message[int: .layer]] = (try layerDelta(message),
                                                                                       message[int: .iteration])
                        } catch let r as RejectedUpload {
                            refused[client] = r
                        }
                    } else {
                        late += 1
                    }
                    continue
                }
                busy.remove(client)
                if message[int: .round] == round, sentAt[client] != nil {
                    arrived[client] = (message, bytes, monotonicSeconds() - sentAt[client]!)
                } else {
                    late += 1
                }
            }
            let missing = selected.filter { arrived[$0] == nil }
            dropped += missing.count
            var contributions = [ClientContribution]()
            // An early layer refused from a client whose update then missed the round does not count.
            refused = refused.filter { arrived[$0.key] != nil }
            for (client, a) in arrived.sorted(by: { $0.key < $1.key }) {
                do {
                    if let r = refused[client] { throw r }
                    contributions.append(try checkedContribution(client, a.message, early: earlyCopies[client] ?? [:]))
                } catch let r as RejectedUpload {
                    refused[client] = r
                    reject(client, round: round, r)
                }
            }
            if let change = aggregate(contributions, rule: config.aggregation, momentum: config.momentum,
                                      layers: model.store.layers.map(\.range), trimFraction: config.trimFraction) {
                try apply(change, scale: config.serverLearningRate)
            }
            if config.strategy == .fedada {
                let reports = arrived.sorted { $0.key < $1.key }.map { client, a in
                    FedAdaReport(
                        rank: client, secondsPerStep: a.message[.secondsPerStep],
                        communicationSeconds: max(0, a.seconds - Double(a.message[int: .steps]) * a.message[.secondsPerStep]),
                        lossChange: a.message[.lossBefore] - a.message[.lossAfter],
                        initialSteps: config.defaultSteps(samples: samples[client]))
                }
                assignment.merge(fedAda.assign(reports)) { _, new in new }
            }
            let times = arrived.values.map(\.seconds)
            let slowest = times.max() ?? 0
            // Autonomy's reference: the median round time a participant would have
            // needed for its full planned work: its transfers (round time minus its
            // own time between receiving the model and sending the update) plus
            // its planned steps at its measured seconds per step.
            let projected = arrived.values.map { a -> Double in
                let m = a.message
                let transfers = max(0, a.seconds - m[.localSeconds])
                return transfers + Double(max(m[int: .plannedSteps], m[int: .steps])) * m[.secondsPerStep]
            }.sorted()
            if !projected.isEmpty { reference = projected[projected.count / 2] }
            var entries = arrived.sorted { $0.key < $1.key }.map { client, a in
                var e = clientEntry(client, a.message, bytesUp: a.bytes, roundSeconds: a.seconds, staleness: 0, dropped: false)
                if config.autonomy.enabled || config.partialWork { e.autonomy = autonomyKeys(a.message) }
                if let r = refused[client] { e.rejected = r.description }
                return e
            }
            entries += missing.map { FederatedClientEntry(.init(rank: $0, dropped: true, staleness: 0)) }
            try finishRound(round, total: config.rounds, record: FederatedRoundFigures(
                roundSeconds: monotonicSeconds() - roundStart, idleSeconds: times.reduce(0) { $0 + (slowest - $1) },
                clients: entries, participants: arrived.count - refused.count, dropped: missing.count,
                selected: selected, rejected: refused.count,
                samplingRound: config.autonomy.enabled && config.autonomy.isSampling(round: round),
                referenceSeconds: config.roundTimeout ?? reference,
                assignedSteps: assignment.isEmpty ? [:] : Dictionary(uniqueKeysWithValues: assignment.map { ("\($0.key)", $0.value) })))
        }
    }
}
