//! The promotion daemon, the Argo CD Application that applies what it writes, and the
//! ServiceAccount KServe reads the mirrors with.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, EnvVar, KeyToPath, ObjectReference, SecretVolumeSource, ServiceAccount, Volume,
    VolumeMount,
};

use super::mlflow_server;
use super::spec::{GitOps, TenantSpec};
use super::workload::Component;
use crate::crds::argocd::{
    Application, ApplicationDestination, ApplicationSource, ApplicationSpec, AutomatedSync,
    SyncPolicy,
};
use crate::meta;
use crate::{Error, ManifestSet, Result};

/// Name of the daemon's Deployment, Service and ServiceAccount.
pub const NAME: &str = "mlflow-gitops";
/// Port of the daemon's `/healthz` and `/metrics`.
pub const METRICS_PORT: i32 = 9090;
const GIT_DIR: &str = "/etc/mlflow-gitops/git";
const WEBHOOK_DIR: &str = "/etc/mlflow-gitops/webhook";
/// The key of `gitops.webhookSecret` MLflow signs deliveries with.
const WEBHOOK_SECRET_KEY: &str = "webhook-secret";

pub(crate) fn render(spec: &TenantSpec, gitops: &GitOps, s3_env: &[EnvVar]) -> Result<ManifestSet> {
    meta::check_no_credentials("tenant.gitops.repoUrl", &gitops.repo_url)?;
    if gitops.repo_url.is_empty() {
        return Err(Error::Invalid {
            field: "tenant.gitops.repoUrl".into(),
            reason: "required when gitops is set".into(),
        });
    }
    if !["mlflow-serve", "kserve"].contains(&gitops.target.as_str()) {
        return Err(Error::Invalid {
            field: "tenant.gitops.target".into(),
            reason: format!("{:?}: expected mlflow-serve or kserve", gitops.target),
        });
    }
    if let Some(secret) = &gitops.webhook_secret
        && !crate::naming::is_dns_subdomain(secret)
    {
        return Err(Error::Invalid {
            field: "tenant.gitops.webhookSecret".into(),
            reason: format!("{secret:?} is not a Secret name"),
        });
    }
    check_review(gitops)?;
    let ns = spec.namespace.as_str();
    let component = Component {
        namespace: ns,
        name: NAME,
        component: "promotion-daemon",
    };
    let mut set = ManifestSet::new();
    set.push(&component.service_account())?;
    set.push(&daemon(&component, spec, gitops, s3_env))?;
    set.push(&component.service(&[("http", METRICS_PORT)]))?;
    if gitops.target == "kserve" {
        set.push(&kserve_account(spec))?;
    }
    set.push(&application(spec, gitops))?;
    Ok(set)
}

/// The review settings as the daemon takes them: channel names it can put in a branch name and
/// in its comma-separated `--review`, and push options of one line each.
fn check_review(gitops: &GitOps) -> Result<()> {
    let bad_channel = gitops.review.iter().find(|channel| {
        channel.is_empty() || channel.contains(|c: char| c == '/' || c == ',' || c.is_whitespace())
    });
    if let Some(channel) = bad_channel {
        return Err(Error::Invalid {
            field: "tenant.gitops.review".into(),
            reason: format!("{channel:?} is not a channel name (no `/`, `,` or spaces)"),
        });
    }
    let bad_option = gitops
        .push_options
        .iter()
        .find(|option| option.is_empty() || option.contains(['\n', '\r', '\0']));
    if let Some(option) = bad_option {
        return Err(Error::Invalid {
            field: "tenant.gitops.pushOptions".into(),
            reason: format!("{option:?}: a push option is one non-empty line"),
        });
    }
    Ok(())
}

