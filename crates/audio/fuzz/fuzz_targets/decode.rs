//! Any bytes, with any raw-PCM description: `decode` must return, never panic or abort, and
//! what it returns must be well formed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voxprint_audio::{decode, RawPcm};

fuzz_target!(|input: &[u8]| {
    // The first three bytes choose the raw-PCM shape, so out-of-range shapes are explored too.
    let (shape, bytes) = input.split_at(input.len().min(3));
    let raw = match shape {
        [a, b, c] => RawPcm { sample_rate: u32::from(u16::from_le_bytes([*a, *b])) * 2, channels: u16::from(*c % 10) },
        _ => RawPcm::default(),
    };
    if let Ok(decoded) = decode(bytes, raw) {
        assert!(!decoded.samples.is_empty());
        assert!((1..=8).contains(&decoded.channels));
        assert_eq!(decoded.samples.len() % decoded.channels as usize, 0);
        assert!(decoded.samples.iter().all(|x| (-1.0..=1.0).contains(x)));
    }
});
