//! The manifests we commit run as written: MLflow trains and registers the seed's wine model,
//! `mlflow-gitops sync` mirrors it to a real S3 server and commits its Deployment, and that
//! Deployment's pod runs as the kubelet would run it (`testkit::pod`: our serving image, the
//! command, args and env exactly as rendered, the S3 keys from a Secret, a read-only root
//! filesystem, the rendered user and probes). `/invocations` with the seed's two rows then returns
//! the predictions MLflow's own pyfunc computed for the original model.

use std::io::{Read, Write};
use std::process::Command;

use serde_json::Value;
use testkit::git::GitRemote;
use testkit::pod::{Pod, Secrets};
use testkit::s3::SeaweedFs;

/// `POST path` with a JSON body on 127.0.0.1:`port`; the status and the body.
fn post_json(port: u16, path: &str, body: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer[9..12].parse().expect("a status");
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

#[test]
fn the_committed_mlflow_serve_deployment_serves_the_model() {
    let scratch = tempfile::tempdir().unwrap();
    let tracking = format!("sqlite:///{}", scratch.path().join("mlflow.db").display());
    let wine = testkit::mlflow::wine_model(&tracking, &scratch.path().join("mlruns"));
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let out = Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"))
        .args([
            "sync",
            "--registry",
            &tracking,
            "--mirror",
            &bucket.uri("models"),
        ])
        .args(["--repo", &remote.url(), "--namespace", "qooba", "--push"])
        .arg("--work-dir")
        .arg(scratch.path().join("work"))
        .envs(bucket.env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let file = remote
        .files("main")
        .into_iter()
        .find(|f| f.ends_with("/production/deployment.yaml"))
        .expect("a production deployment");
    let deployment: Value = serde_saphyr::from_slice(&remote.show("main", &file).unwrap()).unwrap();
    let spec = &deployment["spec"]["template"]["spec"];
    let credentials = bucket.server().credentials();
    let secrets: Secrets = [(
        "mlflow-s3".to_owned(),
        [
            (
                "AWS_ACCESS_KEY_ID".to_owned(),
                credentials.access_key_id.clone(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                credentials.secret_access_key.clone(),
            ),
        ]
        .into(),
    )]
    .into();

    // A Secret without the key the Deployment references: the kubelet would not start it.
    let mut incomplete = secrets.clone();
    incomplete
        .get_mut("mlflow-s3")
        .unwrap()
        .remove("AWS_SECRET_ACCESS_KEY");
    let refused = Pod::start("wine-production", "qooba", spec, &incomplete)
        .err()
        .expect("refused");
    assert!(refused.contains("AWS_SECRET_ACCESS_KEY"), "{refused}");

    let pod =
        Pod::start("wine-production", "qooba", spec, &secrets).unwrap_or_else(|e| panic!("{e}"));
    pod.wait_ready().unwrap_or_else(|e| panic!("{e}"));
    let port = pod.port("model", "http").expect("the rendered named port");
    let (status, body) = post_json(port, "/invocations", &wine.input.to_string());
    assert_eq!(status, 200, "{body}\n{}", pod.logs());
    wine.assert_predictions(&body);
    // Nothing the pod logged shows the S3 secret.
    assert!(!pod.logs().contains(credentials.secret_access_key.as_str()));
}
