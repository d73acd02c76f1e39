//! What the fuzz targets check, as plain functions: `cargo fuzz` drives them with libFuzzer
//! (`fuzz_targets/`), and `tests/corpora.rs` replays the kept corpora and every crash input
//! through exactly the same code in the ordinary test run.
//!
//! Each function takes arbitrary bytes and panics when a property fails:
//!
//! ```
//! fuzz::k8s_name(b"Wine Quality / ElasticNet\0@champion");
//! fuzz::uri(b"postgresql\0u\0db:5432/mlflow");
//! ```
//!
//! Run one target for ten minutes (the stable toolchain works with the sanitizer off):
//! `cargo fuzz run --features libfuzzer -s none uri -- -max_total_time=600`.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use artifact_store::Resolver;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use manifests_core::naming::{is_rfc1035_label, k8s_label, k8s_name as name_of};
use manifests_core::{ManifestSet, MlflowServe, ServingSpec, ServingTarget};
use policy_gen::{Cluster, Endpoint, Evaluator, Policy, Proto};
use registry_reader::BackendUri;
use registry_reader::resolve::{self, Location};

/// A password no generated input holds by chance: seeing it in any message is a leak.
const SENTINEL: &str = "Pw7sentinelQ3";

/// URI handling, for any string a user or a registry row may hold:
/// - MLflow backend-store URIs parse or fail without panicking;
/// - a registry location classifies without panicking, and a concrete URI has no control
///   characters and no `..` segment;
/// - artifact-store resolves it or refuses it without panicking (creating nothing);
/// - with a known password put into its userinfo (`scheme\0user\0rest` becomes
///   `scheme://user:<password>@rest`), no parsed URI, location or error message shows it, and
///   neither does the workspace's redaction rule (crate `redaction`).
pub fn uri(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = BackendUri::parse(text);
    if let Ok(Location::Uri(uri)) = resolve::classify(text) {
        assert!(!uri.chars().any(char::is_control), "{uri:?}");
        assert!(!uri.split('/').any(|s| s == ".."), "{uri:?}");
    }
    // Only URIs that name no local path: the target must not depend on this machine's files.
    if text.contains("://") && !text.starts_with("file:") {
        let _ = Resolver::default().resolve(text);
    }

    let mut parts = text.splitn(3, '\0');
    let (Some(scheme), Some(user), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    // A `/`, `?` or `#` before the password ends the authority: it would be a path, not a secret.
    let delimits = |s: &str| s.contains(['/', '?', '#']);
    if delimits(scheme) || delimits(user) || text.contains(SENTINEL) || scheme == "file" {
        return;
    }
    let secret_uri = format!("{scheme}://{user}:{SENTINEL}@{rest}");
    let hidden = |shown: &str, what: &str| {
        assert!(
            !shown.contains(SENTINEL),
            "{what} shows the password: {shown:?}"
        );
    };
    match BackendUri::parse(&secret_uri) {
        Ok(parsed) => hidden(&parsed.to_string(), "a backend URI"),
        Err(e) => hidden(&e.to_string(), "a backend URI error"),
    }
    match Resolver::default().resolve(&secret_uri) {
        Ok(location) => hidden(location.uri(), "a location"),
        Err(e) => hidden(&e.to_string(), "a resolver error"),
    }
    // The rule every crate shows URIs by (its own property tests check the user part goes too).
    hidden(&redaction::uri(&secret_uri), "the redaction rule");
}

/// Kubernetes names from free text (`model\0channel\0other`): always an RFC 1035 label of at most
/// 63 characters, the same for the same input, a clean name unchanged, and different for
/// different inputs.
pub fn k8s_name(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let model = parts.next().unwrap_or_default();
    let channel = parts.next().unwrap_or("production");
    let other = parts.next().unwrap_or("iris");

    let name = name_of(model, channel);
    assert!(is_rfc1035_label(&name), "{model:?} {channel:?} → {name:?}");
    assert_eq!(name, name_of(model, channel), "not deterministic");
    let label = k8s_label(model);
    assert!(is_rfc1035_label(&label), "{model:?} → {label:?}");
    if is_rfc1035_label(model) && !model.contains("--") {
        assert_eq!(label, model, "a clean name was changed");
    }
    if other != model {
        assert_ne!(k8s_label(other), label, "{other:?} and {model:?} collide");
        assert_ne!(
            name_of(other, channel),
            name,
            "{other:?} and {model:?} collide"
        );
    }
}

/// Registry strings through rendering (`model\0channel\0source\0tag key\0tag value`): the YAML
/// the repository gets parses back into exactly the objects rendered (so no string added,
/// removed or changed an object), and every string comes back as data in its annotation.
pub fn yaml_roundtrip(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let mut next = |default: &str| parts.next().unwrap_or(default).to_owned();
    let spec = ServingSpec {
        namespace: "models".into(),
        model: next("iris"),
        version: "1".into(),
        channel: next("production"),
        model_uri: "s3://models/iris/1".into(),
        run_id: None,
        source: Some(next("s3://mlflow/1/artifacts")),
        tags: BTreeMap::from([(next("owner"), next("team-a"))]),
        install: Vec::new(),
        profile: None,
        traffic: None,
    };
    let Ok(rendered) = MlflowServe::default().render(&spec) else {
        return;
    };
    let yaml = rendered.to_yaml().expect("a rendered set serializes");
    let back = ManifestSet::from_yaml(&yaml, "fuzz").expect("our own YAML parses");
    assert_eq!(back, rendered, "the YAML does not give back the objects");
    let deployment = back
        .iter()
        .find(|m| m.key().kind == "Deployment")
        .expect("a Deployment");
    let annotations = &deployment.body()["metadata"]["annotations"];
    assert_eq!(annotations["mlflow-gitops.io/model"], spec.model.as_str());
    assert_eq!(
        annotations["mlflow-gitops.io/channel"],
        spec.channel.as_str()
    );
}

/// NetworkPolicy parsing and evaluation on any YAML: parsing fails cleanly or gives a cluster and
/// policies; evaluation never panics, is deterministic, and a pod always reaches itself.
pub fn netpol(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(set) = ManifestSet::from_yaml(text, "fuzz") else {
        return;
    };
    let Ok(cluster) = Cluster::from_manifests(&set) else {
        return;
    };
    let _ = policy_gen::verify(&set, &cluster);
    let policies: Vec<Policy> = set
        .iter()
        .filter(|m| m.key().kind == "NetworkPolicy")
        .filter_map(|m| m.decode::<NetworkPolicy>().ok())
        .filter_map(|p| Policy::from_k8s(&p, "default").ok())
        .collect();
    let evaluator = Evaluator::new(&cluster, &policies);
    let pods: Vec<Endpoint> = (0..cluster.pods().len().min(6))
        .map(|i| Endpoint::Pod(policy_gen::PodId(i)))
        .collect();
    let outside = Endpoint::External([10, 0, 0, 1].into());
    for &src in pods.iter().chain([&outside]) {
        for &dst in pods.iter().chain([&outside]) {
            for (port, proto) in [(53, Proto::Udp), (5000, Proto::Tcp)] {
                let verdict = evaluator.reachable(src, dst, port, proto);
                assert_eq!(verdict, evaluator.reachable(src, dst, port, proto));
                if src == dst {
                    assert!(verdict.allowed, "a pod cannot block itself");
                }
            }
        }
    }
}
