@testable import Federated
import NN
import RunSupport
import XCTest

final class FederatedRulesTests: XCTestCase {
    func testFedAvgWeightsBySamples() throws {
        let c = [
            ClientContribution(rank: 2, samples: 300, steps: 10, delta: [3, 0]),
            ClientContribution(rank: 1, samples: 100, steps: 10, delta: [1, 4]),
        ]
        // p = (0.25, 0.75) for ranks (1, 2): 0.25 [1, 4] + 0.75 [3, 0] = [2.5, 1]
        XCTAssertEqual(try XCTUnwrap(aggregate(c, rule: .weighted)), [2.5, 1])
        XCTAssertNil(aggregate([], rule: .weighted))
    }

    func testFedNovaNormalizesByLocalSteps() throws {
        // Client 1: 100 samples, 10 steps; client 2: 100 samples, 40 steps.
        // p = 0.5 each; tau_eff = 0.5 x 10 + 0.5 x 40 = 25.
        // change = 25 x (0.5 x d1 / 10 + 0.5 x d2 / 40).
        let c = [
            ClientContribution(rank: 1, samples: 100, steps: 10, delta: [10, 0]),
            ClientContribution(rank: 2, samples: 100, steps: 40, delta: [0, 40]),
        ]
        XCTAssertEqual(try XCTUnwrap(aggregate(c, rule: .fednova)), [12.5, 12.5])
        // The plain average would let the client with more steps dominate: [5, 20].
        XCTAssertEqual(try XCTUnwrap(aggregate(c, rule: .weighted)), [5, 20])
        // With momentum, a_i = (tau - m (1 - m^tau) / (1 - m)) / (1 - m).
        XCTAssertEqual(fedNovaNormalizer(steps: 2, momentum: 0.5), (2 - 0.5 * 0.75 / 0.5) / 0.5, accuracy: 1e-12)
        XCTAssertEqual(fedNovaNormalizer(steps: 7, momentum: 0), 7)
    }

    func testFedProxTermPullsTowardTheGlobalModel() {
        let hook = fedProxTerm(global: [1, -1, 0], mu: 0.5)
        var grads: [Float] = [0.1, 0.2, 0.3]
        let params: [Float] = [3, -1, -2]
        params.withUnsafeBufferPointer { p in grads.withUnsafeMutableBufferPointer { hook(p, $0) } }
        XCTAssertEqual(grads, [1.1, 0.2, -0.7])
    }

    func testFedAdaGivesTheSlowClientFewerStepsAndKeepsTheFastOnes() {
        var assigner = FedAdaAssigner()
        let reports = [
            FedAdaReport(rank: 1, secondsPerStep: 0.01, communicationSeconds: 0.1, lossChange: 0.3, initialSteps: 100),
            FedAdaReport(rank: 2, secondsPerStep: 0.01, communicationSeconds: 0.1, lossChange: 0.3, initialSteps: 100),
            FedAdaReport(rank: 3, secondsPerStep: 0.04, communicationSeconds: 0.1, lossChange: 0.3, initialSteps: 100),
        ]
        let a = assigner.assign(reports)
        XCTAssertEqual(a[1], 100)
        XCTAssertEqual(a[2], 100)
        // The slow client goes down in steps of 5 while J falls. Above 25 its
        // round T3 = 0.04 tau + 0.1 is the round: each step of 5 cuts T by 0.2
        // and the idle time of the two others by 0.4, J by 3 x 0.2 / 4.1 =
        // 0.146, and costs at most 0.1 / 2.89 = 0.035 of contribution
        // (dC/dtau = 2 s e^-x / (1 + e^-x)^2 / tau0 <= 2 x 4 / 4 / 100 = 0.02
        // per iteration, 0.1 per step; Cmax = 3 (2 / (1 + e^-4) - 1) = 2.89).
        // At 25 all rounds take 1.1 s; below, T stays 1.1 s while the idle
        // time grows by 0.2 s a step: J rises. So exactly 25.
        XCTAssertEqual(a[3], 25)
        // T0 is fixed by the first call: 100 x 0.04 + 0.1.
        XCTAssertEqual(assigner.initialMaxRoundTime ?? 0, 4.1, accuracy: 1e-9)
        // Cutting the slow client until its round matches the others' would cost
        // contribution; the objective stops where the next cut no longer pays.
        let times = reports.map { Double(a[$0.rank]!) * $0.secondsPerStep + $0.communicationSeconds }
        XCTAssertLessThan(times.max()!, 4.1)
    }

