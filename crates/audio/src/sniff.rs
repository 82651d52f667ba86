//! Recognising a format from the first bytes of the content.
//!
//! Containers we decode have magic bytes at offset 0 (`RIFF…WAVE`, `fLaC`, `OggS`, `….ftyp`,
//! `ID3`, EBML's `1A 45 DF A3`). Ogg says which codec it holds in its first packet (Opus or
//! Vorbis), EBML which kind of document it is in its header's DocType (WebM, Matroska).
//!
//! A bare MP3 starts with an 11-bit frame sync, which a raw PCM sample can imitate (`FF FF` is
//! the sample −1), so an MPEG header only counts when it is well formed *and* the next frame
//! header sits where its length says.
//!
//! Everything else would be read as raw PCM, which accepts any even number of bytes. To keep
//! a mistaken upload from becoming noise, recognisable non-audio content and audio containers
//! we do not decode are refused here with a message naming what they look like.

use crate::DecodeError;

/// What the content was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Wav,
    /// MPEG audio layer III; `offset` skips leading ID3v2 tags.
    Mp3 {
        offset: usize,
    },
    /// Native FLAC; `offset` skips leading ID3v2 tags (some taggers add them).
    Flac {
        offset: usize,
    },
    /// Ogg other than Opus: Vorbis (or FLAC in Ogg), decoded by symphonia.
    Ogg,
    M4a,
    /// Ogg whose first packet is an `OpusHead`.
    Opus,
    /// EBML with DocType `webm` or `matroska`.
    Webm,
    /// Nothing recognised: raw PCM.
    Raw,
}

/// Recognises `bytes`; `Err` for empty input and for content refused outright.
pub fn sniff(bytes: &[u8]) -> Result<Sniffed, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let at = |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);

    // RIFF family. A RIFF header too short to name its form type is a truncated WAV.
    if at(0, b"RIFF") || at(0, b"RF64") || at(0, b"BW64") {
        if bytes.len() < 12 {
            return Err(DecodeError::corrupt("the WAV header is truncated"));
        }
        return match &bytes[8..12] {
            b"WAVE" => Ok(Sniffed::Wav),
            b"WEBP" => Err(not_audio("a WebP image")),
            b"AVI " => Err(not_audio("an AVI video")),
            other => Err(DecodeError::unsupported(format!("a RIFF file of type '{}', not WAVE", printable(other)))),
        };
    }
    if at(0, b"RIFX") {
        return Err(DecodeError::unsupported("big-endian WAV (RIFX); convert it to ordinary WAV"));
    }
    if at(0, b"fLaC") {
        return Ok(Sniffed::Flac { offset: 0 });
    }
    if at(0, b"OggS") {
        return ogg(bytes);
    }
    if at(0, b"\x1a\x45\xdf\xa3") {
        return ebml(bytes);
    }
    if at(4, b"ftyp") {
        return mp4(&bytes[8..]);
    }
    // Older QuickTime/MP4 files may start with another top-level box than `ftyp`.
    if (at(4, b"moov") || at(4, b"mdat") || at(4, b"wide") || at(4, b"free")) && plausible_box_size(bytes) {
        return Ok(Sniffed::M4a);
    }
    if at(0, b"ID3") {
        return after_id3(bytes);
    }
    if let Some(found) = mpeg_stream(bytes) {
        return found;
    }
    if let Some(what) = known_other(bytes) {
        return Err(what);
    }
    if looks_like_text(bytes) {
        return Err(not_audio("text"));
    }
    Ok(Sniffed::Raw)
}

fn not_audio(what: &str) -> DecodeError {
    DecodeError::unsupported(format!("the file is {what}, not audio"))
}

fn unsupported_audio(what: &str) -> DecodeError {
    DecodeError::unsupported(format!("{what} is not supported"))
}

fn printable(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' }).collect()
}

fn ogg(bytes: &[u8]) -> Result<Sniffed, DecodeError> {
    // The first page holds the first packet of the first stream, which names the codec. Its
    // header is 27 bytes plus one lacing byte per segment.
    let segments = bytes.get(26).copied().unwrap_or(0) as usize;
    let packet = bytes.get(27 + segments..).unwrap_or(&[]);
    let starts = |magic: &[u8]| packet.starts_with(magic);
    if starts(b"OpusHead") {
        Ok(Sniffed::Opus)
    } else if starts(b"Speex   ") {
        Err(unsupported_audio("Ogg Speex"))
    } else if starts(b"\x80theora") {
        Err(unsupported_audio("Ogg Theora video"))
    } else {
        // Vorbis, FLAC in Ogg, or something symphonia will name when it fails.
        Ok(Sniffed::Ogg)
    }
}

