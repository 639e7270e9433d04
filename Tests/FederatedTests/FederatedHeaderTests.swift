@testable import Federated
import XCTest

final class FederatedHeaderTests: XCTestCase {
    /// A header with every field set to a distinct value.
    func everyField() -> FederatedHeader {
        var h = FederatedHeader(kind: .update)
        for field in FederatedHeader.Field.allCases {
            h[field] = field.isReal ? Double(field.rawValue) + 0.25 : Double(field.rawValue * 1000 - 7)
        }
        h.lossAfter = .nan
        h.referenceTime = -.infinity
        return h
    }

    func testEveryFieldRoundTripsByName() throws {
        let h = everyField()
        var bytes = [UInt8]()
        h.encode(into: &bytes)
        XCTAssertEqual(bytes.count, FederatedHeader.byteCount)
        XCTAssertEqual(bytes.count, 216, "the header's size is part of the wire format (and of the link model's seconds)")
        let back = try FederatedHeader.decode(bytes + [9, 9], from: "rank 1")
        for field in FederatedHeader.Field.allCases {
            XCTAssertEqual(back[field].bitPattern, h[field].bitPattern, "\(field)")
        }
        XCTAssertEqual(back.kind, .update)
        XCTAssertEqual(back.round, 1000 - 7)
        XCTAssertEqual(back.uploadSeconds, Double(FederatedHeader.Field.uploadSeconds.rawValue) + 0.25)
        for kind in [FederatedMessage.Kind.model, .stop, .update, .layer, .bye, .checkpoint, .checkpointDone] {
            var k = FederatedHeader(kind: kind)
            k.keepFrom = 12
            var b = [UInt8]()
            k.encode(into: &b)
            XCTAssertEqual(try FederatedHeader.decode(b, from: "rank 1"), k)
        }
    }

    func testTheWireStartsWithTheVersionAndTheKind() {
        var bytes = [UInt8]()
        FederatedHeader(kind: .checkpoint).encode(into: &bytes)
        XCTAssertEqual(Array(bytes[0..<8]), [2, 0, 0, 0, 6, 0, 0, 0])
    }

    func testAnotherVersionIsRefusedNamingThePeerAndBothVersions() {
        var bytes = [UInt8]()
        everyField().encode(into: &bytes)
        for version: UInt32 in [0, 1, 3, .max] {
            var other = bytes
            other.replaceSubrange(0..<4, with: withUnsafeBytes(of: version.littleEndian) { Array($0) })
            XCTAssertThrowsError(try FederatedHeader.decode(other, from: "rank 4")) {
                XCTAssertEqual($0 as? FederatedError,
                               FederatedError.failed("rank 4 sent a message of header version \(version); this build reads version 2"))
            }
        }
        // The unversioned header of 27 Float64 fields reads as version 0.
        var old = [UInt8]()
        for v in [3.0] + [Double](repeating: 0, count: 26) { withUnsafeBytes(of: v.bitPattern.littleEndian) { old += $0 } }
        XCTAssertThrowsError(try FederatedHeader.decode(old, from: "the coordinator")) {
            XCTAssertEqual("\($0)", "the coordinator sent a message of header version 0; this build reads version 2")
        }
    }

    func testShortBuffersAndUnknownKindsAreRefused() {
        var bytes = [UInt8]()
        everyField().encode(into: &bytes)
        for length in [0, 1, 8, 215] {
            XCTAssertThrowsError(try FederatedHeader.decode(Array(bytes.prefix(length)), from: "rank 2")) {
                XCTAssertEqual("\($0)", "rank 2 sent \(length) bytes, shorter than the 216-byte message header")
            }
        }
        for kind: UInt32 in [0, 8, 99] {
            var other = bytes
            other.replaceSubrange(4..<8, with: withUnsafeBytes(of: kind.littleEndian) { Array($0) })
            XCTAssertThrowsError(try FederatedHeader.decode(other, from: "rank 2")) {
                XCTAssertEqual("\($0)", "rank 2 sent a message of unknown kind \(kind)")
            }
        }
    }
}
