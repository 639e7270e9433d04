// im2col / col2im for channels-last (NHWC) images.
//
// One row of the column matrix per output pixel (sample, oy, ox), holding the
// receptive field in (ky, kx, c) order, with zeros where it hangs over the
// padding. With the weights stored [out, kh, kw, in], a convolution is then
// one matrix product: out[P, OC] = col[P, K] * W^T.

struct ConvGeometry {
    let height, width, channels: Int
    let kernelHeight, kernelWidth: Int
    let stride, padding: Int
    var outHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    var outWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Columns of the column matrix: kh * kw * c.
    var patch: Int { kernelHeight * kernelWidth * channels }

    /// The kx range whose input column ox * stride - padding + kx is inside the image.
    @inline(__always)
    func validKernelColumns(_ ox: Int) -> Range<Int> {
        let x0 = ox * stride - padding
        let lo = max(0, -x0)
        let hi = min(kernelWidth, width - x0)
        return lo..<max(lo, hi)
    }
}

/// Fills `col` (samples * outHeight * outWidth rows of `patch` floats) from
/// `samples` images at `input`.
func im2col(_ g: ConvGeometry, input: UnsafePointer<Float>, samples: Int, col: UnsafeMutablePointer<Float>) {
    let (h, w, c) = (g.height, g.width, g.channels)
    let (oh, ow, kw) = (g.outHeight, g.outWidth, g.kernelWidth)
    let patch = g.patch
    var row = col
    for b in 0..<samples {
        let image = input + b * h * w * c
        for oy in 0..<oh {
            for ox in 0..<ow {
                let kxs = g.validKernelColumns(ox)
                let x0 = ox * g.stride - g.padding
                for ky in 0..<g.kernelHeight {
                    let dst = row + ky * kw * c
                    let iy = oy * g.stride - g.padding + ky
                    if iy < 0 || iy >= h || kxs.isEmpty {
                        dst.update(repeating: 0, count: kw * c)
                        continue
                    }
                    if kxs.lowerBound > 0 { dst.update(repeating: 0, count: kxs.lowerBound * c) }
                    if g.stride == 1 {
                        (dst + kxs.lowerBound * c).update(
                            from: image + (iy * w + x0 + kxs.lowerBound) * c, count: kxs.count * c)
                    } else {
                        for kx in kxs {
                            (dst + kx * c).update(from: image + (iy * w + x0 + kx) * c, count: c)
                        }
                    }
                    if kxs.upperBound < kw {
                        (dst + kxs.upperBound * c).update(repeating: 0, count: (kw - kxs.upperBound) * c)
                    }
                }
                row += patch
            }
        }
    }
}

/// Adds each row of `col` back into the image positions it was read from:
/// the adjoint of `im2col`. `output` (samples images) must be zeroed first.
func col2im(_ g: ConvGeometry, col: UnsafePointer<Float>, samples: Int, output: UnsafeMutablePointer<Float>) {
    let (h, w, c) = (g.height, g.width, g.channels)
    let (oh, ow, kw) = (g.outHeight, g.outWidth, g.kernelWidth)
    let patch = g.patch
    var row = col
    for b in 0..<samples {
        let image = output + b * h * w * c
        for oy in 0..<oh {
            for ox in 0..<ow {
                let kxs = g.validKernelColumns(ox)
                let x0 = ox * g.stride - g.padding
                for ky in 0..<g.kernelHeight {
                    let iy = oy * g.stride - g.padding + ky
                    if iy < 0 || iy >= h || kxs.isEmpty { continue }
                    let src = row + (ky * kw + kxs.lowerBound) * c
                    if g.stride == 1 {
                        let dst = image + (iy * w + x0 + kxs.lowerBound) * c
                        for i in 0..<(kxs.count * c) { dst[i] += src[i] }
                    } else {
                        for kx in kxs {
                            let dst = image + (iy * w + x0 + kx) * c
                            let s = row + (ky * kw + kx) * c
                            for i in 0..<c { dst[i] += s[i] }
                        }
                    }
                }
                row += patch
            }
        }
    }
}
