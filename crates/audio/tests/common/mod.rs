//! Helpers shared by the integration tests: a WAV writer that can produce any header, and paths
//! to the committed fixtures and test audio.
#![allow(dead_code)]

use std::path::PathBuf;

use voxprint_audio::Format;

pub const PCM: u16 = 1;
pub const FLOAT: u16 = 3;
pub const ALAW: u16 = 6;
pub const MULAW: u16 = 7;
pub const EXTENSIBLE: u16 = 0xFFFE;

/// A `fmt ` chunk body (16 bytes, or 40 for WAVE_FORMAT_EXTENSIBLE wrapping `sub_tag`).
pub fn fmt_body(tag: u16, channels: u16, rate: u32, bits: u16, sub_tag: u16) -> Vec<u8> {
    let block_align = channels as u32 * (bits as u32).div_ceil(8);
    let mut b = Vec::new();
    b.extend_from_slice(&tag.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate.wrapping_mul(block_align)).to_le_bytes());
    b.extend_from_slice(&(block_align as u16).to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    if tag == EXTENSIBLE {
        b.extend_from_slice(&22u16.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&sub_tag.to_le_bytes());
        b.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]);
    }
    b
}

pub fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut c = id.to_vec();
    c.extend_from_slice(&(body.len() as u32).to_le_bytes());
    c.extend_from_slice(body);
    if body.len() % 2 == 1 {
        c.push(0);
    }
    c
}

/// `RIFF` + size + `WAVE` + the given chunks.
pub fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(&body);
    out
}

/// A plain WAV file.
pub fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    riff(&[chunk(b"fmt ", &fmt_body(tag, channels, rate, bits, PCM)), chunk(b"data", data)])
}

