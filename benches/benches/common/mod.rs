//! What the benchmarks share: the model directory they copy.

use std::path::Path;

/// Size of each file of a benchmark model.
pub const FILE_SIZE: usize = 64 * 1024;

/// A model directory of 5 files × 64 KB, one in a nested folder; `seed` varies the bytes.
pub fn write_model_files(dir: &Path, seed: usize) {
    testkit::bulk::write_model_files(dir, seed, FILE_SIZE);
}
