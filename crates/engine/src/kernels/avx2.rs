//! AVX2 + FMA kernels. Callers must have checked the CPU features (see `Isa::detect`).
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::{math, row_blocks, PANEL, ROW_CHUNK};

/// Rows per register block: 6 rows × 2 registers = 12 accumulators, plus 2 for B and 1 for A.
const MR: usize = 6;

/// See [`super::Isa::gemm_acc`].
///
/// Rows are taken in chunks that stay in L2 while every panel of B passes by; within a chunk
/// each 16-column panel (16 KB at k = 256) stays in L1 for all its row blocks. With three rows or
/// fewer (one to three windows in flight), blocks span two panels instead, so that each row
/// still has four independent accumulators to hide the multiply-add latency.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `a` must hold `m × k` and `c` `m × n` values, `b` the
/// packed `k × n` matrix, and `n` must be a multiple of 32.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn gemm_acc(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    if m <= 3 {
        for pair in 0..n / (2 * PANEL) {
            let bp = b.add(2 * pair * k * PANEL);
            let cp = c.add(2 * pair * PANEL);
            match m {
                1 => wide::<1>(k, a, bp, cp, n),
                2 => wide::<2>(k, a, bp, cp, n),
                3 => wide::<3>(k, a, bp, cp, n),
                _ => {}
            }
        }
        return;
    }
    for chunk in (0..m).step_by(ROW_CHUNK) {
        let chunk_rows = ROW_CHUNK.min(m - chunk);
        for panel in 0..n / PANEL {
            let bp = b.add(panel * k * PANEL);
            for (r0, rows) in row_blocks(chunk_rows, MR) {
                let ap = a.add((chunk + r0) * k);
                let cp = c.add((chunk + r0) * n + panel * PANEL);
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

/// Like [`block`] over two adjacent panels (32 columns) for very few rows.
#[inline(always)]
unsafe fn wide<const R: usize>(k: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize) {
    let mut acc = [[_mm256_setzero_ps(); 4]; R];
    let b2 = b.add(k * PANEL);
    for kk in 0..k {
        let bv = [
            _mm256_loadu_ps(b.add(kk * PANEL)),
            _mm256_loadu_ps(b.add(kk * PANEL + 8)),
            _mm256_loadu_ps(b2.add(kk * PANEL)),
            _mm256_loadu_ps(b2.add(kk * PANEL + 8)),
        ];
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let av = _mm256_broadcast_ss(&*a.add(r * k + kk));
            for (v, b) in acc_row.iter_mut().zip(bv) {
                *v = _mm256_fmadd_ps(av, b, *v);
            }
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        for (q, v) in acc_row.iter().enumerate() {
            let out = c.add(r * ldc + 8 * q);
            _mm256_storeu_ps(out, _mm256_add_ps(_mm256_loadu_ps(out), *v));
        }
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

/// The resampler's dot product, 8-wide with FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
    math::dot(a, b)
}
