//! RIFF/WAVE, parsed here rather than by symphonia so that every decision about malformed
//! headers is ours, explicit and tested.
//!
//! Accepted: `RIFF`, and `RF64`/`BW64` (64-bit sizes in a `ds64` chunk); format tags PCM
//! (unsigned 8-bit, signed 16/24/32-bit, and odd widths such as 12 or 20 bits stored
//! left-justified in whole bytes), IEEE float 32/64, A-law and µ-law, and the same inside
//! `WAVE_FORMAT_EXTENSIBLE`. Chunks other than `fmt `, `ds64` and `data` are skipped.
//!
//! Truncation, decided so:
//! - a `data` chunk whose declared size is larger than what follows it is decoded as far as the
//!   file goes: streaming writers (a pipe, a crashed recorder) cannot go back to fix the size,
//!   and write 0xFFFFFFFF or whatever they had at the start;
//! - but if what is there ends in the middle of a sample frame, the file was cut by something
//!   that did not know about samples (a failed upload), and it is [`DecodeError::Corrupt`];
//! - a chunk before `data` that runs past the end of the file is `Corrupt` (no audio follows).
//!
//! Float samples are clamped to `[-1, 1]`, and NaN or infinite ones become 0.

use crate::{check_shape, DecodeError, Output};

/// Frames converted and handed on at a time.
const FRAMES_PER_PIECE: usize = 4096;

/// The sample encoding of a WAV file's `data` chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Unsigned when 1 byte wide, signed little-endian otherwise.
    Int,
    Float,
    ALaw,
    MuLaw,
}

/// What the `fmt ` chunk says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    pub encoding: Encoding,
    pub channels: u16,
    pub sample_rate: u32,
    /// Bytes each sample occupies (1–4, or 8 for 64-bit float).
    pub bytes_per_sample: usize,
}

const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 3;
const WAVE_FORMAT_ALAW: u16 = 6;
const WAVE_FORMAT_MULAW: u16 = 7;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// Bytes 2..16 of every KSDATAFORMAT_SUBTYPE_* GUID that wraps a plain format tag.
const KSDATAFORMAT_GUID_TAIL: [u8; 14] = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

/// Decodes a whole RIFF/WAVE file (the caller has checked the `RIFF….WAVE` header).
pub(crate) fn decode(bytes: &[u8], out: &mut Output) -> Result<(), DecodeError> {
    let (format, data) = parse(bytes)?;
    convert(&format, data, out)
}

/// Finds the format and the sample bytes of a WAV file.
pub fn parse(bytes: &[u8]) -> Result<(WavFormat, &[u8]), DecodeError> {
    if bytes.len() < 12 || &bytes[8..12] != b"WAVE" {
        return Err(DecodeError::corrupt("the WAV header is truncated"));
    }
    let rf64 = &bytes[0..4] != b"RIFF";
    let mut format: Option<WavFormat> = None;
    let mut ds64_data_size: Option<u64> = None;
    let mut pos = 12usize;
    while let Some(header) = bytes.get(pos..pos + 8) {
        let id: [u8; 4] = [header[0], header[1], header[2], header[3]];
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let body_start = pos + 8;
        let available = bytes.len() - body_start;
        if &id == b"data" {
            let format = format.ok_or_else(|| DecodeError::corrupt("the WAV data chunk comes before its fmt chunk"))?;
            let declared = match (rf64, size) {
                (true, u32::MAX) => ds64_data_size.unwrap_or(u64::MAX),
                _ => size as u64,
            };
            let len = declared.min(available as u64) as usize;
            return Ok((format, &bytes[body_start..body_start + len]));
        }
        let size = size as usize;
        if size > available {
            return Err(DecodeError::corrupt(format!(
                "the WAV file is truncated: its '{}' chunk runs past the end, before any audio data",
                chunk_name(&id)
            )));
        }
        let body = &bytes[body_start..body_start + size];
        match &id {
            b"fmt " => format = Some(parse_fmt(body)?),
            b"ds64" if body.len() >= 16 => {
                ds64_data_size = Some(u64::from_le_bytes(body[8..16].try_into().unwrap_or([0; 8])));
            }
            _ => {}
        }
        pos = next_chunk(bytes, body_start, size);
    }
    Err(DecodeError::corrupt(if format.is_none() {
        "the WAV file has no fmt chunk"
    } else {
        "the WAV file has no data chunk"
    }))
}