fn ebml(bytes: &[u8]) -> Result<Sniffed, DecodeError> {
    match crate::webm::doc_type(bytes)? {
        crate::webm::DocType::Webm | crate::webm::DocType::Matroska => Ok(Sniffed::Webm),
        crate::webm::DocType::Other(name) => {
            Err(DecodeError::unsupported(format!("an EBML document of type '{name}' is not WebM or Matroska audio")))
        }
    }
}

fn mp4(after_ftyp: &[u8]) -> Result<Sniffed, DecodeError> {
    let brand = after_ftyp.get(..4).unwrap_or(&[]);
    match brand {
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => Err(not_audio("a HEIF image")),
        b"avif" | b"avis" => Err(not_audio("an AVIF image")),
        b"crx " => Err(not_audio("a Canon raw image")),
        _ => Ok(Sniffed::M4a),
    }
}

/// A first box whose 32-bit size is at least a header and no larger than the file (or 0/1:
/// "to the end" and "64-bit size").
fn plausible_box_size(bytes: &[u8]) -> bool {
    let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    size == 0 || size == 1 || (8..=bytes.len()).contains(&size)
}

/// ID3v2 tags (possibly several) in front of MP3 — or, rarely, FLAC.
fn after_id3(bytes: &[u8]) -> Result<Sniffed, DecodeError> {
    let mut offset = 0usize;
    // Each tag is at least 10 bytes, so this loop ends; cap it anyway.
    for _ in 0..16 {
        let rest = &bytes[offset..];
        if !rest.starts_with(b"ID3") {
            break;
        }
        let Some(header) = rest.get(..10) else {
            return Err(DecodeError::corrupt("the ID3 tag is truncated"));
        };
        let size = header[6..10].iter().fold(0usize, |acc, &b| (acc << 7) | (b & 0x7f) as usize);
        let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
        offset += 10 + size + footer;
        if offset >= bytes.len() {
            return Err(DecodeError::corrupt("the file holds an ID3 tag but no audio after it"));
        }
    }
    let rest = &bytes[offset..];
    if rest.starts_with(b"fLaC") {
        return Ok(Sniffed::Flac { offset });
    }
    {
        if let Some(frame) = MpegHeader::parse(&rest[..rest.len().min(6)]) {
            if frame.adts {
                return Err(DecodeError::unsupported("raw AAC (ADTS) is not supported; upload it in an M4A container"));
            }
            if frame.layer != 3 {
                return Err(unsupported_audio(&format!("MPEG audio layer {}", roman(frame.layer))));
            }
        }
    }
    // Otherwise let the MP3 reader search for the first frame (some files pad after the tag).
    Ok(Sniffed::Mp3 { offset })
}

fn roman(layer: u8) -> &'static str {
    match layer {
        1 => "I",
        2 => "II",
        _ => "III",
    }
}

/// A bare MPEG audio or ADTS AAC stream at offset 0, confirmed by the following frame header.
fn mpeg_stream(bytes: &[u8]) -> Option<Result<Sniffed, DecodeError>> {
    let first = MpegHeader::parse(&bytes[..bytes.len().min(6)])?;
    let next_at = first.frame_len;
    let confirmed = match bytes.get(next_at..next_at + 4) {
        Some(_) => {
            MpegHeader::parse(&bytes[next_at..bytes.len().min(next_at + 6)]).is_some_and(|n| n.same_stream(&first))
        }
        // A single frame, or a stream cut inside the second frame's header.
        None => bytes.len() >= next_at,
    };
    if !confirmed {
        return None;
    }
    Some(if first.adts {
        Err(DecodeError::unsupported("raw AAC (ADTS) is not supported; upload it in an M4A container"))
    } else if first.layer != 3 {
        Err(unsupported_audio(&format!("MPEG audio layer {}", roman(first.layer))))
    } else {
        Ok(Sniffed::Mp3 { offset: 0 })
    })
}

/// The fields of an MPEG audio (or ADTS AAC) frame header that locate the next frame.
#[derive(Debug, Clone, Copy)]
struct MpegHeader {
    adts: bool,
    /// MPEG version bits (0 = 2.5, 2 = 2, 3 = 1); ADTS: 0 = MPEG-4, 1 = MPEG-2.
    version: u8,
    /// 1, 2 or 3; 0 for ADTS.
    layer: u8,
    sample_rate: u32,
    frame_len: usize,
}

