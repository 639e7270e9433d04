import ArgumentParser
import Collectives
import Foundation
import MPI

/// `edgetrain bench allreduce`: the dense ring against `MPI_Allreduce`.
struct BenchAllReduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Check the ring all-reduce against MPI_Allreduce and time both.",
        discussion: """
            Every size is checked first (seeded random data, float tolerance); a mismatch \
            exits non-zero. Times are the median over iterations of the slowest rank.
            """
    )

    static let defaultSizes = [1, 7, 1000, 1_048_576, 16_777_216]

    @Option(help: CommaSeparated.help("Comma-separated vector lengths in floats.", default: defaultSizes),
            transform: CommaSeparated.parser(of: Int.self))
    var sizes: [Int] = defaultSizes

    @Option(help: "Timed iterations per size.")
    var iters: Int = 10

    @Option(help: "Untimed warm-up iterations per size.")
    var warmup: Int = 2

    @Option(help: "Seed of the random data.")
    var seed: UInt64 = 1

    @Flag(help: """
        Also run what a Group-TopK training step does, both policies: compression with error feedback, then \
        the sparse ring. Times: total (the headline), compression, ring, and MPI_Allreduce of the dense data \
        in the same iterations.
        """)
    var sparse = false

    @Option(help: "Group-TopK ratio for --sparse.")
    var ratio: Double = 0.01

    @Option(help: "Group-TopK group size for --sparse.")
    var groupSize: Int = 1024

    @Flag(help: """
        With --sparse: skip the dense ring and its separate timing (their fields are 0); each Group-TopK step \
        is still timed beside MPI_Allreduce.
        """)
    var sparseOnly = false

    @Flag(help: "Print one JSON object per size instead of a table.")
    var json = false

    func validate() throws {
        try requireEach(sizes, "--sizes", "must be lengths >= 0", { $0 >= 0 })
        try checkRatio(ratio)
        if sparseOnly && !sparse { throw ValidationError("--sparse-only needs --sparse") }
        try checkGroupSize(groupSize)
        try requireAtLeast(1, iters, "--iters")
        try requireAtLeast(0, warmup, "--warmup")
    }

    func run() throws {
        try runWithMPI { env in
            let results = try benchmarkAllReduce(
                communicator: env.world, sizes: sizes, iterations: iters, warmup: warmup, seed: seed,
                sparse: sparse ? (ratio, groupSize) : nil, timeDense: !sparseOnly)
            guard env.world.rank == 0 else { return }
            if json {
                for r in results {
                    try printJSONLine(BenchAllReduceRecord(
                        dense: .init(
                            size: r.size, ranks: r.ranks, iterations: r.iterations,
                            ringSeconds: r.ringSeconds, mpiSeconds: r.mpiSeconds,
                            ratioMPIOverRing: r.ratio,
                            ringBusBandwidth: r.busBandwidth(seconds: r.ringSeconds),
                            mpiBusBandwidth: r.busBandwidth(seconds: r.mpiSeconds),
                            maxAbsError: r.maxAbsError, tolerance: r.tolerance,
                            bytesSent: r.bytesSent, bytesReceived: r.bytesReceived),
                        sparse: r.sparse, ratio: r.sparse.isEmpty ? nil : ratio, groupSize: r.sparse.isEmpty ? nil : groupSize))
                }
            } else {
                print("all-reduce, \(env.world.size) ranks, median of \(iters) (slowest rank)")
                print(pad("size", 10) + pad("ring_s", 12) + pad("mpi_s", 12) + pad("mpi/ring", 10)
                      + pad("ring GB/s", 11) + pad("mpi GB/s", 10) + pad("max_err", 10) + "bytes_sent")
                for r in results {
                    print(pad("\(r.size)", 10) + pad(fmt(r.ringSeconds), 12) + pad(fmt(r.mpiSeconds), 12)
                          + pad(String(format: "%.2f", r.ratio), 10)
                          + pad(String(format: "%.2f", r.busBandwidth(seconds: r.ringSeconds)), 11)
                          + pad(String(format: "%.2f", r.busBandwidth(seconds: r.mpiSeconds)), 10)
                          + pad(String(format: "%.1e", r.maxAbsError), 10) + "\(r.bytesSent)")
                    for s in r.sparse {
                        let speedup = String(format: "mpi/total %.1f", s.ratio)
                        // Three medians, each over iterations: they need not add up.
                        print(pad("", 10) + pad("\(s.policy.rawValue): total \(fmt(s.totalSeconds))", 26)
                              + pad("compress \(fmt(s.compressSeconds))", 20) + pad("ring \(fmt(s.ringSeconds))", 18)
                              + pad(speedup, 15)
                              + pad(String(format: "err %.1e", s.maxAbsError), 14)
                              + "bytes_sent \(s.bytesSent)"
                              + (r.bytesSent > 0 ? String(format: " (%.2f%% of dense)", 100 * Double(s.bytesSent) / Double(r.bytesSent)) : ""))
                    }
                }
            }
        }
    }
}
