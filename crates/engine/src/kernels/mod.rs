//! The encoder's inner loops, with one implementation per instruction set chosen at run time:
//! AVX-512 or AVX2 + FMA where the CPU has them, portable Rust (SSE2 on x86-64) elsewhere, so that one
//! binary is fast on current servers and still runs on older CPUs.
//!
//! - [`PackedMatrix`] / [`Isa::gemm_acc`]: `C += A · B` for the LSTM's recurrent step, where A
//!   has few rows (one per window in flight), B is a 256 × 1024 weight matrix packed once at load
//!   into 16-column panels that stream through the cache in order.
//! - [`QuantMatrix`] / [`Isa::gemm_acc_i16`]: the same product in 16-bit fixed point, for the
//!   matrices whose input is a hidden state (see `quant.rs`), dequantized into f32 as it is added.
//! - [`Isa::lstm_cell`]: the gate nonlinearities and the cell/hidden update, vectorised;
//!   [`Isa::lstm_cell_q`] also writes the hidden state in fixed point.
//! - [`Isa::dot`]: the resampler's inner product.
//!
//! Soundness: the AVX kernels are `unsafe fn`s that may only run on a CPU with their features.
//! [`Isa`] is the proof that they may: its field is private and its only constructors,
//! [`Isa::detect`] and [`Isa::available`], return nothing that run-time feature detection did not
//! find. Its methods are therefore safe, and the module is private to the crate (the benchmark
//! sees it through the hidden `voxprint_engine::bench`).

mod avx2;
mod avx512;
mod math;
mod portable;
mod quant;

pub use quant::{quantize, QuantMatrix, ACT_SCALE};

/// Width of a packed panel of B, in columns: two AVX registers.
const PANEL: usize = 16;
/// Rows of A processed against all of B before moving on: 24 rows × 256 × 4 bytes (24 KB) stay
/// in L1 beside one 16 KB panel of B, and B streams from L2/L3 in order.
const ROW_CHUNK: usize = 24;

/// An instruction set the kernels run with, which this CPU supports.
///
/// A value exists only if run-time detection found every CPU feature its kernels need (see
/// [`IsaKind`]): the field is private, and [`Isa::detect`] and [`Isa::available`] are the only
/// constructors. The `unsafe` calls of its methods rely on that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Isa {
    kind: IsaKind,
}

/// Which instruction set an [`Isa`] is, for printing and comparing. It cannot be made into an
/// [`Isa`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsaKind {
    /// AVX-512F, with AVX2 and FMA (the AVX-512 kernels use the AVX2 dot product).
    Avx512,
    /// AVX2 and FMA.
    Avx2Fma,
    /// Plain Rust: SSE2 on x86-64, whatever the target has elsewhere.
    Portable,
}

impl IsaKind {
    /// Best first.
    const ALL: [IsaKind; 3] = [IsaKind::Avx512, IsaKind::Avx2Fma, IsaKind::Portable];

    /// True when this CPU has every feature that this kind's kernels are compiled for.
    fn is_supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            IsaKind::Avx512 => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            IsaKind::Avx2Fma => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            IsaKind::Portable => true,
            #[cfg(not(target_arch = "x86_64"))]
            IsaKind::Avx512 | IsaKind::Avx2Fma => false,
        }
    }
}

impl Isa {
    /// The best instruction set this CPU supports.
    pub fn detect() -> Isa {
        let kind = IsaKind::ALL.into_iter().find(|k| k.is_supported()).unwrap_or(IsaKind::Portable);
        Isa { kind }
    }

    /// Every instruction set this CPU can run, best first (for tests and benchmarks).
    pub fn available() -> Vec<Isa> {
        IsaKind::ALL.into_iter().filter(|k| k.is_supported()).map(|kind| Isa { kind }).collect()
    }

    /// Which instruction set this is.
    pub fn kind(self) -> IsaKind {
        self.kind
    }

