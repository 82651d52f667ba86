//! Speaker engine: audio samples → preprocessing → mel spectrogram → GE2E speaker encoder →
//! embedding, and scoring. Pure computation; see `README.md` beside this crate.

pub mod constants;
pub mod mel;
pub mod model;
pub mod windows;
