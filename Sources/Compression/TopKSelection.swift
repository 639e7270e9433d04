/// The selection kernel of Group-TopK: the k largest magnitudes of a group,
/// ties to the lower index. Infinities are magnitudes like any other (the
/// largest). A NaN has no magnitude to rank: a first pass looks for one and,
/// if any is there, `select` selects nothing and returns its position, on
/// every path below (the caller throws `CompressionError.notANumber`).
///
/// Fast path, for k <= 64 and groups of at least 256 elements:
/// 1. One vector pass keeps a running maximum of |x| per lane: 64 lanes
///    (four SIMD16 accumulators), each the maximum of a disjoint set of
///    elements. The k-th largest lane maximum T therefore has at least k
///    elements at or above it, so no element below T is in the top k.
/// 2. A second pass (the group is in L1 by now) collects the elements at or
///    above T, in index order: at least k, typically about 1.5k.
/// 3. A k-heap over those candidates, fed in index order with a strict
///    comparison, picks the top k with ties to the lower index.
/// Too few candidates fall back to the plain path:
/// a k-heap over the whole group, seeded with its first k elements, which
/// scans sixteen lanes at a time against the heap's smallest magnitude.
///
/// Before all that, one pass tries a guessed threshold: a factor f times the
/// k-th magnitude of the previous group (neighbouring groups of a gradient
/// come from the same layer and look alike). If between k and 4k + 16
/// elements reach the guess, they are the candidates of step 3 and steps 1-2
/// are skipped; otherwise the fast path runs. f starts at 0.9 (about 2k
/// candidates for Gaussian data) and adapts: too many candidates move it
/// halfway to 1, too few lower it by 5%.
final class TopKSelector {
    private let magnitudes: UnsafeMutablePointer<Float>
    private let indices: UnsafeMutablePointer<Int32>
    private let candidateMagnitudes: UnsafeMutablePointer<Float>
    private let candidateIndices: UnsafeMutablePointer<Int32>
    private let capacity: Int
    private let candidateCapacity: Int
    static let lanes = 64
    /// The threshold guess for the next group (0: none), and its factor.
    private var guess: Float = 0
    private var factor: Float = 0.9

    /// Forgets the guess (call at the start of every vector).
    func reset() { guess = 0 }

    init(capacity: Int, groupSize: Int) {
        self.capacity = max(capacity, 1)
        candidateCapacity = max(groupSize, 1)
        magnitudes = .allocate(capacity: self.capacity)
        indices = .allocate(capacity: self.capacity)
        candidateMagnitudes = .allocate(capacity: candidateCapacity)
        candidateIndices = .allocate(capacity: candidateCapacity)
    }

    deinit {
        magnitudes.deallocate()
        indices.deallocate()
        candidateMagnitudes.deallocate()
        candidateIndices.deallocate()
    }

    /// Writes the positions (ascending, relative to `x`) of the `k` entries
    /// of largest magnitude among `x[0..<n]` to `out` and returns nil; or,
    /// when `x[0..<n]` holds a NaN, returns the first NaN's position and
    /// leaves `out` unspecified. Requires 1 <= k <= n, k <= capacity and
    /// n <= the group size given at init.
    @inline(__always)
    func select(_ x: UnsafePointer<Float>, count n: Int, k: Int, into out: UnsafeMutablePointer<UInt32>) -> Int? {
        assert(k >= 1 && k <= n && k <= capacity && n <= candidateCapacity)
        if let nan = firstNaN(x, count: n) {
            guess = 0
            return nan
        }
        if k <= Self.lanes && n >= 256 {
            let count = guess > 0 ? collect(x, count: n, atLeast: guess) : -1
            let guessed = count >= k && count <= 4 * k + 16
            if guess > 0 && !guessed {
                factor = count > k ? min(0.99, factor + (1 - factor) / 4) : max(0.5, factor * 0.97)
            }
            if guessed { pickTop(k, of: count, into: out) }
            if guessed || selectByLaneMaxima(x, count: n, k: k, into: out) {
                guess = factor * magnitudes[0]
                sortAscending(out, count: k)
                return nil
            }
        }
        guess = 0
        selectByHeap(x, count: n, k: k, into: out)
        sortAscending(out, count: k)
        return nil
    }

