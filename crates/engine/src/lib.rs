//! Speaker engine (see crates/engine/README or DESIGN.md).
