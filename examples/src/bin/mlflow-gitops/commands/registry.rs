//! `registry list`

use crate::failure::Outcome;
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
