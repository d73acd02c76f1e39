//! `mlflow-gitops sync` SIGKILLed at random instants of a cold pass and of an incremental pass.
//!
//! After every kill: the remote may hold a commit only if every mirror it refers to is complete,
//! and a clean rerun in the same work directory ends in exactly the tree and bucket of an
//! uninterrupted run. While each killed run goes, a watcher thread checks the same at every new
//! remote head it sees.
//!
//! Commits are signed (SSH) throughout, and Production is gated (`--review production`): every
//! Production change goes to a review branch, which must converge as `main` does, refer only to
//! complete mirrors, and whose every commit verifies at the end as `main`'s do.
//!
//! `MLFLOW_GITOPS_KILLS` sets the number of kills (default 32, half per kind of pass; the long
//! campaign of RELIABILITY.md uses 500); `MLFLOW_GITOPS_KILL_SEED` replays a run's instants.

mod common;

use std::collections::BTreeMap;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Scene, copy_tree, text};

/// A small deterministic generator, so a failing run can be replayed from its seed.
struct Instants(u64);

impl Instants {
    fn next_below(&mut self, bound: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        bound.mul_f64((self.0 % 10_000) as f64 / 10_000.0)
    }
}

/// The state an uninterrupted run ends in.
struct Reference {
    tree: String,
    reviews: BTreeMap<String, String>,
    listing: BTreeMap<String, u64>,
}

fn run_clean(scene: &Scene) -> Duration {
    let started = Instant::now();
    let output = scene.sync().output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    started.elapsed()
}

fn reference(scene: &Scene) -> Reference {
    Reference {
        tree: scene.tree().expect("a pushed tree"),
        reviews: scene.review_trees(),
        listing: scene.listing(),
    }
}

/// Runs `sync`, kills it after `delay` if it still runs; meanwhile checks every remote head it
/// sees. Returns whether the kill landed mid-pass.
fn kill_at(scene: &Scene, delay: Duration, reference: &Reference) -> bool {
    let done = Arc::new(AtomicBool::new(false));
    let violation = Arc::new(Mutex::new(None::<String>));
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut seen = (scene.tree(), scene.review_trees());
            while !done.load(Ordering::SeqCst) {
                let now = (scene.tree(), scene.review_trees());
                if now != seen {
                    if let Err(e) =
                        scene.check_committed_mirrors(&scene.listing(), &reference.listing)
                    {
                        *violation.lock().unwrap() = Some(e);
                    }
                    seen = now;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let mut child: Child = scene.sync().spawn().unwrap();
        std::thread::sleep(delay);
        let killed = child.try_wait().unwrap().is_none();
        if killed {
            child.kill().unwrap();
        }
        let output = child.wait_with_output().unwrap();
        done.store(true, Ordering::SeqCst);
        assert!(
            killed || output.status.success(),
            "an unkilled run failed: {}",
            text(&output)
        );
        if let Some(violation) = violation.lock().unwrap().take() {
            panic!("observed while the run went: {violation}");
        }
        // What the kill left: any pushed commit refers to complete mirrors only.
        if let Err(e) = scene.check_committed_mirrors(&scene.listing(), &reference.listing) {
            panic!("after a kill at {delay:?}: {e}");
        }
        killed
    })
}

fn converged(scene: &Scene, reference: &Reference, what: &str) {
    run_clean(scene);
    assert_eq!(
        scene.tree().as_deref(),
        Some(reference.tree.as_str()),
        "{what}: the rerun's tree differs from an uninterrupted run's"
    );
    assert_eq!(
        scene.review_trees(),
        reference.reviews,
        "{what}: the rerun's review branches differ from an uninterrupted run's"
    );
    assert_eq!(
        scene.listing(),
        reference.listing,
        "{what}: the rerun's bucket differs from an uninterrupted run's"
    );
}

