/// The in-round early-stopping rule: after iteration i the client compares
///
///     benefit(i) = benefitWeight x (p(i) - p(i-h)) / h     latest overall curve, h = 5% of its iterations
///     cost(i)    = 0                                       while the round has run less than freeFraction x T_ref
///                = seconds of iteration i / T_ref          after that
///
/// and stops when benefit - cost < 0. While the median client is expected
/// to be still working, an iteration delays nobody, so it costs nothing: a
/// slow client keeps contributing until the reference round time and stops
/// only when it would start holding the others back. The iteration's
/// seconds are the median of the last 5 iterations (when ranks share cores,
/// one iteration in five or so takes a 5 ms scheduler slice more). T_ref is
/// the deadline when one is set, else the median of the previous round's
/// client round times projected to their full planned work (sent by the
/// coordinator with the model). Without a sampled curve yet, the curve is
/// the straight line p(i) = i / I; without a reference, nobody stops.
public struct EarlyStopRule: Sendable {
    public var benefitWeight: Double
    public var freeFraction: Double

    public init(benefitWeight: Double = 2, freeFraction: Double = 1) {
        self.benefitWeight = benefitWeight
        self.freeFraction = freeFraction
    }

    /// The cost of an iteration of `iterationSeconds` ending `elapsed` seconds into the round.
    public func cost(iterationSeconds: Double, elapsed: Double, reference: Double) -> Double {
        elapsed < freeFraction * reference ? 0 : iterationSeconds / reference
    }

    /// Net benefit of iteration `i` (1-based).
    public func netBenefit(curve: ProgressCurve, iteration i: Int, iterationSeconds: Double, elapsed: Double,
                           reference: Double) -> Double {
        benefitWeight * curve.marginalBenefit(iteration: i, window: curve.benefitWindow)
            - cost(iterationSeconds: iterationSeconds, elapsed: elapsed, reference: reference)
    }

    /// True when the client should end its round after iteration `i`.
    public func shouldStop(curve: ProgressCurve, iteration i: Int, iterationSeconds: Double, elapsed: Double,
                           reference: Double) -> Bool {
        guard reference > 0 else { return false }
        return netBenefit(curve: curve, iteration: i, iterationSeconds: iterationSeconds, elapsed: elapsed,
                          reference: reference) < 0
    }
}
