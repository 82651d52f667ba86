//! Speed of the engine on WAV files, one thread: preprocessing, encoder and end to end as
//! multiples of real time, the encoder's GFLOP/s in each precision (f32 and 16-bit fixed point,
//! counted as the same f32 flops), the single-core SGEMM of the same GEMM crate on a large shape
//! for comparison, and the engine's own kernels for each instruction set and precision. Used by `scripts/bench-engine.sh`, which runs
//! Resemblyzer on the same files in the same run.
//!
//! `cargo run --release -p voxprint-model --example bench -- [--repeat N] FILE.wav…`
//! Prints one `key value` pair per line.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use voxprint_engine::bench::{quantize, Isa, PackedMatrix, QuantMatrix};
use voxprint_engine::model::Weights;
use voxprint_engine::{preprocess, windows, Encoder, Precision};


/// Multiply-adds of one window through the LSTM and the linear layer, × 2 flops:
/// 160 steps × (4·256·(40 + 256) + 2 · 4·256·(256 + 256)) + 256·256 ≈ 432 MFLOP.
fn flops_per_window() -> f64 {
    let per_step = 1024.0 * (40.0 + 256.0) + 2.0 * 1024.0 * 512.0;
    2.0 * (160.0 * per_step + 256.0 * 256.0)
}

fn main() {
    let mut repeat = 5usize;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--repeat" {
            repeat = args.next().and_then(|n| n.parse().ok()).expect("--repeat N");
        } else {
            files.push(PathBuf::from(a));
        }
    }
    assert!(!files.is_empty(), "usage: bench [--repeat N] FILE.wav…");
    let weights = Weights::load(&voxprint_model::default_model_path()).unwrap_or_else(|e| panic!("{e}"));
    // The default (what the server runs), then each precision on this CPU's best ISA.
    let encoder = Encoder::from_weights(&weights);
    let precisions = [Precision::F32, Precision::Int16];
    let by_precision = precisions.map(|p| Encoder::with_kernels(&weights, Isa::detect(), p));
    let clips: Vec<(Vec<f32>, usize, u32)> = files.iter().map(read_wav).collect();
    let audio_seconds: f64 = clips.iter().map(|(s, c, r)| s.len() as f64 / *c as f64 / f64::from(*r)).sum();

    // Warm up (resampler tables, page faults), then keep the best of `repeat` passes.
    let speeches: Vec<Vec<f32>> = clips.iter().map(|(s, c, r)| preprocess(s, *c, *r)).collect();
    let windows: usize = speeches.iter().map(|s| windows::plan(s.len()).starts.len()).sum();
    let (mut pre, mut enc, mut batched) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let mut enc_by_precision = [Duration::MAX; 2];
    for _ in 0..repeat {
        let t = Instant::now();
        for (s, c, r) in &clips {
            std::hint::black_box(preprocess(s, *c, *r));
        }
        pre = pre.min(t.elapsed());
        let t = Instant::now();
        for s in &speeches {
            std::hint::black_box(encoder.embed_any_length(s));
        }
        enc = enc.min(t.elapsed());
        let t = Instant::now();
        let refs: Vec<&[f32]> = speeches.iter().map(Vec::as_slice).collect();
        std::hint::black_box(encoder.embed_batch(&refs));
        batched = batched.min(t.elapsed());
        for (e, best) in by_precision.iter().zip(&mut enc_by_precision) {
            let t = Instant::now();
            for s in &speeches {
                std::hint::black_box(e.embed_any_length(s));
            }
            *best = (*best).min(t.elapsed());
        }
    }
    let (pre, enc, batched) = (pre.as_secs_f64(), enc.as_secs_f64(), batched.as_secs_f64());
    println!("files {}", clips.len());
    println!("audio_seconds {audio_seconds:.3}");
    println!("windows {windows}");
    println!("preprocess_seconds {pre:.6}");
    println!("encoder_seconds {enc:.6}");
    println!("encoder_batched_seconds {batched:.6}");
    println!("preprocess_x_realtime {:.1}", audio_seconds / pre);
    println!("encoder_x_realtime {:.1}", audio_seconds / enc);
    println!("end_to_end_x_realtime {:.1}", audio_seconds / (pre + enc));
    println!("encoder_gflops {:.1}", windows as f64 * flops_per_window() / enc / 1e9);
    println!("encoder_batched_gflops {:.1}", windows as f64 * flops_per_window() / batched / 1e9);
    println!("encoder_kernels {:?}", encoder.kernels());
    for (p, best) in precisions.iter().zip(enc_by_precision) {
        let gflops = windows as f64 * flops_per_window() / best.as_secs_f64() / 1e9;
        println!("encoder_gflops_{p:?} {gflops:.1}");
    }
    for (m, k, n) in [(2048, 1024, 1024), (128, 256, 1024), (13, 256, 1024)] {
        println!("sgemm_gflops_{m}x{k}x{n} {:.1}", sgemm_gflops(m, k, n));
    }
    println!("isa {:?}", Isa::detect().kind());
    // Input projections (2080, 128 rows) and recurrent steps (64, 24, 13, 6, 1 windows); the
    // i16 kernel's multiply-adds count as f32 flops, so the two widths compare directly.
    for isa in Isa::available() {
        for m in [2080, 128, 64, 24, 13, 6, 1] {
            println!("kernel_gflops_{:?}_F32_{m}x256x1024 {:.1}", isa.kind(), kernel_gflops(isa, m, 256, 1024));
            println!("kernel_gflops_{:?}_Int16_{m}x256x1024 {:.1}", isa.kind(), kernel_i16_gflops(isa, m, 256, 1024));
        }
    }
}

