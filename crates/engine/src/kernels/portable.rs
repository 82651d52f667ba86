//! Kernels in plain Rust for CPUs without AVX2/FMA. Fixed-size accumulator arrays let the
//! compiler keep a 4 × 16 block in SIMD registers; the blocking is that of `avx2.rs`.

use super::{row_blocks, PANEL, ROW_CHUNK};

const MR: usize = 4;

/// See [`super::Isa::gemm_acc`]; `b` is packed in panels of 16 columns.
pub fn gemm_acc(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    for chunk in (0..m).step_by(ROW_CHUNK) {
        let chunk_rows = ROW_CHUNK.min(m - chunk);
        for (panel, bp) in b.chunks_exact(k * PANEL).enumerate().take(n / PANEL) {
            for (r0, rows) in row_blocks(chunk_rows, MR) {
                let r0 = chunk + r0;
                let mut acc = [[0f32; PANEL]; MR];
                for kk in 0..k {
                    let bk = &bp[kk * PANEL..(kk + 1) * PANEL];
                    for (r, acc_row) in acc.iter_mut().enumerate().take(rows) {
                        let av = a[(r0 + r) * k + kk];
                        for j in 0..PANEL {
                            acc_row[j] += av * bk[j];
                        }
                    }
                }
                for (r, acc_row) in acc.iter().enumerate().take(rows) {
                    let out = &mut c[(r0 + r) * n + panel * PANEL..][..PANEL];
                    for j in 0..PANEL {
                        out[j] += acc_row[j];
                    }
                }
            }
        }
    }
}

/// See [`super::Isa::gemm_acc_i16`]; `b` is packed as in [`super::QuantMatrix`]. The i32 sums
/// are exact (no overflow, see `quant.rs`), hence equal to those of every other kernel; the
/// dequantization is a multiply then an add, as in the AVX2 kernel.
pub fn gemm_acc_i16(m: usize, k: usize, n: usize, a: &[i16], b: &[i16], dequant: &[f32], c: &mut [f32]) {
    for chunk in (0..m).step_by(ROW_CHUNK) {
        let chunk_rows = ROW_CHUNK.min(m - chunk);
        for (panel, bp) in b.chunks_exact(k * PANEL).enumerate().take(n / PANEL) {
            let scale = &dequant[panel * PANEL..][..PANEL];
            for (r0, rows) in row_blocks(chunk_rows, MR) {
                let r0 = chunk + r0;
                let mut acc = [[0i32; PANEL]; MR];
                for (pair, bk) in bp.chunks_exact(2 * PANEL).enumerate() {
                    for (r, acc_row) in acc.iter_mut().enumerate().take(rows) {
                        let ar = &a[(r0 + r) * k + 2 * pair..][..2];
                        let (a0, a1) = (i32::from(ar[0]), i32::from(ar[1]));
                        for j in 0..PANEL {
                            acc_row[j] += a0 * i32::from(bk[2 * j]) + a1 * i32::from(bk[2 * j + 1]);
                        }
                    }
                }
                for (r, acc_row) in acc.iter().enumerate().take(rows) {
                    let out = &mut c[(r0 + r) * n + panel * PANEL..][..PANEL];
                    for j in 0..PANEL {
                        out[j] += acc_row[j] as f32 * scale[j];
                    }
                }
            }
        }
    }
}
