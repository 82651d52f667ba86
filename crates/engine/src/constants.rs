//! Every constant of the reference pipeline (Resemblyzer 0.1.4's `hparams.py` and the values its
//! code derives from them), in one place so that a reader can check them against the reference.

/// Sample rate of everything after resampling.
pub const SAMPLE_RATE: u32 = 16_000;

/// Volume normalisation target, in dBFS of the RMS on the int16 scale.
pub const AUDIO_NORM_TARGET_DBFS: f32 = -30.0;
/// Full scale of the int16 conversions of the reference (`2**15 - 1`, not 32768).
pub const INT16_MAX: f32 = 32767.0;

/// VAD frame: 30 ms at 16 kHz.
pub const VAD_WINDOW_SAMPLES: usize = 480;
/// Width of the moving average over the voice flags.
pub const VAD_MOVING_AVERAGE_WIDTH: usize = 8;
/// Longest run of silent frames kept: the dilation's structuring element is this + 1 wide.
pub const VAD_MAX_SILENCE_LENGTH: usize = 6;

/// STFT size: 25 ms.
pub const N_FFT: usize = 400;
/// STFT hop: 10 ms. Also the number of samples per mel frame for window placement.
pub const HOP_LENGTH: usize = 160;
/// Number of mel bands (the LSTM's input size).
pub const N_MELS: usize = 40;
/// Upper edge of the mel filterbank: the Nyquist frequency.
pub const MEL_FMAX: f64 = 8000.0;

/// Frames per partial window: 1.6 s.
pub const PARTIAL_N_FRAMES: usize = 160;
/// Partial windows per second of audio (`rate` of `embed_utterance`).
pub const PARTIAL_RATE: f64 = 1.3;
/// A last window covering less than this fraction of its samples is dropped.
pub const PARTIAL_MIN_COVERAGE: f64 = 0.75;

/// LSTM hidden size.
pub const HIDDEN: usize = 256;
/// Number of stacked LSTM layers.
pub const NUM_LAYERS: usize = 3;
/// Size of the embedding (output of the final linear layer).
pub const EMBEDDING_SIZE: usize = 256;
/// Four gates per LSTM layer, PyTorch order i, f, g, o.
pub const GATES: usize = 4 * HIDDEN;

/// Least speech, in seconds, left after trimming for an embedding to mean anything.
pub const MIN_SPEECH_SECONDS: f32 = 1.0;
