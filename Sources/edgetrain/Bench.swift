import ArgumentParser

/// `edgetrain bench ...`: measurements, never tests.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: speed and traffic, measured side by side in one run.",
        subcommands: [BenchAllReduce.self, BenchCompress.self, BenchCodecs.self, BenchTrain.self]
    )
}
