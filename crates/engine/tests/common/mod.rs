//! The speaker model's location for the tests and `examples/bench.rs` (which includes this file).
//!
//! The engine reads no environment: its callers say where the model is. This mirrors
//! `voxprint_model::default_model_path`, where `voxprint model fetch` and the `fetch_model`
//! example of `voxprint-model` write it; a dev-dependency on that crate would be a dependency
//! cycle, which builds this crate twice.

use std::path::{Path, PathBuf};

/// `$VOXPRINT_MODEL` if set, else `$XDG_DATA_HOME/voxprint/models/…`, else
/// `$HOME/.local/share/voxprint/models/…`.
pub fn model_path() -> PathBuf {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(path) = non_empty("VOXPRINT_MODEL") {
        return PathBuf::from(path);
    }
    let data_home = non_empty("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| Path::new(&home).join(".local/share")))
        .unwrap_or_default();
    data_home.join("voxprint/models/ge2e-resemblyzer-0.1.4.vxm")
}
