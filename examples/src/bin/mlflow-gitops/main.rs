//! `mlflow-gitops`: the command-line tool and daemon over the workspace's libraries.

mod allocator;
mod cli;
mod commands;
mod diff;
mod failure;
mod pipeline;
mod progress;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command, LogFormat, PolicyCommand, RegistryCommand, TenantCommand, WebhookCommand};
use failure::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if matches!(cli.command, Command::Watch(_)) {
        allocator::tune_for_daemon();
        // Idle threads keep their stacks and allocator caches: the daemon's blocking work (reading
        // local artifacts for a mirror) needs few, and not for long.
        builder
            .max_blocking_threads(8)
            .thread_keep_alive(std::time::Duration::from_secs(1));
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            eprintln!("error: {}", failure::describe(&e));
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("error: {}", failure::describe(&e));
            ExitCode::from(1)
        }
    }
}

async fn run(command: Command) -> failure::Outcome {
    match command {
        Command::Registry(RegistryCommand::List {
            registry,
            artifacts_destination,
            json,
        }) => commands::registry::list(&registry, artifacts_destination.as_deref(), json).await,
        Command::Registry(RegistryCommand::Webhook(WebhookCommand::Register {
            registry,
            url,
            secret_file,
            name,
            check,
        })) => {
            commands::registry::register_webhook(&registry, &url, &secret_file, &name, check).await
        }
        Command::Sync(args) => commands::sync::sync(args).await,
        Command::Watch(args) => commands::sync::watch(args).await,
        Command::Tenant(TenantCommand::Render {
            namespace,
            config,
            out,
        }) => commands::tenant::render(&namespace, config.as_deref(), &out),
        Command::Policy(PolicyCommand::Verify {
            paths,
            json,
            tenants,
            strict,
            config,
        }) => commands::policy::verify(&paths, json, tenants, strict, config.as_deref()),
        Command::Mirror(args) => {
            commands::mirror::run(&args.src, &args.dst, args.artifacts_destination.as_deref()).await
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MLFLOW_GITOPS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