#[test]
fn killed_syncs_never_push_incomplete_mirrors_and_reruns_converge() {
    let kills: usize = std::env::var("MLFLOW_GITOPS_KILLS")
        .ok()
        .map(|v| v.parse().expect("MLFLOW_GITOPS_KILLS is a number"))
        .unwrap_or(32);
    let seed: u64 = std::env::var("MLFLOW_GITOPS_KILL_SEED")
        .ok()
        .map(|v| v.parse().expect("MLFLOW_GITOPS_KILL_SEED is a number"))
        .unwrap_or_else(|| u64::from(std::process::id()) * 2_654_435_761 + 1);
    eprintln!("kill seed {seed} (MLFLOW_GITOPS_KILL_SEED={seed} replays it)");
    let mut instants = Instants(seed);

    // 12 models, 24 promoted versions, 120 files of 256 KiB: a pass long enough to be cut
    // anywhere (mirroring, rendering, committing, pushing).
    let mut scene = Scene::new(12, 256 * 1024);
    let key = testkit::signing::SigningKey::new(testkit::signing::KeyKind::Ssh);
    scene.sign_key = Some(key.key_file());
    scene.review = Some("production".into());
    let saved = tempfile::tempdir().unwrap();

    // Cold: an empty bucket, remote and work directory every round.
    let cold_time = run_clean(&scene);
    let cold = reference(&scene);
    assert_eq!(
        cold.reviews.len(),
        12,
        "one review branch per Production model"
    );
    let empty_remote = saved.path().join("empty.git");
    let mut cold_kills = 0;
    let mut rounds = 0;
    while cold_kills < kills / 2 {
        rounds += 1;
        assert!(rounds < kills * 4, "the kills keep missing the pass");
        reset(&scene, saved.path(), &empty_remote, None);
        let delay = instants.next_below(cold_time);
        if kill_at(&scene, delay, &cold) {
            cold_kills += 1;
        }
        converged(&scene, &cold, &format!("cold pass killed at {delay:?}"));
    }

    // Incremental: three models get a new Production version; the state before it is restored
    // every round.
    let before = saved.path().join("before");
    std::fs::create_dir(&before).unwrap();
    copy_tree(&scene.remote.bare_path(), &before.join("remote.git"));
    copy_tree(&scene.work, &before.join("work"));
    for m in [0, 5, 11] {
        scene.promote(m, 3);
    }
    let incremental_time = run_clean(&scene);
    let incremental = reference(&scene);
    assert_ne!(
        (&incremental.tree, &incremental.reviews),
        (&cold.tree, &cold.reviews)
    );
    let mut incremental_kills = 0;
    while incremental_kills < kills - kills / 2 {
        rounds += 1;
        assert!(rounds < kills * 4, "the kills keep missing the pass");
        reset(
            &scene,
            saved.path(),
            &before.join("remote.git"),
            Some(&before),
        );
        let delay = instants.next_below(incremental_time);
        if kill_at(&scene, delay, &incremental) {
            incremental_kills += 1;
        }
        converged(
            &scene,
            &incremental,
            &format!("incremental pass killed at {delay:?}"),
        );
    }
    let mut revs = vec!["main".to_owned()];
    revs.extend(scene.review_trees().into_keys());
    for rev in revs {
        for commit in scene.remote.log_of(&rev) {
            key.verify_commit(&scene.remote.bare_path(), &commit.id)
                .unwrap_or_else(|e| panic!("{rev}: commit {} does not verify: {e}", commit.id));
        }
    }
    scene.remote.fsck();
    eprintln!(
        "{cold_kills} kills in cold passes ({cold_time:?} uninterrupted), {incremental_kills} in \
         incremental passes ({incremental_time:?}), {rounds} rounds"
    );
}

/// Puts the remote back to `remote` (an empty one when it does not exist yet), the work directory
/// to `before/work` (or none), and the bucket to what the remote refers to.
fn reset(
    scene: &Scene,
    saved: &std::path::Path,
    remote: &std::path::Path,
    before: Option<&std::path::Path>,
) {
    if !remote.exists() {
        testkit::git::git(
            saved,
            &[
                "init",
                "--quiet",
                "--bare",
                "--initial-branch",
                "main",
                "empty.git",
            ],
        );
    }
    copy_tree(remote, &scene.remote.bare_path());
    match before {
        Some(before) => copy_tree(&before.join("work"), &scene.work),
        None => {
            if scene.work.exists() {
                std::fs::remove_dir_all(&scene.work).unwrap();
            }
        }
    }
    // Mirrors of versions the restored remote does not know are removed; the others stay.
    let keep = scene.committed_mirrors();
    let mut stale: Vec<String> = scene
        .listing()
        .keys()
        .filter_map(|path| {
            // `<model>/<version>/…`: the mirror is the first two segments.
            let mut parts = path.splitn(3, '/');
            Some(format!("{}/{}", parts.next()?, parts.next()?))
        })
        .filter(|mirror| !keep.contains(mirror))
        .collect();
    stale.dedup();
    for mirror in stale {
        scene.bucket.purge(&format!("{}/{mirror}", common::MIRRORS));
    }
}
