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
