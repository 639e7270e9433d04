/// dst[i] += src[i] for i in 0..<count, sixteen lanes at a time. The error
/// feedback (GroupTopK) and the dense ring's reduce-scatter (Collectives)
/// both add with it. `package` for Collectives, and not `@inlinable`: a call adds
/// a whole group or ring block, so the call is rare next to the loop in it.
@inline(__always)
package func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
    let rd = UnsafeMutableRawPointer(dst), rs = UnsafeRawPointer(src)
    var i = 0
    while i + 16 <= count {
        let a = rd.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
        let b = rs.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
        rd.storeBytes(of: a + b, toByteOffset: i &* 4, as: SIMD16<Float>.self)
        i &+= 16
    }
    while i < count {
        dst[i] += src[i]
        i &+= 1
    }
}
