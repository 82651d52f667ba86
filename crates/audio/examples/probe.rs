//! Prints what `voxprint_audio::decode` makes of files: format, rate, channels, duration, level.
//!
//! `cargo run -p voxprint-audio --example probe -- FILE... [--raw RATE CHANNELS]`

use voxprint_audio::{decode, duration_seconds, RawPcm};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut raw = RawPcm::default();
    if let Some(i) = args.iter().position(|a| a == "--raw") {
        let rate = args.get(i + 1).and_then(|v| v.parse().ok()).expect("--raw RATE CHANNELS");
        let channels = args.get(i + 2).and_then(|v| v.parse().ok()).expect("--raw RATE CHANNELS");
        raw = RawPcm { sample_rate: rate, channels };
        args.drain(i..i + 3);
    }
    for path in args {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                println!("{path}: {e}");
                continue;
            }
        };
        match decode(&bytes, raw) {
            Ok(d) => {
                let rms = (d.samples.iter().map(|x| (x * x) as f64).sum::<f64>() / d.samples.len() as f64).sqrt();
                println!(
                    "{path}: {} {} Hz {} ch {:.3} s, RMS {:.1} dBFS",
                    d.format,
                    d.sample_rate,
                    d.channels,
                    duration_seconds(&d),
                    20.0 * rms.max(1e-10).log10()
                );
            }
            Err(e) => println!("{path}: {e}"),
        }
    }
}