/// Chunks are padded to an even length, but some writers forget: when the padded position
/// does not hold a chunk ID and the unpadded one does, follow the writer.
fn next_chunk(bytes: &[u8], body_start: usize, size: usize) -> usize {
    let unpadded = body_start + size;
    if size.is_multiple_of(2) {
        return unpadded;
    }
    let looks_like_id = |at: usize| {
        bytes.get(at..at + 4).is_some_and(|id| id.iter().all(|&b| b.is_ascii_alphanumeric() || b == b' '))
    };
    if !looks_like_id(unpadded + 1) && looks_like_id(unpadded) {
        unpadded
    } else {
        unpadded + 1
    }
}

fn chunk_name(id: &[u8; 4]) -> String {
    id.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' }).collect()
}

fn parse_fmt(body: &[u8]) -> Result<WavFormat, DecodeError> {
    if body.len() < 16 {
        return Err(DecodeError::corrupt("the WAV fmt chunk is too short"));
    }
    let u16_at = |at: usize| u16::from_le_bytes([body[at], body[at + 1]]);
    let mut tag = u16_at(0);
    let channels = u16_at(2);
    let sample_rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
    let block_align = u16_at(12) as usize;
    let bits = u16_at(14) as usize;
    if tag == WAVE_FORMAT_EXTENSIBLE {
        if body.len() < 40 {
            return Err(DecodeError::corrupt("the WAV fmt chunk is too short for WAVE_FORMAT_EXTENSIBLE"));
        }
        if body[26..40] != KSDATAFORMAT_GUID_TAIL {
            return Err(DecodeError::unsupported("WAV with an unknown WAVE_FORMAT_EXTENSIBLE sub-format"));
        }
        tag = u16_at(24);
    }
    let encoding = match tag {
        WAVE_FORMAT_PCM => Encoding::Int,
        WAVE_FORMAT_IEEE_FLOAT => Encoding::Float,
        WAVE_FORMAT_ALAW => Encoding::ALaw,
        WAVE_FORMAT_MULAW => Encoding::MuLaw,
        other => {
            return Err(DecodeError::unsupported(format!(
                "WAV holding {} (format tag 0x{other:04X}); PCM, float, A-law and µ-law WAV are supported",
                tag_name(other)
            )))
        }
    };
    check_shape("WAV", sample_rate, channels as u64)?;
    let bytes_per_sample = bits.div_ceil(8);
    let width_ok = match encoding {
        Encoding::Int => (1..=4).contains(&bytes_per_sample),
        Encoding::Float => bits == 32 || bits == 64,
        Encoding::ALaw | Encoding::MuLaw => bits == 8,
    };
    if !width_ok {
        return Err(DecodeError::unsupported(format!("{bits}-bit {} WAV", encoding_name(encoding))));
    }
    if block_align != bytes_per_sample * channels as usize {
        return Err(DecodeError::corrupt(format!(
            "the WAV block alignment ({block_align} bytes) does not match {channels} channels of {bits}-bit samples"
        )));
    }
    Ok(WavFormat { encoding, channels, sample_rate, bytes_per_sample })
}

fn encoding_name(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Int => "PCM",
        Encoding::Float => "float",
        Encoding::ALaw => "A-law",
        Encoding::MuLaw => "µ-law",
    }
}

fn tag_name(tag: u16) -> &'static str {
    match tag {
        0x0002 => "MS ADPCM",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0040 | 0x0064 => "G.721 ADPCM",
        0x0050 => "MPEG audio",
        0x0055 => "MP3",
        0x00FF | 0x1600 | 0x1610 => "AAC",
        0x0160..=0x0163 => "Windows Media Audio",
        0x2000 => "AC-3",
        _ => "an unknown codec",
    }
}

