import Foundation
@testable import NN
import Random

/// A test-only Float64 evaluation of the layers: the same layer objects,
/// configuration and flat parameter layout as the model, computed in Double
/// with direct loops (no BLAS, no im2col, no SIMD).
///
/// Finite differences of this function carry no Float32 rounding and nothing
/// that depends on which kernels the CPU or BLAS picks: PyTorch's gradcheck
/// insists on doubles for the same reason. The Float32 model supplies only the
/// analytic gradient under test.
enum Reference {
    /// One layer's forward pass on `batch` samples. `parameters` holds the
    /// layer's tensors in storage order (`layer.parameterShapes`).
    static func forward(_ layer: Layer, parameters: ArraySlice<Double>, input: [Double], batch: Int) -> [Double] {
        precondition(input.count == batch * layer.inputCount, "\(layer.name): input size")
        precondition(parameters.count == layer.parameterCount, "\(layer.name): parameter count")
        let p = Array(parameters)
        switch layer {
        case let l as Linear: return linear(l, p, input, batch)
        case let l as Conv2d: return convolution(l, p, input, batch)
        case let l as MaxPool2d: return maxPool(l, input, batch)
        case is ReLU, is MasklessReLU: return input.map { max($0, 0) }
        case is Flatten: return input
        default: preconditionFailure("no Float64 reference for layer \(layer.name) (\(type(of: layer)))")
        }
    }

    /// The mean softmax cross-entropy of the layers on `features`, with the
    /// parameters taken from `parameters` (the flat store's layout).
    static func loss(_ layers: [Layer], parameters: [Double], features: [Double], labels: [Int32], batch: Int) -> Double {
        crossEntropy(logits(layers, parameters: parameters, features: features, batch: batch), labels: labels, batch: batch)
    }

    /// The layers' output on `features`, with the parameters taken from
    /// `parameters` (the flat store's layout).
    static func logits(_ layers: [Layer], parameters: [Double], features: [Double], batch: Int) -> [Double] {
        var x = features
        var offset = 0
        for layer in layers {
            x = forward(layer, parameters: parameters[offset..<offset + layer.parameterCount], input: x, batch: batch)
            offset += layer.parameterCount
        }
        precondition(offset == parameters.count, "parameters do not match the layers")
        return x
    }

    /// The mean softmax cross-entropy of `logits` (batch x classes).
    static func crossEntropy(_ logits: [Double], labels: [Int32], batch: Int) -> Double {
        let classes = logits.count / batch
        var sum = 0.0
        for b in 0..<batch {
            let z = logits[b * classes..<(b + 1) * classes]
            let m = z.max()!
            let logSum = z.reduce(0.0) { $0 + exp($1 - m) }
            sum += log(logSum) - (z[z.startIndex + Int(labels[b])] - m)
        }
        return sum / Double(batch)
    }

    /// The mean distillation loss, (1 - alpha) CE(z, y) + alpha T^2
    /// KL(softmax(t / T) || softmax(z / T)), straight from the definition:
    /// KL = sum p_t log(p_t / p_s) over the two probability vectors.
    static func distillation(
        student z: [Double], teacher t: [Double], labels: [Int32], batch: Int, temperature: Double, alpha: Double
    ) -> Double {
        let classes = z.count / batch
        func softmax(_ row: ArraySlice<Double>) -> [Double] {
            let m = row.max()!
            let e = row.map { exp(($0 - m) / temperature) }
            let sum = e.reduce(0, +)
            return e.map { $0 / sum }
        }
        var kl = 0.0
        for b in 0..<batch {
            let rows = b * classes..<(b + 1) * classes
            for (p, q) in zip(softmax(t[rows]), softmax(z[rows])) where p > 0 { kl += p * log(p / q) }
        }
        return (1 - alpha) * crossEntropy(z, labels: labels, batch: batch)
            + alpha * temperature * temperature * kl / Double(batch)
    }

    /// y = x W^T + b with W [out, in].
    private static func linear(_ l: Linear, _ p: [Double], _ x: [Double], _ batch: Int) -> [Double] {
        let (n, m) = (l.inFeatures, l.outFeatures)
        var y = [Double](repeating: 0, count: batch * m)
        p.withUnsafeBufferPointer { p in
            x.withUnsafeBufferPointer { x in
                for b in 0..<batch {
                    for o in 0..<m {
                        var s = p[m * n + o]
                        for i in 0..<n { s += p[o * n + i] * x[b * n + i] }
                        y[b * m + o] = s
                    }
                }
            }
        }
        return y
    }

    /// Direct convolution, channels last, W [out, kh, kw, in], zero padding.
    private static func convolution(_ l: Conv2d, _ p: [Double], _ x: [Double], _ batch: Int) -> [Double] {
        let g = l.geometry
        let (h, w, c, oc) = (g.height, g.width, g.channels, l.outChannels)
        let (oh, ow, kh, kw) = (g.outHeight, g.outWidth, g.kernelHeight, g.kernelWidth)
        var y = [Double](repeating: 0, count: batch * oh * ow * oc)
        p.withUnsafeBufferPointer { p in
            x.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    for b in 0..<batch {
                        for oy in 0..<oh {
                            for ox in 0..<ow {
                                let out = ((b * oh + oy) * ow + ox) * oc
                                for o in 0..<oc { y[out + o] = p[oc * g.patch + o] }
                                for ky in 0..<kh {
                                    let iy = oy * g.stride - g.padding + ky
                                    guard iy >= 0 && iy < h else { continue }
                                    for kx in 0..<kw {
                                        let ix = ox * g.stride - g.padding + kx
                                        guard ix >= 0 && ix < w else { continue }
                                        let pixel = ((b * h + iy) * w + ix) * c
                                        for o in 0..<oc {
                                            let filter = ((o * kh + ky) * kw + kx) * c
                                            var s = 0.0
                                            for ch in 0..<c { s += p[filter + ch] * x[pixel + ch] }
                                            y[out + o] += s
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    /// Non-overlapping max pooling, channels last; a ragged edge is dropped.
    private static func maxPool(_ l: MaxPool2d, _ x: [Double], _ batch: Int) -> [Double] {
        let (h, w, c) = (l.inputShape[0], l.inputShape[1], l.inputShape[2])
        let (oh, ow, s) = (h / l.size, w / l.size, l.size)
        var y = [Double](repeating: -.infinity, count: batch * oh * ow * c)
        for b in 0..<batch {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for ch in 0..<c {
                        var best = -Double.infinity
                        for dy in 0..<s {
                            for dx in 0..<s { best = max(best, x[((b * h + oy * s + dy) * w + ox * s + dx) * c + ch]) }
                        }
                        y[((b * oh + oy) * ow + ox) * c + ch] = best
                    }
                }
            }
        }
        return y
    }
}
