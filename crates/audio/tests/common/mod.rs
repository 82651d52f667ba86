//! Helpers shared by the integration tests: a WAV writer that can produce any header, and paths
//! to the committed fixtures and test audio.
#![allow(dead_code)]

use std::path::PathBuf;

pub const PCM: u16 = 1;
pub const FLOAT: u16 = 3;
pub const ALAW: u16 = 6;
pub const MULAW: u16 = 7;
pub const EXTENSIBLE: u16 = 0xFFFE;

/// A `fmt ` chunk body (16 bytes, or 40 for WAVE_FORMAT_EXTENSIBLE wrapping `sub_tag`).
pub fn fmt_body(tag: u16, channels: u16, rate: u32, bits: u16, sub_tag: u16) -> Vec<u8> {
    let block_align = channels as u32 * (bits as u32).div_ceil(8);
    let mut b = Vec::new();
    b.extend_from_slice(&tag.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate.wrapping_mul(block_align)).to_le_bytes());
    b.extend_from_slice(&(block_align as u16).to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    if tag == EXTENSIBLE {
        b.extend_from_slice(&22u16.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&sub_tag.to_le_bytes());
        b.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]);
    }
    b
}

pub fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut c = id.to_vec();
    c.extend_from_slice(&(body.len() as u32).to_le_bytes());
    c.extend_from_slice(body);
    if body.len() % 2 == 1 {
        c.push(0);
    }
    c
}

/// `RIFF` + size + `WAVE` + the given chunks.
pub fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(&body);
    out
}

/// A plain WAV file.
pub fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    riff(&[chunk(b"fmt ", &fmt_body(tag, channels, rate, bits, PCM)), chunk(b"data", data)])
}

pub fn s16le(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn testdata_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

pub fn testdata(relative: &str) -> Vec<u8> {
    let path = testdata_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every compressed fixture that must decode, with its rate, channels and approximate length.
pub const COMPRESSED: &[(&str, u32, u16, f32)] = &[
    ("mono16k.mp3", 16_000, 1, 2.40),
    ("stereo44k-id3.mp3", 44_100, 2, 1.10),
    ("mono16k.flac", 16_000, 1, 1.30),
    ("stereo16k.flac", 16_000, 2, 0.92),
    ("mono8k-24bit.flac", 8_000, 1, 0.84),
    ("mono16k.ogg", 16_000, 1, 2.40),
    ("stereo44k.ogg", 44_100, 2, 1.10),
    ("mono16k.m4a", 16_000, 1, 2.40),
    ("stereo44k.m4a", 44_100, 2, 1.10),
];
