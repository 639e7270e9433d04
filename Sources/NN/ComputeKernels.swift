import CDNNL

/// An x86-64 instruction-set level oneDNN can be held to, lowest first.
/// The names are oneDNN's (`ONEDNN_MAX_CPU_ISA` takes them in upper case).
public enum CPUISA: String, CaseIterable, Sendable {
    case sse41
    case avx
    case avx2
    case avx2_vnni
    case avx512_core
    case avx512_core_vnni
    case avx512_core_bf16
    case avx512_core_amx
    /// No cap: whatever the CPU has.
    case all

    /// Whether this level holds every instruction of `other`. oneDNN's
    /// values (dnnl_cpu_isa_t in dnnl_types.h) are bit masks in which a
    /// level holds the bits of every level it includes.
    public func includes(_ other: CPUISA) -> Bool {
        other.dnnl.rawValue & ~dnnl.rawValue == 0
    }

    var dnnl: dnnl_cpu_isa_t {
        switch self {
        case .sse41: dnnl_cpu_isa_sse41
        case .avx: dnnl_cpu_isa_avx
        case .avx2: dnnl_cpu_isa_avx2
        case .avx2_vnni: dnnl_cpu_isa_avx2_vnni
        case .avx512_core: dnnl_cpu_isa_avx512_core
        case .avx512_core_vnni: dnnl_cpu_isa_avx512_core_vnni
        case .avx512_core_bf16: dnnl_cpu_isa_avx512_core_bf16
        case .avx512_core_amx: dnnl_cpu_isa_avx512_core_amx
        case .all: dnnl_cpu_isa_all
        }
    }
}

/// The kernel library's process-wide settings: oneDNN's instruction-set cap,
/// and the OpenMP threads it runs each primitive on.
///
/// Training uses one thread per rank by default: ranks are the parallelism,
/// and more threads than cores only contend.
public enum ComputeKernels {
    nonisolated(unsafe) private static var threads = 1

    /// Sets the threads every later step runs on (at least 1). Layers make
    /// new primitives for a new count (oneDNN fixes it at creation).
    public static func setThreads(_ count: Int) {
        threads = max(1, count)
        applyThreadCount()
    }

    /// The threads primitives run on.
    public static var threadCount: Int { threads }

    /// OpenMP's thread count is per calling thread: the primitives set it on
    /// whichever thread creates or runs them (a read when it is already right).
    @inline(__always)
    static func applyThreadCount() {
        if omp_get_max_threads() != Int32(threads) { omp_set_num_threads(Int32(threads)) }
    }

    /// Holds oneDNN to `isa` or below. Must come before the first primitive is
    /// created (oneDNN fixes the level then); returns false if it came too
    /// late or oneDNN refused. Overrides `ONEDNN_MAX_CPU_ISA`.
    @discardableResult
    public static func setMaxISA(_ isa: CPUISA) -> Bool {
        dnnl_set_max_cpu_isa(isa.dnnl) == dnnl_success
    }

    /// The instruction set oneDNN's kernels use on this CPU under the cap,
    /// e.g. "avx512_core_amx" or "avx2".
    public static var effectiveISA: String {
        let isa = dnnl_get_effective_cpu_isa()
        if isa == dnnl_cpu_isa_all { return "all" }
        return CPUISA.allCases.first { $0.dnnl == isa }?.rawValue ?? "isa-0x\(String(isa.rawValue, radix: 16))"
    }

    /// oneDNN's version, e.g. "2.6.3".
    public static var libraryVersion: String {
        let v = dnnl_version()!.pointee
        return "\(v.major).\(v.minor).\(v.patch)"
    }
}

extension ComputeKernels {
    /// One line for run headers: library, instruction set, threads.
    public static var summary: String {
        "kernels: oneDNN \(libraryVersion), isa \(effectiveISA), \(threadCount) thread(s) per rank"
    }
}
