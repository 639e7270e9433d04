import CMPI
#if canImport(Glibc)
import Glibc
#endif

/// The MPI runtime of this process. Make one with `initialize()` at the top of
/// the program and call `finalize()` once at the end. MPI cannot be
/// initialized twice in one process, so a second `initialize()` throws.
///
/// The thread level is `MPI_THREAD_FUNNELED`: only the thread that called
/// `initialize()` may make MPI calls.
public final class MPIEnvironment {
    /// A duplicate of `MPI_COMM_WORLD` for the library's own traffic, with
    /// `MPI_ERRORS_RETURN` so that failures become thrown errors.
    public let world: Communicator
    /// The thread level MPI granted.
    public let threadLevel: Int32
    private var finalized = false

    private init(world: Communicator, threadLevel: Int32) {
        self.world = world
        self.threadLevel = threadLevel
    }

    /// The environment `initialize()` made, until `finalize()`.
    public nonisolated(unsafe) private(set) static var current: MPIEnvironment?

    /// Wraps `MPI_Init_thread(nil, nil, MPI_THREAD_FUNNELED, ...)`, sets
    /// `MPI_ERRORS_RETURN` on the world communicator and duplicates it.
    /// Waiting ranks yield their core by default (`mpi_yield_when_idle` 1,
    /// unless the environment already sets it), however the job was launched:
    /// OpenMPI yields on its own only when it knows the node is oversubscribed.
    /// Every process of the job must call it.
    public static func initialize() throws -> MPIEnvironment {
        if isInitialized || isFinalized {
            throw MPIError(
                kind: .usage, operation: "MPI_Init_thread",
                message: "MPI is already initialized in this process; it can be initialized only once")
        }
        setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0)
        var provided: Int32 = 0
        try check(MPI_Init_thread(nil, nil, cmpi_thread_funneled(), &provided), "MPI_Init_thread")
        try check(MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return()), "MPI_Comm_set_errhandler")
        var dup: MPI_Comm? = nil
        try check(MPI_Comm_dup(cmpi_comm_world(), &dup), "MPI_Comm_dup")
        try check(MPI_Comm_set_errhandler(dup, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        let environment = MPIEnvironment(world: try Communicator(owning: dup!), threadLevel: provided)
        current = environment
        return environment
    }

    /// Frees the library's communicator and wraps `MPI_Finalize`. Every
    /// process must call it once, after its last MPI call.
    public func finalize() throws {
        guard !finalized else { return }
        finalized = true
        MPIEnvironment.current = nil
        world.free()
        try check(MPI_Finalize(), "MPI_Finalize")
    }

    /// `MPI_Initialized`: true once MPI has started in this process.
    public static var isInitialized: Bool {
        var flag: Int32 = 0
        MPI_Initialized(&flag)
        return flag != 0
    }

    /// `MPI_Finalized`: true once MPI has shut down in this process.
    public static var isFinalized: Bool {
        var flag: Int32 = 0
        MPI_Finalized(&flag)
        return flag != 0
    }

    /// Ends every process of the job with `code` (`MPI_Abort` on
    /// `MPI_COMM_WORLD`). Without MPI running it exits this process only.
    public static func abort(code: Int32) -> Never {
        if isInitialized && !isFinalized {
            MPI_Abort(cmpi_comm_world(), code)
        }
        exit(code)
    }

    /// Ends the job after `error`, which was thrown while MPI runs:
    /// - a `JobError` that every rank raised at the same point: rank 0 prints
    ///   `<program>: message`, and every rank finalizes and exits 1;
    /// - any other error prints `[rank r] message` from the failing rank and
    ///   calls `MPI_Abort`, which ends every rank, so none waits forever.
    public static func terminate(after error: Error, program: String) -> Never {
        let rank = worldRank
        if let agreed = error as? JobError, agreed.raisedOnEveryRank {
            if rank == 0 { writeStandardError("\(program): \(agreed.description)") }
            try? current?.finalize()
            exit(1)
        }
        writeStandardError("[rank \(rank)] \(error)")
        abort(code: 1)
    }

    /// `MPI_Wtime`: seconds since an arbitrary point, for intervals.
    public static var wallTime: Double { MPI_Wtime() }

    /// This process's rank in the job as the launcher announced it in the
    /// environment (`OMPI_COMM_WORLD_RANK`, `PMIX_RANK` or `PMI_RANK`), or nil
    /// when started without a launcher. Readable before `initialize()`, so
    /// that errors found while parsing the command line are printed once.
    public static var launcherRank: Int? {
        for name in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"] {
            if let value = getenv(name), let rank = Int(String(cString: value)) { return rank }
        }
        return nil
    }

    /// This process's rank in `MPI_COMM_WORLD` while MPI runs, else the
    /// launcher's rank, else 0.
    public static var worldRank: Int {
        if isInitialized && !isFinalized {
            var rank: Int32 = 0
            if MPI_Comm_rank(cmpi_comm_world(), &rank) == MPI_SUCCESS { return Int(rank) }
        }
        return launcherRank ?? 0
    }

    /// The job size as the launcher announced it, or nil without a launcher.
    public static var launcherSize: Int? {
        for name in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"] {
            if let value = getenv(name), let size = Int(String(cString: value)) { return size }
        }
        return nil
    }
}

/// Writes one line to standard error, unbuffered: the one error line of
/// `terminate(after:)`, and of the programs' errors before MPI starts. Here,
/// because MPI is the lowest module that prints one (only CMPI is below it).
public func writeStandardError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let n = write(2, bytes.baseAddress! + offset, bytes.count - offset)
            if n <= 0 { break }
            offset += n
        }
    }
}
