extension ImageDataset {
    /// Writes the normalized features and the labels of the samples at `indices`.
    ///
    /// Row `r` of the batch is sample `indices[r]` (in iteration order; repeats
    /// allowed): `features` receives `indices.count * featureCount` floats, row
    /// after row, each `(p / 255 - mean) / std`; `labels` receives
    /// `indices.count` class numbers. Both buffers must have that much room.
    /// Called every training step, so it only looks values up in a table.
    package func fillBatch(
        indices: some Collection<Int>,
        features: UnsafeMutablePointer<Float>,
        labels: UnsafeMutablePointer<Int32>
    ) {
        let n = featureCount
        featureTable.withUnsafeBufferPointer { table in
            pixels.withUnsafeBufferPointer { source in
                self.labels.withUnsafeBufferPointer { sourceLabels in
                    var row = 0
                    for i in indices {
                        precondition(i >= 0 && i < count, "index \(i) is outside 0..<\(count)")
                        copyNormalized(
                            from: source.baseAddress! + i * n, to: features + row * n, count: n,
                            table: table.baseAddress!)
                        labels[row] = Int32(sourceLabels[i])
                        row += 1
                    }
                }
            }
        }
    }
}

/// The kernel of `fillBatch`: `count` table lookups.
@inline(__always)
private func copyNormalized(
    from source: UnsafePointer<UInt8>, to destination: UnsafeMutablePointer<Float>, count: Int,
    table: UnsafePointer<Float>
) {
    for k in 0..<count {
        destination[k] = table[Int(source[k])]
    }
}
