//! Vectorisable nonlinearities. Written without branches or library calls so that the compiler
//! turns each loop into SIMD code for whichever instruction set the caller is compiled for (see
//! the `#[target_feature]` wrappers in `avx2.rs`).

/// e^x with Cephes' single-precision polynomial (≈1 ulp), inputs clamped to the finite range.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2²³ rounds to an integer held in the low mantissa bits.
    const SHIFTER: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + SHIFTER;
    let n = shifted - SHIFTER;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = ((((1.987_569_2e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = p * r * r + r + 1.0;
    // 2^n from the integer in `shifted`'s low bits.
    let n_int = shifted.to_bits().wrapping_sub(SHIFTER.to_bits()) as i32;
    e * f32::from_bits((n_int + 127).wrapping_shl(23) as u32)
}

#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// tanh through the sigmoid: absolute error ≈ 1e-7, which is what the LSTM cares about.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    2.0 / (1.0 + exp(-2.0 * x)) - 1.0
}

/// See [`super::Isa::lstm_cell`].
#[inline(always)]
pub fn lstm_cell(hidden: usize, gates: &[f32], c: &mut [f32], h: &mut [f32]) {
    for ((g, c), h) in gates.chunks_exact(4 * hidden).zip(c.chunks_exact_mut(hidden)).zip(h.chunks_exact_mut(hidden)) {
        let (gi, rest) = g.split_at(hidden);
        let (gf, rest) = rest.split_at(hidden);
        let (gg, go) = rest.split_at(hidden);
        for j in 0..hidden {
            let cell = sigmoid(gf[j]) * c[j] + sigmoid(gi[j]) * tanh(gg[j]);
            c[j] = cell;
            h[j] = sigmoid(go[j]) * tanh(cell);
        }
    }
}

/// See [`super::Isa::lstm_cell_q`]: [`lstm_cell`], then `h` in fixed point (a second pass over
/// values still in L1, no slower than a fused loop in the encoder benchmark).
#[inline(always)]
pub fn lstm_cell_q(hidden: usize, gates: &[f32], c: &mut [f32], h: &mut [f32], hq: &mut [i16]) {
    lstm_cell(hidden, gates, c, h);
    for (q, &value) in hq.iter_mut().zip(h.iter()) {
        *q = super::quant::quantize(value);
    }
}

/// Dot product with eight independent accumulators, so that it vectorises.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac.remainder().iter().zip(bc.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_and_saturates() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.043;
            let (got, want) = (exp(x), f64::from(x).exp());
            assert!(((f64::from(got) - want) / want).abs() < 3e-7, "exp({x}) = {got}, want {want}");
        }
        assert!(exp(1000.0).is_finite() && exp(-1000.0) >= 0.0);
        assert!(sigmoid(-1000.0) < 1e-30);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(tanh(1000.0), 1.0);
        assert_eq!(tanh(-1000.0), -1.0);
    }
}
