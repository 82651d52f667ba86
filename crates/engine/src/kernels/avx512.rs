//! AVX-512 kernels: one 16-column panel is one register, so a block of 12 rows keeps 12
//! accumulators and takes A through broadcasting multiply-adds straight from memory. Even where
//! the CPU splits 512-bit operations in two (AMD Zen 4), this halves the instruction count of
//! the AVX2 kernel and frees load slots. Every function here is `unsafe`: the CPU must have
//! AVX-512F (and, for [`lstm_cell`], AVX2 and FMA), which the caller shows by holding an
//! [`Isa`](super::Isa) that detection produced.
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::{math, row_blocks, PANEL, ROW_CHUNK};

/// Rows per register block.
const MR: usize = 12;

/// See [`super::Isa::gemm_acc`] and `avx2::gemm_acc` for the blocking.
///
/// # Safety
/// - The CPU must support AVX-512F.
/// - `a` must hold at least `m × k` values, `b` at least `k × n` (the packed matrix) and `c` at
///   least `m × n`: the kernel reads and writes through raw pointers without bounds checks.
///
/// Every column is computed only if `n` is a multiple of 64 (the callers' always is); other
/// columns are left as they were, which is wrong but not unsafe.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemm_acc(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    if m <= 3 {
        for quad in 0..n / (4 * PANEL) {
            // SAFETY: AVX-512F is present (this function's contract). With quad < n / 64, the
            // four panels from `bp` end at 64 · (quad + 1) · k ≤ k × n values into `b`; the m
            // rows of `a` (m × k values) and of `c` from column 64 · quad (64 columns, stride n)
            // lie within `a` and `c`, whose sizes the contract guarantees.
            unsafe {
                let bp = b.add(4 * quad * k * PANEL);
                let cp = c.add(4 * quad * PANEL);
                match m {
                    1 => wide::<1>(k, a, bp, cp, n),
                    2 => wide::<2>(k, a, bp, cp, n),
                    3 => wide::<3>(k, a, bp, cp, n),
                    _ => {}
                }
            }
        }
        return;
    }
    for chunk in (0..m).step_by(ROW_CHUNK) {
        let chunk_rows = ROW_CHUNK.min(m - chunk);
        for panel in 0..n / PANEL {
            // SAFETY: panel < n / 16, so the panel's k × 16 values end at 16 · (panel + 1) · k
            // ≤ k × n values into `b`, which holds that many (this function's contract).
            let bp = unsafe { b.add(panel * k * PANEL) };
            for (r0, rows) in row_blocks(chunk_rows, MR) {
                // SAFETY: AVX-512F is present (this function's contract). The block's rows are
                // chunk + r0 .. chunk + r0 + rows ≤ m, so its rows of `a` (k values each) and of
                // `c` (16 values from column 16 · panel < n, stride n) lie within the m × k and
                // m × n values the contract guarantees; `bp` is one panel of `b`.
                unsafe {
                    let ap = a.add((chunk + r0) * k);
                    let cp = c.add((chunk + r0) * n + panel * PANEL);
                    match rows {
                        1 => block::<1>(k, ap, bp, cp, n),
                        2 => block::<2>(k, ap, bp, cp, n),
                        3 => block::<3>(k, ap, bp, cp, n),
                        4 => block::<4>(k, ap, bp, cp, n),
                        5 => block::<5>(k, ap, bp, cp, n),
                        6 => block::<6>(k, ap, bp, cp, n),
                        7 => block::<7>(k, ap, bp, cp, n),
                        8 => block::<8>(k, ap, bp, cp, n),
                        9 => block::<9>(k, ap, bp, cp, n),
                        10 => block::<10>(k, ap, bp, cp, n),
                        11 => block::<11>(k, ap, bp, cp, n),
                        _ => block::<12>(k, ap, bp, cp, n),
                    }
                }
            }
        }
    }
}

/// `C[R × 16] += A[R × k] · Bpanel[k × 16]`.
///
/// # Safety
/// - The CPU must support AVX-512F (this is inlined into [`gemm_acc`], which enables it).
/// - `a` must be valid for reads of `R` rows of `k` values at stride `k`, `b` for reads of
///   `k × 16` values, and `c` for reads and writes of `R` rows of 16 values at stride `ldc`.
#[inline(always)]
unsafe fn block<const R: usize>(k: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize) {
    // SAFETY: the intrinsics need AVX-512F, and every offset below stays within the extents of
    // `a`, `b` and `c` that this function's contract requires (r < R, kk < k, 16 columns).
    unsafe {
        let mut acc = [_mm512_setzero_ps(); R];
        for kk in 0..k {
            let bv = _mm512_loadu_ps(b.add(kk * PANEL));
            for (r, v) in acc.iter_mut().enumerate() {
                *v = _mm512_fmadd_ps(_mm512_set1_ps(*a.add(r * k + kk)), bv, *v);
            }
        }
        for (r, v) in acc.iter().enumerate() {
            let out = c.add(r * ldc);
            _mm512_storeu_ps(out, _mm512_add_ps(_mm512_loadu_ps(out), *v));
        }
    }
}

/// Like [`block`] over four adjacent panels (64 columns) for very few rows.
///
/// # Safety
/// - The CPU must support AVX-512F (this is inlined into [`gemm_acc`], which enables it).
/// - `a` must be valid for reads of `R` rows of `k` values at stride `k`, `b` for reads of four
///   consecutive panels (`4 × k × 16` values), and `c` for reads and writes of `R` rows of 64
///   values at stride `ldc`.
#[inline(always)]
unsafe fn wide<const R: usize>(k: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize) {
    // SAFETY: the intrinsics need AVX-512F, and every offset below stays within the extents of
    // `a`, `b` and `c` that this function's contract requires (r < R, kk < k, q < 4 panels).
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); 4]; R];
        for kk in 0..k {
            let bv = [0, 1, 2, 3].map(|q| _mm512_loadu_ps(b.add(q * k * PANEL + kk * PANEL)));
            for (r, acc_row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*a.add(r * k + kk));
                for (v, b) in acc_row.iter_mut().zip(bv) {
                    *v = _mm512_fmadd_ps(av, b, *v);
                }
            }
        }
        for (r, acc_row) in acc.iter().enumerate() {
            for (q, v) in acc_row.iter().enumerate() {
                let out = c.add(r * ldc + PANEL * q);
                _mm512_storeu_ps(out, _mm512_add_ps(_mm512_loadu_ps(out), *v));
            }
        }
    }
}

/// The portable cell update, compiled for AVX-512 so that it vectorises 16-wide.
///
/// # Safety
/// The CPU must support AVX-512F, AVX2 and FMA (all three are enabled here, and `Isa` checks all
/// three). Nothing else: the body is safe code, bounds-checked.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn lstm_cell(hidden: usize, gates: &[f32], c: &mut [f32], h: &mut [f32]) {
    math::lstm_cell(hidden, gates, c, h)
}
