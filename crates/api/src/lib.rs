//! The voiceprint API as both sides see it: the request and response types, the Coze envelope,
//! the error codes, the limits, and one typed async client.
//!
//! The server serialises the same types the client deserialises, so the two cannot drift; the
//! CLI (`voxprint client`) and the black-box tests talk to the server through [`Client`].
//! `docs/api.md` in the repository is the contract in prose.

mod client;
pub mod codes;
mod id;
pub mod limits;
mod models;
pub mod stream;

pub use client::{Audio, Client, Error, Result};
pub use id::{Id, InvalidId};
pub use models::*;
