//! Parity with the reference: every clip of `testdata/parity/` embedded by this crate must
//! reach cosine ≥ 0.999 with Resemblyzer 0.1.4's embedding of it, stored in
//! `tests/data/parity-reference.json` (regenerate with `scripts/parity/make-reference.sh`).
//!
//! Needs the model at `$VOXPRINT_MODEL` or where `voxprint model fetch` writes it
//! ([`voxprint_model::default_model_path`]); ignored unless asked for (`--include-ignored`).

use std::path::{Path, PathBuf};

use voxprint_engine::{cosine, preprocess, Embedding, Encoder};

const MIN_COSINE: f32 = 0.999;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Interleaved samples in [-1, 1], as the server's decoder hands them over.
fn read_wav(path: &Path) -> (Vec<f32>, usize, u32) {
    let mut reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    assert_eq!((spec.bits_per_sample, spec.sample_format), (16, hound::SampleFormat::Int), "{}", path.display());
    let samples = reader.samples::<i16>().map(|s| f32::from(s.unwrap()) / 32768.0).collect();
    (samples, usize::from(spec.channels), spec.sample_rate)
}

#[test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
fn embeddings_match_resemblyzer() {
    let model_path = voxprint_model::default_model_path();
    let encoder = Encoder::load(&model_path).unwrap_or_else(|e| {
        panic!("cannot load the speaker model ({e}); run `voxprint model fetch` (or `cargo run --release -p voxprint-model --example fetch_model`) first")
    });
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/parity-reference.json"))
            .unwrap(),
    )
    .unwrap();
    let clips = reference["clips"].as_array().unwrap();
    assert!(clips.len() >= 20, "expected at least 20 parity clips");

    let mut worst = (f32::INFINITY, String::new());
    let mut failures = Vec::new();
    for clip in clips {
        let name = clip["file"].as_str().unwrap();
        let (samples, channels, rate) = read_wav(&repo_root().join("testdata/parity").join(name));
        let speech = preprocess(&samples, channels, rate);
        let expected_len = clip["preprocessed_samples"].as_u64().unwrap() as usize;
        let Some(reference) = clip["embedding"].as_array() else {
            assert!(encoder.embed(&speech).is_err(), "{name}: the reference found no speech");
            continue;
        };
        let mut r = [0f32; 256];
        for (slot, v) in r.iter_mut().zip(reference) {
            *slot = v.as_f64().unwrap() as f32;
        }
        // Under a second of speech the server refuses to embed; the reference pads and embeds.
        let embedding = if speech.len() < 16_000 {
            assert!(encoder.embed(&speech).is_err(), "{name}: under 1 s must be refused");
            encoder.embed_any_length(&speech)
        } else {
            encoder.embed(&speech).unwrap()
        };
        let c = cosine(&embedding, &Embedding(r));
        println!(
            "{name}: cosine {c:.7} (1 - cos = {:.1e}), {} samples after preprocessing (reference {expected_len})",
            1.0 - c,
            speech.len()
        );
        if c < worst.0 {
            worst = (c, name.to_owned());
        }
        if c < MIN_COSINE {
            failures.push(format!("{name}: cosine {c:.6} < {MIN_COSINE}"));
        }
    }
    println!("minimum cosine {:.7} ({})", worst.0, worst.1);
    assert!(failures.is_empty(), "parity failures:\n{}", failures.join("\n"));
}

#[test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
fn batch_equals_single() {
    let Ok(encoder) = Encoder::load(&voxprint_model::default_model_path()) else {
        panic!("speaker model missing: run `voxprint model fetch` first");
    };
    let dir = repo_root().join("testdata/parity");
    let speeches: Vec<Vec<f32>> =
        ["07-flite-kal16-16k-mono.wav", "16-flite-slt-8k-mono-long.wav", "19-festival-it-lp-44k-stereo.wav"]
            .iter()
            .map(|n| {
                let (s, c, r) = read_wav(&dir.join(n));
                preprocess(&s, c, r)
            })
            .collect();
    let refs: Vec<&[f32]> = speeches.iter().map(Vec::as_slice).collect();
    let batch = encoder.embed_batch(&refs);
    for (speech, batched) in speeches.iter().zip(&batch) {
        match (encoder.embed(speech), batched) {
            (Ok(a), Ok(b)) => assert!(cosine(&a, b) > 0.99999),
            (Err(a), Err(b)) => assert_eq!(&a, b),
            (a, b) => panic!("single {a:?} vs batched {b:?}"),
        }
    }
}
