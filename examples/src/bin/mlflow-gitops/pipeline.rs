//! From settings to a running reconciler: the registry, the mirror, the serving target and the
//! git writer, each chosen by its URI.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use artifact_store::{Mirror, Resolver};
use gitops_writer::{CommitSigner, GitCli, GixWriter, SignFormat, SshAuth, TokenAuth, TokenSource};
use manifests_core::meta::SecretKeyRef;
use manifests_core::serving::S3Access;
use manifests_core::{KServe, MlflowServe, ServingTarget};
use promotion_sync::{PassCache, Reconciler, ServingConfig, Settings};
use registry_reader::{AliasSelection, ModelRegistry, PromotionFilter, Stage};

use crate::cli::{PipelineArgs, Target};
use crate::failure::{Outcome, usage};

/// The reconciler the binary runs.
pub type Sync = Reconciler<Box<dyn ModelRegistry>, GixWriter>;

/// Flags and environment first, then the config file.
pub fn merge(args: PipelineArgs) -> Outcome<PipelineArgs> {
    let Some(path) = &args.config else {
        return Ok(args);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("--config {}: {e}", path.display())))?;
    let file: PipelineArgs =
        toml::from_str(&text).map_err(|e| usage(format!("--config {}: {e}", path.display())))?;
    Ok(PipelineArgs {
        config: args.config,
        registry: args.registry.or(file.registry),
        mirror: args.mirror.or(file.mirror),
        repo: args.repo.or(file.repo),
        branch: args.branch.or(file.branch),
        prefix: args.prefix.or(file.prefix),
        artifacts_destination: args.artifacts_destination.or(file.artifacts_destination),
        namespace: args.namespace.or(file.namespace),
        target: args.target.or(file.target),
        stages: args.stages.or(file.stages),
        aliases: args.aliases.or(file.aliases),
        push: args.push || file.push,
        work_dir: args.work_dir.or(file.work_dir),
        ssh_key: args.ssh_key.or(file.ssh_key),
        known_hosts: args.known_hosts.or(file.known_hosts),
        git_token_file: args.git_token_file.or(file.git_token_file),
        git_username: args.git_username.or(file.git_username),
        git_ca_file: args.git_ca_file.or(file.git_ca_file),
        serving_s3_endpoint: args.serving_s3_endpoint.or(file.serving_s3_endpoint),
        serving_s3_secret: args.serving_s3_secret.or(file.serving_s3_secret),
        serving_image: args.serving_image.or(file.serving_image),
        package_index: args.package_index.or(file.package_index),
        commit_author: args.commit_author.or(file.commit_author),
        commit_template: args.commit_template.or(file.commit_template),
        mlflow_ui_url: args.mlflow_ui_url.or(file.mlflow_ui_url),
        sign_key: args.sign_key.or(file.sign_key),
        sign_format: args.sign_format.or(file.sign_format),
        review: args.review.or(file.review),
        push_option: args.push_option.or(file.push_option),
        keep_mirrors: args.keep_mirrors.or(file.keep_mirrors),
        source_roots: args.source_roots.or(file.source_roots),
        profiles: file.profiles,
        rules: file.rules,
        traffic: file.traffic,
    })
}

fn required(value: &Option<String>, flag: &str, key: &str) -> Outcome<String> {
    value.clone().ok_or_else(|| {
        usage(format!(
            "missing --{flag} (or MLFLOW_GITOPS_{}, or `{key}` in the --config file)",
            key.to_ascii_uppercase()
        ))
    })
}

/// The registry behind `uri` ([`registry_reader::open`]); a URI no backend takes is a usage error.
pub async fn open_registry(
    uri: &str,
    artifacts_destination: Option<&str>,
) -> Outcome<Box<dyn ModelRegistry>> {
    registry_reader::open(uri, artifacts_destination)
        .await
        .map_err(|e| match e {
            registry_reader::Error::UnsupportedUri { .. } => usage(format!("--registry: {e}")),
            other => other.into(),
        })
}

