// kernel-threads: the threads this process runs while the NN kernels train,
// for the integration test of the compute thread count. Prints one JSON line:
//
//   {"start": T0, "one_thread": T1, "two_threads": T2, "isa": "..."}
//
// the live threads (/proc/self/task) at the start, after a training step of
// the CNN at the default count (one, never set), and after another at two.
// The test runs it with OMP_NUM_THREADS=2, so that OpenMP's own default is
// two: a primitive made before the count is applied runs a team of two and
// leaves OpenMP's worker thread behind.
import Glibc
import NN
import Random

/// Entries of /proc/self/task: the process's live threads.
func liveThreads() -> Int {
    guard let dir = opendir("/proc/self/task") else { fatalError("kernel-threads: cannot read /proc/self/task") }
    defer { closedir(dir) }
    var count = 0
    while let entry = readdir(dir) {
        if entry.pointee.d_name.0 != CChar(UInt8(ascii: ".")) { count += 1 }
    }
    return count
}

/// One training step of `model` on seeded data.
func step(_ model: Model, batch: Int) {
    var rng = SeededGenerator(seed: 1)
    let features = (0..<batch * model.inputCount).map { _ in Float(rng.nextGaussian()) }
    let labels = (0..<batch).map { Int32($0 % model.classes) }
    _ = model.trainStep(features: features, labels: labels, batch: batch)
}

let start = liveThreads()
let cnn = makeModel(.cnn, seed: 1)
step(cnn, batch: 32)
let one = liveThreads()
ComputeKernels.setThreads(2)
step(cnn, batch: 32)
let two = liveThreads()
print("{\"start\": \(start), \"one_thread\": \(one), \"two_threads\": \(two), \"isa\": \"\(ComputeKernels.effectiveISA)\"}")
