/// How a ring cuts a vector: `parts` contiguous blocks, the remainder spread
/// one element each over the first blocks. Blocks may be empty when the
/// length is shorter than the number of parts.
public func ringBlocks(length: Int, parts: Int) -> [Range<Int>] {
    precondition(length >= 0 && parts >= 1, "length must be >= 0 and parts >= 1")
    let base = length / parts
    let extra = length % parts
    var blocks = [Range<Int>]()
    blocks.reserveCapacity(parts)
    var start = 0
    for i in 0..<parts {
        let n = base + (i < extra ? 1 : 0)
        blocks.append(start..<start + n)
        start += n
    }
    return blocks
}
