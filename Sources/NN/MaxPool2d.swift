import Random

/// Max pooling over channels-last images with a square window of `size` and
/// stride `size` (windows do not overlap; a ragged edge is dropped). Ties go
/// to the first element of the window in row-major order.
///
/// Our own SIMD loop, not oneDNN's pooling primitive: on the CNN's shapes
/// oneDNN 2.6.3's nhwc max pooling (forward with workspace, backward) took
/// about 2x this loop's time at AVX-512 and 7x at AVX2 (docs/design.md).
public final class MaxPool2d: Layer {
    public let name: String
    public let size: Int
    private let height, width, channels: Int
    /// For each output element of the last forward, the index (within its
    /// sample) of the input element that won.
    private var argmax: UnsafeMutablePointer<Int32>?
    private var argmaxCapacity = 0

    public init(_ name: String, height: Int, width: Int, channels: Int, size: Int = 2) {
        precondition(size > 0 && height >= size && width >= size && channels > 0, "MaxPool2d \(name): bad sizes")
        self.name = name
        self.size = size
        self.height = height
        self.width = width
        self.channels = channels
    }

    deinit { argmax?.deallocate() }

    public var inputShape: [Int] { [height, width, channels] }
    public var outputShape: [Int] { [height / size, width / size, channels] }
    public var parameterShapes: [(name: String, shape: [Int])] { [] }
    package func bind(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {}
    public func initialize(_ rng: inout SeededGenerator) {}
    package func freshCopy() -> Layer { MaxPool2d(name, height: height, width: width, channels: channels, size: size) }

    package func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, batch: Int) {
        let total = batch * outputCount
        if total > argmaxCapacity {
            argmax?.deallocate()
            argmax = .allocate(capacity: total)
            argmaxCapacity = total
        }
        let winners = argmax!
        let (oh, ow, c) = (height / size, width / size, channels)
        let vectorized = c % 8 == 0
        for b in 0..<batch {
            let image = input + b * inputCount
            let out = output + b * outputCount
            let win = winners + b * outputCount
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let o = (oy * ow + ox) * c
                    let first = ((oy * size) * width + ox * size) * c
                    if vectorized {
                        poolVectors(image, first: first, out: out + o, win: win + o)
                    } else {
                        poolScalars(image, first: first, out: out + o, win: win + o)
                    }
                }
            }
        }
    }

    /// One window, eight channels at a time, with branch-free selects.
    @inline(__always)
    private func poolVectors(_ image: UnsafePointer<Float>, first: Int, out: UnsafeMutablePointer<Float>,
                             win: UnsafeMutablePointer<Int32>) {
        let raw = UnsafeRawPointer(image)
        let lanes = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        var ch = 0
        while ch < channels {
            var best = raw.loadUnaligned(fromByteOffset: (first + ch) * 4, as: SIMD8<Float>.self)
            var index = SIMD8<Int32>(repeating: Int32(first + ch)) &+ lanes
            for dy in 0..<size {
                for dx in 0..<size where dy > 0 || dx > 0 {
                    let base = ((dy * width) + dx) * channels + first + ch
                    let v = raw.loadUnaligned(fromByteOffset: base * 4, as: SIMD8<Float>.self)
                    let better = v .> best
                    best.replace(with: v, where: better)
                    index.replace(with: SIMD8<Int32>(repeating: Int32(base)) &+ lanes, where: better)
                }
            }
            UnsafeMutableRawPointer(out + ch).storeBytes(of: best, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(win + ch).storeBytes(of: index, as: SIMD8<Int32>.self)
            ch += 8
        }
    }

    @inline(__always)
    private func poolScalars(_ image: UnsafePointer<Float>, first: Int, out: UnsafeMutablePointer<Float>,
                             win: UnsafeMutablePointer<Int32>) {
        for ch in 0..<channels {
            var best = image[first + ch]
            var index = first + ch
            for dy in 0..<size {
                for dx in 0..<size where dy > 0 || dx > 0 {
                    let i = ((dy * width) + dx) * channels + first + ch
                    if image[i] > best {
                        best = image[i]
                        index = i
                    }
                }
            }
            out[ch] = best
            win[ch] = Int32(index)
        }
    }

    package func backward(
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        inputGradient dx: UnsafeMutablePointer<Float>?, batch: Int
    ) {
        guard let dx, let winners = argmax else { return }
        dx.update(repeating: 0, count: batch * inputCount)
        for b in 0..<batch {
            let d = dx + b * inputCount
            let g = dy + b * outputCount
            let win = winners + b * outputCount
            for i in 0..<outputCount { d[Int(win[i])] += g[i] }
        }
    }
}
