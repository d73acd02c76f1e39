//! The command line, as DESIGN.md's CLI contract states it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use manifests_core::serving::Profile;
use promotion_sync::{ProfileRule, TrafficRule};

/// Turns an MLflow Model Registry into a GitOps repository for Kubernetes and Argo CD, and renders
/// isolated team workspaces.
///
/// Settings come from flags, then `MLFLOW_GITOPS_*` environment variables, then the TOML file
/// given with --config (keys as the long flags, with `_` for `-`). Serving profiles and traffic
/// splits are in that file only: `[profiles.NAME]`, `[[rules]]`, `[[traffic]]` (README, "Serving
/// profiles"). S3 credentials come from the usual AWS_* variables, the endpoint from
/// MLFLOW_S3_ENDPOINT_URL or AWS_ENDPOINT_URL. Exit codes: 0 ok, 1 runtime failure (or, for `policy verify`, isolation findings), 2 bad usage
/// or configuration.
#[derive(Debug, Parser)]
#[command(name = "mlflow-gitops", version, max_term_width = 100)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "MLFLOW_GITOPS_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the registry.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// One reconcile pass: mirror promoted versions, render, commit (and push with --push).
    Sync(SyncArgs),
    /// The daemon: a pass every --interval, /metrics, /healthz and /livez on --listen.
    Watch(WatchArgs),
    /// Team workspaces.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Isolation policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// One verified recursive copy between two locations (paths, file://, s3://, mlflow-artifacts:/).
    Mirror(MirrorArgs),
}

/// `registry …`
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Promoted versions with their channels and resolved artifact URIs.
    List {
        /// MLflow backend-store URI (sqlite:///…, mysql+pymysql://…, postgresql://…) or tracking URL (http://…).
        #[arg(long, env = "MLFLOW_GITOPS_REGISTRY")]
        registry: String,
        /// The tracking server's --artifacts-destination, to resolve mlflow-artifacts:/ sources.
        #[arg(long, env = "MLFLOW_GITOPS_ARTIFACTS_DESTINATION")]
        artifacts_destination: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// MLflow webhooks.
    #[command(subcommand)]
    Webhook(WebhookCommand),
}

/// `registry webhook …`
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Create (or update, by name) the webhook through which an MLflow server announces new
    /// versions, tags and aliases to `watch --webhook-secret-file`. The server needs
    /// MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,https and MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true for an
    /// in-cluster receiver, and one MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY on every worker.
    Register {
        /// The MLflow tracking server (http://…); credentials from MLFLOW_TRACKING_TOKEN or
        /// MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD.
        #[arg(long, env = "MLFLOW_GITOPS_REGISTRY")]
        registry: String,
        /// Where MLflow delivers: the daemon's listener and the path /webhooks/mlflow, e.g.
        /// `http://mlflow-gitops.team-a.svc:9090/webhooks/mlflow`.
        #[arg(long)]
        url: String,
        /// The shared secret, the same file `watch --webhook-secret-file` reads.
        #[arg(long, env = "MLFLOW_GITOPS_WEBHOOK_SECRET_FILE")]
        secret_file: PathBuf,
        /// The webhook's name in MLflow.
        #[arg(long, default_value = "mlflow-gitops")]
        name: String,
        /// Then have MLflow send a test delivery, and exit 1 unless the receiver accepts it.
        #[arg(long)]
        check: bool,
    },
}

