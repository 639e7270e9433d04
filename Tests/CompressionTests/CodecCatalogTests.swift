@testable import Compression
import Random
import XCTest

final class CodecCatalogTests: XCTestCase {
    func testEveryNameMakesTheCodecOfThatName() {
        for name in gradientCodecNames {
            XCTAssertEqual(makeGradientCodec(named: name)?.name, name)
        }
        XCTAssertNil(makeGradientCodec(named: "powersgd"))
        XCTAssertNil(makeGradientCodec(named: "QSGD"))
    }

    func testOptionsReachTheirCodec() {
        var options = CodecOptions()
        (options.bucketSize, options.levels, options.rounding, options.groupSize, options.ratio) = (64, 7, .stochastic, 256, 0.05)
        XCTAssertEqual((makeGradientCodec(named: "qsgd", options: options) as? QSGDCodec)?.levels, 7)
        XCTAssertEqual((makeGradientCodec(named: "qsgd", options: options) as? QSGDCodec)?.bucketSize, 64)
        XCTAssertEqual((makeGradientCodec(named: "int8", options: options) as? ScaledInt8Codec)?.rounding, .stochastic)
        XCTAssertEqual((makeGradientCodec(named: "sign", options: options) as? ScaledSignCodec)?.groupSize, 64)
        let topk = makeGradientCodec(named: "group-topk-int8", options: options) as? GroupTopKCodec
        XCTAssertEqual(topk?.groupSize, 256)
        XCTAssertEqual(topk?.ratio, 0.05)
        XCTAssertEqual(topk?.values, .int8)
    }

    /// The benchmark functions report what they measured (no speed is asserted:
    /// speed is the benchmarks' business).
    func testBenchmarkRecordsDescribeTheirRun() throws {
        var ticks = 0.0
        let clock = { () -> Double in ticks += 1; return ticks }  // every interval is 1 "second"
        let x = gaussianVector(length: 1001)
        for name in gradientCodecNames {
            let codec = makeGradientCodec(named: name)!
            let m = try measureCodec(codec, gradient: x, iterations: 2, clock: clock)
            XCTAssertEqual(m.codec, name)
            XCTAssertEqual(m.encodedBytes, codec.encodedBytes(count: 1001))
            XCTAssertEqual(m.bitsPerElement, Double(8 * m.encodedBytes) / 1001)
            XCTAssertEqual([m.encodeSeconds, m.decodeSeconds, m.copySeconds], [1, 1, 1])
        }
        let p = try measurePowerSGD(rows: 30, columns: 20, rank: 2, iterations: 2, clock: clock)
        XCTAssertEqual(p.bytesPerStep, 4 * 2 * 50)
        XCTAssertEqual(p.stepSeconds, 3)
    }
}