/// The daemon's command line: `watch` against the team's MLflow server, mirroring into the team
/// bucket and pushing over SSH with the key and known hosts of the git Secret.
fn daemon_args(spec: &TenantSpec, gitops: &GitOps) -> Vec<String> {
    let ns = spec.namespace.as_str();
    let mirror = format!("s3://{}/{}", spec.bucket, spec.mirror_prefix);
    // The tracking server's --artifacts-destination: where `mlflow-artifacts:/` sources live.
    let artifacts = super::artifacts_destination(spec);
    let key = format!("{GIT_DIR}/ssh-privatekey");
    let known_hosts = format!("{GIT_DIR}/known_hosts");
    let listen = format!("0.0.0.0:{METRICS_PORT}");
    let tracking = mlflow_server::tracking_uri(ns);
    let path = gitops.path_for(ns);
    [
        "watch",
        "--registry",
        &tracking,
        "--mirror",
        &mirror,
        "--artifacts-destination",
        &artifacts,
        "--repo",
        &gitops.repo_url,
        "--branch",
        &gitops.branch,
        "--prefix",
        &path,
        "--namespace",
        ns,
        "--target",
        &gitops.target,
        "--ssh-key",
        &key,
        "--known-hosts",
        &known_hosts,
        "--interval",
        &gitops.interval,
        "--listen",
        &listen,
        "--push",
    ]
    .map(str::to_owned)
    .to_vec()
    .into_iter()
    .chain(
        gitops
            .webhook_secret
            .as_ref()
            .into_iter()
            .flat_map(|_| ["--webhook-secret-file".to_owned(), webhook_secret_file()]),
    )
    .chain(
        (!gitops.review.is_empty())
            .then(|| ["--review".to_owned(), gitops.review.join(",")])
            .into_iter()
            .flatten(),
    )
    .chain(
        gitops
            .push_options
            .iter()
            .flat_map(|option| ["--push-option".to_owned(), option.clone()]),
    )
    .collect()
}

fn webhook_secret_file() -> String {
    format!("{WEBHOOK_DIR}/{WEBHOOK_SECRET_KEY}")
}

/// The init container that creates or updates the MLflow webhook pointing at the daemon's
/// Service (by name, so every start may run it); it fails, and the kubelet retries it, until the
/// tracking server answers.
fn register_webhook(spec: &TenantSpec, gitops: &GitOps, mounts: Vec<VolumeMount>) -> Container {
    let ns = spec.namespace.as_str();
    let receiver = format!("http://{NAME}.{ns}.svc.cluster.local:{METRICS_PORT}/webhooks/mlflow");
    Container {
        name: "register-webhook".into(),
        image: Some(gitops.image.clone()),
        args: Some(
            [
                "registry",
                "webhook",
                "register",
                "--registry",
                &mlflow_server::tracking_uri(ns),
                "--url",
                &receiver,
                "--secret-file",
                &webhook_secret_file(),
            ]
            .map(str::to_owned)
            .to_vec(),
        ),
        security_context: Some(meta::restricted_container_security()),
        resources: Some(daemon_resources()),
        volume_mounts: Some(mounts),
        ..Default::default()
    }
}

fn daemon_resources() -> k8s_openapi::api::core::v1::ResourceRequirements {
    meta::Resources {
        cpu_request: "50m".into(),
        memory_request: "128Mi".into(),
        cpu_limit: None,
        memory_limit: "512Mi".into(),
    }
    .requirements()
}

fn daemon(
    component: &Component<'_>,
    spec: &TenantSpec,
    gitops: &GitOps,
    s3_env: &[EnvVar],
) -> k8s_openapi::api::apps::v1::Deployment {
    let args = daemon_args(spec, gitops);
    let (work, work_mount) = meta::scratch_volume("work", "/var/lib/mlflow-gitops", false);
    let (tmp, tmp_mount) = meta::scratch_volume("tmp", "/tmp", false);
    let git = Volume {
        name: "git".into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(gitops.git_secret.clone()),
            // Group-readable for the pod's fsGroup; ssh only rejects keys the user itself owns
            // with loose permissions, and these files belong to root.
            default_mode: Some(0o440),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut env = s3_env.to_vec();
    env.push(meta::env("HOME", "/tmp"));
    env.push(meta::env(
        "MLFLOW_GITOPS_WORK_DIR",
        "/var/lib/mlflow-gitops",
    ));
    let container = Container {
        name: "mlflow-gitops".into(),
        image: Some(gitops.image.clone()),
        args: Some(args),
        ports: Some(vec![meta::tcp_port("http", METRICS_PORT)]),
        env: Some(env),
        readiness_probe: Some(meta::http_probe("/healthz", 10, 3)),
        // /healthz turns unhealthy while a store is down; restarting would not help, so
        // liveness asks only whether the process answers.
        liveness_probe: Some(meta::http_probe("/livez", 30, 5)),
        resources: Some(daemon_resources()),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "git".into(),
                mount_path: GIT_DIR.into(),
                read_only: Some(true),
                ..Default::default()
            },
            work_mount,
            tmp_mount.clone(),
        ]),
        ..Default::default()
    };
    let mut volumes = vec![git, work, tmp];
    let Some(secret) = &gitops.webhook_secret else {
        return component.deployment(container, volumes, false);
    };
    let mount = VolumeMount {
        name: "webhook".into(),
        mount_path: WEBHOOK_DIR.into(),
        read_only: Some(true),
        ..Default::default()
    };
    volumes.push(Volume {
        name: "webhook".into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.clone()),
            // Only the signing secret: the encryption key is the MLflow server's alone.
            items: Some(vec![KeyToPath {
                key: WEBHOOK_SECRET_KEY.into(),
                path: WEBHOOK_SECRET_KEY.into(),
                ..Default::default()
            }]),
            default_mode: Some(0o440),
            ..Default::default()
        }),
        ..Default::default()
    });
    let mut container = container;
    container
        .volume_mounts
        .get_or_insert_default()
        .push(mount.clone());
    let init = register_webhook(spec, gitops, vec![mount, tmp_mount]);
    let mut deployment = component.deployment(container, volumes, false);
    if let Some(pod) = deployment
        .spec
        .as_mut()
        .and_then(|s| s.template.spec.as_mut())
    {
        pod.init_containers = Some(vec![init]);
    }
    deployment
}

