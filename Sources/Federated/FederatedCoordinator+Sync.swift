import Compression
import Foundation
import RunSupport

/// What the coordinator knows of one synchronous round as it goes.
struct SyncRound {
    typealias Arrival = (message: FederatedMessage, bytes: Int, seconds: Double)
    typealias EarlyCopies = [Int: (delta: [Float], steps: Int)]

    let number: Int
    let start: Double
    /// The clients that got the model this round, and when.
    var selected = [Int]()
    var sentAt = [Int: Double]()
    /// The final updates that came in time, by client.
    var arrived = [Int: Arrival]()
    /// The early-sent layers of each client, by layer.
    var earlyCopies = [Int: EarlyCopies]()
    /// The clients whose upload (or an early layer of it) was refused.
    var refused = [Int: String]()
    /// `--clients`: the clients whose emulated round time passed `--round-timeout`.
    var missedDeadline = Set<Int>()
    /// `--clients`: per executor, the selected clients whose model is not sent yet.
    var queued = [Int: ArraySlice<Int>]()

    /// The selected clients whose update missed the round.
    var missing: [Int] { selected.filter { arrived[$0] == nil } }
    /// The arrivals in rank order.
    var arrivals: [(client: Int, arrival: Arrival)] { arrived.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }

    func isCurrent(_ client: Int, _ message: FederatedMessage) -> Bool {
        message[int: .round] == number && sentAt[client] != nil
    }
}

extension FederatedCoordinator {
    /// Synchronous rounds: select, send, wait for every selected client (or
    /// the round deadline), aggregate in client order, evaluate.
    ///
    /// With `--round-timeout`, updates that miss the deadline are left out
    /// (FedAvg's drop-the-stragglers baseline); a late update arrives during
    /// a later round and is discarded there. Clients still busy with an old
    /// round are not selected.
    func runSynchronous() throws {
        for number in (roundsDone + 1)..<(config.rounds + 1) {
            var round = SyncRound(number: number, start: monotonicSeconds())
            try tracer.span("round \(number): send models", "communicate") { try sendModels(&round) }
            try tracer.span("round \(number): wait for updates", "wait") { try collectUpdates(&round) }
            dropped += round.missing.count
            try tracer.span("round \(number): aggregate", "compute") {
                let contributions = try acceptedContributions(&round)
                if let change = aggregate(contributions, rule: config.aggregation, momentum: config.momentum,
                                          layers: model.store.layers.map(\.range), trimFraction: config.trimFraction) {
                    try apply(change, scale: config.serverLearningRate)
                }
            }
            if config.strategy == .fedada { assignFedAdaSteps(round) }
            updateReference(round)
            try finishRound(number, total: config.rounds, record: record(of: round))
        }
    }

    /// Selects this round's clients among the idle ones and sends each the model.
    func sendModels(_ round: inout SyncRound) throws {
        let idle = clients.filter { !busy.contains($0) }
        round.selected = selectClients(idle, count: config.perRound(clients: clients.count), seed: config.seed, round: round.number)
        guard isVirtual else {
            for c in round.selected { try sendModel(to: c, in: &round) }
            return
        }
        for c in round.selected { round.queued[executorOf[c], default: []].append(c) }
        for e in round.queued.keys.sorted() {
            for _ in 0..<Self.modelWindow { try sendQueued(&round, executor: e) }
        }
    }

    /// `--clients`: model messages in flight per executor. The executor
    /// trains its clients one after another, so the coordinator sends it the
    /// next client's model when an update comes back: it holds at most this
    /// many model copies per executor, not one per selected client, and the
    /// executor always has the next model in hand.
    static let modelWindow = 2

    func sendModel(to c: Int, in round: inout SyncRound) throws {
        round.sentAt[c] = monotonicSeconds()
        try sendModel(to: c, round: round.number, steps: assignment[c] ?? 0, reference: config.roundTimeout ?? reference)
    }

    /// Sends executor `e`'s next queued client its model, if any is left.
    func sendQueued(_ round: inout SyncRound, executor e: Int) throws {
        guard let c = round.queued[e]?.popFirst() else { return }
        try sendModel(to: c, in: &round)
    }