impl MpegHeader {
    fn parse(h: &[u8]) -> Option<MpegHeader> {
        if h.len() < 4 || h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
            return None;
        }
        let version = (h[1] >> 3) & 3;
        let layer_bits = (h[1] >> 1) & 3;
        if layer_bits == 0 {
            return MpegHeader::parse_adts(h);
        }
        if version == 1 {
            return None;
        }
        let layer = 4 - layer_bits; // 3 → I, 2 → II, 1 → III
        let bitrate_index = (h[2] >> 4) as usize;
        let rate_index = ((h[2] >> 2) & 3) as usize;
        if bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
            return None;
        }
        let padding = ((h[2] >> 1) & 1) as usize;
        let v1 = version == 3;
        let kbps = match (v1, layer) {
            (true, 1) => [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
            (true, 2) => [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
            (true, _) => [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
            (false, 1) => [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
            (false, _) => [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
        }[bitrate_index - 1];
        let sample_rate = [44_100u32, 48_000, 32_000][rate_index]
            >> match version {
                3 => 0,
                2 => 1,
                _ => 2,
            };
        let bits_per_second = kbps * 1000;
        let frame_len = match layer {
            1 => (12 * bits_per_second / sample_rate as usize + padding) * 4,
            3 if !v1 => 72 * bits_per_second / sample_rate as usize + padding,
            _ => 144 * bits_per_second / sample_rate as usize + padding,
        };
        Some(MpegHeader { adts: false, version, layer, sample_rate, frame_len })
    }

    fn parse_adts(h: &[u8]) -> Option<MpegHeader> {
        // 12-bit sync, ID, layer 00, protection; then profile, rate index, …, 13-bit length.
        if h.len() < 6 || h[1] & 0xF6 != 0xF0 {
            return None;
        }
        let rate_index = ((h[2] >> 2) & 0xF) as usize;
        const RATES: [u32; 13] =
            [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
        let sample_rate = *RATES.get(rate_index)?;
        let frame_len = (((h[3] & 3) as usize) << 11) | ((h[4] as usize) << 3) | ((h[5] >> 5) as usize);
        if frame_len < 7 {
            return None;
        }
        Some(MpegHeader { adts: true, version: (h[1] >> 3) & 1, layer: 0, sample_rate, frame_len })
    }

    fn same_stream(&self, other: &MpegHeader) -> bool {
        self.adts == other.adts
            && self.version == other.version
            && self.layer == other.layer
            && self.sample_rate == other.sample_rate
    }
}

/// Well-known non-audio formats and audio containers we do not decode.
fn known_other(bytes: &[u8]) -> Option<DecodeError> {
    let at = |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
    let table: &[(&[u8], &str, bool)] = &[
        // (magic at offset 0, description, is audio we do not decode)
        (b"\x89PNG\r\n\x1a\n", "a PNG image", false),
        (b"\xff\xd8\xff", "a JPEG image", false),
        (b"GIF87a", "a GIF image", false),
        (b"GIF89a", "a GIF image", false),
        (b"II*\x00", "a TIFF image", false),
        (b"MM\x00*", "a TIFF image", false),
        (b"%PDF-", "a PDF document", false),
        (b"PK\x03\x04", "a ZIP archive (or an Office document)", false),
        (b"PK\x05\x06", "a ZIP archive", false),
        (b"\x1f\x8b\x08", "a gzip archive", false),
        (b"BZh", "a bzip2 archive", false),
        (b"\xfd7zXZ\x00", "an xz archive", false),
        (b"\x28\xb5\x2f\xfd", "a Zstandard archive", false),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", false),
        (b"Rar!\x1a\x07", "a RAR archive", false),
        (b"\x7fELF", "an executable (ELF)", false),
        (b"\xcf\xfa\xed\xfe", "an executable (Mach-O)", false),
        (b"\xce\xfa\xed\xfe", "an executable (Mach-O)", false),
        (b"\x00asm", "a WebAssembly module", false),
        (b"SQLite format 3\x00", "an SQLite database", false),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document", false),
        (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "WMA/ASF", true),
        (b"FLV\x01", "Flash video", true),
        (b"#!AMR", "AMR", true),
        (b"MThd", "MIDI", true),
        (b"caff", "Core Audio Format (CAF)", true),
        (b".snd", "Sun/NeXT audio (.au)", true),
        (b"wvpk", "WavPack", true),
        (b"MAC ", "Monkey's Audio", true),
        (b"TTA1", "TTA", true),
        (b"MPCK", "Musepack", true),
        (b"\x00\x00\x01\xba", "an MPEG program stream", true),
        (b"\x00\x00\x01\xb3", "an MPEG video stream", true),
    ];
    for &(magic, what, audio) in table {
        if at(0, magic) {
            return Some(if audio { unsupported_audio(what) } else { not_audio(what) });
        }
    }
    if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        return Some(unsupported_audio("AIFF"));
    }
    // BMP: "BM" alone is too likely as a PCM sample, so also require its file-size field.
    if at(0, b"BM") && bytes.len() >= 14 {
        let size = u32::from_le_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]) as usize;
        if size == bytes.len() {
            return Some(not_audio("a BMP image"));
        }
    }
    // MPEG transport stream: a 0x47 sync byte every 188 bytes.
    if bytes.len() >= 188 * 3 && (0..3).all(|i| bytes[i * 188] == 0x47) {
        return Some(unsupported_audio("an MPEG transport stream"));
    }
    // UTF-16 text with a byte-order mark.
    if (at(0, b"\xff\xfe") || at(0, b"\xfe\xff")) && bytes.len() >= 8 {
        let ascii_half = if bytes[0] == 0xff { 0 } else { 1 };
        let body = &bytes[2..bytes.len().min(2050)];
        let units = body.len() / 2;
        let texty = (0..units)
            .filter(|i| body[2 * i + (1 - ascii_half)] == 0 && is_text_byte(body[2 * i + ascii_half]))
            .count();
        if units > 0 && texty * 100 >= units * 95 {
            return Some(not_audio("text"));
        }
    }
    None
}

fn is_text_byte(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x20..=0x7e)
}