/// The directories local sources may come from: the ones given, or else the directory of a
/// SQLite registry (where MLflow's quickstart keeps `mlruns/`). Each is made absolute with `.` and
/// `..` resolved exactly as sources are, so the comparison is like with like.
fn source_roots(args: &PipelineArgs, registry_uri: &str) -> Outcome<Vec<PathBuf>> {
    let normal = |dir: &Path| -> Outcome<PathBuf> {
        let text = dir
            .to_str()
            .ok_or_else(|| usage(format!("--source-root {}: not UTF-8", dir.display())))?;
        Resolver::default()
            .resolve(text)
            .ok()
            .and_then(|location| location.local_path())
            .ok_or_else(|| usage(format!("--source-root {text}: not a local directory")))
    };
    if let Some(roots) = &args.source_roots {
        return roots.iter().map(|root| normal(root)).collect();
    }
    let sqlite_dir = registry_uri
        .strip_prefix("sqlite:///")
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .and_then(|file| Path::new(file).parent().map(Path::to_path_buf));
    match sqlite_dir {
        Some(dir) if dir.as_os_str().is_empty() => Ok(vec![normal(Path::new("."))?]),
        Some(dir) => Ok(vec![normal(&dir)?]),
        None => Ok(Vec::new()),
    }
}

/// The S3 resolver for the process: endpoint from the environment, and the MLflow server's
/// artifacts destination for `mlflow-artifacts:/` URIs.
pub fn resolver(artifacts_destination: Option<&str>) -> Resolver {
    let resolver = Resolver::from_env();
    match artifacts_destination {
        Some(destination) => resolver.with_artifacts_destination(destination),
        None => resolver,
    }
}

/// Builds the reconciler; also returns the SQLite file to watch, if the registry is one.
pub async fn build(args: &PipelineArgs, copier: Mirror) -> Outcome<(Sync, Option<PathBuf>)> {
    let registry_uri = required(&args.registry, "registry", "registry")?;
    let mirror = required(&args.mirror, "mirror", "mirror")?;
    let repo = required(&args.repo, "repo", "repo")?;
    let branch = args.branch.clone().unwrap_or_else(|| "main".into());
    let destination = args.artifacts_destination.as_deref();

    let registry = open_registry(&registry_uri, destination).await?;
    let url = repo_url(&repo)?;
    let work_dir = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => default_work_dir(&url, &branch),
    };
    let mut transport = GitCli::new(&url).map_err(|e| usage(format!("--repo: {e}")))?;
    match (&args.ssh_key, &args.known_hosts) {
        (Some(key), Some(known_hosts)) => {
            transport = transport.with_ssh(SshAuth {
                private_key: key.clone(),
                known_hosts: known_hosts.clone(),
            });
        }
        (Some(_), None) => {
            return Err(usage(
                "--ssh-key needs --known-hosts: host keys are verified, never trusted on first use",
            ));
        }
        _ => {}
    }
    if let Some(token) = &args.git_token_file {
        transport = transport.with_token(TokenAuth {
            username: args.git_username.clone().unwrap_or_else(|| "git".into()),
            source: TokenSource::File(token.clone()),
        });
    }
    if let Some(ca) = &args.git_ca_file {
        transport = transport.with_ca_file(ca);
    }
    let mut writer = GixWriter::with_transport(transport, &work_dir, &branch)?;
    if let Some(signer) = signer(args)? {
        writer = writer.with_signer(signer);
    }

    let namespace = args.namespace.clone().unwrap_or_else(|| "models".into());
    let mut settings = Settings::new(&namespace);
    if let Some(prefix) = &args.prefix {
        settings.prefix = prefix.clone();
    }
    settings.filter = filter(args)?;
    settings.push = args.push;
    if let Some(author) = &args.commit_author {
        settings.author = author
            .parse()
            .map_err(|e| usage(format!("--commit-author: {e}")))?;
    }
    settings.keep_mirrors = args.keep_mirrors;
    settings.review = args
        .review
        .iter()
        .flatten()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    settings.push_options = args.push_option.clone().unwrap_or_default();

    settings.mlflow_ui_url = args.mlflow_ui_url.clone();
    if let Some(file) = &args.commit_template {
        let text = std::fs::read_to_string(file)
            .map_err(|e| usage(format!("--commit-template {}: {e}", file.display())))?;
        let template = promotion_sync::MessageTemplate::parse(&text)
            .map_err(|e| usage(format!("--commit-template {}: {e}", file.display())))?;
        settings.commit_template = Some(template);
    }
    settings.local_source_roots = Some(source_roots(args, &registry_uri)?);
    settings.serving = ServingConfig::new(
        args.profiles.clone(),
        args.rules.clone(),
        args.traffic.clone(),
    )
    .map_err(|e| usage(format!("--config: {e}")))?;

    // Everything that shapes the output names the cache, so a changed flag makes a full pass.
    let identity = format!("mlflow-gitops {} {args:?}", env!("CARGO_PKG_VERSION"));
    let cache = PassCache::new(work_dir.join("last-pass.json"), identity);
    let reconciler = Reconciler::builder(registry, writer, mirror)
        .target(target(args))
        .resolver(Arc::new(resolver(destination)))
        .settings(settings)
        .mirror(copier)
        .cache(cache)
        .build()
        .map_err(|e| usage(format!("{e}")))?;
    Ok((reconciler, sqlite_file(&registry_uri)))
}

