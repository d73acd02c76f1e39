//! `mirror SRC DST`

use artifact_store::Mirror;

use crate::failure::{Outcome, usage};
use crate::pipeline::resolver;
use crate::progress::terminal_progress;

/// One verified copy; prints its report.
pub async fn run(src: &str, dst: &str, artifacts_destination: Option<&str>) -> Outcome {
    let resolver = resolver(artifacts_destination);
    let from = resolver.resolve(src).map_err(usage)?;
    let to = resolver.resolve(dst).map_err(usage)?;
    let mut mirror = Mirror::new();
    if let Some(hook) = terminal_progress() {
        mirror = mirror.with_progress(hook);
    }
    let report = mirror.mirror(&from, &to).await?;
    eprintln!();
    println!(
        "{} files, {} bytes; copied {} ({} bytes), kept {}, removed {} strays{} in {:.2} s",
        report.files,
        report.bytes,
        report.uploaded,
        report.uploaded_bytes,
        report.skipped,
        report.deleted,
        if report.already_complete {
            " (already complete)"
        } else {
            ""
        },
        report.elapsed.as_secs_f64()
    );
    Ok(())
}
