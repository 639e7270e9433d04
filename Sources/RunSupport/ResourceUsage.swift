#if canImport(Glibc)
import Glibc
#endif

/// This process's peak resident memory so far, in KiB (`getrusage`'s
/// `ru_maxrss`; in one process running several ranks as threads, the
/// whole process's).
public func peakResidentKilobytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss)
}