/// Text, JSON, HTML, XML, CSV…: the first 4 KiB have no NUL byte and are either ≥ 95 %
/// printable ASCII or valid UTF-8 without control characters. 16-bit PCM practically never is:
/// any sample between −255 and 255 has a 0x00 or 0xFF byte, and audio oscillates around 0.
pub(crate) fn looks_like_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    if head.len() < 8 || head.contains(&0) {
        return false;
    }
    let printable = head.iter().filter(|&&b| is_text_byte(b)).count();
    if printable * 100 >= head.len() * 95 {
        return true;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        // Cut in the middle of a multi-byte character at the 4 KiB boundary.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""),
        Err(_) => return false,
    };
    !valid.is_empty() && valid.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpeg_header_lengths() {
        // MPEG-1 layer III, 128 kb/s, 44.1 kHz, no padding: 417 bytes.
        let h = MpegHeader::parse(&[0xFF, 0xFB, 0x90, 0x00]).unwrap();
        assert_eq!((h.layer, h.sample_rate, h.frame_len), (3, 44_100, 417));
        // MPEG-2 layer III, 32 kb/s, 16 kHz: 144 bytes.
        let h = MpegHeader::parse(&[0xFF, 0xF3, 0x48, 0x00]).unwrap();
        assert_eq!((h.layer, h.sample_rate, h.frame_len), (3, 16_000, 144));
        // Reserved version, bad bitrate, bad rate.
        assert!(MpegHeader::parse(&[0xFF, 0xEB, 0x90, 0x00]).is_none());
        assert!(MpegHeader::parse(&[0xFF, 0xFB, 0xF0, 0x00]).is_none());
        assert!(MpegHeader::parse(&[0xFF, 0xFB, 0x9C, 0x00]).is_none());
    }

    #[test]
    fn a_lone_frame_sync_is_raw_pcm() {
        // Looks like an MPEG header, but nothing follows where the next frame should be.
        let mut bytes = vec![0xFF, 0xFB, 0x90, 0x00];
        bytes.resize(2000, 0x01);
        assert_eq!(sniff(&bytes), Ok(Sniffed::Raw));
        // The sample −1 repeated is a plausible raw PCM start too.
        assert_eq!(sniff(&[0xFF; 64]), Ok(Sniffed::Raw));
    }

    #[test]
    fn text_is_recognised() {
        assert!(looks_like_text(br#"{"error": "not audio"}"#));
        assert!(looks_like_text("Grüße aus Köln, ça va? ".repeat(50).as_bytes()));
        assert!(!looks_like_text(&[0x10, 0x00, 0xf0, 0xff, 0x20, 0x00, 0xe0, 0xff, 0x30, 0x00]));
    }
}
