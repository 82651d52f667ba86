//! `voxprint model fetch` and `voxprint embed`: the speaker model from the command line.

use std::io::Write;

use anyhow::Context;
use voxprint_audio::RawPcm;
use voxprint_engine::Encoder;

use crate::cli::{EmbedArgs, ModelCommand};

pub fn model(command: ModelCommand) -> anyhow::Result<()> {
    match command {
        ModelCommand::Fetch { model } => {
            let path = model.resolve();
            let outcome = voxprint_model::fetch(&path)?;
            println!("{outcome}");
            println!("{}", path.display());
        }
    }
    Ok(())
}

/// Prints each file's embedding; a file that cannot be embedded is reported on stderr and
/// makes the exit status non-zero, after the others were printed.
pub fn embed(args: EmbedArgs) -> anyhow::Result<()> {
    let encoder = voxprint_model::load_encoder(&args.model.resolve())?;
    let raw = RawPcm { sample_rate: args.sample_rate, channels: args.channel };
    let mut failures = 0;
    let mut stdout = std::io::stdout().lock();
    for file in &args.files {
        match embed_file(&encoder, file, raw, args.conditions) {
            Ok(mut embeddings) => {
                let embedding = embeddings.remove(0);
                if args.conditions {
                    let line = serde_json::json!({ "file": file.to_string_lossy(), "embedding": embedding, "conditions": embeddings });
                    writeln!(stdout, "{line}")?;
                } else if args.json {
                    let line = serde_json::json!({ "file": file.to_string_lossy(), "embedding": embedding });
                    writeln!(stdout, "{line}")?;
                } else {
                    let values: Vec<String> = embedding.iter().map(|v| format!("{v:.6}")).collect();
                    writeln!(stdout, "{}\t{}", file.display(), values.join(" "))?;
                }
            }
            Err(err) => {
                failures += 1;
                eprintln!("{}: {err:#}", file.display());
            }
        }
    }
    anyhow::ensure!(failures == 0, "{failures} of {} files could not be embedded", args.files.len());
    Ok(())
}

/// The file's embedding, followed (with `conditions`) by those of its simulated conditions.
fn embed_file(
    encoder: &Encoder,
    file: &std::path::Path,
    raw: RawPcm,
    conditions: bool,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let bytes = std::fs::read(file).context("cannot read")?;
    let recording = crate::speaker::recording::decode(&bytes, raw)?;
    if conditions {
        let set = crate::speaker::scoring::embed_conditions(encoder, recording.wav_16k, &bytes)?;
        return Ok(set.chunks_exact(crate::speaker::scoring::EMBEDDING_DIM).map(<[f32]>::to_vec).collect());
    }
    let embedding = encoder.embed(&voxprint_engine::preprocess::finish(recording.wav_16k))?;
    Ok(vec![embedding.as_slice().to_vec()])
}
