import Random

/// A fully connected layer: y = x W^T + b, with W stored [out, in] as in
/// PyTorch. Matrix products go through `cblas_sgemm`.
public final class Linear: Layer {
    public let name: String
    public let inFeatures: Int
    public let outFeatures: Int
    private var weight: UnsafeMutablePointer<Float>!
    private var bias: UnsafeMutablePointer<Float>!
    private var weightGradient: UnsafeMutablePointer<Float>!
    private var biasGradient: UnsafeMutablePointer<Float>!

    public init(_ name: String, inFeatures: Int, outFeatures: Int) {
        precondition(inFeatures > 0 && outFeatures > 0, "Linear \(name): features must be positive")
        self.name = name
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    public var inputShape: [Int] { [inFeatures] }
    public var outputShape: [Int] { [outFeatures] }
    public var parameterShapes: [(name: String, shape: [Int])] {
        [("weight", [outFeatures, inFeatures]), ("bias", [outFeatures])]
    }

    public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        weight = parameters
        bias = parameters + outFeatures * inFeatures
        weightGradient = gradients
        biasGradient = gradients + outFeatures * inFeatures
    }

    public func initialize(_ rng: inout SeededGenerator) {
        heNormal(weight, count: outFeatures * inFeatures, fanIn: inFeatures, &rng)
        bias.update(repeating: 0, count: outFeatures)
    }

    public func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int) {
        broadcastRows(output, rows: batch, columns: outFeatures, bias)
        gemm(transposeA: false, transposeB: true, m: batch, n: outFeatures, k: inFeatures,
             a: input, lda: inFeatures, b: weight, ldb: inFeatures, beta: 1, c: output, ldc: outFeatures)
    }

    public func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int
    ) {
        // dW = dy^T x, db = column sums of dy, dx = dy W.
        gemm(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: batch,
             a: dy, lda: outFeatures, b: input, ldb: inFeatures, beta: 0, c: weightGradient, ldc: inFeatures)
        sumRows(dy, rows: batch, columns: outFeatures, into: biasGradient)
        if let dx {
            gemm(transposeA: false, transposeB: false, m: batch, n: inFeatures, k: outFeatures,
                 a: dy, lda: outFeatures, b: weight, ldb: inFeatures, beta: 0, c: dx, ldc: inFeatures)
        }
    }
}
