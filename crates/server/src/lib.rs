//! Voxprint: a self-hosted voiceprint (speaker recognition) server with the Coze voiceprint API.
//! README.md says how to run it; `docs/api.md` is the API contract.
//!
//! # Layout
//!
//! A request travels down this list and its answer back up:
//!
//! - [`cli`]: the `voxprint` command: arguments, and the subcommands other than `serve`: the API
//!   client, account administration, the speaker model.
//! - [`serve`]: `voxprint serve` wires everything below together and runs until told to stop.
//! - [`http`]: the HTTP API: connections and their limits, routing, authentication, parsing
//!   requests into domain types, the Coze envelope, the one place errors become codes, the
//!   OpenAPI document, metrics and rate limits.
//! - [`service`]: the voiceprint operations without HTTP: access rules, the order in which audio
//!   and rows are written and undone, signed audio links.
//! - [`speaker`]: recordings to embeddings on worker threads (`voxprint-engine` does the
//!   numerics, with the model file `voxprint-model` finds and fetches), the enrollment quality
//!   gate, scoring against a group's voiceprints with a cache.
//! - [`storage`]: the database (SQLite or PostgreSQL) and its queries, the audio blob store (a
//!   directory or S3), IDs, the storage check, orphan sweep, readiness probe and migration
//!   between deployments.
//! - [`domain`]: types that parse untrusted input once: IDs, names, URLs, pages, permissions,
//!   tokens. [`error`]: the failures of a request, in the API's terms, for every layer.
//! - [`clock`], [`metrics`]: wall-clock time and the Prometheus registry, used throughout.
//!
//! The request and response types, error codes and limits that clients share with the server
//! live in the `voxprint-api` crate.

pub mod cli;
pub mod clock;
pub mod domain;
pub mod error;
pub mod http;
pub mod metrics;
pub mod serve;
pub mod service;
pub mod speaker;
pub mod storage;
