//! What a platform engineer writes for one team: every field has a default, so the smallest spec
//! is `namespace: team-a`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::{Resources, SecretKeyRef};

/// One team's workspace. Deserializable from YAML or TOML (camelCase keys); unknown keys are
/// refused so a typo cannot silently fall back to a default.
///
/// ```
/// let spec: manifests_core::TenantSpec = serde_json::from_str(r#"{"namespace": "qooba"}"#).unwrap();
/// assert_eq!(spec.bucket, "mlflow");
/// assert!(spec.istio_injection);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct TenantSpec {
    /// The team's namespace (required; an RFC 1035 label).
    pub namespace: String,
    /// Label the namespace `istio-injection: enabled` (default true). Without sidecars there is no
    /// mTLS identity, and the header-trust rule of the authorization policy cannot hold.
    pub istio_injection: bool,
    /// Bucket holding MLflow's artifacts and the model mirrors (default `mlflow`).
    pub bucket: String,
    /// Key prefix of the model mirrors inside the bucket (default `models`).
    pub mirror_prefix: String,
    /// The Secret with the S3 keys every component uses (default `mlflow-s3`, keys
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`). It is referenced, never generated. For
    /// KServe it also carries the [`kserve_storage_annotations`](super::kserve_storage_annotations).
    pub s3_secret: S3Secret,
    /// The object store: the team's own SeaweedFS (default), MinIO with an image the platform
    /// supplies, or an external S3 endpoint.
    pub storage: Storage,
    /// The team's MLflow tracking server and registry.
    pub mlflow: MlflowServerSpec,
    /// The ingress gateway and the hosts it serves.
    pub ingress: Ingress,
    /// Kubeflow notebooks wiring (a PodDefault); on by default.
    pub notebooks: Notebooks,
    /// The promotion daemon and the Argo CD Application; none when `gitops` is absent.
    pub gitops: Option<GitOps>,
    /// Who may talk to the team's pods (read by `policy-gen`).
    pub isolation: Isolation,
}

impl Default for TenantSpec {
    fn default() -> Self {
        Self {
            namespace: String::new(),
            istio_injection: true,
            bucket: "mlflow".into(),
            mirror_prefix: "models".into(),
            s3_secret: S3Secret::default(),
            storage: Storage::default(),
            mlflow: MlflowServerSpec::default(),
            ingress: Ingress::default(),
            notebooks: Notebooks::default(),
            gitops: None,
            isolation: Isolation::default(),
        }
    }
}

/// The isolation policy's settings; the defaults fit a Kubeflow cluster with Istio.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Isolation {
    /// Namespaces whose pods may reach the team's pods and be reached by them (default
    /// `istio-system`, `kubeflow`). Matched by the `kubernetes.io/metadata.name` label, which the
    /// API server sets and nobody can forge.
    pub system_namespaces: Vec<String>,
    /// Where cluster DNS runs (default namespace `kube-system`, pods `k8s-app: kube-dns`).
    pub dns_namespace: String,
    /// Labels of the DNS pods.
    pub dns_pod_labels: BTreeMap<String, String>,
    /// Outside destinations the team's pods may reach (S3 endpoint, git host, package mirrors).
    pub egress: Vec<ExternalEgress>,
    /// Header carrying the authenticated user, set by the ingress gateway (default `kubeflow-userid`).
    pub user_header: String,
    /// Users the header may name (empty: anyone the gateway authenticated).
    pub owners: Vec<String>,
    /// mTLS identities allowed to set the header: the ingress gateway's service account by default.
    pub trusted_principals: Vec<String>,
    /// Also render a cluster-scoped ClusterNetworkPolicy (Admin tier) that denies traffic between
    /// this team and every namespace that is neither its own nor a system or DNS namespace. The
    /// team's own NetworkPolicies can be deleted by the team (Kubeflow's `kubeflow-edit` role
    /// allows it); this one cannot. Off by default: it needs a CNI that implements
    /// `policy.networking.k8s.io/v1alpha2` (Calico 3.32, kube-network-policies, Kube-OVN).
    pub cluster_network_policy: Option<ClusterIsolation>,
}

/// Settings of the tenant's ClusterNetworkPolicy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterIsolation {
    /// Priority in the Admin tier, 0–1000 (default 100); lower is checked first. Tenants' policies
    /// select disjoint namespaces, so they may share one priority.
    pub priority: u32,
}

impl Default for ClusterIsolation {
    fn default() -> Self {
        Self { priority: 100 }
    }
}

impl Default for Isolation {
    fn default() -> Self {
        Self {
            system_namespaces: vec!["istio-system".into(), "kubeflow".into()],
            dns_namespace: "kube-system".into(),
            dns_pod_labels: BTreeMap::from([("k8s-app".into(), "kube-dns".into())]),
            egress: Vec::new(),
            user_header: "kubeflow-userid".into(),
            owners: Vec::new(),
            trusted_principals: vec![
                "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account".into(),
            ],
            cluster_network_policy: None,
        }
    }
}

/// One outside destination, as an ipBlock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalEgress {
    /// A name for the policy (`s3`, `git`): an RFC 1035 label.
    pub name: String,
    /// The CIDR, e.g. `203.0.113.10/32`.
    pub cidr: String,
    /// CIDRs inside it that stay closed.
    #[serde(default)]
    pub except: Vec<String>,
    /// TCP ports (none: every port).
    #[serde(default)]
    pub ports: Vec<u16>,
}

/// The Secret holding the S3 keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct S3Secret {
    /// Secret name (default `mlflow-s3`).
    pub name: String,
    /// Key of the access key id (default `AWS_ACCESS_KEY_ID`).
    pub access_key_id_key: String,
    /// Key of the secret access key (default `AWS_SECRET_ACCESS_KEY`).
    pub secret_access_key_key: String,
}

impl Default for S3Secret {
    fn default() -> Self {
        Self {
            name: crate::serving::DEFAULT_S3_SECRET.into(),
            access_key_id_key: "AWS_ACCESS_KEY_ID".into(),
            secret_access_key_key: "AWS_SECRET_ACCESS_KEY".into(),
        }
    }
}

impl S3Secret {
    /// Reference to the access key id.
    pub fn access_key_id(&self) -> SecretKeyRef {
        SecretKeyRef::new(&self.name, &self.access_key_id_key)
    }

    /// Reference to the secret access key.
    pub fn secret_access_key(&self) -> SecretKeyRef {
        SecretKeyRef::new(&self.name, &self.secret_access_key_key)
    }
}

/// Where the team's objects live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "type",
    deny_unknown_fields
)]
pub enum Storage {
    /// SeaweedFS in the team's namespace (the default): S3 with the S3 Secret's key pair as its
    /// one identity, data on a PersistentVolumeClaim.
    Seaweedfs {
        /// Image (default: this repository's object-store image).
        #[serde(default = "default_seaweedfs_image")]
        image: String,
        /// Volume size (default `20Gi`).
        #[serde(default = "default_store_size")]
        size: String,
        /// StorageClass; none uses the cluster default.
        #[serde(default)]
        storage_class: Option<String>,
    },
    /// A MinIO in the team's namespace; its root user is the S3 Secret's key pair. No default
    /// image: MinIO's community images are no longer published (see `images/README.md`), so
    /// the platform names the image it builds or buys.
    Minio {
        /// Image, e.g. one the platform builds from MinIO's source.
        image: String,
        /// Volume size (default `20Gi`).
        #[serde(default = "default_store_size")]
        size: String,
        /// StorageClass; none uses the cluster default.
        #[serde(default)]
        storage_class: Option<String>,
    },
    /// An S3 endpoint outside the namespace (AWS S3 when `endpointUrl` is absent).
    External {
        /// Endpoint URL, e.g. `https://s3.example.com`; no credentials in it.
        #[serde(default)]
        endpoint_url: Option<String>,
        /// Region (default `us-east-1`).
        #[serde(default = "default_region")]
        region: String,
    },
}

