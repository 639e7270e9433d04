import MPI

/// What clustering clients, building offload costs, matching clusters to
/// edge servers, reading a topology file or running the mode can refuse.
/// `description` is one line naming the input and what is wrong with it,
/// with the numbers involved: the module's one error type.
///
/// As a `JobError`: the algorithms' refusals come from inputs every rank
/// holds alike (every rank computes the same round plan, with no message),
/// so every rank raises them together, as it does `setup`; a topology file
/// is read inside `PeerGroup.agree`, since one host may lack it. `failed`
/// is one rank's (a silent or malformed peer) and ends the job.
public enum CloudEdgeError: JobError, Equatable, Sendable {
    /// A cluster count below 1.
    case tooFewClusters(count: Int)
    /// More clusters than clients.
    case moreClustersThanClients(count: Int, clients: Int)
    /// A minimum cluster size below 1.
    case minimumSizeTooSmall(minimumSize: Int)
    /// `count` clusters of at least `minimumSize` need more than the `clients` there are.
    case minimumSizeTooLarge(minimumSize: Int, count: Int, clients: Int)
    /// `count` clusters of at most `maximumSize` cannot hold the `clients` there are.
    case maximumSizeTooSmall(maximumSize: Int, count: Int, clients: Int)
    /// Client `client`'s label histogram has `classes` counts; client 0's has `expected`.
    case raggedHistogram(client: Int, classes: Int, expected: Int)
    /// Client `client` has a negative count of label `label`.
    case negativeCount(client: Int, label: Int, count: Int)
    /// The histograms of all `clients` clients together hold no sample (or no class).
    case emptyGlobalDistribution(clients: Int)
    /// A cluster names client (or device) `client`, outside 0..<`clients`.
    case clientOutOfRange(client: Int, clients: Int)
    /// Cost matrix row `row` has `columns` entries; row 0 has `expected`.
    case raggedCostMatrix(row: Int, columns: Int, expected: Int)
    /// The cost of cluster `row` on edge server `column` is NaN or infinite.
    case nonFiniteCost(row: Int, column: Int)
    /// A one-to-one matching needs at least as many edge servers as clusters.
    case moreClustersThanEdges(clusters: Int, edges: Int)
    /// Edge speeds or link rates that cannot describe a network.
    case invalidNetwork(reason: String)
    /// Bytes, work or samples per round that cannot be costed.
    case invalidWorkload(reason: String)
    /// A topology file that cannot be read, parsed or used.
    case invalidTopology(file: String, reason: String)

    /// A flag that cannot work with this run's ranks, model or data, found by
    /// every rank before any collective call.
    case setup(String)
    /// A failure on one rank: a peer that sent nothing within the deadline,
    /// a malformed message, a failed checkpoint.
    case failed(String)

    public var raisedOnEveryRank: Bool {
        switch self {
        case .failed, .invalidTopology: return false
        default: return true
        }
    }

    public var description: String {
        switch self {
        case let .setup(message), let .failed(message):
            return message
        case let .tooFewClusters(count):
            return "cluster count \(count) is below 1"
        case let .moreClustersThanClients(count, clients):
            return "cluster count \(count) exceeds the \(clients) clients"
        case let .minimumSizeTooSmall(minimumSize):
            return "minimum cluster size \(minimumSize) is below 1"
        case let .minimumSizeTooLarge(minimumSize, count, clients):
            return "minimum cluster size \(minimumSize) x \(count) clusters needs more than the \(clients) clients"
        case let .maximumSizeTooSmall(maximumSize, count, clients):
            return "maximum cluster size \(maximumSize) x \(count) clusters cannot hold the \(clients) clients"
        case let .raggedHistogram(client, classes, expected):
            return "label histogram of client \(client) has \(classes) classes, client 0's has \(expected)"
        case let .negativeCount(client, label, count):
            return "label histogram of client \(client) has count \(count) for label \(label); counts must not be negative"
        case let .emptyGlobalDistribution(clients):
            return "the label histograms of the \(clients) clients hold no samples: the global label distribution is empty"
        case let .clientOutOfRange(client, clients):
            return "a cluster names client \(client), outside 0..<\(clients)"
        case let .raggedCostMatrix(row, columns, expected):
            return "cost matrix row \(row) has length \(columns), row 0 has length \(expected)"
        case let .nonFiniteCost(row, column):
            return "cost of cluster \(row) on edge server \(column) is not finite"
        case let .moreClustersThanEdges(clusters, edges):
            return "more clusters (\(clusters)) than edge servers (\(edges)) for a one-to-one matching"
        case let .invalidNetwork(reason):
            return "network state: \(reason)"
        case let .invalidWorkload(reason):
            return "split workload: \(reason)"
        case let .invalidTopology(file, reason):
            return "\(file): \(reason)"
        }
    }
}
