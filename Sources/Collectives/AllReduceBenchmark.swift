import Compression
import MPI
import Random

/// One size of `benchmarkAllReduce`: the ring against `MPI_Allreduce`.
public struct AllReduceBenchmarkResult: Sendable {
    /// Floats per rank.
    public let size: Int
    public let ranks: Int
    public let iterations: Int
    /// Median over iterations of the slowest rank's seconds, ring.
    public let ringSeconds: Double
    /// The same for `MPI_Allreduce` on the same data, timed interleaved.
    public let mpiSeconds: Double
    /// Largest |ring - MPI_Allreduce| over all elements and ranks.
    public let maxAbsError: Double
    /// The float tolerance the error is checked against.
    public let tolerance: Double
    /// Bytes this rank's ring sends and receives in one call.
    public let bytesSent: Int
    public let bytesReceived: Int
    /// The sparse ring on the Group-TopK compressed data, per policy.
    public var sparse: [SparseResult] = []

    /// One policy of the sparse ring, timed as training runs it: Group-TopK
    /// with error feedback (residual += gradient, select, clear what was
    /// sent), then the sparse ring (which encodes, sends, decodes and merges
    /// the blocks). The headline is `totalSeconds`, compression included.
    public struct SparseResult: Sendable {
        public let policy: SparseReducePolicy
        /// Median over iterations of the slowest rank's compression + ring seconds.
        public let totalSeconds: Double
        /// Median over iterations of the slowest rank's compression seconds
        /// (selection with error feedback into the kept values and positions).
        public let compressSeconds: Double
        /// Median over iterations of the slowest rank's sparse-ring seconds
        /// (encoding, transfers, decoding, merges, densifying the result).
        public let ringSeconds: Double
        /// Median over the same iterations of the slowest rank's
        /// `MPI_Allreduce` of the dense data, each run just before that
        /// iteration's compression and ring, so the two are side by side.
        public let mpiSeconds: Double
        /// Largest error against MPI_Allreduce of the densified inputs
        /// (reselect: of the result plus every rank's residual).
        public let maxAbsError: Double
        public let bytesSent: Int
        public let bytesReceived: Int
        /// Non-zero elements of the result over the length.
        public let density: Double

        /// `mpiSeconds / totalSeconds`: above 1 means the Group-TopK step is faster.
        public var ratio: Double { totalSeconds > 0 ? mpiSeconds / totalSeconds : 1 }
    }

    /// Bus bandwidth in GB/s, as nccl-tests defines it: bytes x 2(N-1)/N / s.
    public func busBandwidth(seconds: Double) -> Double {
        guard seconds > 0, ranks > 1 else { return 0 }
        return Double(size * 4) * 2 * Double(ranks - 1) / Double(ranks) / seconds / 1e9
    }

    /// `mpi_s / ring_s`: above 1 means the ring is faster.
    public var ratio: Double { ringSeconds > 0 ? mpiSeconds / ringSeconds : 1 }
}

