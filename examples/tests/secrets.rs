//! Known credential values through every path of the pipeline: a PostgreSQL registry URI with a
//! password, S3 keys in the environment, a git token in a file for a TLS git server; runs that
//! succeed, a dry run, the daemon, and runs that fail because a credential is wrong. With debug
//! logging on, no value may appear in any output line, any git object the remote holds (every
//! commit, tree and blob of its history), any file of the work directory, any object of the
//! bucket, or the tenant manifests.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::{Scene, free_port, http_get, wait_for};
use testkit::databases::{Backend, POSTGRES_ADDR};
use testkit::git_https::GitHttpsServer;

const DB_PASSWORD: &str = "pg-pass-1b7e2c-secret";
const GIT_TOKEN: &str = "gittok-8d41f0-secret";
const WRONG_GIT_TOKEN: &str = "gittok-wrong-3c9a5e";
const WRONG_S3_SECRET: &str = "s3-wrong-secret-6e0d2b";

struct Collected(Vec<u8>);

impl Collected {
    fn output(&mut self, output: &Output) {
        self.0.extend_from_slice(&output.stdout);
        self.0.extend_from_slice(&output.stderr);
    }

    fn files_under(&mut self, dir: &Path) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                self.files_under(&path);
            } else if path.is_file() {
                self.0.extend(std::fs::read(&path).unwrap());
            }
        }
    }
}

fn debug(mut command: Command) -> Command {
    command
        .env("MLFLOW_GITOPS_LOG", "debug")
        .args(["--log-format", "json"]);
    command
}

#[test]
fn no_credential_value_appears_anywhere() {
    let mut scene = Scene::on(Backend::Postgres, 2, 4096);
    let remote_dir = scene.remote.scratch_path().to_path_buf();
    let https = GitHttpsServer::start(&remote_dir, "bot", GIT_TOKEN);
    scene.repo_url = https.url("remote.git");
    let token_file = remote_dir.join("token");
    std::fs::write(&token_file, format!("{GIT_TOKEN}\n")).unwrap();
    let wrong_token_file = remote_dir.join("wrong-token");
    std::fs::write(&wrong_token_file, WRONG_GIT_TOKEN).unwrap();
    let registry = scene.registry.backend_store_uri().replace(
        &format!("postgres@{POSTGRES_ADDR}"),
        &format!("postgres:{DB_PASSWORD}@{POSTGRES_ADDR}"),
    );
    assert!(registry.contains(DB_PASSWORD));
    let s3 = scene.bucket.server();
    let secrets = [
        DB_PASSWORD,
        GIT_TOKEN,
        WRONG_GIT_TOKEN,
        WRONG_S3_SECRET,
        s3.credentials().secret_access_key.as_str(),
    ];
    let pipeline = |subcommand: &str, token: &Path| {
        let mut command = debug(scene.pipeline(subcommand, &registry, s3.endpoint()));
        command
            .arg("--git-token-file")
            .arg(token)
            .args(["--git-username", "bot"])
            .arg("--git-ca-file")
            .arg(https.ca_file());
        command
    };
    let mut seen = Collected(Vec::new());

    // A pass that works, then a dry run and the registry listing after a promotion.
    let first = pipeline("sync", &token_file).output().unwrap();
    assert!(first.status.success(), "{}", common::text(&first));
    seen.output(&first);
    scene.promote(0, 3);
    let mut dry = pipeline("sync", &token_file);
    let dry = dry.arg("--dry-run").output().unwrap();
    assert!(dry.status.success(), "{}", common::text(&dry));
    assert!(String::from_utf8_lossy(&dry.stdout).contains("would mirror"));
    seen.output(&dry);
    let list = debug(Command::new(env!("CARGO_BIN_EXE_mlflow-gitops")))
        .args(["registry", "list", "--json", "--registry", &registry])
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", common::text(&list));
    seen.output(&list);

    // The daemon lands the promotion, then stops.
    let port = free_port();
    let daemon = pipeline("watch", &token_file)
        .args([
            "--interval",
            "200ms",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .spawn()
        .unwrap();
    wait_for("the promotion's commit", Duration::from_secs(60), || {
        scene.remote.log().len() == 2
    });
    let metrics = http_get(port, "/metrics").unwrap().1;
    seen.0.extend(metrics.as_bytes());
    common::terminate(&daemon);
    let stopped = daemon.wait_with_output().unwrap();
    assert!(stopped.status.success(), "{}", common::text(&stopped));
    seen.output(&stopped);

    // Wrong credentials: each run fails, and says so without the value.
    scene.promote(1, 3);
    let wrong_token = pipeline("sync", &wrong_token_file).output().unwrap();
    assert_eq!(
        wrong_token.status.code(),
        Some(1),
        "{}",
        common::text(&wrong_token)
    );
    seen.output(&wrong_token);
    let mut wrong_s3 = pipeline("sync", &token_file);
    let wrong_s3 = wrong_s3
        .env("AWS_SECRET_ACCESS_KEY", WRONG_S3_SECRET)
        .output()
        .unwrap();
    assert_eq!(
        wrong_s3.status.code(),
        Some(1),
        "{}",
        common::text(&wrong_s3)
    );
    seen.output(&wrong_s3);
    let dead_db = debug(Command::new(env!("CARGO_BIN_EXE_mlflow-gitops")))
        .args(["registry", "list", "--registry"])
        .arg(format!(
            "postgresql://postgres:{DB_PASSWORD}@127.0.0.1:1/test"
        ))
        .output()
        .unwrap();
    assert_eq!(dead_db.status.code(), Some(1), "{}", common::text(&dead_db));
    seen.output(&dead_db);

    // A team workspace whose credentials are Secret references.
    let tenant = remote_dir.join("tenant");
    let rendered = debug(Command::new(env!("CARGO_BIN_EXE_mlflow-gitops")))
        .args(["tenant", "render", "--namespace", "team-a", "--out"])
        .arg(&tenant)
        .envs(scene.bucket.env())
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{}", common::text(&rendered));
    seen.output(&rendered);
    seen.files_under(&tenant);

    // Everything git holds, everything in the work directory, everything in the bucket.
    let objects = testkit::git::git_command(&scene.remote.bare_path())
        .args(["cat-file", "--batch-all-objects", "--batch"])
        .output()
        .unwrap();
    assert!(objects.status.success());
    assert!(
        objects.stdout.len() > 10_000,
        "the remote holds too little to be scanned"
    );
    seen.0.extend(objects.stdout);
    seen.files_under(&scene.work);
    for object in scene.bucket.list("") {
        if object.path.ends_with(".json") {
            seen.0.extend(scene.bucket.get(&object.path).unwrap());
        }
    }

    let log_lines = seen.0.split(|b| *b == b'\n').count();
    assert!(
        log_lines > 100,
        "only {log_lines} lines were produced: debug logging is off?"
    );
    for secret in secrets {
        let needle = secret.as_bytes();
        let found = seen.0.windows(needle.len()).position(|w| w == needle);
        assert!(
            found.is_none(),
            "a credential appears in the output or the stores: …{}…",
            String::from_utf8_lossy(
                &seen.0[found.unwrap().saturating_sub(200)..found.unwrap() + needle.len()]
            )
            .replace(secret, "<THE SECRET>")
        );
    }
    eprintln!(
        "scanned {} bytes ({log_lines} lines) for {} credential values",
        seen.0.len(),
        secrets.len()
    );
}
