//! gitops-writer on a 10,000-file change set, side by side with the CLI equivalent the seed ran
//! (`git add -A && git commit` in a work tree holding the same files).
//!
//! Goals (issue 6): the same set again < 20 ms; one changed file among 10,000 < 50 ms.
//! Run: `cargo bench -p benches --bench git_write`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gitops_writer::{ChangeSet, CommitInfo, GitOpsWriter, GixWriter, Outcome, Signature};
use testkit::git::{GitRemote, git};

const FILES: usize = 10_000;

fn manifest(i: usize, version: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: model-{i:05}-production\n  namespace: team\n\
         spec:\n  template:\n    spec:\n      containers:\n        - name: server\n          image: ghcr.io/mlflow/mlflow:3.17.2\n\
                   args: [models, serve, -m, \"s3://models/model-{i:05}/{version}\"]\n"
    )
}

fn path(i: usize) -> String {
    format!("model-{i:05}/production/deployment.yaml")
}

fn change_set(changed: Option<&str>) -> ChangeSet {
    let mut set = ChangeSet::new("deployments").expect("prefix");
    for i in 0..FILES {
        let version = if i == 4242 {
            changed.unwrap_or("1")
        } else {
            "1"
        };
        set.insert(&path(i), manifest(i, version)).expect("path");
    }
    set
}

fn info() -> CommitInfo {
    let bot = Signature {
        name: "bench".into(),
        email: "bench@example.invalid".into(),
    };
    CommitInfo {
        author: bot.clone(),
        committer: bot,
        message: "bench".into(),
    }
}

fn write_tree(root: &Path, changed: Option<&str>) {
    for i in 0..FILES {
        let file = root.join("deployments").join(path(i));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let version = if i == 4242 {
            changed.unwrap_or("1")
        } else {
            "1"
        };
        std::fs::write(file, manifest(i, version)).unwrap();
    }
}

fn add_commit(dir: &Path) {
    // `git commit` exits 1 when there is nothing to commit, as in the seed's unchanged pass.
    git(dir, &["add", "-A"]);
    let _ = testkit::git::git_command(dir)
        .args(["commit", "-q", "-m", "bench"])
        .output();
}

fn git_write(c: &mut Criterion) {
    let mut group = c.benchmark_group("git_10k_files");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let base = change_set(None);

    group.bench_function("gix/first_commit", |b| {
        b.iter_batched(
            || {
                let remote = GitRemote::new();
                let writer =
                    GixWriter::open(&remote.url(), &remote.scratch_path().join("w"), "main")
                        .unwrap();
                (remote, writer)
            },
            |(remote, mut writer)| {
                assert!(matches!(
                    writer.apply(&base, &info()).unwrap(),
                    Outcome::Committed { .. }
                ));
                (remote, writer)
            },
            BatchSize::PerIteration,
        )
    });

    let remote = GitRemote::new();
    let mut writer =
        GixWriter::open(&remote.url(), &remote.scratch_path().join("w"), "main").unwrap();
    writer.apply(&base, &info()).unwrap();
    writer.push().unwrap();
    group.bench_function("gix/same_set_again", |b| {
        b.iter(|| {
            assert_eq!(
                black_box(writer.apply(&base, &info()).unwrap()),
                Outcome::Unchanged
            )
        })
    });
    let (one, other) = (change_set(Some("2")), change_set(Some("3")));
    let mut flip = false;
    group.bench_function("gix/one_file_changed", |b| {
        b.iter(|| {
            flip = !flip;
            let set = if flip { &one } else { &other };
            let Outcome::Committed { modified, .. } = writer.apply(set, &info()).unwrap() else {
                panic!("must commit")
            };
            assert_eq!(modified.len(), 1);
        })
    });

    // The seed's way: files in a work tree, `git add -A && git commit`.
    let cli = GitRemote::new();
    let work = cli.clone_path();
    write_tree(&work, None);
    add_commit(&work);
    group.bench_function("git_cli/same_set_again", |b| {
        b.iter(|| {
            write_tree(&work, None);
            add_commit(&work)
        })
    });
    let mut flip = false;
    group.bench_function("git_cli/one_file_changed", |b| {
        b.iter(|| {
            flip = !flip;
            write_tree(&work, Some(if flip { "2" } else { "3" }));
            add_commit(&work)
        })
    });
    group.finish();
}

criterion_group!(benches, git_write);
criterion_main!(benches);
