//! Replays every kept fuzz input through the fuzz targets' checks: the corpora that `cargo fuzz`
//! grew (`corpus/<target>/`) and the inputs of every failure it found (`regressions/<target>/`),
//! so what was fixed stays fixed without a fuzzer in CI.

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = ["corpus", "regressions"]
        .iter()
        .filter_map(|kind| std::fs::read_dir(root.join(kind).join(target)).ok())
        .flatten()
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    let files = inputs(target);
    assert!(
        files.len() >= 3,
        "fuzz/corpus/{target} holds {} inputs: the kept corpus is missing",
        files.len()
    );
    for file in files {
        let data = std::fs::read(&file).expect("a corpus file");
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            std::panic::resume_unwind(Box::new(format!(
                "{} fails: {:?}",
                file.display(),
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
            )));
        }
    }
}

#[test]
fn uri_corpus() {
    replay("uri", fuzz::uri);
}

#[test]
fn k8s_name_corpus() {
    replay("k8s_name", fuzz::k8s_name);
}

#[test]
fn yaml_roundtrip_corpus() {
    replay("yaml_roundtrip", fuzz::yaml_roundtrip);
}

#[test]
fn netpol_corpus() {
    replay("netpol", fuzz::netpol);
}
