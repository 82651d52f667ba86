//! Raw PCM: the bytes are the samples, signed 16-bit little-endian, interleaved, with the rate
//! and channel count the caller supplies (Coze's `pcm` format).

use crate::{check_shape, max_samples, too_long, DecodeError, Decoded, Format, RawPcm};

pub(crate) fn decode_raw(bytes: &[u8], raw: RawPcm) -> Result<Decoded, DecodeError> {
    check_shape("raw PCM", raw.sample_rate, raw.channels as u64)?;
    let frame = 2 * raw.channels as usize;
    if !bytes.len().is_multiple_of(frame) {
        let what = if raw.channels == 1 { "2-byte samples".to_owned() } else { format!("{frame}-byte frames ({} channels of 16-bit samples)", raw.channels) };
        return Err(DecodeError::corrupt(format!(
            "raw PCM must be 16-bit little-endian samples, but {} bytes is not a whole number of {what}",
            bytes.len()
        )));
    }
    if bytes.len() / 2 > max_samples(raw.sample_rate, raw.channels) {
        return Err(too_long());
    }
    let samples = bytes.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32_768.0).collect();
    Ok(Decoded { samples, sample_rate: raw.sample_rate, channels: raw.channels, format: Format::Pcm })
}
