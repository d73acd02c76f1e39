//! The whole pipeline as users run it: MLflow trains and registers a model, `mlflow-gitops sync`
//! mirrors it to S3 and commits to a git remote, kustomize builds the result, and MLflow's own
//! scoring server, started on the mirrored URI, answers like the model itself.

use std::process::{Command, Output};

use testkit::git::GitRemote;
use testkit::model_server::ModelServer;
use testkit::s3::{Bucket, SeaweedFs};

fn mlflow_gitops(bucket: &Bucket<'_>, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"))
        .args(args)
        .envs(bucket.env())
        .env("MLFLOW_GITOPS_LOG", "warn")
        .output()
        .expect("run mlflow-gitops");
    let secret = &bucket.server().credentials().secret_access_key;
    for stream in [&output.stdout, &output.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains(secret.as_str()),
            "a credential was printed"
        );
    }
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn train_register_sync_serve_and_demote() {
    let scratch = tempfile::tempdir().unwrap();
    let db = scratch.path().join("mlflow.db");
    let tracking = format!("sqlite:///{}", db.display());
    let wine = testkit::mlflow::wine_model(&tracking, &scratch.path().join("mlruns"));

    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let work = scratch.path().join("work");
    let mirror = bucket.uri("models");
    let sync_args = [
        "sync",
        "--registry",
        &tracking,
        "--mirror",
        &mirror,
        "--repo",
        &remote.url(),
        "--namespace",
        "qooba",
        "--push",
        "--work-dir",
        work.to_str().unwrap(),
    ];
    let first = mlflow_gitops(&bucket, &sync_args);
    assert!(
        first.status.success(),
        "{}{}",
        text(&first.stdout),
        text(&first.stderr)
    );
    assert!(
        text(&first.stdout).contains("ElasticnetWineModel2 production: new, version 1"),
        "{}",
        text(&first.stdout)
    );

    // The committed prefix builds with kustomize and every object validates.
    let files: Vec<String> = remote
        .files("main")
        .into_iter()
        .filter(|f| f.starts_with("deployments/"))
        .collect();
    let checkout = remote.export("main", "deployments/");
    assert_eq!(
        testkit::kube::assert_valid_kustomization(&checkout.path().join("deployments")),
        6
    );

    // Serve the mirror the Deployment points at, and compare with the model's own predictions.
    let production = files
        .iter()
        .find(|f| f.ends_with("/production/deployment.yaml"))
        .unwrap();
    let deployment = text(&remote.show("main", production).unwrap());
    let model_uri = deployment
        .lines()
        .find_map(|l| l.trim().strip_prefix("mlflow-gitops.io/model-uri: "))
        .expect("model-uri annotation")
        .trim_matches('"')
        .to_owned();
    assert!(model_uri.starts_with(&mirror), "{model_uri}");
    assert!(
        deployment.contains(&format!("- {model_uri}")),
        "the container serves the mirror"
    );
    let server = ModelServer::start(&model_uri, &bucket.env());
    let (status, body) = server.invoke(&wine.input.to_string());
    assert_eq!(status, 200, "{body}\n{}", server.log());
    wine.assert_predictions(&body);
    drop(server);

    // Nothing changed: no commit.
    let commits = remote.log().len();
    let again = mlflow_gitops(&bucket, &sync_args);
    assert!(again.status.success(), "{}", text(&again.stderr));
    // The work directory remembers the last clean pass: an unchanged registry and remote head
    // need no further work.
    assert!(
        text(&again.stdout).contains("registry unchanged"),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(remote.log().len(), commits);

    // Archived and alias removed: its directory leaves in the next commit.
    let client = format!(
        "import mlflow\nc = mlflow.MlflowClient(tracking_uri={tracking:?})\n\
         c.transition_model_version_stage('ElasticnetWineModel2', '1', 'Archived')\n\
         c.delete_registered_model_alias('ElasticnetWineModel2', 'champion')\n"
    );
    let status = Command::new(testkit::tools::python())
        .args(["-c", &client])
        .status()
        .unwrap();
    assert!(status.success());
    let last = mlflow_gitops(&bucket, &sync_args);
    assert!(last.status.success(), "{}", text(&last.stderr));
    assert!(
        text(&last.stdout).contains("production: removed (was 1)"),
        "{}",
        text(&last.stdout)
    );
    let left: Vec<String> = remote
        .files("main")
        .into_iter()
        .filter(|f| f.starts_with("deployments/"))
        .collect();
    assert_eq!(
        left,
        ["deployments/README.md", "deployments/kustomization.yaml"]
    );
}

#[test]
fn usage_errors_exit_2_and_runtime_errors_exit_1() {
    let bucket = SeaweedFs::shared().bucket();
    let missing = mlflow_gitops(&bucket, &["sync", "--mirror", "/tmp/x"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing.stderr));
    assert!(text(&missing.stderr).contains("--registry"));
    let bad_scheme = mlflow_gitops(&bucket, &["registry", "list", "--registry", "oracle://db"]);
    assert_eq!(
        bad_scheme.status.code(),
        Some(2),
        "{}",
        text(&bad_scheme.stderr)
    );
    let scratch = tempfile::tempdir().unwrap();
    let unreachable = mlflow_gitops(
        &bucket,
        &[
            "registry",
            "list",
            "--registry",
            "postgresql://nobody@127.0.0.1:1/none",
        ],
    );
    assert_eq!(
        unreachable.status.code(),
        Some(1),
        "{}",
        text(&unreachable.stderr)
    );
    drop(scratch);
}
