//! Raw PCM: the bytes are the samples, signed 16-bit little-endian, interleaved, with the rate
//! and channel count the caller supplies (Coze's `pcm` format).

use crate::wav::{self, Encoding, WavFormat};
use crate::{check_shape, DecodeError, Output, RawPcm};

pub(crate) fn decode_raw(bytes: &[u8], raw: RawPcm, out: &mut Output) -> Result<(), DecodeError> {
    check_shape("raw PCM", raw.sample_rate, raw.channels as u64)?;
    let frame = 2 * raw.channels as usize;
    if !bytes.len().is_multiple_of(frame) {
        let what = if raw.channels == 1 { "2-byte samples".to_owned() } else { format!("{frame}-byte frames ({} channels of 16-bit samples)", raw.channels) };
        return Err(DecodeError::corrupt(format!(
            "raw PCM must be 16-bit little-endian samples, but {} bytes is not a whole number of {what}",
            bytes.len()
        )));
    }
    // The same samples as 16-bit PCM WAV data.
    let format = WavFormat {
        encoding: Encoding::Int,
        channels: raw.channels,
        sample_rate: raw.sample_rate,
        bytes_per_sample: 2,
    };
    wav::convert(&format, bytes, out)
}
