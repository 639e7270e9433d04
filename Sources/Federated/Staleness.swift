import Foundation

/// How much an asynchronous update counts, by how many global versions old
/// the model it started from is (FedAsync, Xie et al. 2019).
public enum StalenessWeighting: String, CaseIterable, Sendable {
    /// s(t) = (1 + t)^(-a), a = 0.5.
    case polynomial
    /// s(t) = 1.
    case constant

    /// The weight of an update `staleness` versions old.
    public func weight(staleness: Int) -> Double {
        switch self {
        case .polynomial: return pow(1 + Double(max(staleness, 0)), -0.5)
        case .constant: return 1
        }
    }
}
