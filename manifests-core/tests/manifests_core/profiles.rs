//! Profiles and traffic splits, rendered and judged by the real consumers (`kubectl kustomize`,
//! `kubernetes-validate --strict`, the Istio and KServe CRD schemas), then read back as the typed
//! objects Kubernetes would hold: the values must land where Kubernetes reads them.

use crate::common;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use manifests_core::crds::istio::VirtualService;
use manifests_core::crds::kserve::InferenceService;
use manifests_core::serving::profile::KeyRef;
use manifests_core::serving::{NamedProfile, Profile};
use manifests_core::{
    KServe, ManifestSet, MlflowServe, ServingSpec, ServingTarget, Traffic, conformance,
};

/// The conformance suite's `large` profile, with an image and a startup budget of its own.
pub fn gpu() -> Arc<NamedProfile> {
    let [large, _] = conformance::sample_profiles();
    let mut profile = large.profile.clone();
    profile.image = Some("registry.example.com/serving/sklearn:1.9".into());
    profile.startup_seconds = Some(1200);
    NamedProfile::new("large", profile).unwrap()
}

pub fn auto() -> Arc<NamedProfile> {
    let [_, auto] = conformance::sample_profiles();
    auto
}

pub fn split(mirror: bool) -> Traffic {
    let uri = |version: u32| format!("s3://mlflow/models/ElasticnetWineModel2/{version}");
    conformance::sample_split(&uri(3), &uri(4), mirror)
}

fn judge(set: &ManifestSet) {
    let dir = tempfile::tempdir().unwrap();
    common::write_kustomization(set, dir.path());
    let checked = testkit::kube::assert_valid_kustomization(dir.path());
    assert_eq!(checked, set.len(), "kustomize dropped or added objects");
}

fn object<T: serde::de::DeserializeOwned>(set: &ManifestSet, kind: &str) -> T {
    set.iter()
        .find(|m| m.key().kind == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
        .decode()
        .unwrap()
}

#[test]
fn profiles_and_a_split_land_where_kubernetes_reads_them() {
    let serve = MlflowServe::default();
    let large = ServingSpec {
        profile: Some(gpu()),
        traffic: Some(split(true)),
        ..common::seed_spec("production")
    };
    let autoscaled = ServingSpec {
        profile: Some(auto()),
        ..common::seed_spec("challenger")
    };
    let large_set = serve.render(&large).unwrap();
    let auto_set = serve.render(&autoscaled).unwrap();
    let mut all = large_set.clone();
    all.extend(auto_set.clone()).unwrap();
    judge(&all);

    let deployment: Deployment = object(&large_set, "Deployment");
    let spec = deployment.spec.unwrap();
    assert_eq!(spec.replicas, Some(3));
    let pod = spec.template.spec.unwrap();
    let container = &pod.containers[0];
    assert_eq!(
        container.image.as_deref(),
        Some("registry.example.com/serving/sklearn:1.9")
    );
    let resources = container.resources.clone().unwrap();
    assert_eq!(resources.limits.unwrap()["nvidia.com/gpu"].0, "1");
    assert_eq!(resources.requests.unwrap()["memory"].0, "4Gi");
    assert_eq!(pod.node_selector.unwrap()["nvidia.com/gpu.present"], "true");
    assert_eq!(
        pod.tolerations.unwrap()[0].key.as_deref(),
        Some("nvidia.com/gpu")
    );
    assert_eq!(pod.service_account_name.as_deref(), Some("fraud-models"));
    assert_eq!(pod.automount_service_account_token, Some(false));
    let token = container
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "FEATURE_STORE_TOKEN")
        .unwrap();
    let from = token
        .value_from
        .as_ref()
        .unwrap()
        .secret_key_ref
        .as_ref()
        .unwrap();
    assert_eq!(
        (from.name.as_str(), from.key.as_str()),
        ("feature-store", "token")
    );
    assert!(token.value.is_none(), "a profile never holds a value");
    let from_map = &container.env_from.as_ref().unwrap()[0];
    assert_eq!(
        from_map.config_map_ref.as_ref().unwrap().name,
        "fraud-settings"
    );
    // 1,200 s at a 10 s period.
    assert_eq!(
        container.startup_probe.as_ref().unwrap().failure_threshold,
        Some(120)
    );
    let template = spec.template.metadata.unwrap();
    assert_eq!(template.labels.unwrap()["team"], "fraud");
    assert_eq!(
        template.annotations.unwrap()["prometheus.io/scrape"],
        "true"
    );
    let budget: PodDisruptionBudget = object(&large_set, "PodDisruptionBudget");
    let budget = budget.spec.unwrap();
    assert_eq!(
        budget.selector.unwrap().match_labels,
        Some(spec.selector.match_labels.unwrap()),
        "the budget covers exactly the Deployment's pods"
    );

    let route: VirtualService = object(&large_set, "VirtualService");
    let http = &route.spec.http[0];
    let weights: Vec<(String, Option<i32>)> = http
        .route
        .iter()
        .map(|r| (r.destination.host.clone(), r.weight))
        .collect();
    let host = |channel: &str| {
        format!(
            "{}.qooba.svc.cluster.local",
            manifests_core::k8s_name("ElasticnetWineModel2", channel)
        )
    };
    assert_eq!(
        weights,
        [
            (host("production"), Some(90)),
            (host("challenger"), Some(10))
        ]
    );
    assert_eq!(http.mirror.as_ref().unwrap().host, host("staging"));
    assert_eq!(http.mirror_percentage.as_ref().unwrap().value, 100);
    // The challenger's Service is the one its own channel renders.
    let service = auto_set.iter().find(|m| m.key().kind == "Service").unwrap();
    assert!(host("challenger").starts_with(&format!("{}.", service.key().name)));

    let deployment: Deployment = object(&auto_set, "Deployment");
    assert_eq!(
        deployment.spec.unwrap().replicas,
        None,
        "the autoscaler owns the count"
    );
    let scaler: HorizontalPodAutoscaler = object(&auto_set, "HorizontalPodAutoscaler");
    let scaler = scaler.spec.unwrap();
    assert_eq!((scaler.min_replicas, scaler.max_replicas), (Some(2), 10));
    assert_eq!(scaler.scale_target_ref.kind, "Deployment");
    let metric = &scaler.metrics.unwrap()[0];
    assert_eq!(
        metric.resource.as_ref().unwrap().target.average_utilization,
        Some(70)
    );
    assert!(
        auto_set
            .iter()
            .any(|m| m.key().kind == "PodDisruptionBudget"),
        "two replicas at the least get a budget"
    );
}