/// The engine's 16-bit kernel (`c += (a · b) · scale`) on the LSTM's shapes.
fn kernel_i16_gflops(isa: Isa, m: usize, k: usize, n: usize) -> f64 {
    let a = vec![quantize(0.5); m * k];
    let b = QuantMatrix::from_transposed(&vec![0.25f32; k * n], k, n);
    let mut c = vec![0f32; m * n];
    time_gflops(m, k, n, || isa.gemm_acc_i16(m, &a, &b, &mut c))
}

/// The engine's own packed kernel (`c += a · b`) on the LSTM's shapes.
fn kernel_gflops(isa: Isa, m: usize, k: usize, n: usize) -> f64 {
    let a = vec![0.5f32; m * k];
    let b = PackedMatrix::from_transposed(&vec![0.25f32; k * n], k, n);
    let mut c = vec![0f32; m * n];
    time_gflops(m, k, n, || isa.gemm_acc(m, &a, &b, &mut c))
}

/// Best of three timings of enough calls of `f` (an m × k × n product) for ≈ 4 GFLOP.
fn time_gflops(m: usize, k: usize, n: usize, mut f: impl FnMut()) -> f64 {
    let reps = (4e9 / (2.0 * (m * k * n) as f64)).ceil() as usize;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (m * k * n * reps) as f64 / best / 1e9
}

/// Single-thread `matrixmultiply::sgemm` speed on an `m × k` by `k × n` product.
fn sgemm_gflops(m: usize, k: usize, n: usize) -> f64 {
    let a = vec![0.5f32; m * k];
    let b = vec![0.25f32; k * n];
    let mut c = vec![0f32; m * n];
    time_gflops(m, k, n, || {
        // SAFETY: the buffers hold m × k, k × n and m × n values with these row strides.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr(),
                k as isize,
                1,
                b.as_ptr(),
                n as isize,
                1,
                0.0,
                c.as_mut_ptr(),
                n as isize,
                1,
            );
        }
        std::hint::black_box(&mut c);
    })
}

fn read_wav(path: &PathBuf) -> (Vec<f32>, usize, u32) {
    let mut reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    let samples = reader.samples::<i16>().map(|s| f32::from(s.expect("16-bit PCM")) / 32768.0).collect();
    (samples, usize::from(spec.channels), spec.sample_rate)
}