/// Settings shared by `sync` and `watch`.
#[derive(Debug, Clone, Default, Args, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineArgs {
    /// A TOML file with any of these settings (flags and environment win over it).
    #[arg(long, env = "MLFLOW_GITOPS_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// MLflow backend-store URI or tracking URL.
    #[arg(long, env = "MLFLOW_GITOPS_REGISTRY")]
    pub registry: Option<String>,
    /// Where model versions are mirrored: s3://bucket/prefix, a path or file:// URI.
    #[arg(long, env = "MLFLOW_GITOPS_MIRROR")]
    pub mirror: Option<String>,
    /// The GitOps repository: a URL (ssh://, https://, file://) or a local path (a bare repository
    /// is created there when nothing exists yet).
    #[arg(long, env = "MLFLOW_GITOPS_REPO")]
    pub repo: Option<String>,
    /// Branch to commit to [default: main].
    #[arg(long, env = "MLFLOW_GITOPS_BRANCH")]
    pub branch: Option<String>,
    /// The managed directory in the repository [default: deployments].
    #[arg(long, env = "MLFLOW_GITOPS_PREFIX")]
    pub prefix: Option<String>,
    /// The tracking server's --artifacts-destination, to resolve mlflow-artifacts:/ sources.
    #[arg(long, env = "MLFLOW_GITOPS_ARTIFACTS_DESTINATION")]
    pub artifacts_destination: Option<String>,
    /// Kubernetes namespace of the serving objects [default: models].
    #[arg(long, env = "MLFLOW_GITOPS_NAMESPACE")]
    pub namespace: Option<String>,
    /// Serving target [default: mlflow-serve].
    #[arg(long, value_enum, env = "MLFLOW_GITOPS_TARGET")]
    pub target: Option<Target>,
    /// Stages to deploy, comma-separated [default: Staging,Production].
    #[arg(long, env = "MLFLOW_GITOPS_STAGES", value_delimiter = ',')]
    pub stages: Option<Vec<String>>,
    /// Aliases to deploy: `all`, `none`, or a comma-separated list [default: all].
    #[arg(long, env = "MLFLOW_GITOPS_ALIASES")]
    pub aliases: Option<String>,
    /// Push the commit to the repository (without it the commit stays in the work clone).
    #[arg(long, env = "MLFLOW_GITOPS_PUSH")]
    #[serde(default)]
    pub push: bool,
    /// Private clone, lock file and pass cache (deleting the cache only costs one full pass)
    /// [default: ~/.cache/mlflow-gitops/work/ plus a hash of the repository URL and branch].
    #[arg(long, env = "MLFLOW_GITOPS_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    /// SSH private key for ssh:// repositories.
    #[arg(long, env = "MLFLOW_GITOPS_SSH_KEY")]
    pub ssh_key: Option<PathBuf>,
    /// known_hosts holding the git server's host key (host keys are always verified).
    #[arg(long, env = "MLFLOW_GITOPS_KNOWN_HOSTS")]
    pub known_hosts: Option<PathBuf>,
    /// File holding an https token (a mounted Secret); the token is re-read at each push.
    #[arg(long, env = "MLFLOW_GITOPS_GIT_TOKEN_FILE")]
    pub git_token_file: Option<PathBuf>,
    /// User name sent with the https token [default: git].
    #[arg(long, env = "MLFLOW_GITOPS_GIT_USERNAME")]
    pub git_username: Option<String>,
    /// CA bundle for an https git server with a private CA.
    #[arg(long, env = "MLFLOW_GITOPS_GIT_CA_FILE")]
    pub git_ca_file: Option<PathBuf>,
    /// S3 endpoint the serving pods use [default: MLFLOW_S3_ENDPOINT_URL or AWS_ENDPOINT_URL].
    #[arg(long, env = "MLFLOW_GITOPS_SERVING_S3_ENDPOINT")]
    pub serving_s3_endpoint: Option<String>,
    /// Secret holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the serving pods
    /// [default: mlflow-s3].
    #[arg(long, env = "MLFLOW_GITOPS_SERVING_S3_SECRET")]
    pub serving_s3_secret: Option<String>,
    /// Image of the serving pods: mlflow-serve's container [default:
    /// localhost/mlflow-gitops/serving:VERSION], or the image the cluster's kserve-mlserver runtime
    /// runs [default: localhost/mlflow-gitops/mlserver:VERSION]; both built by
    /// scripts/build-images.sh. Another image turns the model environment check off.
    #[arg(long, env = "MLFLOW_GITOPS_SERVING_IMAGE")]
    pub serving_image: Option<String>,
    /// Package index (https://…/simple, no credentials) that mlflow-serve pods install a model's
    /// missing packages from, in an init container, before serving. Without it, a model whose
    /// needs the serving image lacks is reported and its channel keeps what it served.
    #[arg(long, env = "MLFLOW_GITOPS_PACKAGE_INDEX")]
    pub package_index: Option<String>,
    /// Author and committer of the commits, as `Name <email>` (by default the name mlflow-gitops
    /// with the email mlflow-gitops@localhost).
    #[arg(long, env = "MLFLOW_GITOPS_COMMIT_AUTHOR")]
    pub commit_author: Option<String>,
    /// A file holding the commit message template: text with {summary}, {changes} (required:
    /// model, channel, version, run and UI link of each change), {problems}, {count} and
    /// {prefix}; `{{` and `}}` for braces [default: the built-in message].
    #[arg(long, env = "MLFLOW_GITOPS_COMMIT_TEMPLATE")]
    pub commit_template: Option<PathBuf>,
    /// The MLflow UI's URL: each commit message then links the page of every version it serves.
    #[arg(long, env = "MLFLOW_GITOPS_MLFLOW_UI_URL")]
    pub mlflow_ui_url: Option<String>,
    /// Private key that signs every commit (a mounted Secret, mode 0400 or 0600; no passphrase).
    #[arg(long, env = "MLFLOW_GITOPS_SIGN_KEY")]
    pub sign_key: Option<PathBuf>,
    /// What --sign-key holds: `ssh` (verified with gpg.ssh.allowedSignersFile) or `openpgp` (an
    /// exported secret key, verified with a keyring) [default: ssh].
    #[arg(long, env = "MLFLOW_GITOPS_SIGN_FORMAT")]
    pub sign_format: Option<String>,
    /// Channels whose changes need a human's approval, comma-separated (`production`): each
    /// change of one is pushed to its own branch, mlflow-gitops/review/PREFIX/MODEL/CHANNEL, and
    /// reaches --branch when a human merges it (without --push, gated changes are left out).
    #[arg(long, env = "MLFLOW_GITOPS_REVIEW", value_delimiter = ',')]
    pub review: Option<Vec<String>>,
    /// A git push option sent with every review branch push; repeat for several (GitLab:
    /// `merge_request.create`, `merge_request.target=main`, `merge_request.title=…`). The
    /// variable holds one option per line.
    #[arg(
        long = "push-option",
        value_name = "OPT",
        env = "MLFLOW_GITOPS_PUSH_OPTION",
        value_delimiter = '\n'
    )]
    pub push_option: Option<Vec<String>>,
    /// Remove mirrors no deployment uses, keeping the newest N per model (off by default).
    #[arg(long, env = "MLFLOW_GITOPS_KEEP_MIRRORS")]
    pub keep_mirrors: Option<usize>,
    /// A directory that local model sources (plain paths, file:// URIs) may be copied from;
    /// repeat for several. Without it only the SQLite registry's own directory is allowed, and no
    /// local path at all for other registries: a registry row must not make this process upload
    /// files it happens to be able to read.
    #[arg(
        long = "source-root",
        value_name = "DIR",
        env = "MLFLOW_GITOPS_SOURCE_ROOTS",
        value_delimiter = ':'
    )]
    pub source_roots: Option<Vec<PathBuf>>,
    /// Serving profiles by name (config file only: `[profiles.NAME]`).
    #[arg(skip)]
    pub profiles: BTreeMap<String, Profile>,
    /// Which profile a model's channel gets, first match wins (config file only: `[[rules]]`).
    #[arg(skip)]
    pub rules: Vec<ProfileRule>,
    /// Traffic splits between a model's channels (config file only: `[[traffic]]`).
    #[arg(skip)]
    pub traffic: Vec<TrafficRule>,
}

