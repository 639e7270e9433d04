import Data
import XCTest

final class BatchFitsTests: XCTestCase {
    /// The smallest partition decides, and its rank is `firstRank` plus its
    /// index (the federated coordinator is rank 0, so clients start at 1).
    func testABatchLargerThanTheSmallestPartitionNamesItsRank() {
        let parts = [[Int](0..<300), [Int](300..<500), [Int](500..<800)]
        assertThrows(.batchTooLarge(batch: 201, rank: 1, samples: 200)) {
            try checkBatchFits(201, partitions: parts, firstRank: 0)
        }
        assertThrows(.batchTooLarge(batch: 201, rank: 2, samples: 200)) {
            try checkBatchFits(201, partitions: parts, firstRank: 1)
        }
        XCTAssertEqual(DataError.batchTooLarge(batch: 201, rank: 2, samples: 200).description,
                       "--batch 201 is larger than rank 2's partition of 200 samples")
        // With virtual clients the holder is a client, numbered from 1.
        assertThrows(.batchTooLarge(batch: 201, rank: 2, samples: 200, holder: "client")) {
            try checkBatchFits(201, partitions: parts, firstRank: 1, holder: "client")
        }
        XCTAssertEqual(DataError.batchTooLarge(batch: 201, rank: 2, samples: 200, holder: "client").description,
                       "--batch 201 is larger than client 2's partition of 200 samples")
    }

    /// A batch equal to the smallest partition fits.
    func testABatchAsLargeAsTheSmallestPartitionFits() throws {
        let parts = [[Int](0..<300), [Int](300..<500)]
        try checkBatchFits(200, partitions: parts, firstRank: 0)
        try checkBatchFits(1, partitions: [], firstRank: 0)
    }
}
