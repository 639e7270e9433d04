import Foundation
import XCTest

/// Runs built executables under a real `mpirun`, as users do.
///
/// Binaries come from the products directory of this test build. Every job
/// gets `--oversubscribe` (2 cores here) and `--timeout`, so a hang fails the
/// test instead of the suite. As root, OpenMPI needs the two ALLOW variables.
enum MPIJob {
    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
        let seconds: Double
        /// The edgetrain command that ran (`train`, `bench allreduce`, ...),
        /// nil for other programs.
        var command: String? = nil

        /// stdout lines that parse as JSON objects. An edgetrain command's
        /// are checked against docs/metrics.md (`MetricsSchema`).
        var jsonLines: [[String: Any]] {
            let lines = stdout.split(separator: "\n").filter { $0.hasPrefix("{") }.map(String.init)
            if let command { MetricsSchema.documented.check(lines, command: command) }
            return lines.compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            }
        }
    }

    /// The directory holding `edgetrain`, `mpi-selftest` and this test bundle.
    static var productsDirectory: URL {
        Bundle.main.bundleURL
    }

    /// What OpenMPI 4.1's mpirun prints when `--timeout` ends a job
    /// (help-orterun.txt, `[orterun:timeout]`).
    static let timeLimitNotice = "The user-provided time limit for job execution has been reached"

    static var mpirun: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/mpirun"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Skips (with the reason printed) only when mpirun is missing.
    static func requireMPIRun() throws -> String {
        guard let path = mpirun else {
            throw XCTSkip("mpirun not found on PATH: install openmpi-bin to run the multi-rank tests")
        }
        return path
    }

    static func environment(_ extra: [String: String] = [:], unset: [String] = []) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for name in unset { env[name] = nil }
        if getuid() == 0 {
            env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        }
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// `mpirun --oversubscribe --timeout T -np ranks <program> <arguments>`.
    static func run(
        _ program: String, _ arguments: [String], ranks: Int, timeout: Int = 120,
        mpirunOptions: [String] = [], environment extra: [String: String] = [:], unset: [String] = []
    ) throws -> Outcome {
        try start(program, arguments, ranks: ranks, timeout: timeout, mpirunOptions: mpirunOptions, environment: extra, unset: unset)
            .wait(timeout: Double(timeout) + 30)
    }

    /// The same, started in the background.
    static func start(
        _ program: String, _ arguments: [String], ranks: Int, timeout: Int = 120,
        mpirunOptions: [String] = [], environment extra: [String: String] = [:], unset: [String] = []
    ) throws -> Running {
        let mpirun = try requireMPIRun()
        let binary = productsDirectory.appendingPathComponent(program).path
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary), "missing \(binary)")
        return try Running(mpirun, ["--oversubscribe", "--timeout", "\(timeout)", "-np", "\(ranks)"] + mpirunOptions + [binary] + arguments,
                           environment: environment(extra, unset: unset))
    }

    /// Runs a process, captures its output through files, and kills it if it
    /// outlives `timeout` seconds.
    static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        timeout: Double = 300, currentDirectory: URL? = nil
    ) throws -> Outcome {
        try Running(executable, arguments, environment: environment, currentDirectory: currentDirectory).wait(timeout: timeout)
    }

    /// A started process whose output goes to files.
    final class Running {
        let process = Process()
        let description: String
        /// See `Outcome.command`.
        let command: String?
        let dir: URL
        let out: FileHandle, err: FileHandle
        let started = Date()

        init(_ executable: String, _ arguments: [String], environment: [String: String]?, currentDirectory: URL? = nil) throws {
            description = ([executable] + arguments).joined(separator: " ")
            let words = [executable] + arguments
            command = words.firstIndex { URL(fileURLWithPath: $0).lastPathComponent == "edgetrain" }.map { i in
                words.dropFirst(i + 1).prefix(words.dropFirst(i + 1).first == "bench" ? 2 : 1).joined(separator: " ")
            }
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgetrain-test-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for name in ["stdout", "stderr"] { _ = FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: nil) }
            out = try FileHandle(forWritingTo: dir.appendingPathComponent("stdout"))
            err = try FileHandle(forWritingTo: dir.appendingPathComponent("stderr"))
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            if let environment { process.environment = environment }
            if let currentDirectory { process.currentDirectoryURL = currentDirectory }
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = out
            process.standardError = err
            try process.run()
        }

        /// Waits for the exit (killing the process past `timeout` seconds from
        /// its start) and returns what it printed.
        func wait(timeout: Double) throws -> Outcome {
            defer { try? FileManager.default.removeItem(at: dir) }
            while process.isRunning {
                if Date().timeIntervalSince(started) > timeout {
                    process.terminate()
                    usleep(500_000)
                    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                    XCTFail("\(description) ran past \(timeout) s")
                    break
                }
                usleep(20_000)
            }
            process.waitUntilExit()
            try out.close()
            try err.close()
            let seconds = Date().timeIntervalSince(started)
            print("\(description): exit \(process.terminationStatus) after \(String(format: "%.2f", seconds)) s")
            return Outcome(
                status: process.terminationStatus,
                stdout: (try? String(contentsOf: dir.appendingPathComponent("stdout"), encoding: .utf8)) ?? "",
                stderr: (try? String(contentsOf: dir.appendingPathComponent("stderr"), encoding: .utf8)) ?? "",
                seconds: seconds, command: command)
        }
    }
}

/// Liveness bounds: how long a job may take to end, never how fast it should
/// run (speed belongs in benchmarks). Each is at least 3x the longest time
/// measured on a loaded 2-core machine (load average 11-14: four Swift
/// builds and a pip install beside the suite).
enum Liveness {
    /// A job that bad input or a failing rank must end: measured at most
    /// 5.4 s (a refused resume, which loads data first).
    static let failedJob: Double = 20
    /// From SIGKILL of one rank to the end of the job: measured at most 1.1 s
    /// (mpirun sees the death and kills the rest).
    static let afterKill: Double = 10
    /// A job whose rank hangs, ended by `--comm-timeout 3`: measured at most
    /// 5.3 s in all.
    static let hangWithCommTimeout3: Double = 20
}

extension XCTestCase {
    /// A fresh path under the temporary directory for a JSON Lines file
    /// (not created; the caller removes it).
    func temporaryFilePath(_ prefix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString).jsonl").path
    }

    /// A new empty directory under the temporary directory, removed when the test ends.
    func temporaryDirectory(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.path
    }
}

extension XCTestCase {
    /// The JSON Lines records of the metrics file at `path`, each checked
    /// against docs/metrics.md (`MetricsSchema`).
    func jsonRecords(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        MetricsSchema.documented.check(lines, command: nil, file: file, line: line)
        return try lines.map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }
}
