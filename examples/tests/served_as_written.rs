//! The manifests we commit run as written: MLflow trains and registers the seed's wine model,
//! `mlflow-gitops sync` mirrors it to a real S3 server and commits its Deployment, and that
//! Deployment's pod runs as the kubelet would run it (`testkit::pod`: our serving image, the
//! command, args and env exactly as rendered, the S3 keys from a Secret, a read-only root
//! filesystem, the rendered user and probes). `/invocations` with the seed's two rows then returns
//! the predictions MLflow's own pyfunc computed for the original model. The same model committed
//! as a KServe InferenceService runs in the pod KServe would make of it (`testkit::kserve`: our
//! storage initializer, our MLServer image) and answers a v2 request with the same predictions;
//! and a model that needs a package no image holds is served through the environment step from a
//! package index on 127.0.0.1.

use std::io::{Read, Write};
use std::process::Command;

use serde_json::Value;
use testkit::git::GitRemote;
use testkit::pod::{Pod, Secrets};
use testkit::s3::SeaweedFs;

/// A registry in a scratch directory, the shared S3 server's bucket and a fresh remote.
struct Scene {
    scratch: tempfile::TempDir,
    tracking: String,
    bucket: testkit::s3::Bucket<'static>,
    remote: GitRemote,
}

impl Scene {
    fn new() -> Scene {
        let scratch = tempfile::tempdir().unwrap();
        let tracking = format!("sqlite:///{}", scratch.path().join("mlflow.db").display());
        Scene {
            scratch,
            tracking,
            bucket: SeaweedFs::shared().bucket(),
            remote: GitRemote::new(),
        }
    }

    fn artifacts(&self) -> std::path::PathBuf {
        self.scratch.path().join("mlruns")
    }

    /// `mlflow-gitops sync … --push` for namespace qooba, with `extra` flags.
    fn sync(&self, extra: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"))
            .args(["sync", "--registry", &self.tracking])
            .args([
                "--mirror",
                &self.bucket.uri("models"),
                "--repo",
                &self.remote.url(),
            ])
            .args(["--namespace", "qooba", "--push", "--work-dir"])
            .arg(self.scratch.path().join("work"))
            .args(extra)
            .envs(self.bucket.env())
            .output()
            .unwrap()
    }

    /// [`sync`](Self::sync), which must succeed.
    fn synced(&self, extra: &[&str]) {
        let out = self.sync(extra);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The committed file whose path contains `model` and ends with `suffix`, parsed.
    fn committed(&self, model: &str, suffix: &str) -> Value {
        let file = self
            .remote
            .files("main")
            .into_iter()
            .find(|f| f.contains(model) && f.ends_with(suffix))
            .unwrap_or_else(|| panic!("no {model} …{suffix} committed"));
        serde_saphyr::from_slice(&self.remote.show("main", &file).unwrap()).unwrap()
    }

    /// The `mlflow-s3` Secret with the S3 server's keys.
    fn secrets(&self) -> Secrets {
        let credentials = self.bucket.server().credentials();
        let keys = [
            ("AWS_ACCESS_KEY_ID", &credentials.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &credentials.secret_access_key),
        ];
        let data = keys.map(|(k, v)| (k.to_owned(), v.to_string())).into();
        [("mlflow-s3".to_owned(), data)].into()
    }

    fn secret_key(&self) -> String {
        self.bucket
            .server()
            .credentials()
            .secret_access_key
            .to_string()
    }
}

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
    let scene = Scene::new();
    let wine = testkit::mlflow::wine_model(&scene.tracking, &scene.artifacts());
    scene.synced(&[]);
    let deployment = scene.committed("", "/production/deployment.yaml");
    let spec = &deployment["spec"]["template"]["spec"];
    let secrets = scene.secrets();

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
    assert!(!pod.logs().contains(scene.secret_key().as_str()));
}

