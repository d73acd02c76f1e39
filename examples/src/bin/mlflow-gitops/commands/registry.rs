//! `registry list`, `registry webhook register`

use std::path::Path;

use promotion_sync::{WEBHOOK_EVENTS, WebhookSecret};
use registry_reader::{Registered, RestRegistry, WebhookSpec};

use crate::failure::{Outcome, usage};
use crate::pipeline::open_registry;

/// Prints the promoted versions (table or JSON); per-version problems go to stderr.
pub async fn list(registry: &str, artifacts_destination: Option<&str>, json: bool) -> Outcome {
    let registry = open_registry(registry, artifacts_destination).await?;
    let promoted = registry.promoted(&Default::default()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&promoted)?);
        return Ok(());
    }
    println!(
        "{:<32} {:>7}  {:<28} ARTIFACTS",
        "MODEL", "VERSION", "CHANNELS"
    );
    for v in &promoted.versions {
        let channels: Vec<String> = v.channels.iter().map(ToString::to_string).collect();
        println!(
            "{:<32} {:>7}  {:<28} {}",
            v.name,
            v.version,
            channels.join(","),
            v.artifact_uri
        );
    }
    for error in &promoted.errors {
        eprintln!("skipped: {error}");
    }
    Ok(())
}

/// Creates or updates the webhook `name` on the tracking server, with the events that can change
/// what is served; with `check`, has the server send a test delivery and reports the answer.
pub async fn register_webhook(
    registry: &str,
    url: &str,
    secret_file: &Path,
    name: &str,
    check: bool,
) -> Outcome {
    let secret =
        WebhookSecret::from_file(secret_file).map_err(|e| usage(format!("--secret-file: {e}")))?;
    let server = RestRegistry::new(registry).map_err(|e| usage(format!("--registry: {e}")))?;
    let spec = WebhookSpec {
        name,
        url,
        events: &WEBHOOK_EVENTS,
        secret: secret.expose(),
        description: "mlflow-gitops: reconcile at once when a version, tag or alias changes",
    };
    let registered = server.register_webhook(&spec).await?;
    match &registered {
        Registered::Created(id) => println!("created webhook {name} ({id}) -> {url}"),
        Registered::Updated(id) => println!("updated webhook {name} ({id}) -> {url}"),
    }
    if check {
        let test = server.test_webhook(registered.id()).await?;
        let status = test
            .response_status
            .map_or("no answer".to_owned(), |s| format!("HTTP {s}"));
        let body = test.response_body.unwrap_or_default();
        if !test.success {
            return Err(anyhow::anyhow!(
                "the test delivery to {url} failed ({status}): {}",
                body.trim()
            )
            .into());
        }
        println!("test delivery accepted ({status})");
    }
    Ok(())
}
