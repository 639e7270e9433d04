import Collectives
import Compression
@testable import Federated
import Foundation
import RunSupport
@testable import Training
import XCTest

/// A small federated run (synthetic data, an MLP with one hidden layer, 3 local steps of
/// batch 8, JSON records) for the compression tests of this target.
func smallFederatedConfig(train: Int = 420, test: Int = 60, hidden: Int = 16, rounds: Int = 2) -> FederatedConfig {
    var c = FederatedConfig()
    c.data = .synthetic(trainCount: train, testCount: test)
    c.hidden = [hidden]
    c.rounds = rounds
    c.batch = 8
    c.localSteps = 3
    c.evalBatch = test
    c.json = true
    return c
}

/// The final model's SHA-256 of `config` run in process on `ranks` ranks.
func federatedModelSHA256(_ config: FederatedConfig, ranks: Int = 3) throws -> String {
    try XCTUnwrap(try LoopbackTransport.run(ranks: ranks) { try runFederated(config: config, peers: $0) }[0]).figures.modelSHA256
}

/// Issue 18's methods in whole runs and in their exchanges, in one process
/// over `LoopbackTransport`.
final class CompressionMethodsRunTests: XCTestCase {
    static let methods = CompressionMethod.allCases

    func settings(_ method: CompressionMethod) -> CompressionSettings {
        var s = CompressionSettings()
        s.method = method
        s.ratio = 0.05
        s.groupSize = 256
        s.bucketSize = 128
        s.errorFeedback = method.errorFeedbackByDefault
        s.momentum = method == .groupTopK ? .fold : .optimizer
        return s
    }

    /// Each method trains on 1 to 5 ranks: the run ends (the trainer checks
    /// that every rank holds the same model bits, so a method that let ranks
    /// drift would stop it), the model learns (above 50% on 10 synthetic
    /// classes, chance 10%), and the compressed methods send fewer bytes a
    /// step than the dense ring (fp16 only while N < 4: an all-gather of
    /// 2-byte values costs (N - 1) x 2 against the ring's 8 (N - 1) / N).
    func testEveryMethodTrainsOnOneToFiveRanks() throws {
        for ranks in 1...5 {
            var dense = TrainConfig()
            dense.data = .synthetic(trainCount: 600, testCount: 200)
            dense.hidden = [32]
            dense.epochs = 2
            dense.batch = 16
            dense.learningRate = 0.02
            dense.evalBatch = 200
            dense.json = true
            dense.compression = nil
            let denseRun = try train(dense, ranks: ranks)
            for method in Self.methods {
                var c = dense
                c.compression = settings(method)
                let run = try train(c, ranks: ranks)
                XCTAssertGreaterThan(run.accuracy, 0.5, "\(method.rawValue) on \(ranks) ranks")
                guard ranks > 1 else { continue }
                if method != .fp16 || ranks < 4 {
                    XCTAssertLessThan(run.bytesPerStep, denseRun.bytesPerStep, "\(method.rawValue) on \(ranks) ranks")
                }
            }
        }
    }

    func train(_ config: TrainConfig, ranks: Int) throws -> (accuracy: Double, bytesPerStep: Double) {
        let finals = try LoopbackTransport.run(ranks: ranks) { try DataParallelTrainer(config: config, peers: $0).run().figures }
        XCTAssertEqual(Set(finals.map(\.modelSHA256)).count, 1)
        return (finals[0].testAccuracy, finals[0].bytesSentPerStep)
    }

