import ArgumentParser
import Collectives
import Foundation
import MPI

/// The `edgetrain` command line. Each subcommand parses and validates its
/// options (identically on every rank, before MPI starts), then calls one
/// library function under `runWithMPI`.
struct EdgeTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgetrain",
        abstract: "Decentralized training over MPI with Group-TopK gradient compression.",
        discussion: "Launch with mpirun, e.g. `mpirun -np 4 edgetrain bench allreduce`.",
        subcommands: [TrainCommand.self, FederatedCommand.self, CloudEdgeCommand.self, Bench.self, ReportCommand.self]
    )
}

@main
enum Main {
    static func main() {
        do {
            var command = try EdgeTrain.parseAsRoot()
            try command.run()
        } catch {
            reportAndExit(error)
        }
    }
}

/// Prints one line for `error` and ends the job with a non-zero status.
///
/// Before MPI starts (a bad flag), every rank parsed the same arguments and
/// found the same error. Launcher rank 0 prints it and exits with the
/// parser's code; the other ranks exit 0 without a word, so that mpirun
/// does not kill rank 0 before its line is out, and the job's status is
/// rank 0's. After MPI starts, `MPIEnvironment.terminate(after:)` decides.
func reportAndExit(_ error: Error) -> Never {
    guard MPIEnvironment.isInitialized && !MPIEnvironment.isFinalized else {
        let code = EdgeTrain.exitCode(for: error)
        guard MPIEnvironment.launcherRank ?? 0 == 0 else { exit(0) }
        if code == .success { EdgeTrain.exit(withError: error) }
        writeStandardError("edgetrain: \(EdgeTrain.message(for: error))")
        exit(code.rawValue == 0 ? 1 : code.rawValue)
    }
    MPIEnvironment.terminate(after: error, program: "edgetrain")
}

/// Starts MPI, runs `body` with the environment, and finalizes. Errors
/// propagate to `reportAndExit`, which knows MPI is still running.
func runWithMPI(_ body: (MPIEnvironment) throws -> Void) throws {
    let environment = try MPIEnvironment.initialize()
    try body(environment)
    try environment.finalize()
}

/// A mode's command: applies the kernel options, runs `mode` over the MPI
/// world, and prints the final record it returns (rank 0's; nil elsewhere)
/// as one JSON line when `json` is set.
func runMode<Record: Encodable>(kernels: KernelOptions, json: Bool, _ mode: (PeerGroup) throws -> Record?) throws {
    try kernels.apply()
    try runWithMPI { env in
        if let final = try mode(MPITransport(communicator: env.world)), json { try printJSONLine(final) }
    }
}
