/// What one round of split training moves and computes per sample, for
/// `offloadCosts`. Bytes and work are non-negative and finite.
public struct SplitWorkload: Equatable, Sendable {
    /// Bytes a device sends its edge server per sample: the cut-layer activations and the label.
    public var uploadBytesPerSample: Double
    /// Bytes an edge server returns per sample: the gradient at the cut layer.
    public var downloadBytesPerSample: Double
    /// The back half's work per sample (forward and backward), in the unit of
    /// `NetworkState.edgeSpeeds` per second.
    public var workPerSample: Double

    public init(uploadBytesPerSample: Double, downloadBytesPerSample: Double, workPerSample: Double) {
        self.uploadBytesPerSample = uploadBytesPerSample
        self.downloadBytesPerSample = downloadBytesPerSample
        self.workPerSample = workPerSample
    }
}

/// The cost matrix of offload matching, in seconds per round: entry [c][e]
/// is what cluster c's round takes when edge server e trains its back half.
///
/// cost = transmission + computation, where
/// - transmission = the largest over the cluster's devices d of
///   s_d x (upload + download bytes per sample) x 8 / (linkMbps[d][e] x 10^6):
///   each device sends on its own link to e, in parallel with the others,
///   and the slowest bounds a synchronous round (e's own ingress is not
///   modelled);
/// - computation = (sum of s_d over the cluster) x work per sample / edgeSpeeds[e].
///
/// `clusters` lists device indices (an empty cluster costs 0);
/// `samplesPerRound[d]` = s_d is device d's samples per round, for every
/// device of `network`.
public func offloadCosts(
    clusters: [[Int]], samplesPerRound: [Int], network: NetworkState, workload: SplitWorkload
) throws -> [[Double]] {
    let perSample = [workload.uploadBytesPerSample, workload.downloadBytesPerSample, workload.workPerSample]
    guard perSample.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
        throw CloudEdgeError.invalidWorkload(
            reason: "bytes and work per sample must be non-negative and finite (upload \(perSample[0]), "
                + "download \(perSample[1]), work \(perSample[2]))")
    }
    guard samplesPerRound.count == network.deviceCount else {
        throw CloudEdgeError.invalidWorkload(
            reason: "samples per round given for \(samplesPerRound.count) devices, the network has \(network.deviceCount)")
    }
    if let d = samplesPerRound.firstIndex(where: { $0 < 0 }) {
        throw CloudEdgeError.invalidWorkload(reason: "device \(d) has \(samplesPerRound[d]) samples per round")
    }
    for device in clusters.joined() where !(0..<network.deviceCount).contains(device) {
        throw CloudEdgeError.clientOutOfRange(client: device, clients: network.deviceCount)
    }
    return clusters.map { devices in
        let samples = Double(devices.reduce(0) { $0 + samplesPerRound[$1] })
        return (0..<network.edgeCount).map { edge in
            let transmission = devices.reduce(0.0) { slowest, d in
                max(slowest, transmissionSeconds(samples: samplesPerRound[d], mbps: network.linkMbps[d][edge], workload: workload))
            }
            return transmission + samples * workload.workPerSample / network.edgeSpeeds[edge]
        }
    }
}

/// Seconds a device's round of `samples` samples takes on a link of `mbps`
/// Mbit/s (10^6 bit/s): samples x (upload + download bytes per sample) x 8 /
/// (mbps x 10^6), the cost model's transmission term for one device.
public func transmissionSeconds(samples: Int, mbps: Double, workload: SplitWorkload) -> Double {
    Double(samples) * ((workload.uploadBytesPerSample + workload.downloadBytesPerSample) * 8) / (mbps * 1e6)
}