/// The ServiceAccount KServe's predictors run as, listing the S3 Secret. It carries the
/// [`kserve_storage_annotations`] too, which KServe reads from a ServiceAccount only together with
/// an IRSA role (`eks.amazonaws.com/role-arn`); with keys in the Secret it reads them from the
/// Secret.
fn kserve_account(spec: &TenantSpec) -> ServiceAccount {
    let component = Component {
        namespace: &spec.namespace,
        name: crate::serving::DEFAULT_SERVICE_ACCOUNT,
        component: "model-storage-access",
    };
    let mut account = component.service_account();
    account.metadata.annotations = Some(kserve_storage_annotations(spec));
    account.secrets = Some(vec![ObjectReference {
        name: Some(spec.s3_secret.name.clone()),
        ..Default::default()
    }]);
    account
}

/// The `serving.kserve.io/s3-*` annotations that tell KServe's storage initializer where the
/// team's store is (endpoint as host:port, https or not, region). KServe reads them from the S3
/// Secret (`pkg/credentials/s3/s3_secret.go`), which the platform creates: it must carry these
/// next to `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, or KServe downloads from AWS S3.
pub fn kserve_storage_annotations(spec: &TenantSpec) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::new();
    if let Some(endpoint) = super::s3_access(spec).endpoint_url {
        let https = endpoint.starts_with("https://");
        let host = endpoint
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/');
        annotations.insert("serving.kserve.io/s3-endpoint".into(), host.to_owned());
        annotations.insert(
            "serving.kserve.io/s3-usehttps".into(),
            if https { "1" } else { "0" }.into(),
        );
    }
    annotations.insert(
        "serving.kserve.io/s3-region".into(),
        super::region(spec).into(),
    );
    annotations
}

fn application(spec: &TenantSpec, gitops: &GitOps) -> Application {
    let ns = spec.namespace.as_str();
    let mut metadata = meta::object_meta(
        &format!("{ns}-models"),
        &gitops.argocd_namespace,
        meta::standard_labels("mlflow-models", ns, "gitops"),
        BTreeMap::new(),
    );
    // Argo CD deletes the tenant's model objects when the Application is deleted, not orphaning them.
    metadata.finalizers = Some(vec!["resources-finalizer.argocd.argoproj.io".into()]);
    Application {
        metadata,
        spec: ApplicationSpec {
            project: gitops.argocd_project.clone(),
            source: ApplicationSource {
                repo_url: gitops.repo_url.clone(),
                target_revision: gitops.branch.clone(),
                path: gitops.path_for(ns),
            },
            destination: ApplicationDestination {
                server: "https://kubernetes.default.svc".into(),
                namespace: ns.to_owned(),
            },
            sync_policy: Some(SyncPolicy {
                // prune: a demoted model leaves git, and Argo CD must then remove it.
                automated: Some(AutomatedSync {
                    prune: true,
                    self_heal: true,
                }),
                sync_options: vec!["CreateNamespace=false".into()],
            }),
        },
    }
}
