//! Audio decoding.
