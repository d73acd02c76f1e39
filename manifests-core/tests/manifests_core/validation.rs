//! The conformance suite every ServingTarget and every tenant variant must pass: `kubectl
//! kustomize` builds the output, `kubernetes-validate --strict` accepts every core object, and every
//! custom resource validates against its real CRD schema with unknown fields refused.

use crate::common;

use manifests_core::meta::SecretKeyRef;
use manifests_core::tenant::{Backend, GitOps, Notebooks, Storage};
use manifests_core::{
    KServe, ManifestSet, MlflowServe, ServingSpec, ServingTarget, TenantSpec, conformance,
    tenant_components,
};

fn judge(set: &ManifestSet) {
    let dir = tempfile::tempdir().unwrap();
    common::write_kustomization(set, dir.path());
    let checked = testkit::kube::assert_valid_kustomization(dir.path());
    assert_eq!(checked, set.len(), "kustomize dropped or added objects");
}

#[test]
fn mlflow_serve_passes_the_suite() {
    conformance::run_all(&MlflowServe::default());
}

#[test]
fn kserve_passes_the_suite() {
    conformance::run_all(&KServe {
        deployment_mode: Some("RawDeployment".into()),
        ..Default::default()
    });
}

#[test]
fn every_tenant_variant_passes_the_suite() {
    let gitops = |target: &str| GitOps {
        repo_url: "ssh://git@git.example.com/platform/models.git".into(),
        target: target.into(),
        ..Default::default()
    };
    let variants = [
        TenantSpec {
            namespace: "team-minimal".into(),
            ..Default::default()
        },
        TenantSpec {
            namespace: "team-external".into(),
            istio_injection: false,
            storage: Storage::External {
                endpoint_url: Some("https://s3.example.com".into()),
                region: "eu-west-1".into(),
            },
            mlflow: manifests_core::tenant::MlflowServerSpec {
                backend: Backend::Database {
                    uri: SecretKeyRef::new("mlflow-db", "uri"),
                },
                allowed_hosts: vec!["mlflow.example.com".into()],
                ..Default::default()
            },
            notebooks: Notebooks { enabled: false },
            gitops: Some(gitops("kserve")),
            ..Default::default()
        },
        TenantSpec {
            namespace: "team-serve".into(),
            gitops: Some(gitops("mlflow-serve")),
            ..Default::default()
        },
        TenantSpec {
            namespace: "team-webhooks".into(),
            gitops: Some(GitOps {
                webhook_secret: Some("mlflow-webhook".into()),
                ..gitops("mlflow-serve")
            }),
            ..Default::default()
        },
    ];
    let mut set = ManifestSet::new();
    for spec in &variants {
        set.extend(tenant_components(spec).unwrap()).unwrap();
    }
    judge(&set);
}

