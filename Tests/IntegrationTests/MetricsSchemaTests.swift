import Foundation
import XCTest

/// Every kind of record EdgeTrain writes, from real runs, against
/// docs/metrics.md; and the checker itself, which must reject what the
/// schema does not allow. (Every other integration test also checks the
/// records it reads, through `jsonRecords` and `jsonLines`.)
final class MetricsSchemaTests: XCTestCase {
    let schema = MetricsSchema.documented

    func testTheCheckerRejectsUnknownMissingAndMistypedFields() throws {
        let good = #"{"bytes_sent":10,"epoch":1,"event":"eval","step":5,"test_accuracy":0.5,"test_loss":null,"wall_s":2}"#
        XCTAssertEqual(schema.problems(line: good, command: "train"), [])
        XCTAssertEqual(schema.problems(line: good, command: nil), [])
        func rejected(_ line: String, _ expected: String, command: String? = "train", file: StaticString = #filePath, line l: UInt = #line) {
            let found = schema.problems(line: line, command: command)
            XCTAssertTrue(found.contains { $0.contains(expected) }, "\(found)", file: file, line: l)
        }
        rejected(good.replacingOccurrences(of: #""step":5"#, with: #""step":5,"steps_done":5"#), "field steps_done is not in the schema")
        rejected(good.replacingOccurrences(of: #""step":5,"#, with: ""), "missing required field step")
        rejected(good.replacingOccurrences(of: #""step":5"#, with: #""step":"5""#), "step: expected integer")
        rejected(good.replacingOccurrences(of: #""step":5"#, with: #""step":5.5"#), "step: expected integer")
        rejected(good.replacingOccurrences(of: #""wall_s":2"#, with: #""wall_s":true"#), "wall_s: expected number")
        rejected(good.replacingOccurrences(of: #""eval""#, with: #""evaluation""#), "no schema")
        rejected(good, "missing required field model", command: "bench train")
        // Nested: a client entry of a round record, and an optional key's type.
        let round = #"{"bytes_down_total":1,"bytes_up_total":1,"clients":[{"dropped":1,"rank":1,"staleness":0}],"dropped":0,"event":"round","idle_s":0,"participants":1,"round":1,"round_s":1,"test_accuracy":0.1,"test_loss":2,"wall_s":1}"#
        rejected(round, "clients[0].dropped: expected boolean", command: "federated")
        XCTAssertEqual(schema.problems(line: round.replacingOccurrences(of: #""dropped":1"#, with: #""dropped":true"#),
                                       command: "federated"), [])
        rejected(round.replacingOccurrences(of: #""dropped":1"#, with: #""dropped":true,"stopped_early":0"#),
                 "stopped_early: expected boolean", command: "federated")
        rejected(#"{"event":"final"}"#, "missing required field model_sha256", command: nil)
    }

    func testTheDocumentCoversEveryCommandsRecords() {
        XCTAssertEqual(Set(schema.schemas.keys), [
            "train eval", "train epoch", "train final", "federated round", "federated round client", "federated final",
            "cloud-edge round", "cloud-edge round device", "cloud-edge final",
            "bench train", "bench train profile", "bench compress", "bench codecs", "bench allreduce",
        ])
        XCTAssertEqual(schema.schemas["bench allreduce"]?.filter { $0.name.hasPrefix("exact_") }.count, 8)
    }

    /// Train, dense, Group-TopK and int8 with stochastic rounding, with
    /// every optional group of keys.
    func testTrainRecordsMatchTheSchema() throws {
        for (compression, codecOptions) in [("none", []), ("group-topk", []), ("int8", ["--stochastic-rounding"])] {
            let path = temporaryFilePath("schema-train")
            defer { try? FileManager.default.removeItem(atPath: path) }
            let outcome = try MPIJob.run(
                "edgetrain",
                ["train", "--synthetic", "--synthetic-train", "300", "--synthetic-test", "100", "--epochs", "2", "--batch", "16",
                 "--compression", compression, "--eval-every", "4", "--target-accuracy", "0.99", "--report-memory",
                 "--json", "--metrics", path] + codecOptions,
                ranks: 3, timeout: 120)
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            XCTAssertEqual(outcome.jsonLines.count, 1)
            let records = try jsonRecords(path)
            XCTAssertEqual(Set(records.compactMap { $0["event"] as? String }), ["eval", "epoch", "final"], compression)
            let final = try XCTUnwrap(records.last)
            XCTAssertTrue(final["time_to_target_s"] is NSNull, "the target 0.99 is not reached: null, not absent")
            XCTAssertEqual((final["rss_peak_kb_per_rank"] as? [Int])?.count, 3)
            XCTAssertEqual(final["sparse_reduce"] != nil, compression == "group-topk")
            XCTAssertEqual(final["stochastic_rounding"] as? Bool, compression == "int8" ? true : nil)
        }
    }

    /// Federated: sync, async, virtual clients, QSGD uploads (the final
    /// record names the codec's options), and autonomy with early transmission.
    func testFederatedRecordsMatchTheSchema() throws {
        let common = ["federated", "--synthetic", "--synthetic-train", "600", "--synthetic-test", "100", "--rounds", "3",
                      "--batch", "16", "--json"]
        for (name, extra) in [("sync", ["--local-steps", "5", "--strategy", "fedada"]),
                              ("async", ["--local-steps", "5", "--async"]),
                              ("virtual", ["--local-steps", "5", "--clients", "5", "--client-speed", "1,1,1,1,3",
                                           "--client-bandwidth", "100"]),
                              ("qsgd", ["--local-steps", "5", "--compression", "qsgd", "--qsgd-levels", "15", "--bucket-size", "64"]),
                              ("autonomy", ["--local-steps", "30", "--strategy", "autonomy", "--sample-every", "2",
                                            "--converge-threshold", "0.5", "--resend-threshold", "0.5"])] {
            let path = temporaryFilePath("schema-fed")
            defer { try? FileManager.default.removeItem(atPath: path) }
            let outcome = try MPIJob.run("edgetrain", common + extra + ["--metrics", path], ranks: 3, timeout: 120)
            XCTAssertEqual(outcome.status, 0, "\(name): \(outcome.stderr)")
            XCTAssertEqual(outcome.jsonLines.last?["mode"] as? String, name == "async" ? "async" : "sync")
            let rounds = try jsonRecords(path).filter { $0["event"] as? String == "round" }
            XCTAssertFalse(rounds.isEmpty, name)
            let clients = rounds.flatMap { ($0["clients"] as? [[String: Any]]) ?? [] }
            XCTAssertFalse(clients.isEmpty, name)
            XCTAssertEqual(clients.allSatisfy { $0["stopped_early"] != nil }, name == "autonomy", name)
            XCTAssertEqual(rounds.allSatisfy { $0["selected"] != nil }, name != "async", name)
            XCTAssertEqual(rounds.allSatisfy { $0["emulated_round_s"] != nil }, name == "virtual", name)
            XCTAssertEqual(clients.allSatisfy { $0["client"] != nil && $0["emulated_s"] != nil }, name == "virtual", name)
            let final = try XCTUnwrap(outcome.jsonLines.last, name)
            XCTAssertEqual(final["compression"] as? String, name == "qsgd" ? "qsgd" : "none", name)
            XCTAssertEqual(final["qsgd_levels"] as? Int, name == "qsgd" ? 15 : nil, name)
            XCTAssertEqual(final["bucket_size"] as? Int, name == "qsgd" ? 64 : nil, name)
            XCTAssertEqual(final["error_feedback"] as? Bool, name == "qsgd" ? false : nil, name)
        }
    }

    /// Cloud-edge, with and without distillation and with virtual devices:
    /// every round key; the cloud model's loss either way (it trains on
    /// hard labels without distillation), the back half's distillation loss
    /// only when distilling; one device entry per sampled device, naming the
    /// rank that trained it.
    func testCloudEdgeRecordsMatchTheSchema() throws {
        for (distill, devices) in [("--distill", nil), ("--no-distill", nil), ("--distill", 7)] as [(String, Int?)] {
            let path = temporaryFilePath("schema-ce")
            defer { try? FileManager.default.removeItem(atPath: path) }
            let outcome = try MPIJob.run(
                "edgetrain", ["cloud-edge", "--synthetic", "--synthetic-train", "600", "--synthetic-test", "100", "--hidden", "16",
                              "--rounds", "2", "--local-steps", "2", "--batch", "8", "--edge-servers", "2", distill,
                              "--json", "--metrics", path] + (devices.map { ["--devices", "\($0)"] } ?? []), ranks: 5, timeout: 120)
            XCTAssertEqual(outcome.status, 0, "\(distill): \(outcome.stderr)")
            XCTAssertEqual(outcome.jsonLines.count, 1, distill)
            let rounds = try jsonRecords(path).filter { $0["event"] as? String == "round" }
            XCTAssertEqual(rounds.count, 2, distill)
            XCTAssertTrue(rounds.allSatisfy { $0["distill_cloud_loss"] != nil && $0["distill_samples"] != nil }, distill)
            XCTAssertEqual(rounds.allSatisfy { $0["distill_back_loss"] != nil }, distill == "--distill", distill)
            XCTAssertTrue(rounds.allSatisfy { $0["distill_back_loss"] != nil } || rounds.allSatisfy { $0["distill_back_loss"] == nil }, distill)
            for round in rounds {
                let entries = try XCTUnwrap(round["devices"] as? [[String: Any]], distill)
                XCTAssertEqual(entries.compactMap { $0["device"] as? Int }, round["sampled_devices"] as? [Int], distill)
                XCTAssertEqual(entries.compactMap { $0["rank"] as? Int }, entries.compactMap { ($0["device"] as? Int).map { 3 + $0 % 2 } },
                               "\(distill) \(String(describing: devices)): device d on executor d mod 2 (ranks 3, 4)")
            }
        }
    }

    /// The bench commands' --json lines.
    func testBenchRecordsMatchTheSchema() throws {
        let train = try MPIJob.run("edgetrain", ["bench", "train", "--steps", "2", "--batch", "4", "--profile", "--json"],
                                   ranks: 1, timeout: 60)
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertNotNil(train.jsonLines.first?["profile"])
        let compress = try MPIJob.run("edgetrain", ["bench", "compress", "--size", "5000", "--iters", "2", "--json"],
                                      ranks: 1, timeout: 60)
        XCTAssertEqual(compress.status, 0, compress.stderr)
        XCTAssertEqual(compress.jsonLines.count, 1)
        let codecs = try MPIJob.run("edgetrain", ["bench", "codecs", "--size", "3001", "--iters", "2", "--powersgd-shape", "16x24", "--json"],
                                    ranks: 1, timeout: 60)
        XCTAssertEqual(codecs.status, 0, codecs.stderr)
        XCTAssertEqual(codecs.jsonLines.map { $0["codec"] as? String }, ["fp16", "int8", "qsgd", "sign", "group-topk", "group-topk-fp16",
                                                                          "group-topk-int8", "powersgd"])
        let allreduce = try MPIJob.run(
            "edgetrain", ["bench", "allreduce", "--sizes", "1,1003", "--iters", "2", "--sparse", "--group-size", "64",
                          "--ratio", "0.05", "--json"], ranks: 3, timeout: 60)
        XCTAssertEqual(allreduce.status, 0, allreduce.stderr)
        XCTAssertEqual(allreduce.jsonLines.count, 2)
        XCTAssertNotNil(allreduce.jsonLines.first?["ratio_mpi_over_reselect_total"])
        XCTAssertEqual(train.command, "bench train")
    }
}