    /// The codec exchange on vectors of small integers, which fp16 holds
    /// exactly, every rank's own: every rank ends with the exact mean, for
    /// lengths 0, 1, shorter than N and odd, on 1 to 5 ranks; each rank
    /// sends (N - 1) messages of the documented size (plus the size check).
    func testTheCodecExchangeAveragesTheDecodedMessages() throws {
        for ranks in 1...5 {
            for length in [0, 1, 3, ranks - 1, 7, 1001] where length >= 0 {
                let results = try LoopbackTransport.run(ranks: ranks) { t -> ([Float], Int) in
                    let ex = CodecExchange(codec: Float16Codec(), length: length, errorFeedback: false, seed: 1, transport: t)
                    var g = (0..<length).map { Float(($0 * 7 + t.rank * 3) % 9) - 4 }
                    let stats = try g.withUnsafeMutableBufferPointer { try ex.average($0) }
                    return (g, stats.traffic.bytesSent)
                }
                func value(_ i: Int, _ r: Int) -> Float { Float((i * 7 + r * 3) % 9) - 4 }
                let expected: [Float] = (0..<length).map { i in
                    var sum: Float = 0
                    for r in 0..<ranks { sum += value(i, r) }
                    return ranks == 1 ? sum : sum * (1 / Float(ranks))  // as the exchange scales
                }
                let message = Float16Codec().encodedBytes(count: length)
                for (r, result) in results.enumerated() {
                    XCTAssertEqual(result.0, expected, "\(ranks) ranks, length \(length), rank \(r)")
                    XCTAssertEqual(result.1, (ranks - 1) * message, "(N - 1) messages; minMax is not counted")
                }
            }
        }
    }

    /// PowerSGD's exchange: biases are averaged exactly (dense), and a
    /// weight matrix whose mean over ranks has rank 1 comes back as that
    /// mean after one step from a random Q (rank 2 >= 1), to Float32
    /// rounding: |error| <= 1e-4 x max |mean| (a few products of length 8
    /// and a Gram-Schmidt in Double; the bound is the helper's derived one,
    /// 2.7e-5 ||M||, loosened for the element-wise form).
    func testPowerSGDRecoversALowRankMeanAndAveragesDenseTensors() throws {
        let (m, n) = (6, 8)
        for ranks in 1...4 {
            let results = try LoopbackTransport.run(ranks: ranks) { t -> [Float] in
                let ex = PowerSGDExchange(spans: [(0..<m * n, [m, n]), (m * n..<m * n + m, [m])], rank: 2, errorFeedback: true,
                                          seed: 5, transport: t)
                XCTAssertEqual(ex.matrices.count, 1)
                XCTAssertEqual(ex.dense, [m * n..<m * n + m])
                // Rank r holds (r + 1) u v^T: the mean is ((N + 1) / 2) u v^T.
                var g = (0..<m * n).map { k in Float(t.rank + 1) * Float(k / n + 1) * Float(k % n - 3) }
                g += (0..<m).map { Float($0 + t.rank) }
                try g.withUnsafeMutableBufferPointer { _ = try ex.average($0) }
                return g
            }
            let scale = Float(ranks + 1) / 2
            let mean = (0..<m * n).map { k in scale * Float(k / n + 1) * Float(k % n - 3) }
            let biases = (0..<m).map { i in Float((0..<ranks).map { i + $0 }.reduce(0, +)) / Float(ranks) }
            let bound = 1e-4 * mean.map(abs).max()!
            for (r, g) in results.enumerated() {
                XCTAssertEqual(g.map(\.bitPattern), results[0].map(\.bitPattern), "rank \(r) has rank 0's bits")
                for k in 0..<m * n { XCTAssertEqual(g[k], mean[k], accuracy: bound, "element \(k), \(ranks) ranks") }
                XCTAssertEqual(Array(g[(m * n)...]), biases)
            }
        }
    }

    /// Federated uploads with each codec: the run ends with no upload
    /// refused, and uploads are smaller than dense ones; QSGD's draws come
    /// from (seed, client, round), so 7 virtual clients give one model on 2
    /// and 3 executors.
    func testFederatedUploadsWithEveryCodec() throws {
        let base = smallFederatedConfig()
        let denseConfig = base
        let dense = try LoopbackTransport.run(ranks: 4) { try runFederated(config: denseConfig, peers: $0) }[0]!
        for method in Self.methods where method != .powerSGD && method != .groupTopK {
            var c = base
            c.compression = settings(method)
            let config = c
            let final = try LoopbackTransport.run(ranks: 4) { try runFederated(config: config, peers: $0) }[0]!
            XCTAssertEqual(final.figures.rejectedUpdates, 0, method.rawValue)
            XCTAssertEqual(final.compression.compression, method.rawValue)
            XCTAssertLessThan(final.figures.bytesUp, dense.figures.bytesUp, method.rawValue)
        }
        var virtual = base
        virtual.virtualClients = 7
        virtual.clientsPerRound = 4
        virtual.compression = settings(.qsgd)
        let config = virtual
        let hashes = try [3, 4].map { ranks in
            try LoopbackTransport.run(ranks: ranks) { try runFederated(config: config, peers: $0) }[0]!.figures.modelSHA256
        }
        XCTAssertEqual(hashes[0], hashes[1])
    }