/// Serving targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// `mlflow models serve` Deployment + Service + Istio VirtualService.
    MlflowServe,
    /// KServe InferenceService (MLServer, protocol v2).
    Kserve,
}

/// `sync`
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Pipeline settings.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Print the file diff a pass would make; copy and commit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the pass report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `watch`
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Pipeline settings.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Time between passes, e.g. 2s, 500ms, 1m.
    #[arg(long, default_value = "2s", env = "MLFLOW_GITOPS_INTERVAL", value_parser = parse_duration)]
    pub interval: std::time::Duration,
    /// Longest wait after failed passes (the wait doubles from --interval with each failure).
    #[arg(long, default_value = "5m", env = "MLFLOW_GITOPS_MAX_BACKOFF", value_parser = parse_duration)]
    pub max_backoff: std::time::Duration,
    /// Address for /metrics, /healthz and /livez (and /webhooks/mlflow).
    #[arg(long, default_value = "127.0.0.1:9090", env = "MLFLOW_GITOPS_LISTEN")]
    pub listen: String,
    /// The secret MLflow signs webhook deliveries with (a mounted Secret): the listener then
    /// serves /webhooks/mlflow, and a verified delivery starts a pass at once.
    #[arg(long, env = "MLFLOW_GITOPS_WEBHOOK_SECRET_FILE")]
    pub webhook_secret_file: Option<PathBuf>,
}

/// `tenant …`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Write a team's workspace (and its isolation policies) as manifests with a kustomization.
    Render {
        /// The team's namespace (overrides the config file's).
        #[arg(long)]
        namespace: String,
        /// TenantSpec as YAML (or TOML by extension); every field has a default.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output directory (created; files in it are replaced).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Reachability between the namespaces of the manifests in PATHs, and what each tenant needs
    /// and is denied; exit 1 on any finding (warnings too with --strict).
    Verify {
        /// YAML files or directories of them (searched recursively); `kubectl get
        /// ns,pods,deploy,networkpolicies -A -o yaml` output (a `kind: List`) is read as its items.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Which namespaces are tenants: `labelled` (label mlflow-gitops.io/tenant), `all` (every
        /// namespace but the platform's), or names separated by commas. Default: `labelled` when
        /// any namespace carries the label, else `all`.
        #[arg(long, env = "MLFLOW_GITOPS_TENANTS", value_parser = parse_tenants)]
        tenants: Option<policy_gen::TenantRule>,
        /// Exit 1 on warnings too (selectors matching nothing, isolation tenants can undo, policy
        /// kinds not evaluated).
        #[arg(long)]
        strict: bool,
        /// A TenantSpec (YAML, or TOML by extension) whose `isolation` names the platform: system
        /// namespaces, DNS namespace and pod labels. Default: Kubeflow with Istio.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// `mirror`
#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// Source location.
    pub src: String,
    /// Destination location.
    pub dst: String,
    /// The tracking server's --artifacts-destination, for mlflow-artifacts:/ URIs.
    #[arg(long, env = "MLFLOW_GITOPS_ARTIFACTS_DESTINATION")]
    pub artifacts_destination: Option<String>,
}

fn parse_tenants(text: &str) -> Result<policy_gen::TenantRule, String> {
    text.parse()
}

/// `2s`, `500ms`, `1m`, `1h`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((text, "s"), |i| text.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 2s or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("{text:?}: unit must be ms, s, m or h")),
    };
    Ok(std::time::Duration::from_secs_f64(seconds))
}
