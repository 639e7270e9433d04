import CMPI

/// An error from the MPI layer: a failed MPI call (with its code and the text
/// of `MPI_Error_string`), a count that does not fit MPI's `int`, or a wait
/// that ran past its deadline.
public struct MPIError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// An MPI call returned `code`.
        case call(code: Int32)
        /// A buffer longer than `Int32.max` elements.
        case countTooLarge(Int)
        /// A blocking wait passed its timeout.
        case timeout(seconds: Double)
        /// Misuse detected before any MPI call (bad rank, bad range, ...).
        case usage
    }

    public let kind: Kind
    /// The MPI function or operation that failed, e.g. `MPI_Sendrecv`.
    public let operation: String
    public let message: String

    public init(kind: Kind, operation: String, message: String) {
        self.kind = kind
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }

    /// The text OpenMPI gives for an error code.
    static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == cmpi_success() else {
            return "unknown MPI error \(code)"
        }
        let bytes = buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Turns an MPI return code into a thrown `MPIError`. Every MPI call in this
/// module goes through here (the communicators use `MPI_ERRORS_RETURN`).
@inline(__always)
func check(_ code: Int32, _ operation: StaticString) throws {
    if code != MPI_SUCCESS {
        throw MPIError(
            kind: .call(code: code), operation: "\(operation)",
            message: "\(MPIError.errorString(code)) (MPI error \(code))")
    }
}

/// Checks that an element count fits MPI's `int` count argument.
@inline(__always)
func mpiCount(_ count: Int, _ operation: StaticString) throws -> Int32 {
    guard count >= 0, count <= Int(Int32.max) else {
        throw MPIError(
            kind: .countTooLarge(count), operation: "\(operation)",
            message: "count \(count) is outside 0...\(Int32.max), the range of an MPI count")
    }
    return Int32(count)
}