fn default_seaweedfs_image() -> String {
    crate::images::Image::ObjectStore.default_reference()
}

fn default_store_size() -> String {
    "20Gi".into()
}

fn default_region() -> String {
    "us-east-1".into()
}

impl Default for Storage {
    fn default() -> Self {
        Self::Seaweedfs {
            image: default_seaweedfs_image(),
            size: default_store_size(),
            storage_class: None,
        }
    }
}

/// The team's MLflow tracking server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct MlflowServerSpec {
    /// Image (default: this repository's mlflow-server image, with boto3, psycopg2 and PyMySQL).
    pub image: String,
    /// Backend store: SQLite on a volume (default) or a database whose URI is in a Secret.
    pub backend: Backend,
    /// Extra `Host` headers MLflow accepts (its DNS-rebinding guard refuses any host it does not
    /// know; the in-cluster service names are always added). Add the external host of the UI here.
    pub allowed_hosts: Vec<String>,
    /// Requests and limits.
    pub resources: Resources,
}

impl Default for MlflowServerSpec {
    fn default() -> Self {
        Self {
            image: crate::images::Image::MlflowServer.default_reference(),
            backend: Backend::default(),
            allowed_hosts: Vec::new(),
            resources: Resources::default(),
        }
    }
}

/// MLflow's backend store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "type",
    deny_unknown_fields
)]
pub enum Backend {
    /// `sqlite:////mlflow/mlflow.db` on a volume (one replica only: SQLite does not share).
    Sqlite {
        /// Volume size (default `10Gi`).
        #[serde(default = "default_db_size")]
        size: String,
        /// StorageClass; none uses the cluster default.
        #[serde(default)]
        storage_class: Option<String>,
    },
    /// A MySQL or PostgreSQL URI (with its password) read from a Secret.
    Database {
        /// Where the URI is.
        uri: SecretKeyRef,
    },
}

