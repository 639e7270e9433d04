import Data

/// `--clients N`: N logical clients over the executor ranks 1..R-1.

/// Assigns clients to executors, balanced by expected work: clients in
/// order of decreasing `work` (ties: the lower id first) each go to the
/// executor with the least work so far (ties: the one with fewer clients,
/// then the lower executor), so that no executor is left without a client
/// while there are at least as many clients, even of no work. This is
/// greedy longest-processing-time-first scheduling; its largest load is at
/// most 4/3 of the best possible. `work[k]` is client k+1's; returns the
/// executor index (0-based) of each client, deterministic in its arguments.
func placeClients(work: [Int], executors: Int) -> [Int] {
    precondition(executors >= 1, "at least one executor")
    var load = [Int](repeating: 0, count: executors)
    var count = [Int](repeating: 0, count: executors)
    var placement = [Int](repeating: 0, count: work.count)
    let order = work.indices.sorted { work[$0] != work[$1] ? work[$0] > work[$1] : $0 < $1 }
    for k in order {
        var best = 0
        for e in 1..<executors where (load[e], count[e]) < (load[best], count[best]) { best = e }
        placement[k] = best
        load[best] += work[k]
        count[best] += 1
    }
    return placement
}

/// `--clients`: the one-line problem when `clients` clients cannot each
/// hold a batch of the `samples` training samples, or nil. Checked before
/// partitioning, on every rank alike.
func virtualClientsDataProblem(clients: Int, batch: Int, samples: Int) -> String? {
    guard clients > samples / batch else { return nil }
    return "--clients \(clients) cannot each hold a batch of \(batch): the \(samples) training samples make at most \(samples / batch) batches"
}

/// `--clients`: the one-line problem with the virtual-client settings on
/// `executors` executor ranks, or nil. Depends only on the configuration
/// and the rank count, so every rank reaches it before any collective call.
func virtualClientsProblem(_ config: FederatedConfig, executors: Int) -> String? {
    guard let n = config.virtualClients else { return nil }
    if n < 1 { return "--clients must be at least 1, got \(n)" }
    if executors > n {
        return "--clients \(n) is fewer than the \(executors) executor ranks (ranks 1...\(executors)); run at most \(n + 1) ranks"
    }
    if let refusal = config.virtualClientsRefusal { return refusal }
    if let f = config.fraction, let share = config.fractionShare(clients: n), share < 1 {
        return "--fraction \(f) selects 0 of the \(n) clients (round(\(f) x \(n)) = 0); give at least \(1 / (2 * Double(n))) or --clients-per-round"
    }
    return nil
}

/// An executor's clients and the samples they hold (ascending, what it
/// loads), each client's indices mapped into those samples in order
/// (`gatherPartitions`), so a client's sampler draws the same samples on
/// any executor.
func executorClients(parts: [[Int]], executorOf: [Int], rank: Int) -> (samples: [Int], clients: [(id: Int, indices: [Int])]) {
    let ids = (1..<executorOf.count).filter { executorOf[$0] == rank }
    let (samples, local) = gatherPartitions(ids.map { parts[$0 - 1] })
    return (samples, Array(zip(ids, local)).map { (id: $0.0, indices: $0.1) })
}

extension FederatedConfig {

    /// The first flag combination `--clients` does not cover, as one line;
    /// nil when there is none (or without `--clients`). An async run's
    /// checkpoint would have to save the reports the coordinator holds back
    /// for the emulated order (`EmulatedArrivals`): refused rather than
    /// resumed differently.
    public var virtualClientsRefusal: String? {
        guard virtualClients != nil, asynchronous, checkpointEvery > 0 || resume else { return nil }
        return "--clients with --async does not combine with \(checkpointEvery > 0 ? "--checkpoint-every" : "--resume") yet"
    }
}
