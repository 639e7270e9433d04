import ArgumentParser
import Foundation
import MPI

// The checks of option values that several commands share. Each throws one
// `ValidationError` naming the option and the bad value; the commands call
// them from `validate()`, before MPI starts.

/// `value` must be at least `minimum`.
func requireAtLeast(_ minimum: Int, _ value: Int, _ flag: String) throws {
    guard value >= minimum else { throw ValidationError("\(flag) must be at least \(minimum), got \(value)") }
}

/// `value` must be finite and > 0.
func requirePositive(_ value: Double, _ flag: String) throws {
    guard value > 0 && value.isFinite else { throw ValidationError("\(flag) must be > 0, got \(value)") }
}

/// Throws a `ValidationError` naming `flag` and the first element of
/// `values` that fails `isValid`: "\(flag) \(requirement), got \(element)".
func requireEach<T>(_ values: [T], _ flag: String, _ requirement: String, _ isValid: (T) -> Bool) throws {
    if let bad = values.first(where: { !isValid($0) }) {
        throw ValidationError("\(flag) \(requirement), got \(bad)")
    }
}

/// Group-TopK's ratio must be in (0, 1].
func checkRatio(_ r: Double) throws {
    guard r > 0 && r <= 1 else { throw ValidationError("--ratio must be in (0, 1], got \(r)") }
}

/// In-group positions travel as UInt32 at most, and a group must fit in
/// memory many times over: at most 2^32 - 1 elements.
func checkGroupSize(_ g: Int) throws {
    guard g >= 1 else { throw ValidationError("--group-size must be at least 1, got \(g)") }
    guard g <= Int(UInt32.max) else {
        throw ValidationError("--group-size \(g) is too big for its encoding (positions are UInt32, at most \(UInt32.max))")
    }
}

/// An output file's directory must exist and be writable (checked before MPI
/// starts, so that no rank runs for hours to fail at the end). Only the
/// launcher's rank 0 writes such files, so only its host is checked: on a
/// cluster the other hosts need not have the directory.
func requireWritableDirectory(ofFile path: String, _ flag: String) throws {
    guard MPIEnvironment.launcherRank ?? 0 == 0 else { return }
    let directory = (path as NSString).deletingLastPathComponent
    let dir = directory.isEmpty ? "." : directory
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue,
          FileManager.default.isWritableFile(atPath: dir) else {
        throw ValidationError("\(flag) \(path): the directory \(dir) does not exist or is not writable")
    }
}