/// Sample bytes → `f32` in `[-1, 1]`, handed to `out` a piece at a time.
pub(crate) fn convert(format: &WavFormat, data: &[u8], out: &mut Output) -> Result<(), DecodeError> {
    let frame = format.bytes_per_sample * format.channels as usize;
    if !data.len().is_multiple_of(frame) {
        return Err(DecodeError::corrupt(format!(
            "the WAV data ends in the middle of a sample: {} bytes is not a whole number of {frame}-byte frames",
            data.len()
        )));
    }
    out.check_length(format.sample_rate, (data.len() / frame) as u64)?;
    let mut samples = Vec::with_capacity(FRAMES_PER_PIECE * format.channels as usize);
    for piece in data.chunks(FRAMES_PER_PIECE * frame) {
        samples.clear();
        append_samples(format, piece, &mut samples);
        out.push(format.sample_rate, format.channels, &samples)?;
    }
    Ok(())
}

fn append_samples(format: &WavFormat, bytes: &[u8], samples: &mut Vec<f32>) {
    let chunks = bytes.chunks_exact(format.bytes_per_sample);
    match (format.encoding, format.bytes_per_sample) {
        (Encoding::Int, 1) => samples.extend(chunks.map(|c| (c[0] as f32 - 128.0) / 128.0)),
        (Encoding::Int, 2) => samples.extend(chunks.map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32_768.0)),
        (Encoding::Int, 3) => {
            samples.extend(chunks.map(|c| (i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8) as f32 / 8_388_608.0))
        }
        (Encoding::Int, _) => samples
            .extend(chunks.map(|c| (i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64 / 2_147_483_648.0) as f32)),
        (Encoding::Float, 4) => samples.extend(chunks.map(|c| sanitize(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))),
        (Encoding::Float, _) => {
            samples.extend(chunks.map(|c| sanitize(f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)))
        }
        (Encoding::ALaw, _) => samples.extend(chunks.map(|c| alaw(c[0]) as f32 / 32_768.0)),
        (Encoding::MuLaw, _) => samples.extend(chunks.map(|c| mulaw(c[0]) as f32 / 32_768.0)),
    }
}

/// Keeps a decoded sample inside `[-1, 1]`; NaN and infinities become silence.
pub(crate) fn sanitize(x: f32) -> f32 {
    if x.is_finite() {
        x.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// G.711 A-law → linear 16-bit.
fn alaw(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let exponent = (a >> 4) & 7;
    let mantissa = (a & 0x0F) as i16;
    let magnitude = if exponent == 0 { (mantissa << 4) + 8 } else { ((mantissa << 4) + 0x108) << (exponent - 1) };
    if a & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    }
}

/// G.711 µ-law → linear 16-bit.
fn mulaw(byte: u8) -> i16 {
    let u = !byte;
    let exponent = (u >> 4) & 7;
    let mantissa = (u & 0x0F) as i16;
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if u & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_reference_points() {
        // µ-law: 0xFF and 0x7F are the two zeros, 0x80 / 0x00 the extremes.
        assert_eq!(mulaw(0xFF), 0);
        assert_eq!(mulaw(0x7F), 0);
        assert_eq!(mulaw(0x80), 32_124);
        assert_eq!(mulaw(0x00), -32_124);
        // A-law: 0xD5 / 0x55 are the smallest magnitudes, 0xAA / 0x2A the extremes.
        assert_eq!(alaw(0xD5), 8);
        assert_eq!(alaw(0x55), -8);
        assert_eq!(alaw(0xAA), 32_256);
        assert_eq!(alaw(0x2A), -32_256);
        // Monotonic over each half of the code space.
        let positive: Vec<i16> = (0x80u8..=0xFF).rev().map(mulaw).collect();
        assert!(positive.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn odd_sized_chunks_without_padding_are_followed() {
        // A 3-byte "junk" chunk with no pad byte, then "data".
        let mut bytes = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        bytes.extend_from_slice(&16u32.to_le_bytes());
        bytes.extend_from_slice(&[1, 0, 1, 0, 0x40, 0x1F, 0, 0, 0x80, 0x3E, 0, 0, 2, 0, 16, 0]);
        bytes.extend_from_slice(b"junk\x03\0\0\0abc");
        bytes.extend_from_slice(b"data\x04\0\0\0\x00\x40\x00\xC0");
        let decoded = crate::decode(&bytes, crate::RawPcm::default()).unwrap();
        assert_eq!(decoded.sample_rate, 8000);
        assert_eq!(decoded.samples, vec![0.5, -0.5]);
    }
}
