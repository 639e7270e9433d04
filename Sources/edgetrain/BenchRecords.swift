import Collectives

/// The `--json` records of the bench commands, one object per line on stdout
/// (bench/*.sh collects them). `docs/metrics.md` is their schema, by
/// command; the JSON keys are the `CodingKeys` raw values. A non-finite
/// number is written as null (see `jsonLine`).

/// `edgetrain bench train --json`: one record.
struct BenchTrainRecord: Codable {
    var model: String
    var batch: Int
    var steps: Int
    var wallSeconds: Double
    var samplesPerSecond: Double
    var parameters: Int
    var threads: Int
    var isa: String
    var maxISA: String
    var maxISASource: String
    var kernels: String
    /// With `--profile`: each layer pass, in execution order.
    var profile: [Pass]?
    /// With `--profile`: layer name to its oneDNN implementations (forward, backward).
    var implementations: [String: [String]]?

    struct Pass: Codable {
        var pass: String
        var millisecondsPerStep: Double

        enum CodingKeys: String, CodingKey {
            case pass, millisecondsPerStep = "ms_per_step"
        }
    }

    enum CodingKeys: String, CodingKey {
        case model, batch, steps, wallSeconds = "wall_s", samplesPerSecond = "samples_per_s", parameters, threads, isa,
             maxISA = "max_isa", maxISASource = "max_isa_source", kernels, profile, implementations
    }
}

/// `edgetrain bench compress --json`: one record per input, group size and ratio.
struct BenchCompressRecord: Codable {
    private(set) var who = "edgetrain"
    var input: String
    var residualFromRun: Bool
    var size: Int
    var groupSize: Int
    var ratio: Double
    var k: Int
    var effectiveRatio: Double
    var iterations: Int
    var seconds: Double
    var gigabytesPerSecond: Double
    var secondsErrorFeedback: Double
    var gigabytesPerSecondErrorFeedback: Double
    var encodeSeconds: Double
    var encodedBytes: Int
    var memcpyGigabytesPerSecond: Double
    var ratioToMemcpy: Double

    enum CodingKeys: String, CodingKey {
        case who, input, residualFromRun = "residual_from_run", size, groupSize = "group_size", ratio, k,
             effectiveRatio = "ratio_effective", iterations = "iters", seconds, gigabytesPerSecond = "gbps",
             secondsErrorFeedback = "seconds_error_feedback", gigabytesPerSecondErrorFeedback = "gbps_error_feedback",
             encodeSeconds = "encode_s", encodedBytes = "encoded_bytes", memcpyGigabytesPerSecond = "memcpy_gbps",
             ratioToMemcpy = "ratio_to_memcpy"
    }
}

/// `edgetrain bench allreduce --json`: one record per size. With `--sparse`,
/// each sparse-reduce policy adds its keys, prefixed by its name
/// (`exact_total_s`, `ratio_mpi_over_reselect_total`, ...), and `ratio`
/// and `group_size` are present.
struct BenchAllReduceRecord: Encodable {
    var dense: Dense
    var sparse: [AllReduceBenchmarkResult.SparseResult]
    var ratio: Double?
    var groupSize: Int?

    struct Dense: Codable {
        var size: Int
        var ranks: Int
        var iterations: Int
        var ringSeconds: Double
        var mpiSeconds: Double
        var ratioMPIOverRing: Double
        var ringBusBandwidth: Double
        var mpiBusBandwidth: Double
        var maxAbsError: Double
        var tolerance: Double
        var bytesSent: Int
        var bytesReceived: Int

        enum CodingKeys: String, CodingKey {
            case size, ranks, iterations = "iters", ringSeconds = "ring_s", mpiSeconds = "mpi_s",
                 ratioMPIOverRing = "ratio_mpi_over_ring", ringBusBandwidth = "ring_busbw_gbps",
                 mpiBusBandwidth = "mpi_busbw_gbps", maxAbsError = "max_abs_err", tolerance, bytesSent = "bytes_sent",
                 bytesReceived = "bytes_received"
        }
    }

    /// A key made from a policy's name.
    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
        var intValue: Int? { nil }
    }

    func encode(to encoder: Encoder) throws {
        try dense.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        for s in sparse {
            let p = s.policy.rawValue
            try c.encode(s.totalSeconds, forKey: Key(stringValue: "\(p)_total_s"))
            try c.encode(s.compressSeconds, forKey: Key(stringValue: "\(p)_compress_s"))
            try c.encode(s.ringSeconds, forKey: Key(stringValue: "\(p)_ring_s"))
            try c.encode(s.maxAbsError, forKey: Key(stringValue: "\(p)_max_abs_err"))
            try c.encode(s.bytesSent, forKey: Key(stringValue: "\(p)_bytes_sent"))
            try c.encode(s.bytesReceived, forKey: Key(stringValue: "\(p)_bytes_received"))
            try c.encode(s.density, forKey: Key(stringValue: "\(p)_density"))
            try c.encode(s.mpiSeconds, forKey: Key(stringValue: "\(p)_mpi_s"))
            try c.encode(s.ratio, forKey: Key(stringValue: "ratio_mpi_over_\(p)_total"))
        }
        try c.encodeIfPresent(ratio, forKey: Key(stringValue: "ratio"))
        try c.encodeIfPresent(groupSize, forKey: Key(stringValue: "group_size"))
    }
}
