import ArgumentParser
import Compression
import Foundation
import NN
import RunSupport

/// `edgetrain bench train`: training-step throughput of one process.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Measure training steps per second of one process (one compute thread by default).",
        discussion: "Forward, loss, backward and an SGD step with momentum, on random inputs."
    )

    @Option(help: "mlp or cnn.")
    var model: ModelKind = .mlp

    @Option(help: "Samples per step.")
    var batch: Int = 64

    @Option(help: "Timed steps (default: 2000 for mlp, 100 for cnn).")
    var steps: Int?

    @OptionGroup var kernels: KernelOptions

    @Flag(help: "Also time each layer's forward and backward (adds a clock read per layer call).")
    var profile = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        try requireAtLeast(1, batch, "--batch")
        if let steps { try requireAtLeast(1, steps, "--steps") }
    }

    func run() throws {
        try kernels.apply()
        let net = makeModel(model, seed: 1)
        if profile { net.profile = StepProfile(now: monotonicSeconds) }
        let result = measureTrainingThroughput(model: net, batch: batch, steps: steps ?? (model == .mlp ? 2000 : 100),
                                               clock: monotonicSeconds)
        let perStep = (net.profile?.entries ?? []).map { e in
            (name: "\(e.layer) \(e.pass)", ms: e.seconds * 1000 / Double(result.steps))
        }
        let stepMs = result.seconds * 1000 / Double(result.steps)
        let implementations = net.kernelImplementations(batch: batch)
        if json {
            var record = BenchTrainRecord(
                model: result.model, batch: result.batch, steps: result.steps, wallSeconds: result.seconds,
                samplesPerSecond: result.samplesPerSecond, parameters: result.parameters,
                threads: ComputeKernels.threadCount, isa: ComputeKernels.effectiveISA,
                maxISA: kernels.cap.isa, maxISASource: kernels.cap.source,
                kernels: "onednn \(ComputeKernels.libraryVersion)")
            if profile {
                // In execution order: forward through the layers, the loss, backward, SGD.
                record.profile = perStep.map { BenchTrainRecord.Pass(pass: $0.name, millisecondsPerStep: $0.ms) }
                record.implementations = Dictionary(uniqueKeysWithValues: implementations.map { ($0.layer, $0.implementations) })
            }
            try printJSONLine(record)
        } else {
            print(String(format: "%@: %.0f samples/s (batch %d, %d steps, %.2f s, %d thread(s), oneDNN %@ %@)",
                         result.model, result.samplesPerSecond, result.batch, result.steps, result.seconds,
                         ComputeKernels.threadCount, ComputeKernels.libraryVersion, ComputeKernels.effectiveISA))
            if profile {
                print(String(format: "per step: %.3f ms", stepMs))
                let other = stepMs - perStep.reduce(0) { $0 + $1.ms }
                for e in perStep + [(name: "other", ms: other)] {
                    print("  " + e.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                          + String(format: "%8.3f ms  %5.1f%%", e.ms, 100 * e.ms / stepMs))
                }
                print("oneDNN implementations (forward, backward):")
                for (layer, names) in implementations {
                    print("  " + layer.padding(toLength: 8, withPad: " ", startingAt: 0) + names.joined(separator: ", "))
                }
            }
        }
    }
}

extension ModelKind: ExpressibleByArgument {}
