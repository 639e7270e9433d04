import CloudEdge
import Random
import XCTest

final class MatchingTests: XCTestCase {
    func testHungarianEqualsBruteForceOnIntegerCosts() throws {
        // Integer costs sum exactly in Double, so the optimum is compared
        // exactly. Costs 0...3 give many ties and zeros; 0..<100 few.
        var rng = SeededGenerator(seed: 3)
        for trial in 0..<600 {
            let rows = 1 + rng.nextIndex(below: 6)
            let columns = rows + rng.nextIndex(below: 7 - rows)
            let range = trial % 2 == 0 ? 4 : 100
            let costs = (0..<rows).map { _ in (0..<columns).map { _ in Double(rng.nextIndex(below: range)) } }
            let optimal = try optimalMatching(costs: costs)
            assertOneToOne(optimal, columns: columns, "trial \(trial)")
            let best = bruteForceMinimum(costs)
            XCTAssertEqual(matchingCost(costs: costs, assignment: optimal), best, "trial \(trial) \(costs)")
            let greedy = try greedyMatching(costs: costs)
            assertOneToOne(greedy, columns: columns, "trial \(trial)")
            XCTAssertGreaterThanOrEqual(matchingCost(costs: costs, assignment: greedy), best)
            let random = try randomMatching(clusters: rows, edges: columns, seed: UInt64(trial))
            assertOneToOne(random, columns: columns, "trial \(trial)")
            XCTAssertGreaterThanOrEqual(matchingCost(costs: costs, assignment: random), best)
        }
    }

    func testHungarianEqualsBruteForceOnRealCosts() throws {
        // Costs in [-5, 5). The search adds at most rows x columns shifts into
        // each potential, each a reduced cost no larger in magnitude than
        // S = sum of |cost|, so a potential's rounding error stays below
        // rows x columns x eps x S; the cost of a matching, read through 2 x
        // rows potentials, may be misjudged by 2 x rows^2 x columns x eps x S,
        // and each total is summed with rows more roundings of at most eps x S.
        var rng = SeededGenerator(seed: 4)
        for trial in 0..<400 {
            let rows = 1 + rng.nextIndex(below: 6)
            let columns = rows + rng.nextIndex(below: 7 - rows)
            let costs = (0..<rows).map { _ in (0..<columns).map { _ in rng.nextUnit() * 10 - 5 } }
            let s = costs.joined().reduce(0) { $0 + abs($1) }
            let tolerance = Double(2 * rows * rows * columns + 2 * rows) * Double.ulpOfOne * s
            let optimal = try optimalMatching(costs: costs)
            assertOneToOne(optimal, columns: columns, "trial \(trial)")
            XCTAssertEqual(
                matchingCost(costs: costs, assignment: optimal), bruteForceMinimum(costs), accuracy: tolerance,
                "trial \(trial)")
        }
    }

    func testGreedyCanLoseToOptimal() throws {
        // Greedy takes the cheapest pair (0, 0) = 1 and is left with 100;
        // the optimum crosses: 2 + 2.
        let costs: [[Double]] = [[1, 2], [2, 100]]
        XCTAssertEqual(try greedyMatching(costs: costs), [0, 1])
        XCTAssertEqual(try optimalMatching(costs: costs), [1, 0])
        // Rectangular: the third column is the cheapest for row 1.
        XCTAssertEqual(try optimalMatching(costs: [[1, 2, 9], [2, 100, 1]]), [0, 2])
        XCTAssertEqual(try optimalMatching(costs: []), [])
    }

    func testRandomMatchingIsSeeded() throws {
        let a = try randomMatching(clusters: 4, edges: 8, seed: 1)
        XCTAssertEqual(try randomMatching(clusters: 4, edges: 8, seed: 1), a)
        XCTAssertNotEqual(try randomMatching(clusters: 4, edges: 8, seed: 2), a)
    }

    func testBadCostMatricesNameThemselves() {
        assertError(try optimalMatching(costs: [[1, 2], [3]]), "cost matrix row 1 has length 1, row 0 has length 2")
        assertError(try greedyMatching(costs: [[1, .nan]]), "cost of cluster 0 on edge server 1 is not finite")
        assertError(try optimalMatching(costs: [[1], [2]]), "more clusters (2) than edge servers (1) for a one-to-one matching")
        assertError(
            try randomMatching(clusters: 3, edges: 2, seed: 1), "more clusters (3) than edge servers (2) for a one-to-one matching")
    }

    private func assertOneToOne(_ assignment: [Int], columns: Int, _ message: String, line: UInt = #line) {
        XCTAssertEqual(Set(assignment).count, assignment.count, message, line: line)
        XCTAssertTrue(assignment.allSatisfy { (0..<columns).contains($0) }, message, line: line)
    }

    /// The least total cost over every one-to-one map of rows to columns,
    /// each summed in row order like `matchingCost`.
    private func bruteForceMinimum(_ costs: [[Double]]) -> Double {
        var best = Double.infinity
        var used = [Bool](repeating: false, count: costs[0].count)
        var chosen: [Int] = []
        func extend() {
            if chosen.count == costs.count {
                best = min(best, matchingCost(costs: costs, assignment: chosen))
                return
            }
            for e in used.indices where !used[e] {
                used[e] = true
                chosen.append(e)
                extend()
                chosen.removeLast()
                used[e] = false
            }
        }
        extend()
        return best
    }
}
