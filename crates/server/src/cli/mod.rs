//! The `voxprint` command: its arguments, and each subcommand that is not `serve`: the API client,
//! account administration, and the speaker model.

pub mod admin;
mod args;
pub mod client;
pub mod model;

pub use args::*;

/// Runs the parsed command to its end: the process's exit status.
pub async fn run(cli: Cli) -> std::process::ExitCode {
    init_logging(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => crate::serve::serve(args).await,
        Command::Client(args) => return client::run(args).await,
        Command::Admin { storage, command } => admin::run(&storage, command).await,
        Command::Model { command } => model::model(command),
        Command::Embed(args) => model::embed(args),
        Command::MigrateData(args) => crate::storage::migrate_data::run(&args).await,
        Command::Openapi => {
            println!("{:#}", crate::http::openapi::document());
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
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VOXPRINT_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).init(),
    }
}
