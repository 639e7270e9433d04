/// Stochastic gradient descent with momentum (optionally Nesterov) and weight
/// decay, with PyTorch's update rule:
///
///     g = grad + weightDecay * w + term(w)      term: the gradient hook
///     v = momentum * v + g
///     w -= lr * (nesterov ? g + momentum * v : v)
///
/// The hook adds a term to the gradient before momentum (FedProx adds
/// mu * (w - w_global)).
public final class SGD {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float
    /// Adds a term to `gradients` given `parameters`, before momentum.
    package var gradientHook: ((_ parameters: UnsafeBufferPointer<Float>, _ gradients: UnsafeMutableBufferPointer<Float>) -> Void)?
    /// The momentum buffer, one float per parameter.
    package let velocity: UnsafeMutableBufferPointer<Float>

    public init(parameterCount: Int, learningRate: Float, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        precondition(parameterCount >= 0 && momentum >= 0 && weightDecay >= 0, "bad SGD settings")
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        velocity = ParameterStore.allocateZeroed(parameterCount)
    }

    deinit { velocity.baseAddress.map { UnsafeMutableRawPointer($0).deallocate() } }

    /// One update of `parameters` from `gradients` (same count as the velocity).
    package func step(parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeMutableBufferPointer<Float>) {
        let n = velocity.count
        precondition(parameters.count == n && gradients.count == n, "SGD: expected \(n) parameters")
        guard n > 0 else { return }
        gradientHook?(UnsafeBufferPointer(parameters), gradients)
        let w = parameters.baseAddress!, g = gradients.baseAddress!, v = velocity.baseAddress!
        let (lr, m, wd) = (learningRate, momentum, weightDecay)
        if nesterov {
            for i in 0..<n {
                let gi = g[i] + wd * w[i]
                let vi = m * v[i] + gi
                v[i] = vi
                w[i] -= lr * (gi + m * vi)
            }
        } else {
            for i in 0..<n {
                let vi = m * v[i] + (g[i] + wd * w[i])
                v[i] = vi
                w[i] -= lr * vi
            }
        }
    }

    /// Sets the momentum buffer from `values` (for checkpoints).
    public func loadVelocity(_ values: [Float]) {
        precondition(values.count == velocity.count, "velocity size mismatch")
        for i in 0..<values.count { velocity[i] = values[i] }
    }
}
