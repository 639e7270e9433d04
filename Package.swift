// swift-tools-version:6.0
// EdgeTrain: decentralized training over MPI with Group-TopK compression.
//
// Each target declares exactly the modules its sources import
// (scripts/check-imports compares the two). Dependencies point one way:
//   edgetrain   -> Report, CloudEdge, Federated, Training, RunSupport, Collectives, Compression, NN, Data, MPI
//   Report      -> (nothing: it reads JSON Lines)
//   Training    -> RunSupport, Collectives, Compression, NN, Data, MPI, Random  (a mode)
//   Federated   -> RunSupport, Collectives, Compression, NN, Data, MPI, Random  (a mode)
//   CloudEdge   -> RunSupport, Collectives, NN, Data, MPI, Random     (a mode)
//   RunSupport  -> Collectives, Compression, NN, Data, Random
//   Collectives -> Compression, MPI, Random
//   NN -> CDNNL, Random;  Data -> CZlib, Random;  Compression -> Random;  MPI -> CMPI
// Training, Federated and CloudEdge are siblings: none imports another; what
// two of them need (checkpoints, atomic files, metrics, progress, SHA-256, the clock,
// evaluation, client sampling, compression settings) sits in RunSupport below them.
// Compression, NN and Data never import MPI; Random imports nothing. Only
// RunSupport keeps a clock: the layers below take one from their caller.
import PackageDescription

let package = Package(
    name: "EdgeTrain",
    products: [
        .executable(name: "edgetrain", targets: ["edgetrain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C boundary: OpenMPI through pkg-config `ompi-c`, with one header of handle shims.
        .systemLibrary(
            name: "CMPI",
            path: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),

        // oneDNN (CPU kernels chosen by CPU features at run time); imported only by NN.
        // Debian's libdnnl-dev has no pkg-config file: the module map links `dnnl`.
        .systemLibrary(
            name: "CDNNL",
            providers: [.apt(["libdnnl-dev"])]
        ),
        // zlib through pkg-config `zlib`; imported only by Data.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // Seeded, serializable random numbers: a leaf, under NN, Data, Compression, Collectives, Federated and CloudEdge.
        .target(name: "Random"),

        // Flat parameter store, layers, models, loss, SGD (never imports MPI).
        .target(name: "NN", dependencies: ["CDNNL", "Random"]),

        // Group-TopK, sparse blocks and their merges, error feedback (never imports MPI).
        .target(name: "Compression", dependencies: ["Random"]),

        // IDX + gzip, Fashion-MNIST, synthetic data, partitioners (never imports MPI).
        .target(name: "Data", dependencies: ["CZlib", "Random"]),

        // The only importer of CMPI.
        .target(name: "MPI", dependencies: ["CMPI"]),

        // Ring reduce-scatter / all-gather over a Transport protocol (MPI or in-process loopback).
        .target(name: "Collectives", dependencies: ["MPI", "Compression", "Random"]),

        // What every mode needs from a run: checkpoints, atomic files, the metrics
        // log, progress lines, SHA-256, the clock, evaluation, compression settings.
        .target(name: "RunSupport", dependencies: ["Collectives", "Compression", "NN", "Data", "Random"]),

        // The data-parallel mode: the training loop, LR schedule, gradient exchange.
        .target(name: "Training", dependencies: ["MPI", "Collectives", "Compression", "NN", "Data", "RunSupport", "Random"]),

        // Federated mode: coordinator (rank 0) and client roles, a sibling of
        // Training. Its uploads go by point-to-point messages through
        // Collectives' PeerGroup.
        .target(name: "Federated", dependencies: ["MPI", "Collectives", "Compression", "NN", "Data", "RunSupport", "Random"]),

        // Cloud-edge-device split learning, a sibling of Training and Federated:
        // KL clustering of clients by label histogram, the offload cost model,
        // cluster-to-edge matching, and the runtime (cloud, edge servers and
        // devices over tier groups split from PeerGroup).
        .target(name: "CloudEdge", dependencies: ["MPI", "Collectives", "NN", "Data", "RunSupport", "Random"]),

        // `edgetrain report`: metrics files to HTML and SVG; reads JSON Lines
        // only, so it imports no other module.
        .target(name: "Report"),

        // The command line only: parse, validate, call a library function.
        .executableTarget(
            name: "edgetrain",
            dependencies: [
                "MPI", "Collectives", "Compression", "NN", "Data", "RunSupport", "Training", "Federated", "CloudEdge", "Report",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // A small MPI program the integration tests run under mpirun to check the MPI layer.
        .executableTarget(
            name: "mpi-selftest",
            dependencies: ["MPI", "Collectives", "Compression"],
            path: "Tests/Programs/mpi-selftest"
        ),

        // A one-process program the integration tests run to count the threads the NN kernels start.
        .executableTarget(
            name: "kernel-threads",
            dependencies: ["NN", "Random"],
            path: "Tests/Programs/kernel-threads"
        ),

        .testTarget(name: "RandomTests", dependencies: ["Random"]),
        .testTarget(name: "ReportTests", dependencies: ["Report"]),
        // Optimized even in debug builds: the Float64 reference model in the
        // gradient checks runs direct convolutions, 50x slower unoptimized.
        .testTarget(name: "NNTests", dependencies: ["NN", "Random"], swiftSettings: [.unsafeFlags(["-O"])]),
        .testTarget(name: "CompressionTests", dependencies: ["Compression", "Random"]),
        .testTarget(name: "DataTests", dependencies: ["Data"]),
        .testTarget(name: "CollectivesTests", dependencies: ["Collectives", "Compression", "Random"]),
        .testTarget(name: "RunSupportTests", dependencies: ["RunSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training"]),
        .testTarget(name: "FederatedTests", dependencies: ["Federated", "Collectives", "Compression", "Data", "NN", "Random", "RunSupport"]),
        .testTarget(name: "CloudEdgeTests", dependencies: ["CloudEdge", "RunSupport", "Random"]),
        // Whole runs in one process, over the in-process PeerGroup (LoopbackTransport).
        .testTarget(name: "InProcessRunTests", dependencies: ["Training", "Federated", "CloudEdge", "Collectives", "Compression", "RunSupport"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["edgetrain", "mpi-selftest", "kernel-threads", "NN", "Training", "Federated", "CloudEdge", "Collectives"]
        ),
    ]
)
