//! Serving profiles and a traffic split as a platform engineer configures them: a registry made
//! by MLflow (one model's tag names a profile), a `--config` file with a glob rule, a GPU profile,
//! an autoscaled profile and a 90/10 split with a mirror. The committed repository must build with
//! kustomize and validate strictly (HPA and PDB included, VirtualService against Istio's CRD), and
//! each value must be where Kubernetes reads it.

use std::process::{Command, Output};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use manifests_core::ManifestSet;
use manifests_core::crds::istio::VirtualService;
use testkit::databases::Backend;
use testkit::git::GitRemote;
use testkit::mlflow::{ModelSpec, Registry, Scenario, VersionSpec};
use testkit::s3::{Bucket, SeaweedFs};

const CONFIG: &str = r#"
namespace = "fraud"
commit_author = "Platform Bot <platform@example.com>"

[profiles.large]
replicas = 3
image = "registry.example.com/serving/sklearn:1.9"
resources = { requests = { cpu = "2", memory = "4Gi" }, limits = { memory = "8Gi", "nvidia.com/gpu" = "1" } }
node_selector = { "nvidia.com/gpu.present" = "true" }
tolerations = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]

[profiles.auto]
autoscaling = { min = 2, max = 10, cpu_percent = 70 }

[[rules]]
models = "fraud-*"
channels = ["production"]
profile = "auto"

[[traffic]]
route = "production"
split = { production = 90, challenger = 10 }
mirror = { to = "staging", percent = 100 }
"#;

/// The registry, its versions' files under `artifacts`.
fn registry(artifacts: &std::path::Path) -> Registry {
    Scenario::new()
        .artifact_root(&format!("file://{}", artifacts.display()))
        .model(
            ModelSpec::new("fraud-eu")
                .version(VersionSpec::logged_model().stage("Production"))
                .version(VersionSpec::logged_model().alias("challenger"))
                .version(VersionSpec::logged_model().stage("Staging")),
        )
        .model(
            ModelSpec::new("wine")
                .tag("mlflow-gitops.profile", "large")
                .version(VersionSpec::logged_model().stage("Production")),
        )
        .build(Backend::Sqlite)
}

struct Run<'a> {
    registry: &'a Registry,
    bucket: &'a Bucket<'static>,
    remote: &'a GitRemote,
    config: std::path::PathBuf,
    scratch: &'a std::path::Path,
}