/// Checks and times the dense ring against `MPI_Allreduce` (collective).
/// With `timeDense` false the dense ring and the separate dense timing do
/// not run (their fields are zero); only the sparse ring is checked and
/// timed, beside MPI_Allreduce as always.
///
/// For each size every rank draws seeded uniform data in [-1, 1) (seed,
/// stream = rank), sums it with both methods, and compares. Then it times
/// `iterations` calls of each, interleaved, after `warmup` untimed calls;
/// each call starts after a barrier and counts the slowest rank.
///
/// With `sparse` (ratio, group size) it also compresses each rank's data
/// with Group-TopK and runs the sparse ring under both policies, checking
/// `exact` against `MPI_Allreduce` of the densified inputs and `reselect`
/// (result + all residuals) against the same. The sparse timings include
/// compression with error feedback, as in training, and each iteration
/// also times `MPI_Allreduce` of the dense data right before (`SparseResult`).
public func benchmarkAllReduce(
    communicator: Communicator, sizes: [Int], iterations: Int, warmup: Int = 2, seed: UInt64 = 1,
    sparse: (ratio: Double, groupSize: Int)? = nil, timeDense: Bool = true
) throws -> [AllReduceBenchmarkResult] {
    // The rings' own seconds go unused here: every timing below is MPI_Wtime's.
    let ring = RingAllReduce(transport: MPITransport(communicator: communicator), clock: { MPIEnvironment.wallTime })
    var results = [AllReduceBenchmarkResult]()
    for size in sizes {
        var rng = SeededGenerator(seed: seed ^ UInt64(size), stream: UInt64(communicator.rank))
        let data = (0..<size).map { _ in Float(rng.nextUnit() * 2 - 1) }

        let n = Double(communicator.size)
        let tolerance = 2 * n * n * Double(Float.ulpOfOne)
        var call = TrafficStats()
        var maxError = 0.0
        if timeDense {
            var ringResult = data
            call = try ring.sum(&ringResult)
            var mpiResult = data
            try communicator.allReduce(&mpiResult, op: .sum)
            var localError = 0.0
            for i in 0..<size { localError = max(localError, Double(abs(ringResult[i] - mpiResult[i]))) }
            maxError = try communicator.allReduce(localError, op: .max)
            guard maxError <= tolerance else {
                throw CollectiveError.ringMismatch(size: size, maxAbsError: maxError, tolerance: tolerance)
            }
        }

        var ringTimes = [Double]()
        var mpiTimes = [Double]()
        var work = data
        for i in 0..<(timeDense ? warmup + iterations : 0) {
            work = data
            try communicator.barrier()
            var t0 = MPIEnvironment.wallTime
            try ring.sum(&work)
            let ringTime = MPIEnvironment.wallTime - t0
            work = data
            try communicator.barrier()
            t0 = MPIEnvironment.wallTime
            try communicator.allReduce(&work, op: .sum)
            let mpiTime = MPIEnvironment.wallTime - t0
            if i >= warmup {
                ringTimes.append(ringTime)
                mpiTimes.append(mpiTime)
            }
        }
        try communicator.allReduce(&ringTimes, op: .max)
        try communicator.allReduce(&mpiTimes, op: .max)
        var result = AllReduceBenchmarkResult(
            size: size, ranks: communicator.size, iterations: iterations,
            ringSeconds: median(ringTimes), mpiSeconds: median(mpiTimes),
            maxAbsError: maxError, tolerance: tolerance,
            bytesSent: call.bytesSent, bytesReceived: call.bytesReceived)
        if let sparse {
            let layout = GroupLayout(length: size, groupSize: sparse.groupSize, ratio: sparse.ratio)
            for policy in SparseReducePolicy.allCases {
                result.sparse.append(try benchmarkSparse(
                    communicator: communicator, data: data, layout: layout, policy: policy,
                    iterations: iterations, warmup: warmup, tolerance: tolerance))
            }
        }
        results.append(result)
    }
    return results
}