#[test]
fn bad_tenant_specs_are_refused_naming_the_field() {
    let cases = [
        (TenantSpec::default(), "tenant.namespace"),
        (
            TenantSpec {
                namespace: "Team_A".into(),
                ..Default::default()
            },
            "tenant.namespace",
        ),
        (
            TenantSpec {
                namespace: "a".into(),
                gitops: Some(GitOps::default()),
                ..Default::default()
            },
            "tenant.gitops.repoUrl",
        ),
        (
            TenantSpec {
                namespace: "a".into(),
                gitops: Some(GitOps {
                    repo_url: "ssh://git@h/r".into(),
                    target: "seldon".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "tenant.gitops.target",
        ),
        (
            TenantSpec {
                namespace: "a".into(),
                gitops: Some(GitOps {
                    repo_url: "ssh://git@h/r".into(),
                    webhook_secret: Some("Not A Secret".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "tenant.gitops.webhookSecret",
        ),
    ];
    let cases = cases.into_iter().chain(
        [
            (vec!["pro duction"], vec![], "tenant.gitops.review"),
            (vec!["a/b"], vec![], "tenant.gitops.review"),
            (vec!["a,b"], vec![], "tenant.gitops.review"),
            (vec![""], vec![], "tenant.gitops.review"),
            (
                vec!["production"],
                vec!["title=a\nb"],
                "tenant.gitops.pushOptions",
            ),
            (vec!["production"], vec![""], "tenant.gitops.pushOptions"),
        ]
        .map(|(review, options, field)| {
            let spec = TenantSpec {
                namespace: "a".into(),
                gitops: Some(GitOps {
                    repo_url: "ssh://git@h/r".into(),
                    review: review.into_iter().map(str::to_owned).collect(),
                    push_options: options.into_iter().map(str::to_owned).collect(),
                    ..Default::default()
                }),
                ..Default::default()
            };
            (spec, field)
        }),
    );
    for (spec, field) in cases {
        let err = tenant_components(&spec).unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
    }
}

#[test]
fn tenant_specs_read_from_yaml_with_defaults_and_refuse_typos() {
    let spec: TenantSpec = manifests_core::yaml::from_documents::<TenantSpec>(
        "namespace: qooba\nstorage:\n  type: external\n  endpointUrl: https://s3.example.com\n",
        "tenant.yaml",
    )
    .unwrap()
    .remove(0);
    assert_eq!(spec.namespace, "qooba");
    assert_eq!(spec.bucket, "mlflow");
    assert!(matches!(spec.storage, Storage::External { ref region, .. } if region == "us-east-1"));
    let typo = manifests_core::yaml::from_documents::<TenantSpec>(
        "namespace: a\nbuckt: x\n",
        "tenant.yaml",
    );
    assert!(typo.unwrap_err().to_string().contains("buckt"));
}

#[test]
fn kserve_refuses_a_location_it_cannot_download() {
    let spec = ServingSpec {
        model_uri: "mlflow-artifacts:/1/abc/artifacts/model".into(),
        ..common::seed_spec("production")
    };
    let err = KServe::default().render(&spec).unwrap_err().to_string();
    assert!(err.contains("serving.model_uri"), "{err}");
}

#[test]
fn duplicates_are_refused() {
    let spec = common::seed_spec("production");
    let mut set = MlflowServe::default().render(&spec).unwrap();
    let again = MlflowServe::default().render(&spec).unwrap();
    let err = set.extend(again).unwrap_err().to_string();
    assert!(err.contains("duplicate") && err.contains("qooba/"), "{err}");
}

#[test]
fn the_environment_step_is_valid_and_needs_an_index() {
    let spec = ServingSpec {
        install: vec!["toolz==1.0.0".into(), "scikit-learn==1.8.0".into()],
        ..common::seed_spec("production")
    };
    let err = MlflowServe::default()
        .render(&spec)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("serving.install") && err.contains("index"),
        "{err}"
    );
    let err = KServe::default().render(&spec).unwrap_err().to_string();
    assert!(err.contains("serving.install"), "{err}");

    let serve = MlflowServe {
        package_index: Some("https://pypi.example.com/simple".into()),
        ..MlflowServe::default()
    };
    let set = serve.render(&spec).unwrap();
    judge(&set);
    let deployment = set.iter().find(|m| m.key().kind == "Deployment").unwrap();
    let pod = &deployment.body()["spec"]["template"]["spec"];
    let init = &pod["initContainers"][0];
    assert_eq!(init["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(init["image"], pod["containers"][0]["image"]);
    let env = &pod["containers"][0]["env"];
    assert!(
        env.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "PYTHONPATH" && e["value"] == "/opt/model-env"),
        "{env}"
    );
    // A credential in the index URL would land in git: refused, without echoing it.
    let leaky = MlflowServe {
        package_index: Some("https://bot:hunter2@pypi.example.com/simple".into()),
        ..MlflowServe::default()
    };
    let err = leaky.render(&spec).unwrap_err().to_string();
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn webhooks_wire_the_mlflow_server_to_the_daemon_and_keep_each_key_where_it_belongs() {
    let spec = TenantSpec {
        namespace: "team-webhooks".into(),
        gitops: Some(GitOps {
            repo_url: "ssh://git@git.example.com/platform/models.git".into(),
            webhook_secret: Some("mlflow-webhook".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let set = tenant_components(&spec).unwrap();
    let yaml = |name: &str| {
        let object = set
            .iter()
            .find(|o| o.key().kind == "Deployment" && o.key().name == name)
            .unwrap_or_else(|| panic!("no Deployment {name}"));
        object.to_yaml().unwrap()
    };
    let server = yaml("mlflow");
    for needed in [
        "MLFLOW_WEBHOOK_ALLOWED_SCHEMES",
        "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS",
        "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY",
        "key: encryption-key",
    ] {
        assert!(server.contains(needed), "{needed}:\n{server}");
    }
    assert!(!server.contains("webhook-secret"), "{server}");
    let daemon = yaml("mlflow-gitops");
    for needed in [
        "--webhook-secret-file",
        "/etc/mlflow-gitops/webhook/webhook-secret",
        "name: register-webhook",
        "http://mlflow-gitops.team-webhooks.svc.cluster.local:9090/webhooks/mlflow",
    ] {
        assert!(daemon.contains(needed), "{needed}:\n{daemon}");
    }
    assert!(!daemon.contains("encryption-key"), "{daemon}");

    // Without the Secret nothing of it is rendered.
    let off = TenantSpec {
        gitops: Some(GitOps {
            webhook_secret: None,
            ..spec.gitops.clone().unwrap()
        }),
        ..spec
    };
    let text = format!("{:?}", tenant_components(&off).unwrap());
    for unwanted in [
        "MLFLOW_WEBHOOK",
        "register-webhook",
        "--webhook-secret-file",
    ] {
        assert!(
            !text.contains(unwanted),
            "{unwanted} rendered while webhooks are off"
        );
    }
}

/// `gitops.review` and `gitops.pushOptions` reach the daemon as `--review` (one comma-separated
/// argument) and one `--push-option` each, read back from the rendered Deployment.
#[test]
fn review_settings_reach_the_daemon_as_its_flags() {
    use k8s_openapi::api::apps::v1::Deployment;

    let args = |review: &[&str], options: &[&str]| {
        let spec = TenantSpec {
            namespace: "team-review".into(),
            gitops: Some(GitOps {
                repo_url: "ssh://git@git.example.com/platform/models.git".into(),
                review: review.iter().map(|s| s.to_string()).collect(),
                push_options: options.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let set = tenant_components(&spec).unwrap();
        let daemon = set
            .iter()
            .find(|o| o.key().kind == "Deployment" && o.key().name == "mlflow-gitops")
            .expect("the daemon")
            .decode::<Deployment>()
            .unwrap();
        let pod = daemon.spec.unwrap().template.spec.unwrap();
        pod.containers[0].args.clone().unwrap_or_default()
    };
    let gated = args(
        &["production", "champion"],
        &["merge_request.create", "merge_request.target=main"],
    );
    let at = gated
        .iter()
        .position(|a| a == "--review")
        .expect("--review");
    assert_eq!(gated[at + 1], "production,champion");
    let options: Vec<&str> = gated
        .windows(2)
        .filter(|pair| pair[0] == "--push-option")
        .map(|pair| pair[1].as_str())
        .collect();
    assert_eq!(
        options,
        ["merge_request.create", "merge_request.target=main"]
    );

    let plain = args(&[], &[]);
    assert!(
        !plain
            .iter()
            .any(|a| a == "--review" || a == "--push-option"),
        "{plain:?}"
    );
}
