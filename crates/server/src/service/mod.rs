//! The voiceprint operations behind the API, independent of HTTP: who may see and change which
//! group and voiceprint, and in which order audio and rows are written and cleaned up.

pub mod signing;