fn default_db_size() -> String {
    "10Gi".into()
}

impl Default for Backend {
    fn default() -> Self {
        Self::Sqlite {
            size: default_db_size(),
            storage_class: None,
        }
    }
}

/// Ingress through Istio.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Ingress {
    /// Labels of the ingress gateway pods (default `istio: ingressgateway`).
    pub gateway_selector: BTreeMap<String, String>,
    /// Hosts the team gateway serves (default `*`).
    pub hosts: Vec<String>,
    /// Path prefix of the MLflow UI (default `/mlflow/<namespace>/`).
    pub mlflow_path: Option<String>,
}

impl Default for Ingress {
    fn default() -> Self {
        Self {
            gateway_selector: BTreeMap::from([("istio".into(), "ingressgateway".into())]),
            hosts: vec!["*".into()],
            mlflow_path: None,
        }
    }
}

/// Notebook wiring.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Notebooks {
    /// Emit the PodDefault (default true).
    pub enabled: bool,
}

impl Default for Notebooks {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// The GitOps repository the team's models are written to, and the daemon that writes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct GitOps {
    /// Repository URL (required), e.g. `ssh://git@git.example.com/platform/models.git`.
    pub repo_url: String,
    /// Branch (default `main`).
    pub branch: String,
    /// Managed directory (default `deployments/<namespace>`).
    pub path: Option<String>,
    /// `mlflow-serve` (default) or `kserve`.
    pub target: String,
    /// Daemon image (default: this repository's daemon image, built by `scripts/build-images.sh`).
    pub image: String,
    /// Poll interval of the daemon (default `30s`).
    pub interval: String,
    /// Secret with the deploy key (`ssh-privatekey`) and the server's host keys (`known_hosts`):
    /// host keys are verified, never scanned on first use (default `mlflow-gitops-git`).
    pub git_secret: String,
    /// Namespace where Argo CD runs (default `argocd`).
    pub argocd_namespace: String,
    /// Argo CD project (default `default`).
    pub argocd_project: String,
    /// Secret that turns MLflow webhooks on (default: off, the daemon polls every `interval`).
    /// Keys: `webhook-secret`, the text MLflow signs deliveries with; `encryption-key`, a Fernet
    /// key (`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)
    /// that every MLflow worker must share, or most signed deliveries are silently dropped. The
    /// daemon registers the webhook at start and takes deliveries on its Service.
    pub webhook_secret: Option<String>,
    /// Channels whose changes wait for review (the daemon's `--review`): each goes to its own
    /// branch `mlflow-gitops/review/<path>/<model>/<channel>` for a human to merge, while other
    /// channels reach `branch` directly (default: none).
    pub review: Vec<String>,
    /// Push options sent with each review branch (the daemon's `--push-option`), e.g.
    /// `merge_request.create` for GitLab to open a merge request (default: none).
    pub push_options: Vec<String>,
}

impl Default for GitOps {
    fn default() -> Self {
        Self {
            repo_url: String::new(),
            branch: "main".into(),
            path: None,
            target: "mlflow-serve".into(),
            image: crate::images::Image::Daemon.default_reference(),
            interval: "30s".into(),
            git_secret: "mlflow-gitops-git".into(),
            argocd_namespace: "argocd".into(),
            argocd_project: "default".into(),
            webhook_secret: None,
            review: Vec::new(),
            push_options: Vec::new(),
        }
    }
}

impl GitOps {
    /// The managed directory for `namespace`.
    pub fn path_for(&self, namespace: &str) -> String {
        self.path
            .clone()
            .unwrap_or_else(|| format!("deployments/{namespace}"))
    }
}
