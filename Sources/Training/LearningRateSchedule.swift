import Foundation

/// The learning rate at every step: the linear scaling rule with gradual
/// warm-up (Goyal et al. 2017), then constant, step or cosine decay.
///
///     peak = base x min((ranks x localBatch) / baseBatch, maxScale)   (scaling: linear)
///     peak = base                                                     (scaling: none)
///     warm-up, steps [0, W):  base + (peak - base) x s / W
///     then constant:          peak
///          step:              peak x 0.1^(number of milestones passed);
///                             milestones at 50% and 75% of the steps after warm-up
///          cosine:            peak x (1 + cos(pi x t)) / 2, t from 0 to 1 over
///                             the steps after warm-up
public struct LearningRateSchedule: Sendable, Equatable {
    public enum Scaling: String, CaseIterable, Sendable { case linear, none }
    public enum Decay: String, CaseIterable, Sendable { case constant, step, cosine }

    public let base: Double
    public let peak: Double
    public let warmupSteps: Int
    public let totalSteps: Int
    public let decay: Decay

    public init(base: Double, peak: Double, warmupSteps: Int, totalSteps: Int, decay: Decay) {
        precondition(base > 0 && peak > 0 && warmupSteps >= 0 && totalSteps >= 1, "bad schedule")
        self.base = base
        self.peak = peak
        self.warmupSteps = min(warmupSteps, totalSteps)
        self.totalSteps = totalSteps
        self.decay = decay
    }

    /// The scaled peak rate of the linear scaling rule, the factor capped at
    /// `maxScale` (infinity: the plain rule).
    public static func scaledRate(base: Double, scaling: Scaling, ranks: Int, localBatch: Int, baseBatch: Int,
                                  maxScale: Double = .infinity) -> Double {
        switch scaling {
        case .none: return base
        case .linear: return base * min(Double(ranks * localBatch) / Double(baseBatch), maxScale)
        }
    }

    /// The rate for the 0-based `step`.
    public func rate(at step: Int) -> Double {
        if step < warmupSteps {
            return base + (peak - base) * Double(step) / Double(warmupSteps)
        }
        let after = totalSteps - warmupSteps
        let t = after > 0 ? Double(step - warmupSteps) / Double(after) : 1
        switch decay {
        case .constant:
            return peak
        case .step:
            return t < 0.5 ? peak : t < 0.75 ? peak * 0.1 : peak * 0.01
        case .cosine:
            return peak * (1 + cos(Double.pi * min(max(t, 0), 1))) / 2
        }
    }

    /// One line for rank 0 to print at start.
    public var summary: String {
        let w = warmupSteps > 0 ? String(format: "warm-up %.4g -> %.4g over %d steps, then ", base, peak, warmupSteps) : ""
        return w + String(format: "%@ from %.4g over %d steps", decay.rawValue, peak, totalSteps - warmupSteps)
    }
}
