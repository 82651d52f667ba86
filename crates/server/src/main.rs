//! Voxprint: a self-hosted voiceprint (speaker identification) server with the Coze voiceprint
//! API. See README.md for how to run it and DESIGN notes in the modules.

mod admin;
mod app;
mod audit;
mod blobs;
mod cli;
mod client;
mod clock;
mod domain;
mod embed_cli;
mod embedder;
mod enrollment;
mod http;
mod ids;
mod metrics;
mod migrate_data;
mod openapi;
mod private_files;
mod ratelimit;
mod readiness;
mod recording;
mod reembed;
mod signing;
mod speakers;
mod storage;
mod store;
mod sweep;
mod tokens;

use clap::Parser;

use cli::{Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => app::serve(args).await,
        Command::Client(args) => return client::run(args).await,
        Command::Admin { storage, command } => admin::run(&storage, command).await,
        Command::Model { command } => embed_cli::model(command),
        Command::Embed(args) => embed_cli::embed(args),
        Command::MigrateData(args) => migrate_data::run(&args).await,
        Command::Openapi => {
            println!("{:#}", openapi::document());
            Ok(())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", error_chain(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text the line already holds:
/// sqlx and object_store repeat their sources in their own messages.
fn error_chain(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

/// Logs go to standard error, filtered by `VOXPRINT_LOG` (default `info`).
fn init_logging(format: cli::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VOXPRINT_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        cli::LogFormat::Text => builder.init(),
        cli::LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).init(),
    }
}
