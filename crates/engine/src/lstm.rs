//! The GE2E encoder's 3-layer LSTM, run over many windows at once.
//!
//! Data are time-major: row `t · W + w` holds frame `t` of window `w`, so that each time step
//! reads and writes one contiguous `W × …` block. Per layer:
//! 1. the input projection of every frame of every window is one large GEMM, starting from the
//!    summed biases;
//! 2. the recurrence adds `h_{t-1} · W_hhᵀ` for all windows together, then applies the gate
//!    nonlinearities in place.
//!
//! Both products use the kernels of [`crate::kernels`] on weights packed once at load.
//!
//! All buffers are allocated once per call, none per step.

use crate::constants::{GATES, HIDDEN};
use crate::kernels::{Isa, PackedMatrix};
use crate::model::LayerWeights;

/// One layer's weights, prepared for the kernels at load time.
#[derive(Debug)]
struct Layer {
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

/// Buffers of one forward pass.
#[derive(Debug, Default)]
pub struct Scratch {
    gates: Vec<f32>,
    hidden_seq: [Vec<f32>; 2],
    cell: Vec<f32>,
}

impl Lstm {
    pub fn new(layers: &[LayerWeights], isa: Isa) -> Lstm {
        let layers = layers
            .iter()
            .map(|l| Layer {
                weight_ih: PackedMatrix::from_transposed(&l.weight_ih, l.input_size, GATES),
                weight_hh: PackedMatrix::from_transposed(&l.weight_hh, HIDDEN, GATES),
                bias: l.bias.clone(),
            })
            .collect();
        Lstm { layers, isa }
    }

    /// Runs `windows` sequences of `steps` frames (input rows time-major, `steps × windows ×
    /// input_size`) and returns the last layer's final hidden state, `windows × 256`.
    pub fn forward<'s>(&self, input: &[f32], steps: usize, windows: usize, scratch: &'s mut Scratch) -> &'s [f32] {
        let rows = steps * windows;
        scratch.gates.resize(rows * GATES, 0.0);
        scratch.cell.resize(windows * HIDDEN, 0.0);
        for buf in &mut scratch.hidden_seq {
            buf.resize(rows * HIDDEN, 0.0);
        }
        let mut current = 0; // which hidden_seq buffer the layer writes
        for (index, layer) in self.layers.iter().enumerate() {
            let (first, second) = scratch.hidden_seq.split_at_mut(1);
            let (previous, output) = if current == 0 { (&second[0], &mut first[0]) } else { (&first[0], &mut second[0]) };
            let x: &[f32] = if index == 0 { input } else { previous };
            self.layer(layer, x, steps, windows, &mut scratch.gates, &mut scratch.cell, output);
            current = 1 - current;
        }
        let last = &scratch.hidden_seq[1 - current];
        &last[(steps - 1) * windows * HIDDEN..rows * HIDDEN]
    }

    #[allow(clippy::too_many_arguments)]
    fn layer(&self, layer: &Layer, x: &[f32], steps: usize, windows: usize, gates: &mut [f32], cell: &mut [f32], out: &mut [f32]) {
        let rows = steps * windows;
        for row in gates.chunks_exact_mut(GATES) {
            row.copy_from_slice(&layer.bias);
        }
        self.isa.gemm_acc(rows, x, &layer.weight_ih, gates);
        cell.fill(0.0);
        let step_gates = windows * GATES;
        let step_hidden = windows * HIDDEN;
        for t in 0..steps {
            let g = &mut gates[t * step_gates..(t + 1) * step_gates];
            let (done, rest) = out.split_at_mut(t * step_hidden);
            if t > 0 {
                self.isa.gemm_acc(windows, &done[(t - 1) * step_hidden..], &layer.weight_hh, g);
            }
            self.isa.lstm_cell(HIDDEN, g, cell, &mut rest[..step_hidden]);
        }
        debug_assert_eq!(out.len(), rows * HIDDEN);
    }
}
