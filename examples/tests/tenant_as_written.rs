//! The team's workspace runs as `tenant render` writes it: the object store (SeaweedFS, our
//! image) and the MLflow server (our image) start from their rendered Deployments as the kubelet
//! would start them (`testkit::pod`), the server reaches the store by its service name, a client
//! in the namespace registers a model through the server, and the model's artifacts land in the
//! team's bucket, which refuses anyone without the team's key. Then the promotion daemon starts
//! from its rendered Deployment (our daemon image): it reads the registry through the server's
//! REST API, mirrors the model inside the bucket, and pushes the deployment over SSH (host key
//! verified) to a real git remote, on the review branch the tenant's `review` asks for and with
//! its push option, and its /healthz answers.

use serde_json::{Value, json};
use testkit::git::GitRemote;
use testkit::pod::{Pod, Secrets};
use testkit::ssh::SshServer;

/// The pod spec of the Deployment `name` in `set`.
fn pod_spec(set: &manifests_core::ManifestSet, name: &str) -> Value {
    set.iter()
        .find(|m| m.key().kind == "Deployment" && m.key().name == name)
        .unwrap_or_else(|| panic!("no Deployment {name}"))
        .body()["spec"]["template"]["spec"]
        .clone()
}

/// A container of our MLflow server image running `script` with the team's S3 settings.
fn client(image: &str, script: &str) -> Value {
    let secret = |key: &str| json!({"name": key, "valueFrom": {"secretKeyRef": {"name": "mlflow-s3", "key": key}}});
    json!({
        "name": "client",
        "image": image,
        "command": ["python", "-c", script],
        "env": [
            {"name": "MLFLOW_TRACKING_URI", "value": "http://mlflow.qooba.svc.cluster.local:5000"},
            {"name": "AWS_ENDPOINT_URL", "value": "http://seaweedfs.qooba.svc.cluster.local:8333"},
            {"name": "AWS_DEFAULT_REGION", "value": "us-east-1"},
            secret("AWS_ACCESS_KEY_ID"),
            secret("AWS_SECRET_ACCESS_KEY"),
            {"name": "HOME", "value": "/tmp"},
        ],
    })
}

const REGISTER: &str = r#"
import mlflow, numpy as np
from sklearn.linear_model import LinearRegression
x = np.arange(10, dtype=float).reshape(-1, 1)
model = LinearRegression().fit(x, 2 * x.ravel())
with mlflow.start_run():
    info = mlflow.sklearn.log_model(model, name="model", registered_model_name="team-model")
mlflow.MlflowClient().set_registered_model_alias("team-model", "champion", info.registered_model_version)
print("registered version", info.registered_model_version)
"#;

const LIST_BUCKET: &str = r#"
import boto3, botocore
s3 = boto3.client("s3")
keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="mlflow") for o in p.get("Contents", [])]
print("\n".join(keys))
anonymous = boto3.client("s3", config=botocore.config.Config(signature_version=botocore.UNSIGNED))
try:
    anonymous.list_objects_v2(Bucket="mlflow")
    print("ANONYMOUS LISTED")
except botocore.exceptions.ClientError as e:
    print("anonymous refused:", e.response["Error"]["Code"])
"#;

