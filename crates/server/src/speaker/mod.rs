//! From recordings to decisions: decoding an upload for the engine, the embedding workers, the
//! enrollment quality gate, scoring against a group's voiceprints, who spoke when in a long
//! recording, and bringing stored voiceprints up to the current scoring version.

pub mod diarization;
pub mod quality_gate;
pub mod recording;
pub mod reembed;
pub mod scoring;
pub mod workers;
