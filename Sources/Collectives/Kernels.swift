/// dst[i] += src[i] for i in 0..<count, sixteen lanes at a time.
@inline(__always)
func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
    var i = 0
    let rawDst = UnsafeMutableRawPointer(dst)
    let rawSrc = UnsafeRawPointer(src)
    let stride = MemoryLayout<SIMD16<Float>>.size
    while i + 16 <= count {
        let offset = i * 4
        let a = rawDst.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        let b = rawSrc.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        rawDst.storeBytes(of: a + b, toByteOffset: offset, as: SIMD16<Float>.self)
        i += stride / 4
    }
    while i < count {
        dst[i] += src[i]
        i += 1
    }
}