    /// The position of the first NaN in `x[0..<n]`, or nil. One vector pass
    /// of integer adds and ors: with the sign bit cleared, a float is NaN
    /// exactly when its bits exceed infinity's (0x7F80_0000), that is when
    /// adding 0x007F_FFFF carries into the top bit.
    @inline(__always)
    private func firstNaN(_ x: UnsafePointer<Float>, count n: Int) -> Int? {
        let raw = UnsafeRawPointer(x)
        var carries = SIMD16<UInt32>(repeating: 0)
        var i = 0
        while i + 16 <= n {
            carries |= (raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<UInt32>.self) & 0x7FFF_FFFF) &+ 0x007F_FFFF
            i &+= 16
        }
        var found = any((carries & 0x8000_0000) .!= 0)
        while !found && i < n {
            found = x[i].isNaN
            i &+= 1
        }
        guard found else { return nil }
        return (0..<n).first { x[$0].isNaN }
    }

    /// Collects the elements with |x| >= t into the candidate buffers, in
    /// index order; returns their number.
    ///
    /// Which sixteen-lane chunks hold a candidate is a coin flip per chunk,
    /// so branching on it mispredicts often. Instead, for windows of 64
    /// chunks, a 64-bit mask of "chunk has a candidate" is built without
    /// branches, then only its set bits are visited; inside a chunk the same
    /// is done with a 16-bit lane mask.
    @inline(__always)
    private func collect(_ x: UnsafePointer<Float>, count n: Int, atLeast t: Float) -> Int {
        let raw = UnsafeRawPointer(x)
        let cm = candidateMagnitudes, ci = candidateIndices
        var count = 0
        let whole = n & ~15
        var window = 0
        while window < whole {
            let chunks = min(64, (whole &- window) >> 4)
            var chunkBits: UInt64 = 0
            var c = 0
            while c < chunks {
                let hit: UInt64 = any(magnitudes16(raw, window &+ c &<< 4) .>= t) ? 1 : 0
                chunkBits |= hit &<< UInt64(c)
                c &+= 1
            }
            while chunkBits != 0 {
                let base = window &+ chunkBits.trailingZeroBitCount &<< 4
                chunkBits &= chunkBits &- 1
                var laneBits = laneMask(raw, base, t) | laneMask(raw, base &+ 4, t) &<< 4
                    | laneMask(raw, base &+ 8, t) &<< 8 | laneMask(raw, base &+ 12, t) &<< 12
                while laneBits != 0 {
                    let j = base &+ laneBits.trailingZeroBitCount
                    laneBits &= laneBits &- 1
                    cm[count] = abs(x[j])
                    ci[count] = Int32(truncatingIfNeeded: j)
                    count &+= 1
                }
            }
            window &+= chunks &<< 4
        }
        var i = whole
        while i < n {
            let m = abs(x[i])
            if m >= t {
                cm[count] = m
                ci[count] = Int32(truncatingIfNeeded: i)
                count &+= 1
            }
            i &+= 1
        }
        return count
    }

    /// Bit l set when |x[offset + l]| >= t, for l in 0..<4.
    @inline(__always)
    private func laneMask(_ raw: UnsafeRawPointer, _ offset: Int, _ t: Float) -> UInt32 {
        let hits = unsafeBitCast(magnitudes4(raw, offset) .>= t, to: SIMD4<Int32>.self) & SIMD4<Int32>(1, 2, 4, 8)
        return UInt32(truncatingIfNeeded: hits.wrappedSum())
    }

    /// The top k of the `count` candidates, which are in index order, so the
    /// strict comparison keeps the lower index on ties. Leaves the k-th
    /// magnitude in `magnitudes[0]`.
    @inline(__always)
    private func pickTop(_ k: Int, of count: Int, into out: UnsafeMutablePointer<UInt32>) {
        let cm = candidateMagnitudes, ci = candidateIndices, mag = magnitudes
        for c in 0..<k {
            mag[c] = cm[c]
            indices[c] = ci[c]
            siftUp(c, keyOnly: false)
        }
        for c in k..<count where cm[c] > mag[0] {
            mag[0] = cm[c]
            indices[0] = ci[c]
            siftDown(k, keyOnly: false)
        }
        for c in 0..<k { out[c] = UInt32(indices[c]) }
    }

    @inline(__always)
    private func magnitudes4(_ raw: UnsafeRawPointer, _ offset: Int) -> SIMD4<Float> {
        let bits = raw.loadUnaligned(fromByteOffset: offset &* 4, as: SIMD4<UInt32>.self) & 0x7FFF_FFFF
        return unsafeBitCast(bits, to: SIMD4<Float>.self)
    }

    @inline(__always)
    private func magnitudes16(_ raw: UnsafeRawPointer, _ offset: Int) -> SIMD16<Float> {
        let bits = raw.loadUnaligned(fromByteOffset: offset &* 4, as: SIMD16<UInt32>.self) & 0x7FFF_FFFF
        return unsafeBitCast(bits, to: SIMD16<Float>.self)
    }

    /// The fast path; returns false (having written nothing useful) when it
    /// cannot decide, and the caller falls back to the heap.
    @inline(__always)
    private func selectByLaneMaxima(_ x: UnsafePointer<Float>, count n: Int, k: Int, into out: UnsafeMutablePointer<UInt32>) -> Bool {
        let raw = UnsafeRawPointer(x)
        // 1. Lane maxima over whole 64-element blocks; the tail joins lane 0's set.
        var m0 = SIMD16<Float>(repeating: 0), m1 = m0, m2 = m0, m3 = m0
        var i = 0
        while i + 64 <= n {
            let a0 = magnitudes16(raw, i), a1 = magnitudes16(raw, i &+ 16)
            let a2 = magnitudes16(raw, i &+ 32), a3 = magnitudes16(raw, i &+ 48)
            m0.replace(with: a0, where: a0 .> m0)
            m1.replace(with: a1, where: a1 .> m1)
            m2.replace(with: a2, where: a2 .> m2)
            m3.replace(with: a3, where: a3 .> m3)
            i &+= 64
        }
        var tail: Float = 0
        while i < n {
            tail = max(tail, abs(x[i]))
            i &+= 1
        }
        m0[0] = max(m0[0], tail)
        // 2. T = the k-th largest of the 64 lane maxima (a small k-heap).
        let mag = magnitudes
        let laneMaxima = UnsafeMutableRawPointer(candidateMagnitudes)
        laneMaxima.storeBytes(of: m0, as: SIMD16<Float>.self)
        laneMaxima.storeBytes(of: m1, toByteOffset: 64, as: SIMD16<Float>.self)
        laneMaxima.storeBytes(of: m2, toByteOffset: 128, as: SIMD16<Float>.self)
        laneMaxima.storeBytes(of: m3, toByteOffset: 192, as: SIMD16<Float>.self)
        var filled = 0
        for lane in 0..<Self.lanes {
            let m = candidateMagnitudes[lane]
            if filled < k {
                mag[filled] = m
                indices[filled] = 0
                siftUp(filled, keyOnly: true)
                filled &+= 1
            } else if m > mag[0] {
                mag[0] = m
                siftDown(k, keyOnly: true)
            }
        }
        let t = mag[0]
        // 3. Candidates: every element at or above T, in index order (at
        // least k: the k largest lane maxima are among them). 4. Their top k.
        let count = collect(x, count: n, atLeast: t)
        guard count >= k else { return false }
        pickTop(k, of: count, into: out)
        return true
    }

    /// The plain path: one k-heap over the whole group.
    @inline(__always)
    private func selectByHeap(_ x: UnsafePointer<Float>, count n: Int, k: Int, into out: UnsafeMutablePointer<UInt32>) {
        let mag = magnitudes, idx = indices
        for i in 0..<k {
            mag[i] = abs(x[i])
            idx[i] = Int32(i)
            siftUp(i, keyOnly: false)
        }
        var t = mag[0]
        var i = k
        let raw = UnsafeRawPointer(x)
        while i + 16 <= n {
            let v = magnitudes16(raw, i)
            if any(v .> t) {
                for j in i..<i &+ 16 {
                    let m = abs(x[j])
                    if m > t {
                        mag[0] = m
                        idx[0] = Int32(j)
                        siftDown(k, keyOnly: false)
                        t = mag[0]
                    }
                }
            }
            i &+= 16
        }
        while i < n {
            let m = abs(x[i])
            if m > t {
                mag[0] = m
                idx[0] = Int32(i)
                siftDown(k, keyOnly: false)
                t = mag[0]
            }
            i &+= 1
        }
        for j in 0..<k { out[j] = UInt32(idx[j]) }
    }

    /// a before b in the heap: smaller magnitude, or equal and higher index
    /// (so the root is the entry to evict).
    @inline(__always)
    private func less(_ a: Int, _ b: Int, keyOnly: Bool) -> Bool {
        magnitudes[a] < magnitudes[b] || (!keyOnly && magnitudes[a] == magnitudes[b] && indices[a] > indices[b])
    }

    @inline(__always)
    private func swapAt(_ a: Int, _ b: Int) {
        swap(&magnitudes[a], &magnitudes[b])
        swap(&indices[a], &indices[b])
    }

    @inline(__always)
    private func siftUp(_ start: Int, keyOnly: Bool) {
        var c = start
        while c > 0 {
            let p = (c &- 1) / 2
            guard less(c, p, keyOnly: keyOnly) else { return }
            swapAt(c, p)
            c = p
        }
    }

    @inline(__always)
    private func siftDown(_ size: Int, keyOnly: Bool) {
        var p = 0
        while true {
            let l = 2 &* p &+ 1
            guard l < size else { return }
            let r = l &+ 1
            let c = r < size && less(r, l, keyOnly: keyOnly) ? r : l
            guard less(c, p, keyOnly: keyOnly) else { return }
            swapAt(c, p)
            p = c
        }
    }
}

/// Sorts a short run of positions in place (insertion sort for the usual
/// small k, the standard sort beyond).
@inline(__always)
func sortAscending(_ p: UnsafeMutablePointer<UInt32>, count: Int) {
    if count > 32 {
        var buffer = UnsafeMutableBufferPointer(start: p, count: count)
        buffer.sort()
        return
    }
    var i = 1
    while i < count {
        let v = p[i]
        var j = i
        while j > 0 && p[j &- 1] > v {
            p[j] = p[j &- 1]
            j &-= 1
        }
        p[j] = v
        i &+= 1
    }
}