    func testFedAdaKeepsEveryoneWhenAllAreEqual() {
        var assigner = FedAdaAssigner()
        let reports = (1...4).map {
            FedAdaReport(rank: $0, secondsPerStep: 0.02, communicationSeconds: 0.05, lossChange: 0.2, initialSteps: 50)
        }
        XCTAssertEqual(assigner.assign(reports), [1: 50, 2: 50, 3: 50, 4: 50])
    }

    func testStalenessWeights() {
        XCTAssertEqual(StalenessWeighting.polynomial.weight(staleness: 0), 1)
        XCTAssertEqual(StalenessWeighting.polynomial.weight(staleness: 3), 0.5, accuracy: 1e-12)
        XCTAssertEqual(StalenessWeighting.polynomial.weight(staleness: 8), 1 / 3, accuracy: 1e-12)
        XCTAssertEqual(StalenessWeighting.constant.weight(staleness: 8), 1)
    }

    /// The federated mode selects as RunSupport's `selectionCount` says
    /// (the rule the cloud-edge mode shares).
    func testPerRoundIsTheSharedSelectionCount() {
        var tenth = FederatedConfig()
        tenth.fraction = 0.25
        XCTAssertEqual(tenth.perRound(clients: 10), 3)
        XCTAssertEqual(tenth.fractionShare(clients: 10), 3)
        for clients in 1...12 {
            for count in [nil, 0, 3, 20] as [Int?] {
                for fraction in [nil, 0.04, 0.25, 0.5, 1] as [Double?] {
                    var c = FederatedConfig()
                    (c.clientsPerRound, c.fraction) = (count, fraction)
                    XCTAssertEqual(c.perRound(clients: clients), selectionCount(clientsPerRound: count, fraction: fraction, of: clients),
                                   "\(clients) \(String(describing: count)) \(String(describing: fraction))")
                }
            }
        }
    }

    func testClientSelectionIsSeededAndSorted() {
        let a = selectClients(Array(1...10), count: 4, seed: 7, round: 3)
        XCTAssertEqual(a, selectClients(Array(1...10), count: 4, seed: 7, round: 3))
        XCTAssertEqual(a.count, 4)
        XCTAssertEqual(a, a.sorted())
        XCTAssertEqual(Set(a).count, 4)
        XCTAssertNotEqual(a, selectClients(Array(1...10), count: 4, seed: 7, round: 4))
        XCTAssertEqual(selectClients([3, 1, 2], count: 5, seed: 1, round: 1), [1, 2, 3])
    }

    func testMessagesRoundTrip() throws {
        var m = FederatedMessage(kind: .update)
        m[int: .round] = 7
        m[.secondsPerStep] = 0.125
        [Float(1.5), -2, 3].withUnsafeBufferPointer { m.setFloats($0) }
        let back = try FederatedMessage(decoding: m.encoded(), from: "rank 1")
        XCTAssertEqual(back, m)
        XCTAssertEqual(back.floats(), [1.5, -2, 3])
        XCTAssertEqual(back[int: .round], 7)
        XCTAssertThrowsError(try FederatedMessage(decoding: [1, 2, 3], from: "rank 1"))
    }

    func testSpeedModelWaitsAndEntersSlowStates() {
        var steady = ClientSpeedModel(factor: 4, slowdownProbability: 0, slowdownFactor: 3, slowdownSteps: 5, seed: 1, rank: 1)
        XCTAssertFalse(steady.beginStep())
        XCTAssertEqual(steady.extraWait(computeSeconds: 0.01, slow: false), 0.03, accuracy: 1e-12)
        XCTAssertEqual(steady.extraWait(computeSeconds: 0.01, slow: true), 0.11, accuracy: 1e-12)
        var flaky = ClientSpeedModel(factor: 1, slowdownProbability: 0.1, slowdownFactor: 3, slowdownSteps: 5, seed: 1, rank: 2)
        let slowSteps = (0..<2000).map { _ in flaky.beginStep() }
        let fraction = Double(slowSteps.filter { $0 }.count) / 2000
        // Enter with p = 0.1 when not slow, stay 5 steps: about 0.5 / 1.4 of the time.
        XCTAssertEqual(fraction, 5.0 / 14.0, accuracy: 0.06)
        var again = ClientSpeedModel(factor: 1, slowdownProbability: 0.1, slowdownFactor: 3, slowdownSteps: 5, seed: 1, rank: 2)
        XCTAssertEqual((0..<2000).map { _ in again.beginStep() }, slowSteps)
        XCTAssertEqual(linkSeconds(bytes: 1_250_000, megabitsPerSecond: 10), 1, accuracy: 1e-12)
        XCTAssertEqual(linkSeconds(bytes: 1_250_000, megabitsPerSecond: nil), 0)
    }
}
