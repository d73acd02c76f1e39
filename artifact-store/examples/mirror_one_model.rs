//! Mirror one model directory, as a service embedding artifact-store would.
//!
//! `cargo run -p artifact-store --example mirror_one_model -- SRC_URI DST_URI`
//! (S3 endpoint from MLFLOW_S3_ENDPOINT_URL or AWS_ENDPOINT_URL, keys from AWS_*).

use std::sync::Arc;

use artifact_store::{Mirror, Progress, Resolver, is_complete};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(src), Some(dst)) = (args.next(), args.next()) else {
        eprintln!("usage: mirror_one_model SRC_URI DST_URI");
        std::process::exit(2);
    };
    let resolver = Resolver::from_env();
    let (src, dst) = (resolver.resolve(&src)?, resolver.resolve(&dst)?);
    if is_complete(&dst).await? {
        println!("{dst} is already a complete mirror");
    }
    let report = Mirror::new()
        .with_concurrency(8)
        .with_progress(Arc::new(|event: &Progress| {
            if let Progress::Copied { path, bytes } = event {
                println!("copied {path} ({bytes} bytes)");
            }
        }))
        .mirror(&src, &dst)
        .await?;
    println!("{report:?}");
    Ok(())
}