#[test]
fn the_object_store_and_mlflow_server_run_as_rendered() {
    let ssh = SshServer::start();
    let remote = GitRemote::new();
    remote.record_pushes();
    // The champion waits for review: the daemon pushes it over SSH to its review branch, with
    // the push option, and leaves the target branch alone.
    let spec: manifests_core::TenantSpec = serde_json::from_value(json!({
        "namespace": "qooba",
        "gitops": {
            "repoUrl": ssh.url(&remote.bare_path()),
            "interval": "2s",
            "review": ["champion"],
            "pushOptions": ["merge_request.create"],
        },
    }))
    .expect("a tenant with its promotion daemon");
    let set = manifests_core::tenant_components(&spec).expect("the tenant renders");
    let read =
        |path: std::path::PathBuf| std::fs::read_to_string(path).expect("testkit's ssh files");
    let secrets: Secrets = [
        (
            "mlflow-s3".to_owned(),
            [
                ("AWS_ACCESS_KEY_ID".to_owned(), "team-qooba".to_owned()),
                (
                    "AWS_SECRET_ACCESS_KEY".to_owned(),
                    testkit::unique_name("team-secret"),
                ),
            ]
            .into(),
        ),
        (
            "mlflow-gitops-git".to_owned(),
            [
                ("ssh-privatekey".to_owned(), read(ssh.client_key())),
                ("known_hosts".to_owned(), read(ssh.known_hosts())),
            ]
            .into(),
        ),
    ]
    .into();

    let store = Pod::start("seaweedfs", "qooba", &pod_spec(&set, "seaweedfs"), &secrets)
        .unwrap_or_else(|e| panic!("{e}"));
    store.wait_ready().unwrap_or_else(|e| panic!("{e}"));
    let server = Pod::start_with_services(
        "mlflow",
        "qooba",
        &pod_spec(&set, "mlflow"),
        &secrets,
        &["seaweedfs"],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    server
        .wait_ready()
        .unwrap_or_else(|e| panic!("{e}\n{}", store.logs()));

    let image = spec.mlflow.image.clone();
    let services = ["mlflow", "seaweedfs"];
    let registered = Pod::job(
        "register",
        "qooba",
        &client(&image, REGISTER),
        &secrets,
        &services,
    )
    .unwrap_or_else(|e| panic!("{e}\n{}{}", server.logs(), store.logs()));
    assert!(registered.contains("registered version 1"), "{registered}");

    let listed = Pod::job(
        "list",
        "qooba",
        &client(&image, LIST_BUCKET),
        &secrets,
        &services,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let keys: Vec<&str> = listed
        .lines()
        .filter(|l| l.starts_with("mlflow/"))
        .collect();
    assert!(
        // MLflow 3.17 saves scikit-learn models as skops files.
        ["/MLmodel", "/requirements.txt", "/model.skops"]
            .iter()
            .all(|file| keys.iter().any(|k| k.ends_with(file))),
        "the model's artifacts are in the team bucket: {listed}"
    );
    assert!(
        listed.contains("anonymous refused: AccessDenied"),
        "{listed}"
    );

    // The promotion daemon, as rendered: a pass mirrors the champion and pushes over SSH.
    let daemon = Pod::start_with_services(
        "mlflow-gitops",
        "qooba",
        &pod_spec(&set, "mlflow-gitops"),
        &secrets,
        &services,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let wanted = "deployments/qooba/team-model/champion/deployment.yaml";
    let branch = "mlflow-gitops/review/deployments/qooba/team-model/champion";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let pushed = || {
        remote.branches("mlflow-gitops/review").contains_key(branch)
            && remote.files(branch).iter().any(|f| f == wanted)
    };
    while !pushed() {
        assert!(
            std::time::Instant::now() < deadline,
            "no {wanted} pushed to {branch}:\n{}",
            daemon.logs()
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    daemon.wait_ready().unwrap_or_else(|e| panic!("{e}"));
    let deployment = String::from_utf8(remote.show(branch, wanted).unwrap()).unwrap();
    assert!(
        deployment.contains("s3://mlflow/models/team-model/1"),
        "{deployment}"
    );
    let review_push = remote
        .pushes()
        .into_iter()
        .find(|p| p.refs.iter().any(|r| r.ends_with(branch)))
        .expect("the review push");
    assert_eq!(review_push.options, ["merge_request.create"]);
    assert!(
        !remote.branch_exists() || !remote.files("main").iter().any(|f| f == wanted),
        "the reviewed channel reached main"
    );
    remote.fsck();
    assert!(
        !daemon
            .logs()
            .contains(secrets["mlflow-s3"]["AWS_SECRET_ACCESS_KEY"].as_str())
    );
}
