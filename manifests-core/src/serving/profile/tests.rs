use super::*;

fn tpu() -> Profile {
    Profile {
        resources: Some(ResourceQuantities {
            requests: BTreeMap::from([("cpu".into(), "8".into())]),
            limits: BTreeMap::from([("google.com/tpu".into(), "4".into())]),
        }),
        ..Default::default()
    }
}

fn refused(profile: Profile) -> String {
    profile.check("profiles.p").unwrap_err().to_string()
}

#[test]
fn an_accelerator_profile_is_accepted_and_merged_over_the_defaults() {
    tpu().check("profiles.tpu").unwrap();
    let requirements = tpu()
        .requirements(&Resources::default(), "serving.profile")
        .unwrap();
    let get = |map: &Option<BTreeMap<String, Quantity>>, key: &str| {
        map.as_ref().and_then(|m| m.get(key)).map(|q| q.0.clone())
    };
    assert_eq!(get(&requirements.requests, "cpu").as_deref(), Some("8"));
    assert_eq!(
        get(&requirements.requests, "memory").as_deref(),
        Some("512Mi")
    );
    assert_eq!(get(&requirements.limits, "memory").as_deref(), Some("1Gi"));
    assert_eq!(
        get(&requirements.limits, "google.com/tpu").as_deref(),
        Some("4")
    );
    assert_eq!(
        get(&requirements.limits, "cpu"),
        None,
        "no CPU limit by default"
    );
}

#[test]
fn values_the_api_server_refuses_are_refused_by_name() {
    let quantity = |value: &str| Profile {
        resources: Some(ResourceQuantities {
            requests: BTreeMap::from([("memory".into(), value.into())]),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(refused(quantity("4GB")).contains("profiles.p.resources.requests.memory"));
    assert!(refused(quantity("-1Gi")).contains("not a Kubernetes quantity"));
    let gpu_request_only = Profile {
        resources: Some(ResourceQuantities {
            requests: BTreeMap::from([("nvidia.com/gpu".into(), "1".into())]),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(refused(gpu_request_only).contains("overcommitted"));
    let half_gpu = Profile {
        resources: Some(ResourceQuantities {
            limits: BTreeMap::from([("nvidia.com/gpu".into(), "500m".into())]),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(refused(half_gpu).contains("whole number"));
    let unknown = Profile {
        resources: Some(ResourceQuantities {
            limits: BTreeMap::from([("gpu".into(), "1".into())]),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(refused(unknown).contains("not a resource name"));
    let both = Profile {
        replicas: Some(2),
        autoscaling: Some(Autoscaling {
            min: 2,
            max: 4,
            cpu_percent: Some(70),
            memory_percent: None,
        }),
        ..Default::default()
    };
    assert!(refused(both).contains("replicas or autoscaling"));
    let inverted = Profile {
        autoscaling: Some(Autoscaling {
            min: 5,
            max: 2,
            cpu_percent: Some(70),
            memory_percent: None,
        }),
        ..Default::default()
    };
    assert!(refused(inverted).contains("min <= max"));
    let ours = Profile {
        pod_labels: BTreeMap::from([("app.kubernetes.io/instance".into(), "x".into())]),
        ..Default::default()
    };
    assert!(refused(ours).contains("mlflow-gitops sets these keys"));
    let bad_toleration = Profile {
        tolerations: vec![TolerationSpec {
            key: Some("k".into()),
            operator: Some("Exists".into()),
            value: Some("v".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert!(refused(bad_toleration).contains("tolerations[0]"));
    let two_sources = Profile {
        env: BTreeMap::from([(
            "TOKEN".into(),
            KeyRef {
                secret: Some("s".into()),
                config_map: Some("c".into()),
                key: "k".into(),
            },
        )]),
        ..Default::default()
    };
    assert!(refused(two_sources).contains("exactly one"));
    let bad_name = Profile {
        env: BTreeMap::from([(
            "1=x".into(),
            KeyRef {
                secret: Some("s".into()),
                key: "k".into(),
                ..Default::default()
            },
        )]),
        ..Default::default()
    };
    assert!(refused(bad_name).contains("not an environment variable name"));
}

#[test]
fn a_request_above_the_targets_limit_is_refused_at_render() {
    let big = Profile {
        resources: Some(ResourceQuantities {
            requests: BTreeMap::from([("memory".into(), "4Gi".into())]),
            ..Default::default()
        }),
        ..Default::default()
    };
    big.check("profiles.big").unwrap();
    let error = big
        .requirements(&Resources::default(), "serving.profile")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("memory request is above its limit"),
        "{error}"
    );
}

#[test]
fn profile_names_are_checked() {
    assert!(NamedProfile::new("large", Profile::default()).is_ok());
    for bad in ["", "a b", "-x", "x/y"] {
        assert!(
            NamedProfile::new(bad, Profile::default()).is_err(),
            "{bad:?}"
        );
    }
}