/// The commit signer of --sign-key, checked at startup (a key that cannot sign exits 2).
fn signer(args: &PipelineArgs) -> Outcome<Option<CommitSigner>> {
    let format: SignFormat = match &args.sign_format {
        Some(text) => text
            .parse()
            .map_err(|e| usage(format!("--sign-format: {e}")))?,
        None => SignFormat::Ssh,
    };
    match &args.sign_key {
        Some(key) => CommitSigner::new(format, key)
            .map(Some)
            .map_err(|e| usage(format!("--sign-key: {e}"))),
        None if args.sign_format.is_some() => {
            Err(usage("--sign-format needs --sign-key: the key that signs"))
        }
        None => Ok(None),
    }
}

fn filter(args: &PipelineArgs) -> Outcome<PromotionFilter> {
    let mut filter = PromotionFilter::default();
    if let Some(stages) = &args.stages {
        filter.stages = stages
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| match s.to_ascii_lowercase().as_str() {
                "staging" => Ok(Stage::Staging),
                "production" => Ok(Stage::Production),
                other => Err(usage(format!(
                    "--stages: {other:?} is not Staging or Production"
                ))),
            })
            .collect::<Outcome<Vec<_>>>()?;
    }
    filter.aliases = match args.aliases.as_deref() {
        None | Some("all") => AliasSelection::All,
        Some("none") | Some("") => AliasSelection::Nothing,
        Some(list) => AliasSelection::Only(list.split(',').map(|a| a.trim().to_owned()).collect()),
    };
    Ok(filter)
}

fn target(args: &PipelineArgs) -> Box<dyn ServingTarget> {
    match args.target.unwrap_or(Target::MlflowServe) {
        Target::Kserve => {
            let mut kserve = KServe::default();
            if let Some(image) = &args.serving_image {
                kserve.runtime_image = image.clone();
            }
            Box::new(kserve)
        }
        Target::MlflowServe => {
            let mut serve = MlflowServe::default();
            let secret = args
                .serving_s3_secret
                .clone()
                .unwrap_or_else(|| manifests_core::serving::DEFAULT_S3_SECRET.into());
            serve.s3 = S3Access {
                endpoint_url: args.serving_s3_endpoint.clone().or_else(|| {
                    ["MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL"]
                        .iter()
                        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
                }),
                access_key_id: SecretKeyRef::new(&secret, "AWS_ACCESS_KEY_ID"),
                secret_access_key: SecretKeyRef::new(&secret, "AWS_SECRET_ACCESS_KEY"),
                ..S3Access::default()
            };
            if let Some(image) = &args.serving_image {
                serve.image = image.clone();
            }
            serve.package_index = args.package_index.clone();
            Box::new(serve)
        }
    }
}

/// A URL as given; a local path becomes `file://` (with a bare repository created when nothing
/// is there yet, so the quickstart needs no setup).
fn repo_url(repo: &str) -> Outcome<String> {
    let looks_remote = repo.contains("://") || (repo.contains('@') && repo.contains(':'));
    if looks_remote {
        return Ok(repo.to_owned());
    }
    let path = Path::new(repo);
    if !path.exists() {
        let status = std::process::Command::new("git")
            .args(["init", "--quiet", "--bare", "--initial-branch=main"])
            .arg(path)
            .status()
            .map_err(|e| anyhow::anyhow!("git init --bare {repo}: {e}"))?;
        if !status.success() {
            return Err(anyhow::anyhow!("git init --bare {repo} failed").into());
        }
    }
    let absolute = std::fs::canonicalize(path).map_err(|e| usage(format!("--repo {repo}: {e}")))?;
    Ok(format!("file://{}", absolute.display()))
}

fn default_work_dir(url: &str, branch: &str) -> PathBuf {
    // FNV-1a: a stable name per repository and branch, so two daemons never share a clone.
    let hash = format!("{url}#{branch}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
    Path::new(&home)
        .join(".cache/mlflow-gitops/work")
        .join(format!("{hash:016x}"))
}

/// The database file of a `sqlite://` registry URI, to wake the daemon when it changes.
fn sqlite_file(uri: &str) -> Option<PathBuf> {
    let path = uri.strip_prefix("sqlite:///")?;
    let path = path.split('?').next().unwrap_or(path);
    // sqlite:////abs is absolute; sqlite:///rel is relative to the working directory.
    Some(PathBuf::from(path))
}
