//! The speaker model's weights: the project's file format, how it is made from Resemblyzer's
//! published checkpoint, and what the encoder loads. Pure: bytes or a path in, weights out. Where
//! the file lives and how it is downloaded are the application's business (the `voxprint-model`
//! crate).
//!
//! - [`format`](mod@format) is the project's own file (`.vxm`): named f32 tensors with a SHA-256 trailer.
//! - [`torch_legacy`] reads the PyTorch file without Python or torch; [`convert_pretrained`]
//!   turns Resemblyzer's `pretrained.pt` into a `.vxm` file.
//! - [`Weights`] is what the encoder loads: the named tensors, with their shapes checked.

pub mod format;
pub mod torch_legacy;

use std::path::{Path, PathBuf};

use crate::constants::{EMBEDDING_SIZE, GATES, HIDDEN, NUM_LAYERS, N_MELS};

/// Why a model file could not be read, converted or loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read; a missing file has `source.kind() == NotFound`.
    #[error("cannot read the speaker model at {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a valid model (or, for [`convert_pretrained`], checkpoint).
    #[error("invalid model data: {0}")]
    Format(String),
}

impl ModelError {
    /// True when the model file does not exist: the application may then say how to fetch it.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ModelError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Converts the bytes of Resemblyzer's `pretrained.pt` (a legacy PyTorch checkpoint) into the
/// bytes of a model file, recording `source` (where the checkpoint came from) in it.
pub fn convert_pretrained(pretrained: &[u8], source: &str) -> Result<Vec<u8>, ModelError> {
    let mut found = torch_legacy::read_tensors(pretrained, "model_state")?;
    let mut tensors = Vec::new();
    for (name, shape) in expected_tensors() {
        let t = found.remove(&name).ok_or_else(|| ModelError::Format(format!("pretrained.pt lacks {name}")))?;
        if t.shape != shape {
            return Err(ModelError::Format(format!("pretrained.pt: {name} has shape {:?}", t.shape)));
        }
        tensors.push((name, format::NamedTensor { shape: t.shape, data: t.data }));
    }
    format::encode(source, &tensors)
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
        let bytes = std::fs::read(path).map_err(|source| ModelError::Read { path: path.to_owned(), source })?;
        Weights::from_bytes(&bytes)
    }

    /// Checks and decodes the bytes of a model file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Weights, ModelError> {
        Weights::from_tensors(format::decode(bytes)?)
    }

    /// Assembles the weights from named tensors, checking that each expected one is there with
    /// its shape.
    pub fn from_tensors(
        mut tensors: std::collections::HashMap<String, format::NamedTensor>,
    ) -> Result<Weights, ModelError> {
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
    fn a_missing_file_is_reported_with_its_cause() {
        let err = Weights::load(Path::new("/nonexistent/voxprint/model.vxm")).unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
        assert!(std::error::Error::source(&err).is_some(), "the io error is kept as the source");
        assert!(err.to_string().contains("/nonexistent/voxprint/model.vxm"), "{err}");
    }

    #[test]
    fn other_bytes_are_a_format_error() {
        let err = Weights::from_bytes(b"not a model").unwrap_err();
        assert!(matches!(err, ModelError::Format(_)) && !err.is_not_found(), "{err:?}");
    }
}
