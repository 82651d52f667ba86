//! 16-bit fixed point for the products whose input is an LSTM hidden state (every `W_hh`, and
//! `W_ih` of the layers above the first): `h = o · tanh(c)` lies in [-1, 1], so one fixed scale
//! quantizes every activation, and each weight column (one gate unit) gets its own scale.
//!
//! The products run as `i16 × i16 → i32` (`vpmaddwd` on AVX2), which on AMD Zen 3 does about
//! 1.5 times the multiply-adds per second of f32 FMA. The i32 sums are exact, so every
//! instruction set computes the same integers; only the f32 dequantization `gates += acc ·
//! scale[col]` (a multiply then an add, never fused, so that it rounds the same everywhere)
//! turns them into gate pre-activations.
//!
//! No overflow: an activation is at most [`ACT_SCALE`] in magnitude, and each column's weight
//! scale is chosen so that `Σ_k |w_q[k]| · ACT_SCALE ≤ i32::MAX` (checked exactly when packing).
//! Every partial sum of the dot product, in whatever order a kernel adds, is bounded by that.

use super::PANEL;

/// Fixed-point scale of the activations: `x_q = round(x · 2^13)`, clamped to ±2^13. A step of
/// 1.2e-4 in h; 2^13 balances it against the weights' rounding, whose step grows with it (the
/// overflow bound leaves `i32::MAX / 2^13` for a column's sum of |w_q|).
pub const ACT_SCALE: f32 = 8192.0;

/// Largest |w_q|: ±32767, never -32768, so that no `vpmaddwd` pair can reach 2^31.
const MAX_WEIGHT: f32 = 32767.0;

/// Quantizes one activation: `round(x · ACT_SCALE)`, ties to even, clamped to ±`ACT_SCALE`
/// (NaN becomes 0). Every instruction set runs this same code (see `Isa::lstm_cell_q`).
///
/// Rounds by adding 1.5 · 2^23, as `math::exp` does: in [2^23, 2^24) an f32's unit is 1, so the
/// addition rounds to an integer (ties to even) that lies in the low mantissa bits. Exact for
/// |v| ≤ 2^22, and unlike a float-to-int conversion (saturating in Rust) it vectorises.
#[inline(always)]
pub fn quantize(x: f32) -> i16 {
    const SHIFTER: f32 = 12_582_912.0;
    let v = (x * ACT_SCALE).clamp(-ACT_SCALE, ACT_SCALE);
    #[allow(clippy::eq_op)] // v == v is false for NaN only
    let v = if v == v { v } else { 0.0 };
    (v + SHIFTER).to_bits().wrapping_sub(SHIFTER.to_bits()) as i16
}

/// A `rows × cols` weight matrix `B = Wᵀ` in 16-bit fixed point, packed for the integer kernels:
/// `cols / 16` panels, each `rows / 2` pairs of k, each pair 16 columns × 2 values with the two
/// k of a column adjacent (what `vpmaddwd` multiplies and adds). `rows` is even and `cols` a
/// multiple of 64; `data` holds `rows × cols` values and `dequant` `cols`: the kernels rely on it.
#[derive(Debug, Clone)]
pub struct QuantMatrix {
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) data: Vec<i16>,
    /// Per column: `1 / (ACT_SCALE · weight scale)`, what an i32 sum is multiplied by.
    pub(super) dequant: Vec<f32>,
}

impl QuantMatrix {
    /// Quantizes and packs `B = Wᵀ` for a PyTorch weight `w` of shape `cols × rows` (row-major),
    /// like [`super::PackedMatrix::from_transposed`].
    ///
    /// Column `j`'s scale is the largest that keeps `Σ_k |w_q| · ACT_SCALE ≤ i32::MAX` (from the
    /// column's L1 norm) and every `|w_q| ≤ 32767` (from its largest weight).
    ///
    /// # Panics
    /// Unless `rows` is even, `cols` a multiple of 64, `w` holds `rows × cols` values and every
    /// weight is finite.
    pub fn from_transposed(w: &[f32], rows: usize, cols: usize) -> QuantMatrix {
        assert!(
            rows.is_multiple_of(2) && cols.is_multiple_of(4 * PANEL) && rows.checked_mul(cols) == Some(w.len()),
            "quantized packing: bad shape"
        );
        assert!(w.iter().all(|v| v.is_finite()), "quantized packing: non-finite weight");
        let l1_budget = (i32::MAX as f64 / ACT_SCALE as f64).floor();
        let mut quantized = vec![0i16; rows * cols];
        let mut dequant = Vec::with_capacity(cols);
        for (j, column) in w.chunks_exact(rows).enumerate() {
            let l1: f64 = column.iter().map(|&v| f64::from(v.abs())).sum();
            let max = column.iter().fold(0f64, |m, &v| m.max(f64::from(v.abs())));
            // Rounding adds at most 1/2 per weight to the sum of |w_q|: leave room for it.
            let mut scale = if max > 0.0 { (MAX_WEIGHT as f64 / max).min((l1_budget - rows as f64) / l1) } else { 1.0 };
            loop {
                let q: Vec<i16> = column.iter().map(|&v| (f64::from(v) * scale).round() as i16).collect();
                let sum: i64 = q.iter().map(|&v| i64::from(v).abs()).sum();
                // The bound the kernels rely on, checked in exact integers.
                if sum * ACT_SCALE as i64 <= i64::from(i32::MAX) && q.iter().all(|&v| v != i16::MIN) {
                    quantized[j * rows..(j + 1) * rows].copy_from_slice(&q);
                    break;
                }
                scale *= 0.999; // only reached for degenerate columns, if ever
            }
            dequant.push((1.0 / (f64::from(ACT_SCALE) * scale)) as f32);
        }
        let mut data = Vec::with_capacity(rows * cols);
        for panel in 0..cols / PANEL {
            for pair in 0..rows / 2 {
                for j in 0..PANEL {
                    let column = &quantized[(panel * PANEL + j) * rows..][..rows];
                    data.extend_from_slice(&column[2 * pair..2 * pair + 2]);
                }
            }
        }
        QuantMatrix { rows, cols, data, dequant }
    }

    /// The quantized weight at row `k`, column `j` of `B` (for tests).
    #[cfg(test)]
    pub(super) fn get(&self, k: usize, j: usize) -> i16 {
        let (panel, col) = (j / PANEL, j % PANEL);
        self.data[panel * self.rows * PANEL + (k / 2) * 2 * PANEL + col * 2 + k % 2]
    }
}
