//! The GE2E encoder's 3-layer LSTM, run over many windows at once.
//!
//! Data are time-major: row `t · W + w` holds frame `t` of window `w`, so that each time step
//! reads and writes one contiguous `W × …` block. Time is cut into chunks of a few steps, and
//! each chunk goes through all three layers before the next one starts; per layer and chunk:
//! 1. the input projection of the chunk's frames of every window is one GEMM, starting from the
//!    summed biases;
//! 2. the recurrence adds `h_{t-1} · W_hhᵀ` for all windows together, then applies the gate
//!    nonlinearities in place.
//!
//! Chunking keeps every buffer small enough to stay in cache between the step that writes it
//! and the one that reads it (whole-utterance buffers cost a third of the time in page faults
//! and cache misses), and the memory of a call small. Both products use the kernels of
//! [`crate::kernels`] on weights packed once at load; nothing is allocated per step.
//!
//! With [`Precision::Int16`], every product whose input is a hidden state (`W_hh` of each layer,
//! `W_ih` of layers 2 and 3: 97 % of the multiply-adds) runs in 16-bit fixed point; the cell
//! update writes each hidden state quantized, for the products that read it. Layer 1's input
//! projection (mel inputs, unbounded) stays f32. [`Precision::F32`] is the reference.

use crate::constants::{GATES, HIDDEN, NUM_LAYERS};
use crate::kernels::{Isa, IsaKind, PackedMatrix, QuantMatrix};
use crate::model::LayerWeights;

/// Time steps per chunk: 16 × 64 windows × 1024 gates × 4 bytes = 4 MB of gates at most.
const CHUNK_STEPS: usize = 16;

/// The arithmetic of the LSTM's matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// f32 throughout: the reference.
    F32,
    /// 16-bit fixed point (i16 × i16 → exact i32 sums) for the products whose input is a hidden
    /// state; f32 for the rest. Embeddings within cosine 0.9999 of [`Precision::F32`]'s on the
    /// parity clips.
    Int16,
}

impl Precision {
    /// The faster precision on `isa`, as measured by the benchmark example: on AMD Zen 3 (AVX2),
    /// the i16 kernel does ≈ 1.5 times the f32 kernel's multiply-adds per second. AVX-512 keeps
    /// f32: there its f32 kernel has twice the width, and no AVX-512 machine was at hand to
    /// measure it against the (AVX2) integer kernel.
    pub fn fastest_on(isa: Isa) -> Precision {
        match isa.kind() {
            IsaKind::Avx2Fma => Precision::Int16,
            IsaKind::Avx512 | IsaKind::Portable => Precision::F32,
        }
    }
}

/// A weight matrix, prepared for the kernels of one precision.
#[derive(Debug)]
enum Weight {
    F32(PackedMatrix),
    Int16(QuantMatrix),
}

/// One layer's weights, prepared for the kernels at load time.
#[derive(Debug)]
struct Layer {
    input_size: usize,
    /// `W_ihᵀ`: f32 for the first layer, whose input is mel frames.
    weight_ih: Weight,
    /// `W_hhᵀ`.
    weight_hh: Weight,
    /// `b_ih + b_hh`.
    bias: Vec<f32>,
}

#[derive(Debug)]
pub struct Lstm {
    layers: Vec<Layer>,
    isa: Isa,
}

impl Lstm {
    pub fn new(layers: &[LayerWeights], isa: Isa, precision: Precision) -> Lstm {
        let pack = |w: &[f32], rows: usize, hidden_input: bool| match precision {
            Precision::Int16 if hidden_input => Weight::Int16(QuantMatrix::from_transposed(w, rows, GATES)),
            _ => Weight::F32(PackedMatrix::from_transposed(w, rows, GATES)),
        };
        let layers = layers
            .iter()
            .enumerate()
            .map(|(l, w)| Layer {
                input_size: w.input_size,
                weight_ih: pack(&w.weight_ih, w.input_size, l > 0),
                weight_hh: pack(&w.weight_hh, HIDDEN, true),
                bias: w.bias.clone(),
            })
            .collect();
        Lstm { layers, isa }
    }

    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// The precision the weights were prepared in: that of the products whose input is a
    /// hidden state (the first layer's input product is f32 in both).
    pub fn precision(&self) -> Precision {
        match self.layers[0].weight_hh {
            Weight::F32(_) => Precision::F32,
            Weight::Int16(_) => Precision::Int16,
        }
    }

