//! AVX2 + FMA kernels. Every function here is `unsafe`: the CPU must have AVX2 and FMA, which
//! the caller shows by holding an [`Isa`](super::Isa) that detection produced.
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
/// - The CPU must support AVX2 and FMA.
/// - `a` must hold at least `m × k` values, `b` at least `k × n` (the packed matrix) and `c` at
///   least `m × n`: the kernel reads and writes through raw pointers without bounds checks.
///
/// Every column is computed only if `n` is a multiple of 32 (the callers' `n` is a multiple of
/// 64); other columns are left as they were, which is wrong but not unsafe.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemm_acc(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    if m <= 3 {
        for pair in 0..n / (2 * PANEL) {
            // SAFETY: AVX2 and FMA are present (this function's contract). With
            // pair < n / 32, the two panels from `bp` end at 32 · (pair + 1) · k ≤ k × n values
            // into `b`; the m rows of `a` (m × k values) and of `c` from column 32 · pair
            // (32 columns, stride n) lie within `a` and `c`, whose sizes the contract guarantees.
            unsafe {
                let bp = b.add(2 * pair * k * PANEL);
                let cp = c.add(2 * pair * PANEL);
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
                // SAFETY: AVX2 and FMA are present (this function's contract). The block's
                // rows are chunk + r0 .. chunk + r0 + rows ≤ m, so its rows of `a` (k values
                // each) and of `c` (16 values from column 16 · panel < n, stride n) lie within
                // the m × k and m × n values the contract guarantees; `bp` is one panel of `b`.
                unsafe {
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
}

/// `C[R × 16] += A[R × k] · Bpanel[k × 16]`, accumulators in registers for the whole of k.
///
/// # Safety
/// - The CPU must support AVX2 and FMA (this is inlined into [`gemm_acc`], which enables them).
/// - `a` must be valid for reads of `R` rows of `k` values at stride `k`, `b` for reads of
///   `k × 16` values, and `c` for reads and writes of `R` rows of 16 values at stride `ldc`.
#[inline(always)]
unsafe fn block<const R: usize>(k: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize) {
    // SAFETY: the intrinsics need AVX2 and FMA, and every offset below stays within the extents
    // of `a`, `b` and `c` that this function's contract requires (r < R, kk < k, 16 columns).
    unsafe {
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
}

/// Like [`block`] over two adjacent panels (32 columns) for very few rows.
///
/// # Safety
/// - The CPU must support AVX2 and FMA (this is inlined into [`gemm_acc`], which enables them).
/// - `a` must be valid for reads of `R` rows of `k` values at stride `k`, `b` for reads of two
///   consecutive panels (`2 × k × 16` values), and `c` for reads and writes of `R` rows of 32
///   values at stride `ldc`.
#[inline(always)]
unsafe fn wide<const R: usize>(k: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize) {
    // SAFETY: the intrinsics need AVX2 and FMA, and every offset below stays within the extents
    // of `a`, `b` and `c` that this function's contract requires (r < R, kk < k, 32 columns).
    unsafe {
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
}

/// See [`super::Isa::gemm_acc_i16`]: the blocking of [`gemm_acc`] on 16-bit operands (`b`
/// packed as in [`super::QuantMatrix`]), with `vpmaddwd` multiplying two k at once into i32.
/// Integer sums have a one-cycle dependency chain, so even one or two rows keep the multiplier
/// busy with two accumulators each: no wide variant is needed.
///
/// # Safety
/// - The CPU must support AVX2.
/// - `k` must be even; `a` must hold at least `m × k` values, `b` at least `k × n` (the packed
///   matrix), `dequant` at least `n` and `c` at least `m × n`: the kernel reads and writes through
///   raw pointers without bounds checks.
///
/// Every column is computed only if `n` is a multiple of 16; other columns are left as they were.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemm_acc_i16(m: usize, k: usize, n: usize, a: &[i16], b: &[i16], dequant: &[f32], c: &mut [f32]) {
    let (a, b, s, c) = (a.as_ptr(), b.as_ptr(), dequant.as_ptr(), c.as_mut_ptr());
    for chunk in (0..m).step_by(ROW_CHUNK) {
        let chunk_rows = ROW_CHUNK.min(m - chunk);
        for panel in 0..n / PANEL {
            // SAFETY: panel < n / 16, so the panel's k × 16 values end at 16 · (panel + 1) · k
            // ≤ k × n values into `b`, and its 16 scales at 16 · (panel + 1) ≤ n into `dequant`,
            // which hold that many (this function's contract).
            let (bp, sp) = unsafe { (b.add(panel * k * PANEL), s.add(panel * PANEL)) };
            for (r0, rows) in row_blocks(chunk_rows, MR) {
                // SAFETY: AVX2 is present and k is even (this function's contract). The block's
                // rows are chunk + r0 .. chunk + r0 + rows ≤ m, so its rows of `a` (k values
                // each) and of `c` (16 values from column 16 · panel < n, stride n) lie within
                // the m × k and m × n values the contract guarantees; `bp` is one panel of `b`
                // and `sp` its 16 scales.
                unsafe {
                    let ap = a.add((chunk + r0) * k);
                    let cp = c.add((chunk + r0) * n + panel * PANEL);
                    match rows {
                        1 => block_i16::<1>(k, ap, bp, sp, cp, n),
                        2 => block_i16::<2>(k, ap, bp, sp, cp, n),
                        3 => block_i16::<3>(k, ap, bp, sp, cp, n),
                        4 => block_i16::<4>(k, ap, bp, sp, cp, n),
                        5 => block_i16::<5>(k, ap, bp, sp, cp, n),
                        _ => block_i16::<6>(k, ap, bp, sp, cp, n),
                    }
                }
            }
        }
    }
}

/// `C[R × 16] += (A[R × k] · Bpanel[k × 16]) · scale[16]`, exact i32 sums in registers for the
/// whole of k, dequantized once at the store (multiply, then add: not fused, as in the portable
/// kernel).
///
/// # Safety
/// - The CPU must support AVX2 (this is inlined into [`gemm_acc_i16`], which enables it).
/// - `k` must be even; `a` must be valid for reads of `R` rows of `k` values at stride `k`, `b`
///   for reads of `k × 16` values, `s` for reads of 16 values, and `c` for reads and writes of `R`
///   rows of 16 values at stride `ldc`.
#[inline(always)]
unsafe fn block_i16<const R: usize>(k: usize, a: *const i16, b: *const i16, s: *const f32, c: *mut f32, ldc: usize) {
    // SAFETY: the intrinsics need AVX2, and every offset below stays within the extents of `a`,
    // `b`, `s` and `c` that this function's contract requires (r < R, 2 · pair + 1 < k, 16
    // columns). The pair of i16 at `a + r · k + 2 · pair` is read as one unaligned 4-byte value.
    unsafe {
        let mut lo = [_mm256_setzero_si256(); R];
        let mut hi = [_mm256_setzero_si256(); R];
        for pair in 0..k / 2 {
            let b0 = _mm256_loadu_si256(b.add(pair * 2 * PANEL).cast());
            let b1 = _mm256_loadu_si256(b.add(pair * 2 * PANEL + PANEL).cast());
            for r in 0..R {
                let av = _mm256_set1_epi32(a.add(r * k + 2 * pair).cast::<i32>().read_unaligned());
                lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(av, b0));
                hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(av, b1));
            }
        }
        let (s0, s1) = (_mm256_loadu_ps(s), _mm256_loadu_ps(s.add(8)));
        for r in 0..R {
            let out = c.add(r * ldc);
            let (d0, d1) = (_mm256_mul_ps(_mm256_cvtepi32_ps(lo[r]), s0), _mm256_mul_ps(_mm256_cvtepi32_ps(hi[r]), s1));
            _mm256_storeu_ps(out, _mm256_add_ps(_mm256_loadu_ps(out), d0));
            _mm256_storeu_ps(out.add(8), _mm256_add_ps(_mm256_loadu_ps(out.add(8)), d1));
        }
    }
}

/// The portable cell update, compiled with AVX2 + FMA enabled so that it vectorises 8-wide.
///
/// # Safety
/// The CPU must support AVX2 and FMA. Nothing else: the body is safe code, bounds-checked.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn lstm_cell(hidden: usize, gates: &[f32], c: &mut [f32], h: &mut [f32]) {
    math::lstm_cell(hidden, gates, c, h)
}

/// The resampler's dot product, 8-wide with FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA. Nothing else: the body is safe code, bounds-checked.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
    math::dot(a, b)
}

/// The portable cell update with fixed-point output, compiled with AVX2 + FMA enabled so that it
/// vectorises 8-wide.
///
/// # Safety
/// The CPU must support AVX2 and FMA. Nothing else: the body is safe code, bounds-checked.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn lstm_cell_q(hidden: usize, gates: &[f32], c: &mut [f32], h: &mut [f32], hq: &mut [i16]) {
    math::lstm_cell_q(hidden, gates, c, h, hq)
}
