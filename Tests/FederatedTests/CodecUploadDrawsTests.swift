import Collectives
import Compression
import Data
@testable import Federated
import NN
import Random
import RunSupport
import XCTest

/// The random draws of a client's codec uploads (QSGD here, no error
/// feedback, so an upload is a function of the change and the draws alone):
/// every upload of an async run draws its own stream, a synchronous run's
/// stay keyed by the round, and a checkpoint carries the count on.
final class CodecUploadDrawsTests: XCTestCase {
    static let seed: UInt64 = 42
    static let codec = QSGDCodec(levels: 3, bucketSize: 64)

    /// The one change every upload below encodes.
    static func change(length: Int) -> [Float] {
        (0..<length).map { Float(($0 * 37) % 101 - 50) * 1e-3 }
    }

    /// Client 1 of a run with QSGD uploads, over a one-rank group.
    static func client(asynchronous: Bool, peers: PeerGroup) throws -> FederatedClient {
        var c = FederatedConfig()
        c.data = .synthetic(trainCount: 64, testCount: 8)
        c.hidden = [8]
        c.batch = 8
        c.seed = seed
        c.asynchronous = asynchronous
        var s = CompressionSettings()
        s.method = .qsgd
        (s.levels, s.bucketSize, s.errorFeedback) = (codec.levels, codec.bucketSize, false)
        c.compression = s
        let train = try loadData(c.data, seed: c.seed).train
        let model = makeModel(.mlp, imageShape: [train.height, train.width, train.channels], classes: train.classes,
                              hidden: c.hidden, seed: c.seed)
        let state = ClientState(id: 1, indices: Array(0..<train.count), config: c)
        return try FederatedClient(config: c, peers: peers, train: train, states: [state], model: model)
    }

    /// The payload of one upload of `change` in `round`, as the client's
    /// round sends it (`encodeDelta`).
    static func upload(_ client: FederatedClient, round: Int) throws -> [UInt8] {
        var delta = change(length: client.model.parameterCount)
        var update = FederatedMessage(kind: .update)
        try client.encodeDelta(&delta, into: &update, round: round)
        precondition(update[int: .payloadForm] == FederatedMessage.PayloadForm.codec.rawValue, "a codec upload")
        return update.payload
    }

    /// `--async`: a client sent version 3 twice (a buffer of 2, say) encodes
    /// the same change twice with different draws, and a third time with
    /// draws different from both. A client restored from the checkpoint
    /// written after the first two uploads makes the third upload of the
    /// client that never stopped: the count is saved, so a resumed run
    /// neither repeats nor skips a stream.
    func testEveryAsyncUploadDrawsItsOwnStream() throws {
        let results = try LoopbackTransport.run(ranks: 1) { peers -> [[UInt8]] in
            let client = try Self.client(asynchronous: true, peers: peers)
            let first = try Self.upload(client, round: 3)
            let second = try Self.upload(client, round: 3)
            let saved = try client.checkpointFile()
            let third = try Self.upload(client, round: 3)
            let resumed = try Self.client(asynchronous: true, peers: peers)
            try resumed.restore(from: saved, name: "client checkpoint")
            let resumedThird = try Self.upload(resumed, round: 3)
            return [first, second, third, resumedThird]
        }[0]
        let (first, second, third, resumedThird) = (results[0], results[1], results[2], results[3])
        XCTAssertEqual(first.count, second.count, "one message size")
        // (Compared as Booleans: a failure would print kilobytes of payload.)
        XCTAssertFalse(first == second, "two uploads at one version share their quantization draws")
        XCTAssertFalse(third == first, "the third upload draws anew")
        XCTAssertFalse(third == second, "the third upload draws anew")
        XCTAssertTrue(resumedThird == third, "the restored client continues the count")
    }

    /// A synchronous run keeps the key it had, (seed, client id, round): the
    /// upload in round 3 is the codec's encoding with the generator of that
    /// key, bit for bit (so synchronous runs train as before), the same
    /// however many uploads came before, and another round draws otherwise.
    func testSynchronousUploadsStayKeyedByTheRound() throws {
        let results = try LoopbackTransport.run(ranks: 1) { peers -> [[UInt8]] in
            let client = try Self.client(asynchronous: false, peers: peers)
            return [try Self.upload(client, round: 3), try Self.upload(client, round: 4), try Self.upload(client, round: 3)]
        }[0]
        let length = try LoopbackTransport.run(ranks: 1) { try Self.client(asynchronous: false, peers: $0).model.parameterCount }[0]
        var generator = SeededGenerator(seed: Self.seed ^ (3 &* 0x9E37_79B9_7F4A_7C15), stream: 0xC0DEC_0000 &+ 1)
        let expected = try Self.codec.encode(Self.change(length: length), using: &generator)
        XCTAssertTrue(results[0] == expected, "round 3 of client 1 draws from (seed, 1, 3)")
        XCTAssertTrue(results[2] == expected, "an earlier upload does not move a synchronous key")
        XCTAssertFalse(results[1] == expected, "round 4 draws otherwise")
    }
}
