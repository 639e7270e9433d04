import Random

/// A 2-D convolution over channels-last images, by im2col and `cblas_sgemm`.
///
/// Input [height, width, inChannels], output [outHeight, outWidth,
/// outChannels]; weights [outChannels, kernel, kernel, inChannels], bias
/// [outChannels]. The batch is processed in chunks of samples so that the
/// column matrix stays small enough to live in cache.
public final class Conv2d: Layer {
    public let name: String
    public let inChannels: Int
    public let outChannels: Int
    let geometry: ConvGeometry
    private var weight: UnsafeMutablePointer<Float>!
    private var bias: UnsafeMutablePointer<Float>!
    private var weightGradient: UnsafeMutablePointer<Float>!
    private var biasGradient: UnsafeMutablePointer<Float>!
    private var columns: UnsafeMutablePointer<Float>?
    private var columnCapacity = 0
    /// The column matrix of one chunk of samples holds about this many floats
    /// at most (2 MiB: it stays in cache between im2col and the product).
    var columnBudget = 1 << 19

    public init(_ name: String, height: Int, width: Int, inChannels: Int, outChannels: Int,
                kernel: Int, stride: Int = 1, padding: Int = 0) {
        precondition(height > 0 && width > 0 && inChannels > 0 && outChannels > 0 && kernel > 0 && stride > 0
                     && padding >= 0, "Conv2d \(name): sizes must be positive")
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        geometry = ConvGeometry(height: height, width: width, channels: inChannels, kernelHeight: kernel,
                                kernelWidth: kernel, stride: stride, padding: padding)
        precondition(geometry.outHeight > 0 && geometry.outWidth > 0, "Conv2d \(name): kernel larger than padded input")
    }

    deinit { columns?.deallocate() }

    public var inputShape: [Int] { [geometry.height, geometry.width, inChannels] }
    public var outputShape: [Int] { [geometry.outHeight, geometry.outWidth, outChannels] }
    public var parameterShapes: [(name: String, shape: [Int])] {
        [("weight", [outChannels, geometry.kernelHeight, geometry.kernelWidth, inChannels]), ("bias", [outChannels])]
    }

    public func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        let n = outChannels * geometry.patch
        weight = parameters
        bias = parameters + n
        weightGradient = gradients
        biasGradient = gradients + n
    }

    public func initialize(_ rng: inout SeededGenerator) {
        heNormal(weight, count: outChannels * geometry.patch, fanIn: geometry.patch, &rng)
        bias.update(repeating: 0, count: outChannels)
    }

    private var pixelsOut: Int { geometry.outHeight * geometry.outWidth }

    private var chunk: Int { max(1, columnBudget / (pixelsOut * geometry.patch)) }

    private func columnBuffer(samples: Int) -> UnsafeMutablePointer<Float> {
        let needed = samples * pixelsOut * geometry.patch
        if needed > columnCapacity {
            columns?.deallocate()
            columns = .allocate(capacity: needed)
            columnCapacity = needed
        }
        return columns!
    }

    public func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int) {
        let k = geometry.patch
        let col = columnBuffer(samples: min(chunk, batch))
        var start = 0
        while start < batch {
            let n = min(chunk, batch - start)
            im2col(geometry, input: input + start * inputCount, samples: n, col: col)
            let out = output + start * outputCount
            broadcastRows(out, rows: n * pixelsOut, columns: outChannels, bias)
            gemm(transposeA: false, transposeB: true, m: n * pixelsOut, n: outChannels, k: k,
                 a: col, lda: k, b: weight, ldb: k, beta: 1, c: out, ldc: outChannels)
            start += n
        }
    }

    public func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int
    ) {
        let k = geometry.patch
        sumRows(dy, rows: batch * pixelsOut, columns: outChannels, into: biasGradient)
        let col = columnBuffer(samples: min(chunk, batch))
        var start = 0
        while start < batch {
            let n = min(chunk, batch - start)
            let dyChunk = dy + start * outputCount
            // dW (+)= dy^T col, then reuse the column buffer for dcol = dy W.
            im2col(geometry, input: input + start * inputCount, samples: n, col: col)
            gemm(transposeA: true, transposeB: false, m: outChannels, n: k, k: n * pixelsOut,
                 a: dyChunk, lda: outChannels, b: col, ldb: k, beta: start == 0 ? 0 : 1, c: weightGradient, ldc: k)
            if let dx {
                gemm(transposeA: false, transposeB: false, m: n * pixelsOut, n: k, k: outChannels,
                     a: dyChunk, lda: outChannels, b: weight, ldb: k, beta: 0, c: col, ldc: k)
                let dxChunk = dx + start * inputCount
                dxChunk.update(repeating: 0, count: n * inputCount)
                col2im(geometry, col: col, samples: n, output: dxChunk)
            }
            start += n
        }
    }
}
