//! Helpers shared by the artifact-store tests: model trees on disk, resolvers for the real
//! SeaweedFS server, and the fault-injecting store.

pub mod failing;

use std::collections::BTreeMap;
use std::path::Path;

use artifact_store::Resolver;
use testkit::s3::Bucket;

/// A resolver for `bucket`'s server, with its credentials given explicitly (tests share one
/// process environment, so they do not set variables).
pub fn s3_resolver(bucket: &Bucket<'_>) -> Resolver {
    let credentials = bucket.server().credentials();
    Resolver::default()
        .with_s3_endpoint(bucket.server().endpoint())
        .with_s3_credentials(&credentials.access_key_id, &credentials.secret_access_key)
}

/// Deterministic pseudo-random bytes (xorshift), so files differ without a rand dependency.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// An MLflow-like model directory: nested folders, an empty file, unicode names, one file
/// large enough for multipart when `large` is set. Returns relative path -> content.
pub fn write_model(dir: &Path, seed: u64, large: bool) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::from([
        (
            "MLmodel".to_owned(),
            format!("flavors: {{}}\nrun_id: {seed}\n").into_bytes(),
        ),
        ("conda.yaml".to_owned(), b"dependencies: []\n".to_vec()),
        ("python_env.yaml".to_owned(), b"python: 3.11\n".to_vec()),
        ("requirements.txt".to_owned(), b"mlflow==3.17.2\n".to_vec()),
        ("model.pkl".to_owned(), noise(seed, 64 * 1024)),
        ("metadata/MLmodel".to_owned(), b"flavors: {}\n".to_vec()),
        (
            "code/pkg/deep/nested/module.py".to_owned(),
            b"x = 1\n".to_vec(),
        ),
        ("data/empty.bin".to_owned(), Vec::new()),
        (
            "data/模型 ünïcödé ✓.txt".to_owned(),
            "héllo".as_bytes().to_vec(),
        ),
    ]);
    if large {
        files.insert(
            "data/weights.bin".to_owned(),
            noise(seed + 1, 11 * 1024 * 1024 + 17),
        );
    }
    for (path, content) in &files {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, content).unwrap();
    }
    files
}
