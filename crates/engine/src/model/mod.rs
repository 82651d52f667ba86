//! The speaker model on disk: where it lives, its file format, and how it is made from
//! Resemblyzer's published weights.
//!
//! - [`fetch`] downloads the Resemblyzer 0.1.4 wheel with pip, checks it, and converts its
//!   `pretrained.pt` into the project's own file (see [`format`]). The weights are never committed.
//! - [`torch_legacy`] reads the PyTorch file without Python or torch.
//! - [`Weights`] is what the encoder loads: the named tensors, with their shapes checked.

mod fetch;
pub mod format;
pub mod torch_legacy;

use std::path::{Path, PathBuf};

pub use fetch::{fetch, FetchOutcome};

use crate::constants::{EMBEDDING_SIZE, GATES, HIDDEN, NUM_LAYERS, N_MELS};

/// File name of the converted model, in the data directory's `models/`.
pub const MODEL_FILE_NAME: &str = "ge2e-resemblyzer-0.1.4.vxm";

/// Why the model could not be fetched, converted or loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("speaker model not found at {path}: run `voxprint model fetch` to download and convert it")]
    Missing { path: PathBuf },
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("invalid model data: {0}")]
    Format(String),
    #[error("checksum mismatch for {what}: expected {expected}, got {actual}")]
    Checksum { what: String, expected: String, actual: String },
    #[error("pip failed to download resemblyzer 0.1.4: {0}")]
    Download(String),
}

impl ModelError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ModelError::Io { context: context.into(), source }
    }
}

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

/// The GE2E encoder's parameters, with PyTorch's layouts (row-major, `out × in`).
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// Per layer: input weights (1024 × in), recurrent weights (1024 × 256), and the summed
    /// bias `b_ih + b_hh` (1024). Gate order i, f, g, o.
    pub layers: Vec<LayerWeights>,
    /// Final projection, 256 × 256, and its bias.
    pub linear_weight: Vec<f32>,
    pub linear_bias: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LayerWeights {
    pub input_size: usize,
    pub weight_ih: Vec<f32>,
    pub weight_hh: Vec<f32>,
    pub bias: Vec<f32>,
}

/// The tensors the model file must hold, with their shapes, in file order.
pub fn expected_tensors() -> Vec<(String, Vec<usize>)> {
    let mut names = Vec::new();
    for l in 0..NUM_LAYERS {
        let input = if l == 0 { N_MELS } else { HIDDEN };
        names.push((format!("lstm.weight_ih_l{l}"), vec![GATES, input]));
        names.push((format!("lstm.weight_hh_l{l}"), vec![GATES, HIDDEN]));
        names.push((format!("lstm.bias_ih_l{l}"), vec![GATES]));
        names.push((format!("lstm.bias_hh_l{l}"), vec![GATES]));
    }
    names.push(("linear.weight".to_owned(), vec![EMBEDDING_SIZE, HIDDEN]));
    names.push(("linear.bias".to_owned(), vec![EMBEDDING_SIZE]));
    names
}

impl Weights {
    /// Reads and checks the model file at `path`.
    pub fn load(path: &Path) -> Result<Weights, ModelError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelError::Missing { path: path.to_owned() })
            }
            Err(e) => return Err(ModelError::io(format!("reading {}", path.display()), e)),
        };
        let tensors = format::decode(&bytes)?;
        Weights::from_tensors(tensors)
    }

    /// Assembles the weights from named tensors, checking that each expected one is there with
    /// its shape.
    pub fn from_tensors(mut tensors: std::collections::HashMap<String, format::NamedTensor>) -> Result<Weights, ModelError> {
        let mut take = |name: &str, shape: &[usize]| -> Result<Vec<f32>, ModelError> {
            let t = tensors.remove(name).ok_or_else(|| ModelError::Format(format!("tensor {name} missing")))?;
            if t.shape != shape {
                return Err(ModelError::Format(format!("tensor {name} has shape {:?}, expected {shape:?}", t.shape)));
            }
            Ok(t.data)
        };
        let mut layers = Vec::with_capacity(NUM_LAYERS);
        for l in 0..NUM_LAYERS {
            let input_size = if l == 0 { N_MELS } else { HIDDEN };
            let weight_ih = take(&format!("lstm.weight_ih_l{l}"), &[GATES, input_size])?;
            let weight_hh = take(&format!("lstm.weight_hh_l{l}"), &[GATES, HIDDEN])?;
            let b_ih = take(&format!("lstm.bias_ih_l{l}"), &[GATES])?;
            let b_hh = take(&format!("lstm.bias_hh_l{l}"), &[GATES])?;
            let bias = b_ih.iter().zip(&b_hh).map(|(a, b)| a + b).collect();
            layers.push(LayerWeights { input_size, weight_ih, weight_hh, bias });
        }
        let linear_weight = take("linear.weight", &[EMBEDDING_SIZE, HIDDEN])?;
        let linear_bias = take("linear.bias", &[EMBEDDING_SIZE])?;
        if let Some(bad) = [&linear_weight, &linear_bias]
            .into_iter()
            .chain(layers.iter().flat_map(|l| [&l.weight_ih, &l.weight_hh, &l.bias]))
            .find(|t| t.iter().any(|v| !v.is_finite()))
        {
            return Err(ModelError::Format(format!("non-finite weight in a tensor of {} values", bad.len())));
        }
        Ok(Weights { layers, linear_weight, linear_bias })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_model_names_the_fetch_command() {
        let err = Weights::load(Path::new("/nonexistent/voxprint/model.vxm")).unwrap_err();
        assert!(matches!(err, ModelError::Missing { .. }));
        assert!(err.to_string().contains("voxprint model fetch"), "{err}");
    }
}
