//! Fetches and converts the speaker model to `default_model_path()` (or the path given as the
//! first argument), for CI and developers before `cargo test`; `voxprint model fetch` does the same.
//!
//! `cargo run --release -p voxprint-model --example fetch_model`

use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    let dest = std::env::args_os().nth(1).map_or_else(voxprint_model::default_model_path, PathBuf::from);
    match voxprint_model::fetch(&dest) {
        Ok(outcome) => {
            println!("{outcome}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            let mut line = format!("error: {e}");
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                line.push_str(&format!(": {c}"));
                cause = c.source();
            }
            eprintln!("{line}");
            std::process::ExitCode::FAILURE
        }
    }
}
