//! Speaker engine: audio samples → preprocessing → mel spectrogram → GE2E speaker encoder →
//! embedding, and scoring. Pure computation: it takes a model file (its path or its bytes) and
//! samples, and returns embeddings; it reads no environment and starts no process. Where the
//! model file lives and how it is downloaded belong to the application (the `voxprint-model`
//! crate). See `README.md` beside this crate.
//!
//! ```no_run
//! use std::path::Path;
//! use voxprint_engine::{preprocess, Encoder};
//! let encoder = Encoder::load(Path::new("ge2e-resemblyzer-0.1.4.vxm"))?; // or Encoder::from_bytes
//! let samples = vec![0.0f32; 44_100 * 2]; // interleaved stereo, 1 s at 44.1 kHz
//! let speech = preprocess(&samples, 2, 44_100);
//! match encoder.embed(&speech) {
//!     Ok(embedding) => println!("{:?}", &embedding.as_slice()[..4]),
//!     Err(e) => println!("{e}"), // silence: not enough speech
//! }
//! # Ok::<(), voxprint_engine::ModelError>(())
//! ```

// Every unsafe operation, even inside an `unsafe fn`, sits in an `unsafe {}` block whose
// `// SAFETY:` comment says how the function's contract (its `# Safety` section) covers it.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub mod augment;
pub mod constants;
pub mod diarize;
mod encoder;
mod kernels;
mod lstm;
pub mod mel;
pub mod model;
pub mod preprocess;
pub mod quality;
pub mod resample;
pub mod spectrogram;
pub mod speech;
pub mod vad;
pub mod windows;

pub use encoder::{cosine, Embedding, Encoder, EngineError};

/// Dot product of two equally long vectors with this CPU's best kernel (AVX2 + FMA where
/// present, detected once): what scoring a probe against thousands of stored embeddings runs.
///
/// # Panics
/// If the lengths differ.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    static ISA: std::sync::OnceLock<kernels::Isa> = std::sync::OnceLock::new();
    ISA.get_or_init(kernels::Isa::detect).dot(a, b)
}
pub use lstm::Precision;
pub use model::ModelError;
pub use preprocess::preprocess;
pub use quality::Quality;
pub use spectrogram::Spectrogram;
pub use speech::Sound;

/// The kernels, for `examples/bench.rs` to time each instruction set on the LSTM's shapes. Not
/// part of the API. Sound like the rest: an [`Isa`](bench::Isa) comes only from run-time
/// detection ([`Isa::detect`](bench::Isa::detect), [`Isa::available`](bench::Isa::available)),
/// and everything here is safe to call.
///
/// ```compile_fail
/// // The field is private: no claiming AVX-512 without detection.
/// let _ = voxprint_engine::bench::Isa { kind: voxprint_engine::bench::IsaKind::Avx512 };
/// ```
#[doc(hidden)]
pub mod bench {
    pub use crate::kernels::{quantize, Isa, IsaKind, PackedMatrix, QuantMatrix, ACT_SCALE};
}
