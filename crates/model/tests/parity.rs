//! Parity with the reference: every clip of `testdata/parity/` embedded by this crate must
//! reach cosine ≥ 0.999 with Resemblyzer 0.1.4's embedding of it, stored in
//! `tests/data/parity-reference.json` (regenerate with `scripts/parity/make-reference.sh`).
//!
//! Every instruction set this CPU has, in both precisions, is held to that; the 16-bit encoder's
//! embeddings must also reach cosine ≥ 0.999 with the f32 encoder's on the same instruction set.
//!
//! Needs the model at `$VOXPRINT_MODEL` or where `voxprint model fetch` writes it
//! ([`voxprint_model::default_model_path`]); ignored unless asked for (`--include-ignored`).

use std::path::{Path, PathBuf};

use voxprint_engine::bench::Isa;
use voxprint_engine::model::Weights;
use voxprint_engine::{cosine, preprocess, Embedding, Encoder, Precision};

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
    let weights = Weights::load(&model_path).unwrap_or_else(|e| {
        panic!("cannot load the speaker model ({e}); run `voxprint model fetch` (or `cargo run --release -p voxprint-model --example fetch_model`) first")
    });
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/parity-reference.json"))
            .unwrap(),
    )
    .unwrap();
    let clips = reference["clips"].as_array().unwrap();
    assert!(clips.len() >= 20, "expected at least 20 parity clips");

    let mut failures = Vec::new();
    let default = Encoder::load(&model_path).unwrap();
    for isa in Isa::available() {
        let encoders = [Precision::F32, Precision::Int16].map(|p| Encoder::with_kernels(&weights, isa, p));
        let mut worst = [(f32::INFINITY, String::new()), (f32::INFINITY, String::new())];
        let mut worst_vs_f32 = (f32::INFINITY, String::new());
        for clip in clips {
            let name = clip["file"].as_str().unwrap();
            let (samples, channels, rate) = read_wav(&repo_root().join("testdata/parity").join(name));
            let speech = preprocess(&samples, channels, rate);
            let expected_len = clip["preprocessed_samples"].as_u64().unwrap() as usize;
            let Some(reference) = clip["embedding"].as_array() else {
                for encoder in &encoders {
                    assert!(encoder.embed(&speech).is_err(), "{name}: the reference found no speech");
                }
                continue;
            };
            let mut r = [0f32; 256];
            for (slot, v) in r.iter_mut().zip(reference) {
                *slot = v.as_f64().unwrap() as f32;
            }
            let embeddings = encoders.each_ref().map(|encoder| {
                // Under a second of speech the server refuses to embed; the reference pads and embeds.
                if speech.len() < 16_000 {
                    assert!(encoder.embed(&speech).is_err(), "{name}: under 1 s must be refused");
                    encoder.embed_any_length(&speech)
                } else {
                    encoder.embed(&speech).unwrap()
                }
            });
            for ((embedding, encoder), worst) in embeddings.iter().zip(&encoders).zip(&mut worst) {
                let c = cosine(embedding, &Embedding(r));
                let kernels = encoder.kernels();
                println!(
                    "{kernels:?} {name}: cosine {c:.7} (1 - cos = {:.1e}), {} samples after preprocessing (reference {expected_len})",
                    1.0 - c,
                    speech.len()
                );
                if c < worst.0 {
                    *worst = (c, name.to_owned());
                }
                if c < MIN_COSINE {
                    failures.push(format!("{kernels:?} {name}: cosine {c:.6} < {MIN_COSINE}"));
                }
            }
            let c = cosine(&embeddings[1], &embeddings[0]);
            if c < worst_vs_f32.0 {
                worst_vs_f32 = (c, name.to_owned());
            }
            if c < MIN_COSINE {
                failures.push(format!("{:?} {name}: int16 vs f32 cosine {c:.6} < {MIN_COSINE}", isa.kind()));
            }
        }
        for (encoder, worst) in encoders.iter().zip(&worst) {
            println!("{:?}: minimum cosine vs Resemblyzer {:.7} ({})", encoder.kernels(), worst.0, worst.1);
        }
        println!("{:?}: minimum cosine Int16 vs F32 {:.7} ({})", isa.kind(), worst_vs_f32.0, worst_vs_f32.1);
    }
    println!("default kernels: {:?}", default.kernels());
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