impl Run<'_> {
    fn sync(&self, extra: &[&str]) -> Output {
        let output = Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"))
            .arg("sync")
            .args(["--registry", &self.registry.backend_store_uri()])
            .args(["--mirror", &self.bucket.uri("models")])
            .args(["--repo", &self.remote.url(), "--push"])
            .arg("--config")
            .arg(&self.config)
            .arg("--work-dir")
            .arg(self.scratch.join("work"))
            .arg("--source-root")
            .arg(self.scratch.join("artifacts"))
            .args(extra)
            .envs(self.bucket.env())
            .env("MLFLOW_GITOPS_LOG", "warn")
            .output()
            .expect("run mlflow-gitops");
        let secret = &self.bucket.server().credentials().secret_access_key;
        assert!(!String::from_utf8_lossy(&output.stdout).contains(secret.as_str()));
        assert!(!String::from_utf8_lossy(&output.stderr).contains(secret.as_str()));
        output
    }

    fn object<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let text = String::from_utf8(self.remote.show("main", path).expect(path)).unwrap();
        let set = ManifestSet::from_yaml(&text, path).unwrap();
        set.iter().next().unwrap().decode().unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn profiles_rules_tags_and_a_split_are_committed_as_configured() {
    let scratch = tempfile::tempdir().unwrap();
    let registry = registry(&scratch.path().join("artifacts"));
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let config = scratch.path().join("mlflow-gitops.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let run = Run {
        registry: &registry,
        bucket: &bucket,
        remote: &remote,
        config,
        scratch: scratch.path(),
    };

    // The dry run shows each channel's profile and split before anything is written.
    let plan = run.sync(&["--dry-run"]);
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    let plan = text(&plan.stdout);
    let line = |start: &str| {
        plan.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no {start:?} in\n{plan}"))
    };
    assert!(
        line("would change fraud-eu production: new, version 1 (run ").ends_with(
            ", profile auto, traffic production 90%, challenger 10%; mirror staging 100%"
        )
    );
    assert!(
        line("would change wine production: new, version 1 (run ")
            .ends_with(", profile large, traffic production 100%")
    );
    assert_eq!(
        line("traffic: "),
        "traffic: model wine: route production: challenger, staging not served; traffic \
         production 100%"
    );

    let synced = run.sync(&[]);
    assert!(synced.status.success(), "{}", text(&synced.stderr));
    assert!(text(&synced.stderr).is_empty(), "{}", text(&synced.stderr));
    let checkout = remote.export("main", "deployments/");
    let objects = testkit::kube::assert_valid_kustomization(&checkout.path().join("deployments"));
    // fraud-eu: production 5 (with HPA, PDB), challenger 3, staging 3; wine: production 4 (PDB).
    assert_eq!(objects, 15);

    let fraud = "deployments/fraud-eu/production";
    let deployment: Deployment = run.object(&format!("{fraud}/deployment.yaml"));
    assert_eq!(
        deployment.spec.unwrap().replicas,
        None,
        "the autoscaler owns the count"
    );
    let scaler: HorizontalPodAutoscaler =
        run.object(&format!("{fraud}/horizontalpodautoscaler.yaml"));
    let scaler = scaler.spec.unwrap();
    assert_eq!((scaler.min_replicas, scaler.max_replicas), (Some(2), 10));
    let route: VirtualService = run.object(&format!("{fraud}/virtualservice.yaml"));
    let http = &route.spec.http[0];
    let weights: Vec<(String, Option<i32>)> = http
        .route
        .iter()
        .map(|r| (r.destination.host.clone(), r.weight))
        .collect();
    assert_eq!(
        weights,
        [
            (
                "fraud-eu-production.fraud.svc.cluster.local".to_owned(),
                Some(90)
            ),
            (
                "fraud-eu-challenger.fraud.svc.cluster.local".to_owned(),
                Some(10)
            ),
        ]
    );
    let mirror = http.mirror.as_ref().unwrap();
    assert_eq!(mirror.host, "fraud-eu-staging.fraud.svc.cluster.local");
    assert!(
        remote
            .show("main", "deployments/fraud-eu/challenger/service.yaml")
            .is_some()
    );

    let wine = "deployments/wine/production";
    let deployment: Deployment = run.object(&format!("{wine}/deployment.yaml"));
    let spec = deployment.spec.unwrap();
    assert_eq!(spec.replicas, Some(3));
    let pod = spec.template.spec.unwrap();
    let container = &pod.containers[0];
    assert_eq!(
        container.image.as_deref(),
        Some("registry.example.com/serving/sklearn:1.9")
    );
    let limits = container.resources.clone().unwrap().limits.unwrap();
    assert_eq!(limits["nvidia.com/gpu"].0, "1");
    assert_eq!(pod.node_selector.unwrap()["nvidia.com/gpu.present"], "true");
    assert_eq!(
        pod.tolerations.unwrap()[0].effect.as_deref(),
        Some("NoSchedule")
    );
    let budget: PodDisruptionBudget = run.object(&format!("{wine}/poddisruptionbudget.yaml"));
    assert_eq!(
        budget.spec.unwrap().selector.unwrap().match_labels,
        spec.selector.match_labels
    );

    let readme = text(&remote.show("main", "deployments/README.md").unwrap());
    assert!(
        readme.contains("| auto | production 90%, challenger 10%; mirror staging 100% |"),
        "{readme}"
    );
    let commit = &remote.log()[0];
    assert!(
        commit.subject.starts_with("mlflow-gitops: 4 changes"),
        "{}",
        commit.subject
    );
    assert_eq!(commit.author, "Platform Bot");

    // The flag wins over the file, and a malformed identity is a usage error.
    let bad = run.sync(&["--commit-author", "Platform Bot"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("--commit-author"),
        "{}",
        text(&bad.stderr)
    );

    // Unchanged configuration and registry: nothing to do.
    let again = run.sync(&[]);
    assert!(
        text(&again.stdout).contains("registry unchanged"),
        "{}",
        text(&again.stdout)
    );

    // KServe runs its ServingRuntime's image: what it cannot express is refused before anything
    // is read, naming the configuration key.
    let kserve = run.sync(&["--target", "kserve"]);
    assert_eq!(kserve.status.code(), Some(2), "{}", text(&kserve.stderr));
    let error = text(&kserve.stderr);
    assert!(
        error.contains("profiles.large") && error.contains("ClusterServingRuntime"),
        "{error}"
    );
}
