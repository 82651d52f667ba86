//! The encoder's inner loops, with one implementation per instruction set chosen at run time:
//! AVX-512 or AVX2 + FMA where the CPU has them, portable Rust (SSE2 on x86-64) elsewhere, so that one
//! binary is fast on current servers and still runs on older CPUs.
//!
//! - [`PackedMatrix`] / [`Isa::gemm_acc`]: `C += A · B` for the LSTM's recurrent step, where A
//!   has few rows (one per window in flight), B is a 256 × 1024 weight matrix packed once at load
//!   into 16-column panels that stream through the cache in order.
//! - [`Isa::lstm_cell`]: the gate nonlinearities and the cell/hidden update, vectorised.
//! - [`Isa::dot`]: the resampler's inner product.

mod avx2;
mod avx512;
mod math;
mod portable;

/// Width of a packed panel of B, in columns: two AVX registers.
pub const PANEL: usize = 16;
/// Rows of A processed against all of B before moving on: 24 rows × 256 × 4 bytes (24 KB) stay
/// in L1 beside one 16 KB panel of B, and B streams from L2/L3 in order.
const ROW_CHUNK: usize = 24;

/// Instruction set the kernels run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Avx512,
    Avx2Fma,
    Portable,
}

impl Isa {
    /// The best instruction set this CPU supports.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return if is_x86_feature_detected!("avx512f") { Isa::Avx512 } else { Isa::Avx2Fma };
        }
        Isa::Portable
    }

    /// Every instruction set this CPU can run, best first (for tests and benchmarks).
    pub fn available() -> Vec<Isa> {
        let best = Isa::detect();
        [Isa::Avx512, Isa::Avx2Fma, Isa::Portable]
            .into_iter()
            .skip_while(|&isa| isa != best)
            .collect()
    }

    /// `c[m × n] += a[m × k] · b`, with `a` and `c` row-major and contiguous.
    pub fn gemm_acc(self, m: usize, a: &[f32], b: &PackedMatrix, c: &mut [f32]) {
        let (k, n) = (b.rows, b.cols);
        assert!(a.len() >= m * k && c.len() >= m * n, "gemm_acc: operands too small");
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `detect` returned Avx2Fma only after checking both features; the slice
            // lengths were checked above.
            Isa::Avx2Fma => unsafe { avx2::gemm_acc(m, k, n, a, &b.data, c) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, for AVX-512F.
            Isa::Avx512 => unsafe { avx512::gemm_acc(m, k, n, a, &b.data, c) },
            _ => portable::gemm_acc(m, k, n, a, &b.data, c),
        }
    }

    /// Dot product of two equally long slices (the resampler's inner loop).
    pub fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has AVX2 and FMA.
            Isa::Avx2Fma | Isa::Avx512 => unsafe { avx2::dot(a, b) },
            _ => math::dot(a, b),
        }
    }

    /// One LSTM step for `rows` windows: `gates` holds rows of 4 × `hidden` pre-activations
    /// (order i, f, g, o); updates the cell state `c` and writes the hidden state into `h`.
    pub fn lstm_cell(self, hidden: usize, gates: &[f32], c: &mut [f32], h: &mut [f32]) {
        assert!(gates.len() == 4 * c.len() && c.len() == h.len() && c.len().is_multiple_of(hidden));
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, the CPU has AVX2 and FMA.
            Isa::Avx2Fma => unsafe { avx2::lstm_cell(hidden, gates, c, h) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, for AVX-512F (whose CPUs all have AVX2 and FMA).
            Isa::Avx512 => unsafe { avx512::lstm_cell(hidden, gates, c, h) },
            _ => math::lstm_cell(hidden, gates, c, h),
        }
    }
}

/// A `rows × cols` matrix packed as `cols / 16` panels, each `rows × 16` row-major, so that the
/// kernel reads every panel as one contiguous stream.
#[derive(Debug, Clone)]
pub struct PackedMatrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl PackedMatrix {
    /// Packs `B = Wᵀ` for a PyTorch weight `w` of shape `cols × rows` (row-major), i.e. the
    /// matrix such that `x · B = W x`.
    pub fn from_transposed(w: &[f32], rows: usize, cols: usize) -> PackedMatrix {
        assert!(cols.is_multiple_of(4 * PANEL) && w.len() == rows * cols, "packing: bad shape");
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
pub(crate) fn row_blocks(m: usize, max: usize) -> impl Iterator<Item = (usize, usize)> {
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
    fn row_blocks_are_balanced() {
        assert_eq!(row_blocks(13, 6).collect::<Vec<_>>(), vec![(0, 4), (4, 4), (8, 5)]);
        assert_eq!(row_blocks(6, 6).collect::<Vec<_>>(), vec![(0, 6)]);
        assert_eq!(row_blocks(0, 6).count(), 0);
    }
}
