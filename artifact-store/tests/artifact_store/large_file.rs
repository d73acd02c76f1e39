//! A 200 MB file goes through multipart upload with bounded memory. Alone in its test binary,
//! so the process's peak memory (VmHWM) measures this copy and nothing else.

use crate::common;

use std::io::Write;

use artifact_store::{CompletionManifest, Mirror, Resolver};
use sha2::{Digest, Sha256};
use testkit::s3::SeaweedFs;

const SIZE: usize = 200 * 1024 * 1024;

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_file_streams_through_multipart_with_bounded_memory() {
    let bucket = SeaweedFs::shared().bucket();
    let model = tempfile::tempdir().unwrap();
    let mut hasher = Sha256::new();
    {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(model.path().join("weights.bin")).unwrap(),
        );
        for chunk in 0..SIZE / (1024 * 1024) {
            let block = common::noise(chunk as u64, 1024 * 1024);
            hasher.update(&block);
            file.write_all(&block).unwrap();
        }
    }
    std::fs::write(model.path().join("MLmodel"), "flavors: {}\n").unwrap();
    let expected_sha: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    let baseline = peak_rss_bytes();
    let src = Resolver::default()
        .resolve(model.path().to_str().unwrap())
        .unwrap();
    let dst = common::s3_resolver(&bucket)
        .resolve(&bucket.uri("big/1"))
        .unwrap();
    let report = Mirror::new().mirror(&src, &dst).await.unwrap();
    let growth = peak_rss_bytes().saturating_sub(baseline);

    assert_eq!(report.uploaded_bytes, SIZE as u64 + 12);
    let manifest = CompletionManifest::read(&dst).await.unwrap().unwrap();
    assert_eq!(manifest.files["weights.bin"].sha256, expected_sha);
    let listed = bucket.list("big/1");
    assert!(
        listed
            .iter()
            .any(|o| o.path == "weights.bin" && o.size == SIZE as u64),
        "{listed:?}"
    );
    // 8 MiB parts, 2 in flight plus the one being filled, plus the HTTP client's buffers: far
    // below the file's 200 MB.
    assert!(
        growth < 96 * 1024 * 1024,
        "peak memory grew by {} MiB",
        growth / (1024 * 1024)
    );
    eprintln!(
        "peak memory growth: {} MiB for a {} MiB file",
        growth / (1024 * 1024),
        SIZE / (1024 * 1024)
    );
}
