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

use crate::constants::{GATES, HIDDEN, NUM_LAYERS};
use crate::kernels::{Isa, PackedMatrix};
use crate::model::LayerWeights;

/// Time steps per chunk: 16 × 64 windows × 1024 gates × 4 bytes = 4 MB of gates at most.
const CHUNK_STEPS: usize = 16;

/// One layer's weights, prepared for the kernels at load time.
#[derive(Debug)]
struct Layer {
    input_size: usize,
    /// `W_ihᵀ` packed in panels.
    weight_ih: PackedMatrix,
    /// `W_hhᵀ` packed in panels.
    weight_hh: PackedMatrix,
    /// `b_ih + b_hh`.
    bias: Vec<f32>,
}

#[derive(Debug)]
pub struct Lstm {
    layers: Vec<Layer>,
    isa: Isa,
}

impl Lstm {
    pub fn new(layers: &[LayerWeights], isa: Isa) -> Lstm {
        let layers = layers
            .iter()
            .map(|l| Layer {
                input_size: l.input_size,
                weight_ih: PackedMatrix::from_transposed(&l.weight_ih, l.input_size, GATES),
                weight_hh: PackedMatrix::from_transposed(&l.weight_hh, HIDDEN, GATES),
                bias: l.bias.clone(),
            })
            .collect();
        Lstm { layers, isa }
    }

    /// Runs `windows` sequences of `steps` frames (input rows time-major, `steps × windows ×
    /// input size`) and returns the last layer's final hidden state, `windows × 256`.
    pub fn forward(&self, input: &[f32], steps: usize, windows: usize) -> Vec<f32> {
        let chunk_rows = CHUNK_STEPS * windows;
        let mut gates = vec![0f32; chunk_rows * GATES];
        // Per layer: its outputs over the current chunk, and its cell state.
        let mut hidden = vec![vec![0f32; chunk_rows * HIDDEN]; NUM_LAYERS];
        let mut cell = vec![vec![0f32; windows * HIDDEN]; NUM_LAYERS];
        let step_hidden = windows * HIDDEN;
        let mut last_slot = 0; // slot of the previous step in every layer's `hidden`
        for chunk_start in (0..steps).step_by(CHUNK_STEPS) {
            let len = CHUNK_STEPS.min(steps - chunk_start);
            let rows = len * windows;
            for (l, layer) in self.layers.iter().enumerate() {
                let (below, rest) = hidden.split_at_mut(l);
                let out = &mut rest[0];
                let x: &[f32] = match below.last() {
                    Some(h) => &h[..rows * HIDDEN],
                    None => &input[chunk_start * windows * layer.input_size..][..rows * layer.input_size],
                };
                let gates = &mut gates[..rows * GATES];
                for row in gates.chunks_exact_mut(GATES) {
                    row.copy_from_slice(&layer.bias);
                }
                self.isa.gemm_acc(rows, x, &layer.weight_ih, gates);
                for t in 0..len {
                    let g = &mut gates[t * windows * GATES..(t + 1) * windows * GATES];
                    if chunk_start + t > 0 {
                        let previous = if t == 0 { last_slot } else { t - 1 };
                        self.isa.gemm_acc(windows, &out[previous * step_hidden..][..step_hidden], &layer.weight_hh, g);
                    }
                    self.isa.lstm_cell(HIDDEN, g, &mut cell[l], &mut out[t * step_hidden..][..step_hidden]);
                }
            }
            last_slot = len - 1;
        }
        hidden[NUM_LAYERS - 1][last_slot * step_hidden..][..step_hidden].to_vec()
    }
}
