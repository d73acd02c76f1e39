//! `sync` and `watch`

use std::sync::Arc;

use artifact_store::Mirror;
use promotion_sync::{Metrics, PassReport, Plan, WatchOptions, WebhookReceiver, WebhookSecret};

use crate::cli::{SyncArgs, WatchArgs};
use crate::diff::unified;
use crate::failure::{Outcome, usage};
use crate::pipeline::{build, merge};
use crate::progress::terminal_progress;

/// One pass (or, with --dry-run, the plan of one).
pub async fn sync(args: SyncArgs) -> Outcome {
    let pipeline = merge(args.pipeline)?;
    // A terminal sees the mirror's progress.
    let mirror = match terminal_progress() {
        Some(hook) => Mirror::new().with_progress(hook),
        None => Mirror::new(),
    };
    let (mut reconciler, _) = build(&pipeline, mirror).await?;
    if args.dry_run {
        let plan = reconciler.plan().await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            print_plan(&plan);
        }
        return Ok(());
    }
    let report = reconciler.run_once().await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_plan(plan: &Plan) {
    for version in &plan.to_mirror {
        println!("would mirror {version}");
    }
    for (path, text) in &plan.added {
        print!("--- /dev/null\n+++ b/{path}\n{}", unified("", text));
    }
    for (path, (old, new)) in &plan.modified {
        print!("--- a/{path}\n+++ b/{path}\n{}", unified(old, new));
    }
    for (path, text) in &plan.removed {
        print!("--- a/{path}\n+++ /dev/null\n{}", unified(text, ""));
    }
    for change in &plan.changes {
        println!("would change {change}");
    }
    for review in &plan.reviews {
        println!("would propose {review}");
    }
    for note in &plan.notes {
        println!("traffic: {note}");
    }
    for problem in &plan.problems {
        eprintln!("skipped: {problem}");
    }
    println!(
        "dry run: {} added, {} modified, {} removed; nothing written",
        plan.added.len(),
        plan.modified.len(),
        plan.removed.len()
    );
}

fn print_report(report: &PassReport) {
    if report.unchanged_registry {
        println!("registry unchanged");
        return;
    }
    for m in &report.mirrored {
        println!(
            "mirrored {} {}: {} files ({} copied, {} bytes)",
            m.model, m.version, m.files, m.uploaded, m.uploaded_bytes
        );
    }
    match &report.commit {
        Some(commit) => {
            println!("commit {}", commit.id);
            for change in &commit.changes {
                println!("  {change}");
            }
        }
        None => println!("no change ({} deployments)", report.deployments),
    }
    if let Some(pushed) = &report.pushed {
        println!("pushed {pushed}");
    }
    for note in &report.notes {
        println!("traffic: {note}");
    }
    for review in &report.reviews {
        println!("review {} {}", review.state.as_str(), review.branch);
        for change in &review.changes {
            println!("  {change}");
        }
    }
    for problem in &report.problems {
        eprintln!("skipped: {problem}");
    }
}

/// The daemon: passes until SIGTERM or Ctrl-C, serving /metrics, /healthz and /livez.
pub async fn watch(args: WatchArgs) -> Outcome {
    let pipeline = merge(args.pipeline)?;
    let (mut reconciler, wake_file) = build(&pipeline, Mirror::new()).await?;
    let metrics = Arc::new(Metrics::new());
    let wake = Arc::new(tokio::sync::Notify::new());
    let webhook = match &args.webhook_secret_file {
        Some(file) => {
            let secret = WebhookSecret::from_file(file)
                .map_err(|e| usage(format!("--webhook-secret-file: {e}")))?;
            Some(Arc::new(WebhookReceiver::new(secret, Arc::clone(&wake))))
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| usage(format!("--listen {}: {e}", args.listen)))?;
    tracing::info!(listen = %args.listen, interval = ?args.interval, webhook = webhook.is_some(), "watching");
    let options = WatchOptions {
        interval: args.interval,
        max_backoff: args.max_backoff,
        wake_file,
        wake: webhook.as_ref().map(|_| wake),
    };
    let server = tokio::spawn(promotion_sync::serve_http(
        listener,
        Arc::clone(&metrics),
        webhook,
    ));
    promotion_sync::watch(
        &mut reconciler,
        &options,
        &metrics,
        shutdown_signal(),
        |result| match result {
            Ok(report) if report.unchanged_registry => tracing::debug!("registry unchanged"),
            Ok(report) => {
                // A pass that read and rendered leaves freed memory behind in the allocator.
                crate::allocator::release_free_memory();
                let commit = report
                    .commit
                    .as_ref()
                    .map(|c| c.id.as_str())
                    .unwrap_or("none");
                tracing::info!(
                    deployments = report.deployments,
                    mirrored = report.mirrored.len(),
                    commit,
                    pushed = report.pushed.is_some(),
                    elapsed_ms = report.elapsed.as_millis() as u64,
                    "pass"
                );
                for note in &report.notes {
                    tracing::info!(%note, "traffic split served otherwise than configured");
                }
                for review in &report.reviews {
                    let state = review.state.as_str();
                    let changes = review.changes.join("; ");
                    tracing::info!(branch = %review.branch, state, %changes, "review");
                }
                for problem in &report.problems {
                    tracing::warn!(%problem, "version skipped");
                }
            }
            Err(error) => tracing::error!(%error, "pass failed"),
        },
    )
    .await;
    server.abort();
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