    /// The federated final record names the upload setting as train's final
    /// record names the same setting: the same compression keys with the same
    /// values, each option only with a method that reads it, here for qsgd
    /// with 15 levels and buckets of 64, int8 with stochastic rounding, and
    /// group-topk-int8 at ratio 0.05 in groups of 256 without error
    /// feedback (none of them the defaults). The record decodes back to the
    /// keys it was written from.
    func testTheFederatedFinalRecordCarriesTheUploadCodecsOptions() throws {
        var qsgd = settings(.qsgd)
        (qsgd.levels, qsgd.bucketSize) = (15, 64)
        var int8 = settings(.int8)
        int8.stochasticRounding = true
        var topK = settings(.groupTopKInt8)
        topK.errorFeedback = false
        var qsgdKeys = CompressionKeys(compression: "qsgd")
        (qsgdKeys.errorFeedback, qsgdKeys.bucketSize, qsgdKeys.levels) = (false, 64, 15)
        var int8Keys = CompressionKeys(compression: "int8")
        (int8Keys.errorFeedback, int8Keys.bucketSize, int8Keys.stochasticRounding) = (true, 128, true)
        var topKKeys = CompressionKeys(compression: "group-topk-int8")
        (topKKeys.errorFeedback, topKKeys.ratio, topKKeys.groupSize) = (false, 0.05, 256)
        let codecKeys: Set = ["compression", "ratio", "ratio_effective", "group_size", "error_feedback", "bucket_size", "qsgd_levels",
                              "stochastic_rounding"]
        for (setting, keys) in [(qsgd, qsgdKeys), (int8, int8Keys), (topK, topKKeys)] {
            var federated = FederatedConfig()
            federated.data = .synthetic(trainCount: 420, testCount: 60)
            federated.hidden = [16]
            federated.rounds = 1
            federated.batch = 8
            federated.localSteps = 2
            federated.evalBatch = 60
            federated.json = true
            federated.compression = setting
            var trained = TrainConfig()
            trained.data = federated.data
            trained.hidden = [16]
            trained.epochs = 1
            trained.batch = 16
            trained.evalBatch = 60
            trained.json = true
            trained.compression = setting
            let name = setting.method.rawValue
            let path = NSTemporaryDirectory() + "codec-record-\(UUID().uuidString)"
            defer { for p in [path + ".fed", path + ".train"] { try? FileManager.default.removeItem(atPath: p) } }
            federated.metricsPath = path + ".fed"
            trained.metricsPath = path + ".train"
            let (f, t) = (federated, trained)
            let record = try XCTUnwrap(try LoopbackTransport.run(ranks: 3) { try runFederated(config: f, peers: $0) }[0])
            _ = try LoopbackTransport.run(ranks: 2) { try DataParallelTrainer(config: t, peers: $0).run() }
            var wanted = keys
            if setting.method.isTopK {
                wanted.effectiveRatio = GroupLayout(length: record.figures.parameters, groupSize: 256, ratio: 0.05).effectiveRatio
            }
            let wantedNames = Set(try XCTUnwrap(try JSONSerialization.jsonObject(with: JSONEncoder().encode(wanted)) as? [String: Any]).keys)
            // The final line of each file: its compression keys by name, and decoded.
            for (file, mode) in [(path + ".fed", "federated"), (path + ".train", "train")] {
                let line = try XCTUnwrap(try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").last.map(String.init))
                let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                XCTAssertEqual(object["event"] as? String, "final", "\(name), \(mode)")
                XCTAssertEqual(Set(object.keys).intersection(codecKeys), wantedNames, "\(name), \(mode)")
                XCTAssertEqual(try JSONDecoder().decode(CompressionKeys.self, from: Data(line.utf8)), wanted, "\(name), \(mode)")
                if mode == "federated" {
                    let decoded = try JSONDecoder().decode(FederatedFinalRecord.self, from: Data(line.utf8))
                    XCTAssertEqual(decoded.compression, record.compression, name)
                    XCTAssertEqual(decoded.figures.modelSHA256, record.figures.modelSHA256, name)
                }
            }
        }
    }

    /// A client whose int8 uploads arrive cut short: each is a rejected
    /// upload (counted), the others are kept, and the run ends.
    func testAnUndecodableCodecUploadIsRejected() throws {
        var c = FederatedConfig()
        c.data = .synthetic(trainCount: 420, testCount: 60)
        c.hidden = [16]
        c.rounds = 3
        c.batch = 8
        c.localSteps = 3
        c.evalBatch = 60
        c.json = true
        c.compression = settings(.int8)
        let config = c
        let cutting = FaultyPeer.Fault.rewriteMessage(tag: FederatedTag.update) { bytes in
            guard var m = try? FederatedMessage(decoding: bytes, from: "test"), m.kind == .update else { return bytes }
            m.payload.removeLast(3)
            return m.encoded()
        }
        let finals = try LoopbackTransport.run(ranks: 4) { peers -> FederatedFinalRecord? in
            try runFederated(config: config, peers: peers.rank == 3 ? FaultyPeer(peers, fault: cutting) : peers)
        }
        let final = try XCTUnwrap(finals[0])
        XCTAssertEqual(final.figures.rejectedUpdates, 3, "rank 3's update in each of 3 rounds")
        XCTAssertEqual(final.figures.versions, 3)
    }

    /// Federated checkpoints keep each client's codec residual: a sign-upload
    /// run resumed after round 2 ends with the model of the run that never
    /// stopped.
    func testAFederatedCodecRunResumesBitwise() throws {
        var c = smallFederatedConfig(rounds: 4)
        c.compression = settings(.sign)
        let dir = NSTemporaryDirectory() + "codec-ckpt-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reference = try federatedModelSHA256(c)
        c.checkpointDir = dir
        c.checkpointEvery = 2
        XCTAssertEqual(try federatedModelSHA256(c), reference)
        c.resume = true
        XCTAssertEqual(try federatedModelSHA256(c), reference, "resumed with the clients' sign residuals")
    }

    /// A checkpoint written before clients counted their codec uploads (no
    /// `client...codec_uploads` sections) still resumes a synchronous QSGD
    /// run bitwise: only --async reads the count.
    func testAFederatedCheckpointWithoutUploadCountsResumes() throws {
        var c = smallFederatedConfig(rounds: 4)
        c.compression = settings(.qsgd)
        let dir = NSTemporaryDirectory() + "codec-ckpt-old-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reference = try federatedModelSHA256(c)
        c.checkpointDir = dir
        c.checkpointEvery = 2
        XCTAssertEqual(try federatedModelSHA256(c), reference)
        // Round 2's checkpoint (the last round writes none), without the counts.
        let tags = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("ckpt-") }
        XCTAssertEqual(tags, ["ckpt-000000002"])
        var stripped = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: dir + "/ckpt-000000002") where name.hasSuffix(".ckpt") {
            let path = dir + "/ckpt-000000002/" + name
            var file = try CheckpointFile(decoding: Array(try Data(contentsOf: URL(fileURLWithPath: path))), file: path)
            for key in file.sections.keys where key.hasSuffix("codec_uploads") {
                file.sections[key] = nil
                stripped += 1
            }
            try Data(file.encoded()).write(to: URL(fileURLWithPath: path))
        }
        XCTAssertGreaterThan(stripped, 0, "the checkpoint held upload counts")
        c.resume = true
        XCTAssertEqual(try federatedModelSHA256(c), reference, "resumed from round 2 without the counts")
    }
}