#[test]
fn kserve_splits_with_canary_predictors_in_standard_mode() {
    let kserve = KServe {
        deployment_mode: Some("Standard".into()),
        ..Default::default()
    };
    let [large, _] = conformance::sample_profiles();
    let spec = ServingSpec {
        profile: Some(large),
        traffic: Some(split(false)),
        ..common::seed_spec("production")
    };
    let set = kserve.render(&spec).unwrap();
    let auto_spec = ServingSpec {
        profile: Some(auto()),
        ..common::seed_spec("staging")
    };
    let auto_set = kserve.render(&auto_spec).unwrap();
    let mut all = set.clone();
    all.extend(auto_set.clone()).unwrap();
    judge(&all);

    let service: InferenceService = object(&set, "InferenceService");
    let predictor = &service.spec.predictor;
    assert_eq!(predictor.min_replicas, Some(3));
    assert_eq!(predictor.max_replicas, Some(3));
    assert_eq!(
        predictor.service_account_name.as_deref(),
        Some("fraud-models")
    );
    assert_eq!(predictor.labels.as_ref().unwrap()["team"], "fraud");
    let resources = predictor.model.resources.clone().unwrap();
    assert_eq!(resources.limits.unwrap()["nvidia.com/gpu"].0, "1");
    let canary = &service.spec.canary;
    assert_eq!(canary.len(), 1);
    assert_eq!(canary[0].traffic_percent, 10);
    assert_eq!(
        canary[0].predictor.model.storage_uri,
        "s3://mlflow/models/ElasticnetWineModel2/4/"
    );
    assert!(canary[0].predictor.name.is_some());
    assert!(set.iter().any(|m| m.key().kind == "PodDisruptionBudget"));

    let scaled: InferenceService = object(&auto_set, "InferenceService");
    let predictor = &scaled.spec.predictor;
    assert_eq!(
        (predictor.min_replicas, predictor.max_replicas),
        (Some(2), Some(10))
    );
    assert_eq!(predictor.scale_metric.as_deref(), Some("cpu"));
    assert_eq!(predictor.scale_target, Some(70));
}

#[test]
fn what_kserve_cannot_express_is_refused_with_the_reason() {
    let knative = KServe::default();
    let split_only = ServingSpec {
        traffic: Some(split(false)),
        ..common::seed_spec("production")
    };
    let error = knative.render(&split_only).unwrap_err().to_string();
    assert!(error.contains("only in Standard mode"), "{error}");
    let standard = KServe {
        deployment_mode: Some("RawDeployment".into()),
        ..Default::default()
    };
    let mirrored = ServingSpec {
        traffic: Some(split(true)),
        ..common::seed_spec("production")
    };
    let error = standard.render(&mirrored).unwrap_err().to_string();
    assert!(error.contains("cannot mirror"), "{error}");
    let imaged = ServingSpec {
        profile: Some(gpu()),
        ..common::seed_spec("production")
    };
    let error = standard.render(&imaged).unwrap_err().to_string();
    assert!(error.contains("ClusterServingRuntime"), "{error}");
}

#[test]
fn a_profile_env_var_cannot_replace_ours() {
    let mut profile = Profile::default();
    profile.env.insert(
        "HOME".into(),
        KeyRef {
            config_map: Some("c".into()),
            key: "k".into(),
            ..Default::default()
        },
    );
    let spec = ServingSpec {
        profile: Some(NamedProfile::new("p", profile).unwrap()),
        ..common::seed_spec("production")
    };
    let error = MlflowServe::default()
        .render(&spec)
        .unwrap_err()
        .to_string();
    assert!(error.contains("HOME is set by mlflow-gitops"), "{error}");
}

#[test]
fn without_a_profile_or_split_nothing_changes() {
    let plain = common::seed_spec("production");
    for target in [
        Box::new(MlflowServe::default()) as Box<dyn ServingTarget>,
        Box::new(KServe::default()),
    ] {
        let set = target.render(&plain).unwrap();
        let kinds: Vec<&str> = set.iter().map(|m| m.key().kind.as_str()).collect();
        assert!(
            !kinds.contains(&"HorizontalPodAutoscaler") && !kinds.contains(&"PodDisruptionBudget"),
            "{kinds:?}"
        );
        let text = set.to_yaml().unwrap();
        for new in ["weight", "mirror", "canary", "mlflow-gitops.io/profile"] {
            assert!(!text.contains(new), "{new} appears by default");
        }
    }
}