/// The seed's `dataframe_split` rows as an Open Inference (v2) request: one input per column,
/// decoded by MLServer's MLflow runtime into a pandas DataFrame (`content_type: pd`).
fn v2_request(dataframe_split: &Value) -> String {
    let columns = dataframe_split["columns"].as_array().expect("columns");
    let rows = dataframe_split["data"].as_array().expect("rows");
    let inputs: Vec<Value> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            serde_json::json!({
                "name": column,
                "shape": [rows.len()],
                "datatype": "FP64",
                "data": rows.iter().map(|row| row[i].clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({"parameters": {"content_type": "pd"}, "inputs": inputs}).to_string()
}

/// Polls MLServer's model readiness endpoint (what KServe's status reports) for up to 5 minutes.
fn wait_model_ready(pod: &Pod, port: u16, model: &str) {
    let path = format!("/v2/models/{model}/ready");
    for _ in 0..600 {
        if testkit::pod::http_get_ok(port, &path) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("{path} never answered 200:\n{}", pod.logs());
}

#[test]
fn the_committed_inference_service_serves_the_model_through_kserve() {
    let scene = Scene::new();
    let wine = testkit::mlflow::wine_model(&scene.tracking, &scene.artifacts());
    scene.synced(&["--target", "kserve"]);
    let isvc = scene.committed("", "/production/inferenceservice.yaml");
    let bucket = &scene.bucket;
    let remote = &scene.remote;

    // The team's bundle, its store being this test's S3 server: the ServiceAccount KServe's
    // predictor runs as, and the annotations the platform puts on the S3 Secret.
    let tenant: manifests_core::TenantSpec = serde_json::from_value(serde_json::json!({
        "namespace": "qooba",
        "storage": {"type": "external", "endpointUrl": bucket.server().endpoint()},
        "gitops": {"repoUrl": remote.url(), "target": "kserve"},
    }))
    .expect("a tenant served by KServe");
    let set = manifests_core::tenant_components(&tenant).expect("the tenant renders");
    let account = set
        .iter()
        .find(|m| m.key().kind == "ServiceAccount" && m.key().name == "mlflow-s3-sa")
        .expect("the KServe ServiceAccount")
        .body()
        .clone();
    let secrets = scene.secrets();
    let prefix = testkit::podman::image_prefix();
    let runtime = testkit::kserve::Runtime {
        mlserver_image: manifests_core::images::Image::Mlserver.reference(&prefix),
        storage_initializer_image: manifests_core::images::Image::StorageInitializer
            .reference(&prefix),
    };

    // Without the annotations on the Secret, KServe's initializer looks for the bucket on AWS.
    let unannotated =
        testkit::kserve::predictor_pod(&isvc, &account, &secrets, &Default::default(), &runtime)
            .unwrap();
    let refused = Pod::start("wine-kserve", "qooba", &unannotated, &secrets)
        .err()
        .expect("no download without the endpoint");
    assert!(refused.contains("amazonaws.com"), "{refused}");

    let annotations: testkit::kserve::SecretAnnotations = [(
        "mlflow-s3".to_owned(),
        manifests_core::tenant::kserve_storage_annotations(&tenant),
    )]
    .into();
    let spec = testkit::kserve::predictor_pod(&isvc, &account, &secrets, &annotations, &runtime)
        .unwrap_or_else(|e| panic!("{e}"));
    let pod = Pod::start("wine-kserve", "qooba", &spec, &secrets).unwrap_or_else(|e| panic!("{e}"));
    let port = pod
        .port("kserve-container", "http1")
        .expect("MLServer's port");
    let name = isvc["metadata"]["name"].as_str().unwrap();
    wait_model_ready(&pod, port, name);
    let (status, body) = post_json(
        port,
        &format!("/v2/models/{name}/infer"),
        &v2_request(&wine.input["dataframe_split"]),
    );
    assert_eq!(status, 200, "{body}\n{}", pod.logs());
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    let predictions = serde_json::json!({"predictions": answer["outputs"][0]["data"]});
    wine.assert_predictions(&predictions.to_string());
    assert!(!pod.logs().contains(scene.secret_key().as_str()));
}

#[test]
fn a_model_needing_a_package_the_image_lacks_is_served_with_the_environment_step() {
    let scene = Scene::new();
    let index = testkit::package_index::PackageIndex::start("gitops-probe-scorer", "1.0.0");
    let version = testkit::mlflow::package_model(
        &scene.tracking,
        &scene.artifacts(),
        "scorer",
        "gitops-probe-scorer",
        "1.0.0",
    );

    // Without a package index the model is reported, by name, version and package, and nothing
    // is deployed for it.
    let refused = scene.sync(&["--aliases", "none"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("scorer") && stderr.contains("gitops-probe-scorer==1.0.0"),
        "{stderr}"
    );
    let files = scene.remote.files("main");
    assert!(!files.iter().any(|f| f.contains("scorer")), "{files:?}");

    // With one, the Deployment installs it first, and the model answers with it.
    scene.synced(&["--aliases", "none", "--package-index", &index.url()]);
    let deployment = scene.committed("scorer", "/production/deployment.yaml");
    let spec = &deployment["spec"]["template"]["spec"];
    assert_eq!(spec["initContainers"][0]["name"], "environment", "{spec}");
    assert_eq!(
        deployment["metadata"]["annotations"]["mlflow-gitops.io/version"],
        version.as_str()
    );
    let pod = Pod::start("scorer-production", "qooba", spec, &scene.secrets())
        .unwrap_or_else(|e| panic!("{e}"));
    pod.wait_ready().unwrap_or_else(|e| panic!("{e}"));
    let port = pod.port("model", "http").expect("the rendered named port");
    let request = r#"{"dataframe_split": {"columns": ["x"], "data": [[1.0], [20.0]]}}"#;
    let (status, body) = post_json(port, "/invocations", request);
    assert_eq!(status, 200, "{body}\n{}", pod.logs());
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        answer["predictions"],
        serde_json::json!([3.0, 41.0]),
        "{body}"
    );
}
