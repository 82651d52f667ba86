//! The speaker model file on this machine: where it lives, how it gets there, and loading it
//! with a message that says how to get it when it is missing.
//!
//! `voxprint-engine` is pure computation: it loads a model file from a path or bytes. This
//! crate holds what is not: the default location ([`default_model_path`], from the
//! environment) and [`fetch()`], which downloads the Resemblyzer 0.1.4 wheel with pip, checks its
//! checksums, and converts its `pretrained.pt` with the engine's
//! [`voxprint_engine::model::convert_pretrained`]. The weights are never committed.
//!
//! ```no_run
//! let path = voxprint_model::default_model_path();
//! println!("{}", voxprint_model::fetch(&path)?);
//! let encoder = voxprint_model::load_encoder(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod fetch;

use std::path::{Path, PathBuf};

use voxprint_engine::{Encoder, ModelError};

pub use fetch::{fetch, DownloadError, FetchError, FetchOutcome};

/// File name of the converted model, in the data directory's `models/`.
pub const MODEL_FILE_NAME: &str = "ge2e-resemblyzer-0.1.4.vxm";

/// Where the model file is looked for and fetched to: `$VOXPRINT_MODEL` if set, else
/// `$XDG_DATA_HOME/voxprint/models/…`, else `$HOME/.local/share/voxprint/models/…`
/// (the current directory if even `HOME` is unset).
pub fn default_model_path() -> PathBuf {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(path) = non_empty("VOXPRINT_MODEL") {
        return PathBuf::from(path);
    }
    let data_home = non_empty("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| Path::new(&home).join(".local/share")))
        .unwrap_or_default();
    data_home.join("voxprint/models").join(MODEL_FILE_NAME)
}

/// Why [`load_encoder`] could not load the model.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// There is no file at `path`.
    #[error("speaker model not found at {}: run `voxprint model fetch` to download and convert it", path.display())]
    Missing { path: PathBuf },
    /// The file is there but could not be read, or is not a valid model.
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// [`Encoder::load`], except that a missing file is [`LoadError::Missing`], whose message names
/// `voxprint model fetch`.
pub fn load_encoder(path: &Path) -> Result<Encoder, LoadError> {
    Encoder::load(path).map_err(|e| {
        if e.is_not_found() {
            LoadError::Missing { path: path.to_owned() }
        } else {
            LoadError::Model(e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `anyhow`'s `?` (the server's) needs of an error type.
    fn is_boxable_error<E: std::error::Error + Send + Sync + 'static>() {}

    #[test]
    fn errors_convert_into_boxed_errors() {
        is_boxable_error::<LoadError>();
        is_boxable_error::<FetchError>();
        is_boxable_error::<DownloadError>();
        is_boxable_error::<ModelError>();
    }

    #[test]
    fn a_missing_model_names_the_fetch_command() {
        let err = load_encoder(Path::new("/nonexistent/voxprint/model.vxm")).unwrap_err();
        assert!(matches!(err, LoadError::Missing { .. }), "{err:?}");
        assert!(err.to_string().contains("voxprint model fetch"), "{err}");
    }

    #[test]
    fn a_damaged_model_keeps_the_engine_error() {
        let path = std::env::temp_dir().join(format!("voxprint-model-test-{}.vxm", std::process::id()));
        std::fs::write(&path, b"not a model").unwrap();
        let err = load_encoder(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(err, LoadError::Model(ModelError::Format(_))), "{err:?}");
    }
}
