//! Fetches and converts the speaker model to `default_model_path()` (or the path given as the
//! first argument), for CI and developers before `cargo test`; `voxprint model fetch` does the same.
//!
//! `cargo run --release -p voxprint-engine --example fetch_model`

use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    let dest = std::env::args_os().nth(1).map_or_else(voxprint_engine::model::default_model_path, PathBuf::from);
    match voxprint_engine::model::fetch(&dest) {
        Ok(outcome) => {
            println!("{outcome}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
