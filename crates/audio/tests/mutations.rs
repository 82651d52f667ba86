//! Property test: valid files of every format, mutated (bit flips, truncation, insertion,
//! overwriting), must make `decode` return — `Ok` with well-formed output or `Err` — never
//! panic, hang or blow up memory.
//!
//! Bounded for debug builds: `PROPTEST_CASES` (default 256 per format) sets the cases per
//! format; each case applies up to eight mutations.

mod common;

use common::*;
use proptest::prelude::*;
use voxprint_audio::{decode, RawPcm, MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit {
        at: usize,
        bit: u8,
    },
    Truncate {
        at: usize,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Overwrite {
        at: usize,
        bytes: Vec<u8>,
    },
    /// Header fields are where parsers trust numbers: overwrite near the start with extremes.
    Extreme {
        at: usize,
        value: u32,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Positions are fractions of the length so that one strategy serves every file size.
    let pos = any::<u32>().prop_map(|x| x as usize);
    prop_oneof![
        4 => (pos.clone(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        1 => pos.clone().prop_map(|at| Mutation::Truncate { at }),
        2 => (pos.clone(), prop::collection::vec(any::<u8>(), 1..64)).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        2 => (pos.clone(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(at, bytes)| Mutation::Overwrite { at, bytes }),
        2 => (0usize..256, prop_oneof![Just(0u32), Just(1), Just(0x7FFF_FFFF), Just(0xFFFF_FFFF), Just(0x8000_0000), any::<u32>()])
            .prop_map(|(at, value)| Mutation::Extreme { at, value }),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        let len = bytes.len();
        match m {
            Mutation::FlipBit { at, bit } => bytes[at % len] ^= 1 << bit,
            Mutation::Truncate { at } => bytes.truncate(at % len),
            Mutation::Insert { at, bytes: new } => {
                let at = at % (len + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Overwrite { at, bytes: new } => {
                for (i, b) in new.iter().enumerate() {
                    let j = (at + i) % len;
                    bytes[j] = *b;
                }
            }
            Mutation::Extreme { at, value } => {
                for (i, b) in value.to_le_bytes().iter().enumerate() {
                    if at + i < len {
                        bytes[at + i] = *b;
                    }
                }
            }
        }
    }
    bytes
}

/// Returns whether the bytes decoded.
fn check(bytes: &[u8]) -> bool {
    let raw = RawPcm { sample_rate: 16_000, channels: 2 };
    let result = decode(bytes, raw);
    if let Ok(d) = &result {
        assert!((MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&d.sample_rate));
        assert!((1..=MAX_CHANNELS).contains(&d.channels));
        assert!(!d.samples.is_empty());
        assert_eq!(d.samples.len() % d.channels as usize, 0);
        assert!(d.samples.iter().all(|x| (-1.0..=1.0).contains(x)));
    }
    result.is_ok()
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let pcm: Vec<u8> = (0..400i32).flat_map(|i| (((i * 37) % 2000 - 1000) as i16).to_le_bytes()).collect();
    let mut seeds = vec![
        ("wav16", wav(PCM, 2, 16_000, 16, &pcm)),
        ("wav24", wav(PCM, 1, 44_100, 24, &pcm[..600])),
        ("wav8", wav(PCM, 1, 8_000, 8, &pcm[..300])),
        ("wavfloat", wav(FLOAT, 1, 48_000, 32, &pcm)),
        ("wavext", riff(&[chunk(b"fmt ", &fmt_body(EXTENSIBLE, 2, 22_050, 16, PCM)), chunk(b"data", &pcm)])),
        ("mulaw", wav(MULAW, 1, 8_000, 8, &pcm[..200])),
        ("raw", pcm),
    ];
    for (name, ..) in COMPRESSED {
        seeds.push((name, fixture(name)));
    }
    // Laced blocks, which no fixture has.
    let (head, packets) = ogg_opus_packets("stereo44k.opus");
    let laced: Vec<&[u8]> = packets.iter().take(12).map(Vec::as_slice).collect();
    let mut segment = el(TRACKS, &track_entry(1, 2, "A_OPUS", &head));
    let mut cluster = el(SIMPLE_BLOCK, &block_body(1, Lacing::Xiph, &laced[..6]));
    cluster.extend(el(SIMPLE_BLOCK, &block_body(1, Lacing::Ebml, &laced[6..])));
    segment.extend(el(CLUSTER, &cluster));
    let mut webm = ebml_header("webm");
    webm.extend(el(SEGMENT, &segment));
    seeds.push(("laced.webm", webm));
    seeds
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

#[test]
fn mutated_files_never_panic() {
    for (name, seed) in seeds() {
        // The unmutated seed first.
        assert!(check(&seed), "{name} does not decode");
        let decoded = std::cell::Cell::new(0u32);
        let config = ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        let result = runner.run(&prop::collection::vec(mutation(), 1..8), |mutations| {
            let mut mutant = apply(seed.clone(), &mutations);
            if name.ends_with(".ogg") || name.ends_with(".opus") {
                fix_ogg_crcs(&mut mutant);
            }
            if check(&mutant) {
                decoded.set(decoded.get() + 1);
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{name}: {e}");
        }
        // Mostly-Ok means the mutations barely reach the parsers, mostly-Err that they never
        // get past the first check; either way the counts tell.
        eprintln!("{name}: {} of {} mutants decoded", decoded.get(), cases());
    }
}

#[test]
fn webm_blocks_of_random_bytes_never_panic() {
    // A valid header and Opus track, then clusters of blocks whose lacing headers and frames are
    // random: what reaches the lacing reader and the Opus decoder is arbitrary.
    let (head, _) = ogg_opus_packets("mono16k.opus");
    let block = (0u8..4, 1u8..3, prop::bool::ANY, prop::collection::vec(any::<u8>(), 0..400));
    let config = ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let decoded = std::cell::Cell::new(0u32);
    let result = runner.run(&prop::collection::vec(block, 1..24), |blocks| {
        let mut cluster = Vec::new();
        for (lacing, track, grouped, body) in blocks {
            let mut block = vec![0x80 | track, 0, 0, 0x80 | (lacing << 1)];
            block.extend_from_slice(&body);
            cluster.extend(if grouped { el(BLOCK_GROUP, &el(BLOCK, &block)) } else { el(SIMPLE_BLOCK, &block) });
        }
        let mut segment = el(TRACKS, &track_entry(1, 2, "A_OPUS", &head));
        segment.extend(el_unknown(CLUSTER, &cluster));
        let mut file = ebml_header("webm");
        file.extend(el_unknown(SEGMENT, &segment));
        if check(&file) {
            decoded.set(decoded.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!("random WebM blocks: {} of {} files decoded", decoded.get(), cases());
}

#[test]
fn every_prefix_of_small_files_is_handled() {
    // Truncation at every byte of the headers, where parsers are most fragile.
    for (name, seed) in seeds() {
        for cut in 0..seed.len().min(600) {
            let result = std::panic::catch_unwind(|| {
                check(&seed[..cut]);
            });
            assert!(result.is_ok(), "{name} cut at {cut}");
        }
    }
}
