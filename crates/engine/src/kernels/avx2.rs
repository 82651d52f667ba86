//! AVX2 + FMA kernels. Callers must have checked the CPU features (see `Isa::detect`).
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::{math, row_blocks, PANEL};

/// Rows per register block: 6 rows × 2 registers = 12 accumulators, plus 2 for B and 1 for A.
const MR: usize = 6;

/// See [`super::Isa::gemm_acc`].
///
/// # Safety
/// The CPU must support AVX2 and FMA; `a` must hold `m × k` and `c` `m × n` values, `b` the
/// packed `k × n` matrix.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn gemm_acc(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    for panel in 0..n / PANEL {
        let bp = b.as_ptr().add(panel * k * PANEL);
        for (r0, rows) in row_blocks(m, MR) {
            let ap = a.as_ptr().add(r0 * k);
            let cp = c.as_mut_ptr().add(r0 * n + panel * PANEL);
            match rows {
                1 => block::<1>(k, ap, bp, cp, n),
                2 => block::<2>(k, ap, bp, cp, n),
                3 => block::<3>(k, ap, bp, cp, n),
                4 => block::<4>(k, ap, bp, cp, n),
                5 => block::<5>(k, ap, bp, cp, n),
                _ => block::<6>(k, ap, bp, cp, n),
            }
        }
    }
}

/// `C[R × 16] += A[R × k] · Bpanel[k × 16]`, accumulators in registers for the whole of k.
#[inline(always)]
unsafe fn block<const R: usize>(k: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize) {
    let mut lo = [_mm256_setzero_ps(); R];
    let mut hi = [_mm256_setzero_ps(); R];
    for kk in 0..k {
        let b0 = _mm256_loadu_ps(b.add(kk * PANEL));
        let b1 = _mm256_loadu_ps(b.add(kk * PANEL + 8));
        for r in 0..R {
            let av = _mm256_broadcast_ss(&*a.add(r * k + kk));
            lo[r] = _mm256_fmadd_ps(av, b0, lo[r]);
            hi[r] = _mm256_fmadd_ps(av, b1, hi[r]);
        }
    }
    for r in 0..R {
        let out = c.add(r * ldc);
        _mm256_storeu_ps(out, _mm256_add_ps(_mm256_loadu_ps(out), lo[r]));
        _mm256_storeu_ps(out.add(8), _mm256_add_ps(_mm256_loadu_ps(out.add(8)), hi[r]));
    }
}

/// The portable cell update, compiled with AVX2 + FMA enabled so that it vectorises 8-wide.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn lstm_cell(hidden: usize, gates: &[f32], c: &mut [f32], h: &mut [f32]) {
    math::lstm_cell(hidden, gates, c, h)
}