    /// `c[m × n] += a[m × k] · b`, with `a` and `c` row-major and contiguous.
    ///
    /// # Panics
    /// If `a` holds fewer than `m × k` values or `c` fewer than `m × n`.
    pub fn gemm_acc(self, m: usize, a: &[f32], b: &PackedMatrix, c: &mut [f32]) {
        let (k, n) = (b.rows, b.cols);
        let fits = |len: usize, cols: usize| m.checked_mul(cols).is_some_and(|needed| len >= needed);
        assert!(fits(a.len(), k) && fits(c.len(), n), "gemm_acc: operands too small");
        match self.kind {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `self` exists, so detection found AVX2 and FMA (see `Isa`). `a` holds
            // m × k values and `c` m × n (asserted above, without overflow); `b.data` holds the
            // packed k × n matrix with n a multiple of 64, which `PackedMatrix::from_transposed`,
            // its only constructor, asserts.
            IsaKind::Avx2Fma => unsafe { avx2::gemm_acc(m, k, n, a, &b.data, c) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, with AVX-512F found by detection.
            IsaKind::Avx512 => unsafe { avx512::gemm_acc(m, k, n, a, &b.data, c) },
            _ => portable::gemm_acc(m, k, n, a, &b.data, c),
        }
    }

    /// `c[m × n] += (a[m × k] · b) · scale`: `a` holds activations quantized by [`quantize`],
    /// `b` the quantized weights, and each column's exact i32 sum is multiplied by its dequant
    /// scale before it is added. Every instruction set computes the same result, bit for bit.
    ///
    /// # Panics
    /// If `a` holds fewer than `m × k` values or `c` fewer than `m × n`.
    pub fn gemm_acc_i16(self, m: usize, a: &[i16], b: &QuantMatrix, c: &mut [f32]) {
        let (k, n) = (b.rows, b.cols);
        let fits = |len: usize, cols: usize| m.checked_mul(cols).is_some_and(|needed| len >= needed);
        assert!(fits(a.len(), k) && fits(c.len(), n), "gemm_acc_i16: operands too small");
        match self.kind {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `self` exists, so detection found AVX2 (both kinds require it, see
            // `IsaKind::is_supported`). `a` holds m × k values and `c` m × n (asserted above,
            // without overflow); `b.data` holds the packed k × n matrix with k even and n a
            // multiple of 64, and `b.dequant` n scales, which `QuantMatrix::from_transposed`,
            // its only constructor, asserts.
            IsaKind::Avx2Fma | IsaKind::Avx512 => unsafe { avx2::gemm_acc_i16(m, k, n, a, &b.data, &b.dequant, c) },
            _ => portable::gemm_acc_i16(m, k, n, a, &b.data, &b.dequant, c),
        }
    }

    /// Dot product of two equally long slices (the resampler's inner loop).
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        match self.kind {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `self` exists, so detection found AVX2 and FMA, which both kinds require
            // (see `IsaKind::is_supported`).
            IsaKind::Avx2Fma | IsaKind::Avx512 => unsafe { avx2::dot(a, b) },
            _ => math::dot(a, b),
        }
    }

    /// One LSTM step for `rows` windows: `gates` holds rows of 4 × `hidden` pre-activations
    /// (order i, f, g, o); updates the cell state `c` and writes the hidden state into `h`.
    ///
    /// # Panics
    /// Unless `gates` is four times as long as `c`, `c` as long as `h`, and a multiple of `hidden`.
    pub fn lstm_cell(self, hidden: usize, gates: &[f32], c: &mut [f32], h: &mut [f32]) {
        assert!(gates.len() == 4 * c.len() && c.len() == h.len() && c.len().is_multiple_of(hidden));
        match self.kind {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `self` exists, so detection found AVX2 and FMA.
            IsaKind::Avx2Fma => unsafe { avx2::lstm_cell(hidden, gates, c, h) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `self` exists, so detection found AVX-512F, AVX2 and FMA.
            IsaKind::Avx512 => unsafe { avx512::lstm_cell(hidden, gates, c, h) },
            _ => math::lstm_cell(hidden, gates, c, h),
        }
    }

    /// [`Isa::lstm_cell`] that also writes the hidden state quantized by [`quantize`] into `hq`.
    ///
    /// # Panics
    /// Unless `gates` is four times as long as `c`, `c` as long as `h` and `hq`, and a multiple
    /// of `hidden`.
    pub fn lstm_cell_q(self, hidden: usize, gates: &[f32], c: &mut [f32], h: &mut [f32], hq: &mut [i16]) {
        assert!(gates.len() == 4 * c.len() && c.len() == h.len() && c.len() == hq.len());
        assert!(c.len().is_multiple_of(hidden));
        match self.kind {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `self` exists, so detection found AVX2 and FMA, which both kinds require.
            IsaKind::Avx2Fma | IsaKind::Avx512 => unsafe { avx2::lstm_cell_q(hidden, gates, c, h, hq) },
            _ => math::lstm_cell_q(hidden, gates, c, h, hq),
        }
    }
}

/// A `rows × cols` matrix packed as `cols / 16` panels, each `rows × 16` row-major, so that the
/// kernel reads every panel as one contiguous stream. `cols` is a multiple of 64 and `data`
/// holds `rows × cols` values: the AVX kernels rely on both.
#[derive(Debug, Clone)]
pub struct PackedMatrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl PackedMatrix {
    /// Packs `B = Wᵀ` for a PyTorch weight `w` of shape `cols × rows` (row-major), i.e. the
    /// matrix such that `x · B = W x`.
    ///
    /// # Panics
    /// Unless `cols` is a multiple of 64 and `w` holds `rows × cols` values.
    pub fn from_transposed(w: &[f32], rows: usize, cols: usize) -> PackedMatrix {
        assert!(cols.is_multiple_of(4 * PANEL) && rows.checked_mul(cols) == Some(w.len()), "packing: bad shape");
        let mut data = Vec::with_capacity(rows * cols);
        for panel in 0..cols / PANEL {
            for k in 0..rows {
                for j in 0..PANEL {
                    data.push(w[(panel * PANEL + j) * rows + k]);
                }
            }
        }
        PackedMatrix { rows, cols, data }
    }
}

/// Splits `m` rows into at most `max` rows per block, as evenly as possible: 13 rows with at most
/// 6 a block become 5, 4, 4 rather than 6, 6, 1, since a block of few rows cannot hide the
/// latency of its multiply-adds.
fn row_blocks(m: usize, max: usize) -> impl Iterator<Item = (usize, usize)> {
    let blocks = m.div_ceil(max);
    (0..blocks).map(move |b| {
        let start = b * m / blocks;
        (start, (b + 1) * m / blocks - start)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, k: usize, n: usize, a: &[f32], w: &[f32], c: &mut [f32]) {
        for r in 0..m {
            for j in 0..n {
                c[r * n + j] += (0..k).map(|kk| a[r * k + kk] * w[j * k + kk]).sum::<f32>();
            }
        }
    }

    #[test]
    fn kernels_match_naive_product() {
        let (k, n) = (37, 128);
        let w: Vec<f32> = (0..k * n).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
        let b = PackedMatrix::from_transposed(&w, k, n);
        for isa in Isa::available() {
            for m in [1, 2, 3, 4, 5, 6, 7, 13, 20, 97, 200] {
                let a: Vec<f32> = (0..m * k).map(|i| ((i * 31) % 17) as f32 / 8.0 - 1.0).collect();
                let mut expect = vec![0.5f32; m * n];
                naive(m, k, n, &a, &w, &mut expect);
                let mut got = vec![0.5f32; m * n];
                isa.gemm_acc(m, &a, &b, &mut got);
                for (g, e) in got.iter().zip(&expect) {
                    assert!((g - e).abs() < 1e-4, "{isa:?} m={m}: {g} vs {e}");
                }
            }
        }
    }

    #[test]
    fn cell_update_matches_the_formula() {
        let hidden = 24;
        let rows = 3;
        let gates: Vec<f32> = (0..4 * hidden * rows).map(|i| ((i * 13) % 29) as f32 / 3.0 - 4.5).collect();
        let c0: Vec<f32> = (0..hidden * rows).map(|i| (i % 7) as f32 - 3.0).collect();
        for isa in Isa::available() {
            let (mut c, mut h) = (c0.clone(), vec![0f32; hidden * rows]);
            isa.lstm_cell(hidden, &gates, &mut c, &mut h);
            let sig = |x: f32| 1.0 / (1.0 + (-x).exp());
            for r in 0..rows {
                for j in 0..hidden {
                    let g = |q: usize| gates[r * 4 * hidden + q * hidden + j];
                    let cc = sig(g(1)) * c0[r * hidden + j] + sig(g(0)) * g(2).tanh();
                    let hh = sig(g(3)) * cc.tanh();
                    assert!((c[r * hidden + j] - cc).abs() < 1e-6 * cc.abs().max(1.0), "{isa:?} c");
                    assert!((h[r * hidden + j] - hh).abs() < 1e-6, "{isa:?} h {} vs {hh}", h[r * hidden + j]);
                }
            }
        }
    }

    #[test]
    fn detection_offers_only_what_the_cpu_has() {
        let available = Isa::available();
        assert_eq!(available.first(), Some(&Isa::detect()));
        assert_eq!(available.last().map(|isa| isa.kind()), Some(IsaKind::Portable));
        #[cfg(target_arch = "x86_64")]
        for isa in available {
            let (avx2, avx512) = (
                is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
                is_x86_feature_detected!("avx512f"),
            );
            match isa.kind() {
                IsaKind::Avx512 => assert!(avx2 && avx512),
                IsaKind::Avx2Fma => assert!(avx2),
                IsaKind::Portable => {}
            }
        }
    }

    #[test]
    fn gemm_refuses_operands_too_small_even_when_sizes_overflow() {
        let b = PackedMatrix::from_transposed(&[0.0; 64 * 2], 2, 64);
        for isa in Isa::available() {
            for m in [2, usize::MAX / 2 + 1] {
                let caught = std::panic::catch_unwind(|| isa.gemm_acc(m, &[0.0; 2], &b, &mut [0.0; 64]));
                assert!(caught.is_err(), "{isa:?} m={m}");
            }
        }
    }

    /// Deterministic pseudo-random values in [-1, 1).
    fn noise(len: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    #[test]
    fn quantized_kernels_are_exact_and_within_the_rounding_bound() {
        for (k, n) in [(256, 128), (38, 64)] {
            // Weights of mixed magnitudes, as trained ones are.
            let w: Vec<f32> = noise(k * n, 1).iter().zip(noise(k * n, 2)).map(|(a, b)| a * b.abs().powi(3)).collect();
            let b = QuantMatrix::from_transposed(&w, k, n);
            for m in [1, 2, 3, 4, 5, 6, 7, 11, 13, 23, 24, 25, 37, 48, 64, 69] {
                let x = noise(m * k, m as u64 + 3);
                let xq: Vec<i16> = x.iter().map(|&v| quantize(v)).collect();
                let c0 = noise(m * n, 99);
                let mut reference = c0.clone();
                portable::gemm_acc_i16(m, k, n, &xq, &b.data, &b.dequant, &mut reference);
                for isa in Isa::available() {
                    let mut got = c0.clone();
                    isa.gemm_acc_i16(m, &xq, &b, &mut got);
                    let same = got.iter().zip(&reference).all(|(g, r)| g.to_bits() == r.to_bits());
                    assert!(same, "{isa:?} m={m} k={k}: not bit-identical to the portable kernel");
                }
                for r in 0..m {
                    for j in 0..n {
                        // The exact integer sum, dequantized as the kernels do.
                        let acc: i64 = (0..k).map(|kk| i64::from(xq[r * k + kk]) * i64::from(b.get(kk, j))).sum();
                        let expect = c0[r * n + j] + acc as f32 * b.dequant[j];
                        assert_eq!(reference[r * n + j].to_bits(), expect.to_bits(), "m={m} k={k} ({r}, {j})");
                        // Against the f32 product: weight rounding ≤ 1/(2s) each, activation
                        // rounding ≤ 1/(2 · ACT_SCALE) each, plus f32 rounding.
                        let inv_s = f64::from(b.dequant[j]) * f64::from(ACT_SCALE);
                        let (mut exact, mut bound, mut magnitude) = (f64::from(c0[r * n + j]), 0.0, 0.0);
                        for kk in 0..k {
                            let (xv, wv) = (f64::from(x[r * k + kk]), f64::from(w[j * k + kk]));
                            exact += xv * wv;
                            let wq = f64::from(b.get(kk, j)) * inv_s;
                            bound += 0.5 * inv_s * xv.abs() + wq.abs() * 0.5 / f64::from(ACT_SCALE);
                            magnitude += (xv * wv).abs();
                        }
                        bound += 1e-6 * (magnitude + f64::from(c0[r * n + j]).abs());
                        let err = (f64::from(reference[r * n + j]) - exact).abs();
                        assert!(err <= bound, "m={m} k={k} ({r}, {j}): error {err:e} > bound {bound:e}");
                    }
                }
            }
        }
    }

    #[test]
    fn weight_scales_cannot_overflow_the_accumulator() {
        let (k, n) = (256, 64);
        // All huge (0) and all tiny (3, 5): the L1 bound binds. One dominant weight among tiny
        // ones (1); a single weight (4): the ±32767 bound binds. An empty column (2).
        let column = |j: usize, kk: usize| -> f32 {
            match j % 8 {
                0 => 1e30,
                1 => [1e-30, 3e38][usize::from(kk == 7)],
                2 => 0.0,
                3 => [1e-30, -1e-30][kk % 2],
                4 => [0.0, -5.0][usize::from(kk == 0)],
                5 => 1e-20,
                6 => (kk as f32 - 128.0) * 1e3,
                _ => 1.0,
            }
        };
        let mut w = vec![0f32; k * n];
        for j in 0..n {
            for kk in 0..k {
                w[j * k + kk] = column(j, kk);
            }
        }
        let b = QuantMatrix::from_transposed(&w, k, n);
        // The worst case: every activation at full scale, with the sign of its weight.
        let mut xq = vec![0i16; n * k];
        for j in 0..n {
            let sum: i64 = (0..k).map(|kk| i64::from(b.get(kk, j)).abs()).sum();
            assert!(sum * ACT_SCALE as i64 <= i64::from(i32::MAX), "column {j}: Σ|w_q| = {sum}");
            assert!((0..k).all(|kk| b.get(kk, j) != i16::MIN), "column {j}");
            for kk in 0..k {
                xq[j * k + kk] = if b.get(kk, j) < 0 { -(ACT_SCALE as i16) } else { ACT_SCALE as i16 };
            }
        }
        // The single-weight column uses the full i16 range; the huge one most of the L1 budget.
        assert_eq!(b.get(0, 4), -32767);
        let huge: i64 = (0..k).map(|kk| i64::from(b.get(kk, 0))).sum();
        assert!(huge * ACT_SCALE as i64 > i64::from(i32::MAX) * 99 / 100);
        for isa in Isa::available() {
            let mut c = vec![0f32; n * n];
            isa.gemm_acc_i16(n, &xq, &b, &mut c);
            for r in 0..n {
                let acc: i64 = (0..k).map(|kk| i64::from(xq[r * k + kk]) * i64::from(b.get(kk, r))).sum();
                assert!(acc <= i64::from(i32::MAX));
                let expect = acc as f32 * b.dequant[r];
                assert_eq!(c[r * n + r].to_bits(), expect.to_bits(), "{isa:?} column {r}");
                // And that is the column's L1 norm, to the quantization's precision.
                let l1: f64 = (0..k).map(|kk| f64::from(column(r, kk).abs())).sum();
                assert!((f64::from(expect) - l1).abs() <= 1e-3 * l1, "{isa:?} column {r}: {expect} vs {l1}");
            }
        }
    }

    #[test]
    fn quantize_rounds_to_even_and_clamps() {
        assert_eq!(quantize(0.0), 0);
        assert_eq!(quantize(0.5 / ACT_SCALE), 0);
        assert_eq!(quantize(1.5 / ACT_SCALE), 2);
        assert_eq!(quantize(-1.0), -8192);
        assert_eq!(quantize(1.0), 8192);
        assert_eq!(quantize(7.0), 8192);
        assert_eq!(quantize(f32::NEG_INFINITY), -8192);
        assert_eq!(quantize(f32::NAN), 0);
    }

    #[test]
    fn quantized_cell_update_equals_the_f32_one() {
        let hidden = 256;
        let rows = 5;
        let gates: Vec<f32> = noise(4 * hidden * rows, 5).iter().map(|v| 6.0 * v).collect();
        let c0 = noise(hidden * rows, 6);
        let (mut c_ref, mut h_ref) = (c0.clone(), vec![0f32; hidden * rows]);
        math::lstm_cell(hidden, &gates, &mut c_ref, &mut h_ref);
        for isa in Isa::available() {
            let (mut c, mut h, mut hq) = (c0.clone(), vec![0f32; hidden * rows], vec![0i16; hidden * rows]);
            isa.lstm_cell_q(hidden, &gates, &mut c, &mut h, &mut hq);
            assert_eq!(c, c_ref, "{isa:?}");
            assert_eq!(h, h_ref, "{isa:?}");
            assert!(hq.iter().zip(&h).all(|(&q, &v)| q == quantize(v)), "{isa:?}");
        }
    }

    #[test]
    fn row_blocks_are_balanced() {
        assert_eq!(row_blocks(13, 6).collect::<Vec<_>>(), vec![(0, 4), (4, 4), (8, 5)]);
        assert_eq!(row_blocks(6, 6).collect::<Vec<_>>(), vec![(0, 6)]);
        assert_eq!(row_blocks(0, 6).count(), 0);
    }
}
