//! The encoder's inner loops, with one implementation per instruction set chosen at run time:
//! AVX-512 or AVX2 + FMA where the CPU has them, portable Rust (SSE2 on x86-64) elsewhere, so that one
//! binary is fast on current servers and still runs on older CPUs.
//!
//! - [`PackedMatrix`] / [`Isa::gemm_acc`]: `C += A · B` for the LSTM's recurrent step, where A
//!   has few rows (one per window in flight), B is a 256 × 1024 weight matrix packed once at load
//!   into 16-column panels that stream through the cache in order.
//! - [`Isa::lstm_cell`]: the gate nonlinearities and the cell/hidden update, vectorised.
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

    #[test]
    fn row_blocks_are_balanced() {
        assert_eq!(row_blocks(13, 6).collect::<Vec<_>>(), vec![(0, 4), (4, 4), (8, 5)]);
        assert_eq!(row_blocks(6, 6).collect::<Vec<_>>(), vec![(0, 6)]);
        assert_eq!(row_blocks(0, 6).count(), 0);
    }
}
