//! The `voxprint` binary: parses the command line and hands it to the library (`lib.rs`).

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    voxprint::cli::run(voxprint::cli::Cli::parse()).await
}
