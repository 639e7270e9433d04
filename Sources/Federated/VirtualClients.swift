/// `--clients N`: N logical clients over the executor ranks 1..R-1.

/// Assigns clients to executors, balanced by expected work: clients in
/// order of decreasing `work` (ties: the lower id first) each go to the
/// executor with the least work so far (ties: the lower executor). This is
/// greedy longest-processing-time-first scheduling; its largest load is at
/// most 4/3 of the best possible. `work[k]` is client k+1's; returns the
/// executor index (0-based) of each client, deterministic in its arguments.
func placeClients(work: [Int], executors: Int) -> [Int] {
    precondition(executors >= 1, "at least one executor")
    var load = [Int](repeating: 0, count: executors)
    var placement = [Int](repeating: 0, count: work.count)
    let order = work.indices.sorted { work[$0] != work[$1] ? work[$0] > work[$1] : $0 < $1 }
    for k in order {
        var best = 0
        for e in 1..<executors where load[e] < load[best] { best = e }
        placement[k] = best
        load[best] += work[k]
    }
    return placement
}

extension FederatedConfig {
    /// The first flag combination `--clients` does not cover, as one line;
    /// nil when there is none (or without `--clients`). These strategies
    /// depend on measured time or on a rank's own state in ways that are not
    /// per client yet: refused rather than run differently.
    public var virtualClientsRefusal: String? {
        guard virtualClients != nil else { return nil }
        let refused: [(Bool, String)] = [
            (asynchronous, "--async"),
            (strategy == .fedada, "--strategy fedada"),
            (autonomy.enabled, strategy == .autonomy ? "--strategy autonomy" : (autonomy.earlyStop ? "--early-stop" : "--early-transmit")),
            (roundTimeout != nil, "--round-timeout"),
            (partialWork, "--partial-work"),
            (checkpointEvery > 0 || resume, checkpointEvery > 0 ? "--checkpoint-every" : "--resume"),
        ]
        guard let (_, flag) = refused.first(where: \.0) else { return nil }
        return "--clients does not combine with \(flag) yet (supported: fedavg, fedprox, fednova, robust aggregation, group-topk uploads, emulated heterogeneity)"
    }
}
