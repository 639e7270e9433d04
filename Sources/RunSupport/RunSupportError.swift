/// What run support cannot do, as one line naming the file and the problem.
/// The one error type of this module: callers match on its cases.
public enum RunSupportError: Error, CustomStringConvertible, Equatable, Sendable {
    /// An output file (metrics, checkpoint, dump) that cannot be written.
    case output(path: String, problem: String)
    /// A checkpoint file or manifest that cannot be read or does not fit this run.
    case checkpoint(file: String, problem: String)
    /// `--resume` asked for something that is not there. Thrown inside
    /// `PeerGroup.agree`, so every rank stops with the same line.
    case resume(String)
    /// `--trace`: a rank that did not take part in gathering the timeline.
    case trace(String)

    public var description: String {
        switch self {
        case let .output(path, problem): return "\(path): \(problem)"
        case let .checkpoint(file, problem): return "\(file): \(problem)"
        case let .resume(text): return text
        case let .trace(text): return "--trace: \(text)"
        }
    }
}
