import Foundation

/// Raw vectors on disk: little-endian Float32, nothing else (numpy reads one
/// with `numpy.fromfile(path, dtype="<f4")`). What `train --dump-gradients`
/// writes and `bench compress --input` reads.
public enum FloatFile {
    /// Writes `values` to `path` atomically (see `writeAtomically`).
    public static func write(_ values: [Float], to path: String) throws {
        var bytes = [UInt8](repeating: 0, count: values.count * 4)
        bytes.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) }
        }
        try writeAtomically(bytes, to: path)
    }

    /// Reads a file written by `write`. Throws `RunSupportError.output` naming the
    /// file when it cannot be read or its size is not a multiple of 4.
    public static func read(_ path: String) throws -> [Float] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunSupportError.output(path: path, problem: "cannot read the file")
        }
        guard data.count % 4 == 0 else {
            throw RunSupportError.output(path: path, problem: "\(data.count) bytes, not a whole number of Float32 values")
        }
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
