/// The shape arithmetic of a 2-D convolution over one channels-last image.
struct ConvGeometry {
    let height, width, channels: Int
    let kernelHeight, kernelWidth: Int
    let stride, padding: Int
    var outHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    var outWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Weights per output channel: kh * kw * c.
    var patch: Int { kernelHeight * kernelWidth * channels }
    /// Padding after the last row and column that makes the output exactly
    /// outHeight x outWidth: oneDNN's padding_r. Negative when the stride
    /// leaves input rows or columns that no window reaches.
    var paddingBottom: Int { (outHeight - 1) * stride + kernelHeight - height - padding }
    var paddingRight: Int { (outWidth - 1) * stride + kernelWidth - width - padding }
}
