import CMPI

/// Names the MPI datatype of one Swift scalar type. Only this module can make
/// one, and each token remembers the type it was made for: a conformance to
/// `MPIScalar` written outside this module cannot produce a valid token and
/// traps on first use instead of sending mistyped bytes.
public struct MPIDatatypeToken: @unchecked Sendable {
    let handle: MPI_Datatype
    let owner: ObjectIdentifier
    let byteSize: Int

    init<T>(_ handle: MPI_Datatype, for type: T.Type) {
        self.handle = handle
        self.owner = ObjectIdentifier(type)
        self.byteSize = MemoryLayout<T>.stride
    }
}

/// An element type of a typed MPI buffer: Float, Double, Int32, Int64, UInt8,
/// UInt16, UInt32 and UInt64. Conformances live in this module only.
public protocol MPIScalar: BitwiseCopyable {
    static var mpiDatatype: MPIDatatypeToken { get }
}

extension MPIScalar {
    /// The datatype handle, checked against the token's owner.
    @inline(__always)
    static var checkedDatatype: MPI_Datatype {
        let token = mpiDatatype
        precondition(
            token.owner == ObjectIdentifier(Self.self) && token.byteSize == MemoryLayout<Self>.stride,
            "\(Self.self) is not an MPI buffer type: MPIScalar conformances are made only in the MPI module")
        return token.handle
    }
}

extension Float: MPIScalar {
    public static var mpiDatatype: MPIDatatypeToken { .init(cmpi_float(), for: Float.self) }
}
extension Double: MPIScalar {
    public static var mpiDatatype: MPIDatatypeToken { .init(cmpi_double(), for: Double.self) }
}
extension Int32: MPIScalar {
    public static var mpiDatatype: MPIDatatypeToken { .init(cmpi_int32(), for: Int32.self) }
}
extension Int64: MPIScalar {
    public static var mpiDatatype: MPIDatatypeToken { .init(cmpi_int64(), for: Int64.self) }
}
extension UInt8: MPIScalar {
    public static var mpiDatatype: MPIDatatypeToken { .init(cmpi_uint8(), for: UInt8.self) }
}
extension UInt16: MPIScalar {
    public static var mpiDatatype: MPIDatatypeToken { .init(cmpi_uint16(), for: UInt16.self) }
}
extension UInt32: MPIScalar {
    public static var mpiDatatype: MPIDatatypeToken { .init(cmpi_uint32(), for: UInt32.self) }
}
extension UInt64: MPIScalar {
    public static var mpiDatatype: MPIDatatypeToken { .init(cmpi_uint64(), for: UInt64.self) }
}

/// A reduction operator for `allReduce` and `reduce`.
public enum ReductionOp: Sendable {
    case sum, product, min, max

    var handle: MPI_Op {
        switch self {
        case .sum: return cmpi_op_sum()
        case .product: return cmpi_op_prod()
        case .min: return cmpi_op_min()
        case .max: return cmpi_op_max()
        }
    }
}