pub fn s16le(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn testdata_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

pub fn testdata(relative: &str) -> Vec<u8> {
    let path = testdata_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every compressed fixture that must decode, with its format, rate, channels and approximate length.
pub const COMPRESSED: &[(&str, Format, u32, u16, f32)] = &[
    ("mono16k.mp3", Format::Mp3, 16_000, 1, 2.40),
    ("stereo44k-id3.mp3", Format::Mp3, 44_100, 2, 1.10),
    ("mono16k.flac", Format::Flac, 16_000, 1, 1.30),
    ("stereo16k.flac", Format::Flac, 16_000, 2, 0.92),
    ("mono8k-24bit.flac", Format::Flac, 8_000, 1, 0.84),
    ("mono16k.ogg", Format::Ogg, 16_000, 1, 2.40),
    ("stereo44k.ogg", Format::Ogg, 44_100, 2, 1.10),
    ("mono16k.m4a", Format::M4a, 16_000, 1, 2.40),
    ("stereo44k.m4a", Format::M4a, 44_100, 2, 1.10),
    ("mono16k.opus", Format::Opus, 48_000, 1, 2.40),
    ("stereo44k.opus", Format::Opus, 48_000, 2, 1.10),
    ("mono16k.opus.ogg", Format::Opus, 48_000, 1, 2.40),
    ("mono16k.webm", Format::Webm, 48_000, 1, 2.40),
    ("stereo44k.webm", Format::Webm, 48_000, 2, 1.10),
    ("mono-chromium.webm", Format::Webm, 48_000, 1, 2.40),
];

/// Ogg pages carry a CRC, so nearly every mutant is dropped by the page reader before the
/// codec sees it. Recomputing the CRCs after mutating lets the mutations through.
pub fn fix_ogg_crcs(bytes: &mut [u8]) {
    fn crc(data: &[u8]) -> u32 {
        let mut crc = 0u32;
        for &b in data {
            crc ^= (b as u32) << 24;
            for _ in 0..8 {
                crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04C1_1DB7 } else { crc << 1 };
            }
        }
        crc
    }
    let mut pos = 0;
    while pos + 27 <= bytes.len() {
        if &bytes[pos..pos + 4] != b"OggS" {
            pos += 1;
            continue;
        }
        let segments = bytes[pos + 26] as usize;
        let Some(lacing) = bytes.get(pos + 27..pos + 27 + segments) else { break };
        let len = 27 + segments + lacing.iter().map(|&l| l as usize).sum::<usize>();
        if pos + len > bytes.len() {
            break;
        }
        bytes[pos + 22..pos + 26].fill(0);
        let sum = crc(&bytes[pos..pos + len]);
        bytes[pos + 22..pos + 26].copy_from_slice(&sum.to_le_bytes());
        pos += len;
    }
}

// ------------------------------------------------------------------ WebM/Matroska writing

/// An EBML element with an 8-byte size field.
pub fn el(id: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.push(0x01);
    out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

/// An EBML master element of unknown size (as a live muxer writes the Segment and Clusters).
pub fn el_unknown(id: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.extend_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    out.extend_from_slice(body);
    out
}

pub fn el_uint(id: &[u8], value: u64) -> Vec<u8> {
    el(id, &value.to_be_bytes())
}

pub const SEGMENT: &[u8] = &[0x18, 0x53, 0x80, 0x67];
pub const TRACKS: &[u8] = &[0x16, 0x54, 0xAE, 0x6B];
pub const CLUSTER: &[u8] = &[0x1F, 0x43, 0xB6, 0x75];
pub const TIMECODE: &[u8] = &[0xE7];
pub const SIMPLE_BLOCK: &[u8] = &[0xA3];
pub const BLOCK_GROUP: &[u8] = &[0xA0];
pub const BLOCK: &[u8] = &[0xA1];
pub const DISCARD_PADDING: &[u8] = &[0x75, 0xA2];
pub const VOID: &[u8] = &[0xEC];
pub const CUES: &[u8] = &[0x1C, 0x53, 0xBB, 0x6B];

/// The EBML header of a document of this DocType.
pub fn ebml_header(doc_type: &str) -> Vec<u8> {
    let mut body = el_uint(&[0x42, 0x86], 1);
    body.extend(el(&[0x42, 0x82], doc_type.as_bytes()));
    body.extend(el_uint(&[0x42, 0x87], 4));
    el(&[0x1A, 0x45, 0xDF, 0xA3], &body)
}

/// A TrackEntry: number, type (2 = audio, 1 = video), CodecID, CodecPrivate.
pub fn track_entry(number: u64, kind: u64, codec: &str, private: &[u8]) -> Vec<u8> {
    let mut body = el_uint(&[0xD7], number);
    body.extend(el_uint(&[0x73, 0xC5], number));
    body.extend(el_uint(&[0x83], kind));
    body.extend(el(&[0x86], codec.as_bytes()));
    if !private.is_empty() {
        body.extend(el(&[0x63, 0xA2], private));
    }
    el(&[0xAE], &body)
}

/// How a block packs several frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lacing {
    None,
    Xiph,
    Fixed,
    Ebml,
}

/// A (Simple)Block body: track number, timestamp 0, flags (keyframe), lacing, frames.
pub fn block_body(track: u8, lacing: Lacing, frames: &[&[u8]]) -> Vec<u8> {
    assert!(track < 127 && !frames.is_empty() && frames.len() <= 256);
    let bits = match lacing {
        Lacing::None => 0,
        Lacing::Xiph => 1,
        Lacing::Fixed => 2,
        Lacing::Ebml => 3,
    };
    let mut out = vec![0x80 | track, 0, 0, 0x80 | (bits << 1)];
    let (last, rest) = frames.split_last().unwrap();
    match lacing {
        Lacing::None => assert!(rest.is_empty()),
        Lacing::Xiph => {
            out.push((frames.len() - 1) as u8);
            for frame in rest {
                out.extend(std::iter::repeat_n(255u8, frame.len() / 255));
                out.push((frame.len() % 255) as u8);
            }
        }
        Lacing::Fixed => {
            assert!(frames.iter().all(|f| f.len() == last.len()));
            out.push((frames.len() - 1) as u8);
        }
        Lacing::Ebml => {
            out.push((frames.len() - 1) as u8);
            // 4-byte vints: the first size unsigned, then signed differences (bias 2^27 − 1).
            let mut previous = 0i64;
            for (i, frame) in rest.iter().enumerate() {
                let size = frame.len() as i64;
                let raw = if i == 0 { size } else { size - previous + (1 << 27) - 1 };
                out.extend_from_slice(&(0x1000_0000u32 | raw as u32).to_be_bytes());
                previous = size;
            }
        }
    }
    for frame in frames {
        out.extend_from_slice(frame);
    }
    out
}

/// A WebM file as a browser's MediaRecorder writes it: unknown-size Segment and Clusters, no
/// Cues, one Opus track (number 1), `per_cluster` unlaced SimpleBlocks per Cluster.
pub fn live_webm(opus_head: &[u8], packets: &[Vec<u8>], per_cluster: usize) -> Vec<u8> {
    let mut segment = el(TRACKS, &track_entry(1, 2, "A_OPUS", opus_head));
    for chunk in packets.chunks(per_cluster) {
        let mut cluster = el_uint(TIMECODE, 0);
        for packet in chunk {
            cluster.extend(el(SIMPLE_BLOCK, &block_body(1, Lacing::None, &[packet])));
        }
        segment.extend(el_unknown(CLUSTER, &cluster));
    }
    let mut file = ebml_header("webm");
    file.extend(el_unknown(SEGMENT, &segment));
    file
}

/// The OpusHead and audio packets of an Ogg Opus fixture.
pub fn ogg_opus_packets(name: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
    let bytes = fixture(name);
    // The OpusHead is the first page's only packet.
    let head_len = bytes[27] as usize;
    let head = bytes[28..28 + head_len].to_vec();
    let mut reader = opus_pure::OggOpusReader::new(std::io::Cursor::new(bytes)).unwrap();
    let packets = reader.packets().map(|p| p.unwrap().data).collect();
    (head, packets)
}
