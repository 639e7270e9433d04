import Foundation
import RunSupport

extension DataParallelTrainer {
    /// `--dump-gradients DIR`: after the backward pass of each step in
    /// `config.dumpSteps` (1-based), rank 0 writes its own gradient, before
    /// any exchange, to `DIR/<model>-step<k>.f32`, and with error feedback the
    /// residual the compressor will add it to, before that step's compression,
    /// to `DIR/<model>-step<k>.residual.f32` (Float32 files, `FloatFile`).
    /// `bench compress --input` times Group-TopK on them.
    func dumpGradientIfAsked() throws {
        guard rank == 0, let directory = config.dumpGradientsDirectory, config.dumpSteps.contains(state.step + 1) else { return }
        let stem = "\(directory)/\(model.name)-step\(state.step + 1)"
        try FloatFile.write(Array(model.store.gradients), to: stem + ".f32")
        if let topk = exchange as? GroupTopKExchange, topk.settings.errorFeedback {
            try FloatFile.write(topk.residual, to: stem + ".residual.f32")
        }
    }

    /// Creates the dump directory (collective: every rank agrees on the outcome).
    func prepareDumpDirectory() throws {
        guard let directory = config.dumpGradientsDirectory else { return }
        try peers.agree {
            guard rank == 0 else { return }
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw RunSupportError.output(path: directory, problem: "cannot create the --dump-gradients directory: \(error.localizedDescription)")
            }
        }
    }
}
