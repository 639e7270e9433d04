// swift-tools-version:6.0
// EdgeTrain: decentralized training over MPI with Group-TopK compression.
//
// Dependencies point one way:
//   edgetrain -> Training/Federated -> Collectives/Compression/NN/Data -> MPI -> CMPI
// Compression, NN and Data never import MPI.
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

        // Seeded, serializable random numbers shared by Data, NN and the trainers.
        .target(name: "Random"),

        // The only importer of CMPI.
        .target(name: "MPI", dependencies: ["CMPI"]),

        // Ring reduce-scatter / all-gather over a Transport protocol (MPI or in-process loopback).
        .target(name: "Collectives", dependencies: ["MPI", "Random"]),

        // The command line only: parse, validate, call a library function.
        .executableTarget(
            name: "edgetrain",
            dependencies: [
                "MPI", "Collectives", "Random",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // A small MPI program the integration tests run under mpirun to check the MPI layer.
        .executableTarget(
            name: "mpi-selftest",
            dependencies: ["MPI", "Collectives", "Random"],
            path: "Tests/Programs/mpi-selftest"
        ),

        .testTarget(name: "RandomTests", dependencies: ["Random"]),
        .testTarget(name: "CollectivesTests", dependencies: ["Collectives"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["edgetrain", "mpi-selftest"]
        ),
    ]
)
