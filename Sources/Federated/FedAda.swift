import Foundation

/// What the coordinator knows of a client after a round, for FedAda.
public struct FedAdaReport: Sendable, Equatable {
    public let rank: Int
    /// Measured seconds per local iteration (slowdowns included).
    public let secondsPerStep: Double
    /// Seconds of the round that were not local iterations (transfers).
    public let communicationSeconds: Double
    /// Local loss at the start minus at the end of its last round.
    public let lossChange: Double
    /// Its initial iteration count (the configured local work).
    public let initialSteps: Int

    public init(rank: Int, secondsPerStep: Double, communicationSeconds: Double, lossChange: Double, initialSteps: Int) {
        self.rank = rank
        self.secondsPerStep = secondsPerStep
        self.communicationSeconds = communicationSeconds
        self.lossChange = lossChange
        self.initialSteps = initialSteps
    }
}

/// FedAda-style workload assignment (the client-autonomy seed's prior art):
/// the server picks each client's local iterations for the next round from
/// what the clients reported, minimizing (docs/federated.md)
///
///     J(tau) = T(tau) / T0 + idleWeight x Tidle(tau) / T0 - contributionWeight x C(tau) / Cmax
///
///     T_i(tau_i)  = tau_i x t_i + c_i                      one client's round
///     T(tau)      = max_i T_i(tau_i)                       the round
///     Tidle(tau)  = sum_i (T(tau) - T_i(tau_i))            fast clients waiting
///     T0          = T with every tau_i at its initial count, from the first assignment on
///     C(tau)      = sum_i (2 sigmoid(s_i x tau_i / tau0_i) - 1),  s_i = 4 x dl_i / max_j |dl_j|
///     Cmax        = C at the initial counts
///
/// Search: clients from the slowest round time down; each client's count
/// goes down from its initial count in steps of `stepFraction` x tau0_i
/// while J decreases and it stays at least `minimumFraction` x tau0_i.
public struct FedAdaAssigner: Sendable {
    public var idleWeight = 1.0
    public var contributionWeight = 1.0
    public var stepFraction = 0.05
    public var minimumFraction = 0.1
    /// T0, fixed by the first call.
    public private(set) var initialMaxRoundTime: Double?

    public init() {}

    /// Restores T0 from a checkpoint.
    public init(initialMaxRoundTime: Double?) {
        self.initialMaxRoundTime = initialMaxRoundTime
    }

    /// The iteration count per client rank for the next round.
    public mutating func assign(_ reports: [FedAdaReport]) -> [Int: Int] {
        guard !reports.isEmpty else { return [:] }
        let tau0 = reports.map { Double(max($0.initialSteps, 1)) }
        let roundTime = { (i: Int, tau: Double) in tau * reports[i].secondsPerStep + reports[i].communicationSeconds }
        let t0 = initialMaxRoundTime ?? reports.indices.map { roundTime($0, tau0[$0]) }.max()!
        if initialMaxRoundTime == nil { initialMaxRoundTime = t0 }
        let scale = max(reports.map { abs($0.lossChange) }.max() ?? 0, 1e-12)
        let slopes = reports.map { 4 * $0.lossChange / scale }
        let contribution = { (i: Int, tau: Double) in 2 / (1 + exp(-slopes[i] * tau / tau0[i])) - 1 }
        let cMax = reports.indices.reduce(0.0) { $0 + contribution($1, tau0[$1]) }
        func objective(_ tau: [Double]) -> Double {
            let times = reports.indices.map { roundTime($0, tau[$0]) }
            let t = times.max()!
            let idle = times.reduce(0.0) { $0 + (t - $1) }
            var j = t / max(t0, 1e-12) + idleWeight * idle / max(t0, 1e-12)
            if cMax > 0 {
                j -= contributionWeight * reports.indices.reduce(0.0) { $0 + contribution($1, tau[$1]) } / cMax
            }
            return j
        }
        var tau = tau0
        var best = objective(tau)
        let order = reports.indices.sorted { roundTime($0, tau0[$0]) > roundTime($1, tau0[$1]) }
        for i in order {
            let step = max(1, (stepFraction * tau0[i]).rounded())
            let floor = max(1, (minimumFraction * tau0[i]).rounded())
            while tau[i] - step >= floor {
                var trial = tau
                trial[i] -= step
                let j = objective(trial)
                guard j < best else { break }
                tau = trial
                best = j
            }
        }
        var result = [Int: Int]()
        for (i, r) in reports.enumerated() { result[r.rank] = Int(tau[i]) }
        return result
    }
}