    /// `gates += x · w` in `w`'s precision; `x` holds `rows` rows of f32 or quantized values.
    fn product(&self, rows: usize, x: Input<'_>, w: &Weight, gates: &mut [f32]) {
        match (x, w) {
            (Input::F32(x), Weight::F32(w)) => self.isa.gemm_acc(rows, x, w, gates),
            (Input::Int16(x), Weight::Int16(w)) => self.isa.gemm_acc_i16(rows, x, w, gates),
            _ => unreachable!("weights and activations are prepared for the same precision"),
        }
    }

    /// Runs `windows` sequences of `steps` frames (input rows time-major, `steps × windows ×
    /// input size`) and returns the last layer's final hidden state, `windows × 256`.
    pub fn forward(&self, input: &[f32], steps: usize, windows: usize) -> Vec<f32> {
        match self.precision() {
            Precision::F32 => self.forward_as::<f32>(input, steps, windows),
            Precision::Int16 => self.forward_as::<i16>(input, steps, windows),
        }
    }

    /// [`Lstm::forward`] with the hidden states that the products read kept as `H`. Chunk by
    /// chunk of steps, each layer first adds its input product for the whole chunk (one large
    /// GEMM), then runs the steps in order, each adding the previous step's hidden product.
    fn forward_as<H: HiddenState>(&self, input: &[f32], steps: usize, windows: usize) -> Vec<f32> {
        let chunk_rows = CHUNK_STEPS * windows;
        let mut gates = vec![0f32; chunk_rows * GATES];
        // Per layer: its outputs over the current chunk, and its cell state.
        let mut hidden = vec![vec![H::default(); chunk_rows * HIDDEN]; NUM_LAYERS];
        let mut cell = vec![vec![0f32; windows * HIDDEN]; NUM_LAYERS];
        let mut last = vec![0f32; windows * HIDDEN]; // f32 hidden state of the step just done
        let step_hidden = windows * HIDDEN;
        let mut last_slot = 0; // slot of the previous step in every layer's `hidden`
        for chunk_start in (0..steps).step_by(CHUNK_STEPS) {
            let len = CHUNK_STEPS.min(steps - chunk_start);
            let rows = len * windows;
            for (l, layer) in self.layers.iter().enumerate() {
                let (below, rest) = hidden.split_at_mut(l);
                let out = &mut rest[0];
                let x = match below.last() {
                    Some(h) => H::input(&h[..rows * HIDDEN]),
                    None => Input::F32(&input[chunk_start * windows * layer.input_size..][..rows * layer.input_size]),
                };
                let gates = &mut gates[..rows * GATES];
                for row in gates.chunks_exact_mut(GATES) {
                    row.copy_from_slice(&layer.bias);
                }
                self.product(rows, x, &layer.weight_ih, gates);
                for t in 0..len {
                    let g = &mut gates[t * windows * GATES..(t + 1) * windows * GATES];
                    if chunk_start + t > 0 {
                        let previous = if t == 0 { last_slot } else { t - 1 };
                        let h = H::input(&out[previous * step_hidden..][..step_hidden]);
                        self.product(windows, h, &layer.weight_hh, g);
                    }
                    H::cell(self.isa, g, &mut cell[l], &mut last, &mut out[t * step_hidden..][..step_hidden]);
                }
            }
            last_slot = len - 1;
        }
        // The last layer ran last, so `last` holds its final hidden state.
        last
    }
}

/// The element in which a precision keeps the hidden states its products read.
trait HiddenState: Copy + Default {
    fn input(values: &[Self]) -> Input<'_>;
    /// One LSTM step (see [`Isa::lstm_cell`]): updates `c`, writes the f32 hidden state into
    /// `last` and the same values as `Self` into `out`.
    fn cell(isa: Isa, gates: &[f32], c: &mut [f32], last: &mut [f32], out: &mut [Self]);
}

impl HiddenState for f32 {
    fn input(values: &[f32]) -> Input<'_> {
        Input::F32(values)
    }

    fn cell(isa: Isa, gates: &[f32], c: &mut [f32], last: &mut [f32], out: &mut [f32]) {
        isa.lstm_cell(HIDDEN, gates, c, out);
        last.copy_from_slice(out);
    }
}

impl HiddenState for i16 {
    fn input(values: &[i16]) -> Input<'_> {
        Input::Int16(values)
    }

    fn cell(isa: Isa, gates: &[f32], c: &mut [f32], last: &mut [f32], out: &mut [i16]) {
        isa.lstm_cell_q(HIDDEN, gates, c, last, out);
    }
}

/// The input of a product: f32 values, or activations quantized by [`crate::kernels::quantize`].
#[derive(Clone, Copy)]
enum Input<'a> {
    F32(&'a [f32]),
    Int16(&'a [i16]),
}
