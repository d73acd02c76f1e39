//! Lists the promoted versions of an MLflow registry: `cargo run --example list_promoted -- sqlite:////path/mlflow.db`.

use registry_reader::{ModelRegistry, PromotionFilter, SqlRegistry};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::args()
        .nth(1)
        .ok_or("usage: list_promoted <backend-store-uri>")?;
    let registry = SqlRegistry::connect(&uri).await?;
    let started = std::time::Instant::now();
    let promoted = registry.promoted(&PromotionFilter::default()).await?;
    let elapsed = started.elapsed();
    for v in promoted.versions.iter().take(20) {
        let channels: Vec<String> = v.channels.iter().map(ToString::to_string).collect();
        println!(
            "{}\tv{}\t{}\t{}",
            v.name,
            v.version,
            channels.join(","),
            v.artifact_uri
        );
    }
    for e in &promoted.errors {
        eprintln!("skipped: {e}");
    }
    eprintln!(
        "{} promoted versions, {} errors, in {elapsed:?}",
        promoted.versions.len(),
        promoted.errors.len()
    );
    Ok(())
}