/// Checks and times one policy of the sparse ring on `data` (collective).
func benchmarkSparse(
    communicator: Communicator, data: [Float], layout: GroupLayout, policy: SparseReducePolicy,
    iterations: Int, warmup: Int, tolerance: Double
) throws -> AllReduceBenchmarkResult.SparseResult {
    let ring = SparseRingAllReduce(transport: MPITransport(communicator: communicator), policy: policy, clock: { MPIEnvironment.wallTime })
    let compressor = GroupTopK(layout: layout)
    var compressed = SparseGradient(layout: layout)
    // Check first, on the plain selection of `data` (no residual yet).
    try data.withUnsafeBufferPointer { try compressor.compress($0, into: &compressed) }
    // Reference: the sum of every rank's densified input, built locally from
    // the gathered compressed inputs (a few percent of the dense bytes, so
    // the check stays cheap on slow links).
    let values = try communicator.allGatherv(compressed.values)
    let positions = try communicator.allGatherv(compressed.positions)
    var reference = [Float](repeating: 0, count: layout.length)
    var one = [Float](repeating: 0, count: layout.length)
    for r in 0..<communicator.size {
        one.withUnsafeMutableBufferPointer {
            SparseGradient(layout: layout, values: values[r], positions: positions[r]).densify(into: $0)
        }
        for i in 0..<layout.length { reference[i] += one[i] }
    }
    var output = [Float](repeating: 0, count: layout.length)
    var residual = [Float](repeating: 0, count: layout.length)
    let outcome = try output.withUnsafeMutableBufferPointer { o in
        try residual.withUnsafeMutableBufferPointer { try ring.sum(compressed, into: o, residual: $0.baseAddress) }
    }
    if policy == .reselect {
        // Residuals are as sparse as what merges dropped: gather them sparsely too.
        let nonZero = (0..<layout.length).filter { residual[$0] != 0 }
        let indices = try communicator.allGatherv(nonZero.map { Int64($0) })
        let amounts = try communicator.allGatherv(nonZero.map { residual[$0] })
        residual = [Float](repeating: 0, count: layout.length)
        for r in 0..<communicator.size {
            for (i, v) in zip(indices[r], amounts[r]) { residual[Int(i)] += v }
        }
    }
    var localError = 0.0
    for i in 0..<layout.length {
        localError = max(localError, Double(abs(output[i] + (policy == .reselect ? residual[i] : 0) - reference[i])))
    }
    let maxError = try communicator.allReduce(localError, op: .max)
    guard maxError <= tolerance else {
        throw CollectiveError.sparseRingMismatch(policy: policy, size: layout.length, maxAbsError: maxError, tolerance: tolerance)
    }
    // Timing: what a training step does after the backward pass. Each rank
    // keeps an error-feedback residual across iterations (as training does),
    // and under reselect the ring adds what its merges drop to that residual.
    // Each iteration first times MPI_Allreduce of the dense data, so that
    // both see the same machine and links.
    var feedback = [Float](repeating: 0, count: layout.length)
    var compressTimes = [Double](), ringTimes = [Double](), totalTimes = [Double](), mpiTimes = [Double]()
    var dense = data
    for i in 0..<(warmup + iterations) {
        dense = data
        try communicator.barrier()
        let m0 = MPIEnvironment.wallTime
        try communicator.allReduce(&dense, op: .sum)
        let mpiTime = MPIEnvironment.wallTime - m0
        try communicator.barrier()
        let t0 = MPIEnvironment.wallTime
        try data.withUnsafeBufferPointer { g in
            try feedback.withUnsafeMutableBufferPointer { try compressor.compress(gradient: g, residual: $0, into: &compressed) }
        }
        let t1 = MPIEnvironment.wallTime
        _ = try output.withUnsafeMutableBufferPointer { o in
            try feedback.withUnsafeMutableBufferPointer { try ring.sum(compressed, into: o, residual: $0.baseAddress) }
        }
        let t2 = MPIEnvironment.wallTime
        if i >= warmup {
            compressTimes.append(t1 - t0)
            ringTimes.append(t2 - t1)
            totalTimes.append(t2 - t0)
            mpiTimes.append(mpiTime)
        }
    }
    try communicator.allReduce(&compressTimes, op: .max)
    try communicator.allReduce(&ringTimes, op: .max)
    try communicator.allReduce(&totalTimes, op: .max)
    try communicator.allReduce(&mpiTimes, op: .max)
    return .init(policy: policy, totalSeconds: median(totalTimes), compressSeconds: median(compressTimes),
                 ringSeconds: median(ringTimes), mpiSeconds: median(mpiTimes), maxAbsError: maxError,
                 bytesSent: outcome.traffic.bytesSent, bytesReceived: outcome.traffic.bytesReceived,
                 density: outcome.density)
}