    /// Takes messages until every selected client's update is in or the
    /// round deadline passes. Early layers of this round are kept (or their
    /// refusal noted); anything of an older round counts as late.
    ///
    /// With `--clients` the deadline is on the clients' emulated clocks: every
    /// update is waited for, and one whose emulated round time
    /// (`emulated_s`) exceeds `--round-timeout` missed the round, as it would
    /// have on its own device; a client sharing an executor is not late
    /// because of the clients trained before it.
    func collectUpdates(_ round: inout SyncRound) throws {
        let deadline = isVirtual ? nil : config.roundTimeout.map { round.start + $0 }
        while round.arrived.count + round.missedDeadline.count < round.selected.count {
            guard let (client, message, bytes, refusal) = try nextMessage(deadline: deadline) else { break }
            bytesUp += bytes
            if let refusal, round.isCurrent(client, message) { round.refused[client] = refusal }
            if message.kind == .layer {
                guard round.isCurrent(client, message) else { late += 1; continue }
                do {
                    round.earlyCopies[client, default: [:]][message[int: .layer]] = (try layerDelta(message), message[int: .iteration])
                } catch FederatedError.rejectedUpload(let reason) {
                    round.refused[client] = reason
                }
                continue
            }
            busy.remove(client)
            if isVirtual { try sendQueued(&round, executor: executorOf[client]) }
            if round.isCurrent(client, message), isVirtual, let t = config.roundTimeout, emulatedSeconds(client, message) > t {
                round.missedDeadline.insert(client)
            } else if round.isCurrent(client, message) {
                round.arrived[client] = (message, bytes, monotonicSeconds() - round.sentAt[client]!)
            } else {
                late += 1
            }
        }
    }

    /// The checked contributions of the arrived updates, in rank order;
    /// refused ones are counted and noted in `round.refused`. An early layer
    /// refused from a client whose update then missed the round does not count.
    func acceptedContributions(_ round: inout SyncRound) throws -> [ClientContribution] {
        round.refused = round.refused.filter { round.arrived[$0.key] != nil }
        var contributions = [ClientContribution]()
        for (client, a) in round.arrivals {
            do {
                if let reason = round.refused[client] { throw FederatedError.rejectedUpload(reason) }
                contributions.append(try checkedContribution(client, a.message, early: round.earlyCopies[client] ?? [:]))
            } catch FederatedError.rejectedUpload(let reason) {
                round.refused[client] = reason
                reject(client, round: round.number, reason)
            }
        }
        return contributions
    }

    /// FedAda: the next rounds' local steps, from this round's reports.
    func assignFedAdaSteps(_ round: SyncRound) {
        let reports = round.arrivals.map { client, a in
            FedAdaReport(
                rank: client, secondsPerStep: a.message[.secondsPerStep],
                communicationSeconds: max(0, roundSeconds(client, a) - Double(a.message[int: .steps]) * a.message[.secondsPerStep]),
                lossChange: a.message[.lossBefore] - a.message[.lossAfter],
                initialSteps: config.defaultSteps(samples: samples[client]))
        }
        assignment.merge(fedAda.assign(reports)) { _, new in new }
    }

    /// Autonomy's reference: the median round time a participant would have
    /// needed for its full planned work: its transfers (round time minus its
    /// own time between receiving the model and sending the update) plus
    /// its planned steps at its measured seconds per step.
    func updateReference(_ round: SyncRound) {
        let projected = round.arrivals.map { client, a -> Double in
            let m = a.message
            let transfers = max(0, roundSeconds(client, a) - m[.localSeconds])
            return transfers + Double(max(m[int: .plannedSteps], m[int: .steps])) * m[.secondsPerStep]
        }.sorted()
        if !projected.isEmpty { reference = projected[projected.count / 2] }
    }

    /// A participant's round time as FedAda and autonomy's reference see
    /// it: measured from sending the model to the update's arrival, or with
    /// `--clients` its emulated round time (`emulated_s`), since its real
    /// arrival waits for the clients its executor trained before it.
    func roundSeconds(_ client: Int, _ a: SyncRound.Arrival) -> Double {
        isVirtual ? emulatedSeconds(client, a.message) : a.seconds
    }

    /// The round record: timing, who took part, and one entry per client.
    func record(of round: SyncRound) -> FederatedRoundFigures {
        let times = round.arrived.values.map(\.seconds)
        let slowest = times.max() ?? 0
        var entries = round.arrivals.map { client, a in
            var e = clientEntry(client, a.message, bytesUp: a.bytes, roundSeconds: a.seconds, staleness: 0, dropped: false)
            if config.autonomy.enabled || config.partialWork { e.autonomy = autonomyKeys(a.message) }
            if let reason = round.refused[client] { e.rejected = reason }
            return e
        }
        entries += round.missing.map(missingEntry)
        var figures = FederatedRoundFigures(
            roundSeconds: monotonicSeconds() - round.start, idleSeconds: times.reduce(0) { $0 + (slowest - $1) },
            clients: entries, participants: round.arrived.count - round.refused.count, dropped: round.missing.count,
            selected: round.selected, rejected: round.refused.count,
            samplingRound: config.autonomy.enabled && config.autonomy.isSampling(round: round.number),
            referenceSeconds: config.roundTimeout ?? reference,
            assignedSteps: assignment.isEmpty ? [:] : Dictionary(uniqueKeysWithValues: assignment.map { ("\($0.key)", $0.value) }))
        if isVirtual {
            // A round with a client past the deadline lasted until the deadline.
            let deadline = round.missedDeadline.isEmpty ? 0 : config.roundTimeout ?? 0
            figures.emulatedRoundSeconds = max(deadline, round.arrivals.map { emulatedSeconds($0.client, $0.arrival.message) }.max() ?? 0)
        }
        return figures
    }
}
