import ArgumentParser
import NN

/// `edgetrain bench train`: training-step throughput of one process.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Measure training steps per second of one process with one BLAS thread.",
        discussion: "Forward, loss, backward and an SGD step with momentum, on random inputs."
    )

    @Option(help: "mlp or cnn.")
    var model: ModelKind = .mlp

    @Option(help: "Samples per step.")
    var batch: Int = 64

    @Option(help: "Timed steps (default: 2000 for mlp, 100 for cnn).")
    var steps: Int?

    @Option(help: "BLAS threads.")
    var threads: Int = 1

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        BLASThreads.set(threads)
        let net = makeModel(model, seed: 1)
        let result = measureTrainingThroughput(model: net, batch: batch, steps: steps ?? (model == .mlp ? 2000 : 100))
        if json {
            printJSONLine([
                "model": result.model, "batch": result.batch, "steps": result.steps, "wall_s": result.seconds,
                "samples_per_s": result.samplesPerSecond, "parameters": result.parameters,
                "blas_threads": BLASThreads.count, "blas_core": BLASThreads.coreName,
            ])
        } else {
            print(String(format: "%@: %.0f samples/s (batch %d, %d steps, %.2f s, %d BLAS thread(s), %@ kernels)",
                         result.model, result.samplesPerSecond, result.batch, result.steps, result.seconds,
                         BLASThreads.count, BLASThreads.coreName))
        }
    }
}

extension ModelKind: ExpressibleByArgument {}
