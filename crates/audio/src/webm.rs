//! WebM/Matroska demuxing: the EBML elements that lead to an Opus track's packets, read straight
//! from the upload's bytes.
//!
//! # Why by hand
//! What browsers record (`MediaRecorder`, `audio/webm;codecs=opus`) is written to a stream that
//! cannot seek back, so the Segment **and every Cluster** carry the "unknown size" marker and
//! end only where an element that cannot be their child begins. That is exactly the case the
//! Rust demuxers handle worst: symphonia's `mkv` reader (0.5 and 0.6) stops at the second
//! unknown-size Cluster with "unexpected element" (its issue #541), and `matroska-demuxer` works
//! on a `Read + Seek` source, stops collecting a master element's children at the first child of
//! unknown size and copies every frame into a `Vec`. Audio-only WebM needs few elements — the
//! EBML header's DocType, the Segment, Tracks/TrackEntry (CodecID, CodecPrivate = OpusHead,
//! ContentEncodings), Cluster, SimpleBlock and BlockGroup/Block/DiscardPadding — so this module
//! reads those itself, over the byte slice, and skips everything else by its size:
//! - nothing is allocated: packets are borrowed slices of the input, block lacing is read into
//!   a fixed array of at most 256 frame sizes;
//! - every size is checked against the bytes that are actually there, with checked arithmetic,
//!   before it is used; IDs longer than 4 bytes and sizes longer than 8 are malformed;
//! - every step moves forward by at least one element header, so the walk ends;
//! - only a Segment or a Cluster may have an unknown size (as the specification says); an
//!   unknown-size Cluster ends at the first element that is not one of a Cluster's children;
//! - a file cut short ends at the last whole block, as the other compressed formats keep what
//!   came before a cut.
//!
//! Timestamps are not used: the packets of the audio track are decoded back to back, as a
//! recording is.

use crate::DecodeError;

const EBML: u32 = 0x1A45_DFA3;
const DOC_TYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const TRACK_TYPE: u32 = 0x83;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
const CONTENT_ENCODINGS: u32 = 0x6D80;
const CLUSTER: u32 = 0x1F43_B675;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const DISCARD_PADDING: u32 = 0x75A2;
/// What a Cluster may contain (besides the global Void and CRC-32): Timestamp, Position,
/// PrevSize, SimpleBlock, BlockGroup, EncryptedBlock, SilentTracks, Void, CRC-32.
const CLUSTER_CHILDREN: [u32; 9] = [0xE7, 0xA7, 0xAB, SIMPLE_BLOCK, BLOCK_GROUP, 0xAF, 0x5854, 0xEC, 0xBF];

/// Matroska track type of audio.
const TRACK_TYPE_AUDIO: u64 = 2;
/// Longest DocType and CodecID read; real ones are a few bytes.
const MAX_NAME: usize = 64;
/// Largest EBML header accepted (real ones are about 40 bytes).
const MAX_EBML_HEADER: u64 = 4096;
/// Largest CodecPrivate accepted: an OpusHead is 19 bytes, 21 + 255 with a channel mapping.
const MAX_CODEC_PRIVATE: usize = 1024;

/// The DocType of the EBML document whose header starts at `bytes[0]`; `Err` when that header
/// is truncated or malformed.
pub(crate) fn doc_type(bytes: &[u8]) -> Result<DocType, DecodeError> {
    let header = element(bytes, 0).map_err(|e| e.into_error("header"))?;
    let size = header.size.ok_or_else(|| corrupt("the EBML header has an unknown size"))?;
    if size > MAX_EBML_HEADER {
        return Err(corrupt("the EBML header is implausibly large"));
    }
    let end = header.body.checked_add(size as usize).filter(|&end| end <= bytes.len());
    let end = end.ok_or_else(|| corrupt("the file is truncated inside its EBML header"))?;
    let mut pos = header.body;
    // The specification's default DocType is "matroska".
    let mut name: &[u8] = b"matroska";
    while pos < end {
        let child = element(&bytes[..end], pos).map_err(|e| e.into_error("header"))?;
        let child_end = known_end(&child, end).ok_or_else(|| corrupt("an element overruns the EBML header"))?;
        if child.id == DOC_TYPE {
            name = trim_nul(&bytes[child.body..child_end]);
        }
        pos = child_end;
    }
    Ok(match name {
        b"webm" => DocType::Webm,
        b"matroska" => DocType::Matroska,
        other => DocType::Other(printable(&other[..other.len().min(MAX_NAME)])),
    })
}

/// What an EBML document says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DocType {
    Webm,
    Matroska,
    Other(String),
}

/// The audio track chosen for decoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AudioTrack<'a> {
    number: u64,
    /// The OpusHead.
    pub(crate) codec_private: &'a [u8],
}

/// One block of the audio track: its laced frames and how much of its end to discard.
#[derive(Debug)]
pub(crate) struct Block<'a> {
    pub(crate) frames: Frames<'a>,
    /// Nanoseconds of padding at the end of the block's audio (BlockGroup/DiscardPadding), 0 when
    /// none; never negative.
    pub(crate) discard_padding_ns: u64,
}

/// The packets of one track of a WebM/Matroska file, block by block.
pub(crate) struct Demuxer<'a> {
    data: &'a [u8],
    pos: usize,
    /// End of the Segment's data (the end of the input for an unknown size or a cut file).
    segment_end: usize,
    /// While inside a Cluster: where it ends, `None` for an unknown size.
    cluster: Option<Option<usize>>,
    track: AudioTrack<'a>,
}

impl<'a> Demuxer<'a> {
    /// Reads the headers up to the track list and picks the first Opus audio track.
    pub(crate) fn open(data: &'a [u8]) -> Result<Self, DecodeError> {
        let header = element(data, 0).map_err(|e| e.into_error("header"))?;
        if header.id != EBML {
            return Err(corrupt("the file does not start with an EBML header"));
        }
        let mut pos = header
            .size
            .and_then(|size| header.body.checked_add(usize::try_from(size).ok()?))
            .filter(|&end| end <= data.len())
            .ok_or_else(|| corrupt("the EBML header is truncated"))?;

        // Top level: the Segment, possibly after Void elements.
        let segment = loop {
            let top = element(data, pos).map_err(|e| e.into_error("segment"))?;
            if top.id == SEGMENT {
                break top;
            }
            pos = known_end(&top, data.len()).ok_or_else(|| corrupt("an element before the segment is truncated"))?;
        };
        let segment_end = match segment.size {
            None => data.len(),
            Some(size) => end_within(segment.body, size, data.len()),
        };

        // Segment children up to Tracks; blocks may not come before it.
        pos = segment.body;
        loop {
            if pos >= segment_end {
                return Err(corrupt("the file ends before its track list"));
            }
            let child = element(&data[..segment_end], pos).map_err(|e| e.into_error("segment"))?;
            match child.id {
                TRACKS => {
                    let end = known_end(&child, segment_end).ok_or_else(|| corrupt("the track list is truncated"))?;
                    let track = audio_track(&data[..end], child.body)?;
                    return Ok(Demuxer { data, pos: end, segment_end, cluster: None, track });
                }
                CLUSTER => return Err(corrupt("audio blocks come before the track list")),
                _ => {
                    pos = known_end(&child, segment_end)
                        .ok_or_else(|| corrupt("an element of the segment has an unknown size or is truncated"))?;
                }
            }
        }
    }

    pub(crate) fn track(&self) -> AudioTrack<'a> {
        self.track
    }

    /// The next block of the audio track; `Ok(None)` at the end of the segment, or where the
    /// file is cut.
    pub(crate) fn next_block(&mut self) -> Result<Option<Block<'a>>, DecodeError> {
        let data = &self.data[..self.segment_end];
        loop {
            if self.pos >= data.len() {
                return Ok(None);
            }
            let Some(cluster_end) = self.cluster else {
                // Between clusters, at the segment's level.
                let el = match element(data, self.pos) {
                    Ok(el) => el,
                    Err(Problem::Cut) => return Ok(None),
                    Err(e) => return Err(e.into_error("segment")),
                };
                match el.id {
                    CLUSTER => {
                        self.cluster = Some(el.size.map(|size| end_within(el.body, size, data.len())));
                        self.pos = el.body;
                    }
                    // A second stream appended to the first: decode only the first.
                    EBML | SEGMENT => return Ok(None),
                    _ => match known_end(&el, data.len()) {
                        Some(end) => self.pos = end,
                        None if el.size.is_some() => return Ok(None),
                        None => return Err(corrupt("an element of unknown size that is not a cluster")),
                    },
                }
                continue;
            };
            if cluster_end.is_some_and(|end| self.pos >= end) {
                self.cluster = None;
                continue;
            }
            let limit = cluster_end.unwrap_or(data.len());
            let el = match element(&data[..limit], self.pos) {
                Ok(el) => el,
                Err(Problem::Cut) => return Ok(None),
                Err(e) => return Err(e.into_error("cluster")),
            };
            if cluster_end.is_none() && !CLUSTER_CHILDREN.contains(&el.id) {
                // The end of an unknown-size cluster: this element belongs to the segment.
                self.cluster = None;
                continue;
            }
            let Some(end) = known_end(&el, limit) else {
                if el.size.is_none() {
                    return Err(corrupt("an element inside a cluster has an unknown size"));
                }
                // Cut inside this element: keep what came before.
                return Ok(None);
            };
            self.pos = end;
            let block = match el.id {
                SIMPLE_BLOCK => self.block(&data[el.body..end], 0)?,
                BLOCK_GROUP => self.block_group(&data[el.body..end])?,
                _ => None,
            };
            if let Some(block) = block {
                return Ok(Some(block));
            }
        }
    }

    fn block_group(&self, body: &'a [u8]) -> Result<Option<Block<'a>>, DecodeError> {
        let mut block: Option<&'a [u8]> = None;
        let mut discard = 0u64;
        let mut pos = 0;
        while pos < body.len() {
            let el = element(body, pos).map_err(|e| e.into_error("block group"))?;
            let end = known_end(&el, body.len()).ok_or_else(|| corrupt("an element overruns its block group"))?;
            match el.id {
                BLOCK => block = Some(&body[el.body..end]),
                DISCARD_PADDING => discard = signed(&body[el.body..end])?.max(0) as u64,
                _ => {}
            }
            pos = end;
        }
        match block {
            Some(block) => self.block(block, discard),
            None => Ok(None),
        }
    }

    /// A (Simple)Block's frames if it belongs to the audio track.
    fn block(&self, body: &'a [u8], discard_padding_ns: u64) -> Result<Option<Block<'a>>, DecodeError> {
        let (track, len) = match vint(body, 0) {
            Ok((Some(track), len)) => (track, len),
            Ok((None, _)) | Err(_) => return Err(corrupt("a block has no valid track number")),
        };
        if track != self.track.number {
            return Ok(None);
        }
        // Track number, 16-bit relative timestamp, flags.
        let flags = *body.get(len + 2).ok_or_else(|| corrupt("a block header is truncated"))?;
        let frames = Frames::new(&body[len + 3..], (flags >> 1) & 3).map_err(corrupt)?;
        Ok(Some(Block { frames, discard_padding_ns }))
    }
}

/// The frames of a block, split by its lacing (none, Xiph, fixed-size or EBML).
#[derive(Debug)]
pub(crate) struct Frames<'a> {
    data: &'a [u8],
    sizes: [u32; 256],
    count: usize,
    next: usize,
    at: usize,
}

impl<'a> Frames<'a> {
    fn new(body: &'a [u8], lacing: u8) -> Result<Self, &'static str> {
        let mut sizes = [0u32; 256];
        if lacing == 0 {
            sizes[0] = u32::try_from(body.len()).map_err(|_| "a block is too large")?;
            return Ok(Frames { data: body, sizes, count: 1, next: 0, at: 0 });
        }
        let count = usize::from(*body.first().ok_or("a laced block is truncated")?) + 1;
        let mut pos = 1;
        // Sizes of all frames but the last; the last takes what remains.
        let mut total = 0usize;
        match lacing {
            1 => {
                for size in sizes.iter_mut().take(count - 1) {
                    let mut value = 0usize;
                    loop {
                        let byte = *body.get(pos).ok_or("a Xiph lacing header is truncated")?;
                        pos += 1;
                        value += usize::from(byte);
                        if value > body.len() {
                            return Err("a Xiph lacing size is larger than its block");
                        }
                        if byte != 255 {
                            break;
                        }
                    }
                    *size = value as u32;
                    total += value;
                }
            }
            3 => {
                let mut previous = 0i64;
                for (i, size) in sizes.iter_mut().take(count - 1).enumerate() {
                    let value = if i == 0 {
                        let (value, len) = vint(body, pos).map_err(|_| "an EBML lacing header is truncated")?;
                        pos += len;
                        i64::try_from(value.ok_or("an EBML lacing size is reserved")?).map_err(|_| "bad lacing")?
                    } else {
                        let (raw, len) = vint(body, pos).map_err(|_| "an EBML lacing header is truncated")?;
                        pos += len;
                        let raw = raw.ok_or("an EBML lacing size is reserved")?;
                        // Signed: subtract half the range (2^(7·len − 1) − 1).
                        let bias = (1i64 << (7 * len - 1)) - 1;
                        previous.checked_add(raw as i64 - bias).ok_or("bad lacing")?
                    };
                    if !(0..=body.len() as i64).contains(&value) {
                        return Err("an EBML lacing size is out of range");
                    }
                    previous = value;
                    *size = value as u32;
                    total += value as usize;
                }
            }
            _ => {
                // Fixed-size lacing: the rest divides evenly.
                let rest = body.len() - pos;
                if !rest.is_multiple_of(count) {
                    return Err("a fixed-size laced block does not divide evenly");
                }
                sizes.iter_mut().take(count).for_each(|s| *s = (rest / count) as u32);
                return Ok(Frames { data: &body[pos..], sizes, count, next: 0, at: 0 });
            }
        }
        let rest = body.len().checked_sub(pos).ok_or("a laced block is truncated")?;
        let last = rest.checked_sub(total).ok_or("a laced block is shorter than its frame sizes")?;
        sizes[count - 1] = last as u32;
        Ok(Frames { data: &body[pos..], sizes, count, next: 0, at: 0 })
    }

    /// How many frames are left.
    pub(crate) fn remaining(&self) -> usize {
        self.count - self.next
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.next >= self.count {
            return None;
        }
        let size = self.sizes[self.next] as usize;
        let frame = self.data.get(self.at..self.at + size)?;
        self.next += 1;
        self.at += size;
        Some(frame)
    }
}

/// Tracks: the first audio track with CodecID `A_OPUS`, or an error naming the first audio
/// track's codec.
fn audio_track<'a>(data: &'a [u8], mut pos: usize) -> Result<AudioTrack<'a>, DecodeError> {
    let mut other_codec: Option<&[u8]> = None;
    while pos < data.len() {
        let el = element(data, pos).map_err(|e| e.into_error("track list"))?;
        let end = known_end(&el, data.len()).ok_or_else(|| corrupt("a track entry is truncated"))?;
        if el.id == TRACK_ENTRY {
            let entry = track_entry(&data[..end], el.body)?;
            let audio = entry.kind == Some(TRACK_TYPE_AUDIO) || entry.codec.starts_with(b"A_");
            if audio && entry.codec == b"A_OPUS" {
                if entry.encoded {
                    return Err(DecodeError::unsupported("compressed or encrypted WebM tracks are not supported"));
                }
                let number = entry.number.ok_or_else(|| corrupt("the Opus track has no track number"))?;
                let codec_private = entry.codec_private.ok_or_else(|| corrupt("the Opus track has no OpusHead"))?;
                return Ok(AudioTrack { number, codec_private });
            }
            if audio && other_codec.is_none() {
                other_codec = Some(entry.codec);
            }
        }
        pos = end;
    }
    match other_codec {
        Some(codec) => {
            Err(DecodeError::unsupported(format!("{} audio in WebM/Matroska is not supported", codec_name(codec))))
        }
        None => Err(DecodeError::unsupported("the WebM/Matroska file has no audio track")),
    }
}

struct TrackEntry<'a> {
    number: Option<u64>,
    kind: Option<u64>,
    codec: &'a [u8],
    codec_private: Option<&'a [u8]>,
    encoded: bool,
}

fn track_entry<'a>(data: &'a [u8], mut pos: usize) -> Result<TrackEntry<'a>, DecodeError> {
    let mut entry = TrackEntry { number: None, kind: None, codec: b"", codec_private: None, encoded: false };
    while pos < data.len() {
        let el = element(data, pos).map_err(|e| e.into_error("track entry"))?;
        let end = known_end(&el, data.len()).ok_or_else(|| corrupt("an element overruns its track entry"))?;
        let body = &data[el.body..end];
        match el.id {
            TRACK_NUMBER => entry.number = Some(unsigned(body)?),
            TRACK_TYPE => entry.kind = Some(unsigned(body)?),
            CODEC_ID => entry.codec = trim_nul(&body[..body.len().min(MAX_NAME)]),
            CODEC_PRIVATE => {
                if body.len() > MAX_CODEC_PRIVATE {
                    return Err(corrupt("a track's codec header is implausibly large"));
                }
                entry.codec_private = Some(body);
            }
            CONTENT_ENCODINGS => entry.encoded = true,
            // Audio settings (rate, channels) are not read: the decoder goes by the OpusHead.
            _ => {}
        }
        pos = end;
    }
    Ok(entry)
}

fn codec_name(codec: &[u8]) -> String {
    match codec {
        b"A_VORBIS" => "Vorbis".into(),
        b"A_AAC" => "AAC".into(),
        b"A_FLAC" => "FLAC".into(),
        b"A_MPEG/L3" => "MP3".into(),
        other if other.starts_with(b"A_PCM") => "PCM".into(),
        other => format!("'{}'", printable(other)),
    }
}

/// An element's header: its ID, its size (`None` for unknown) and where its body starts.
#[derive(Debug, Clone, Copy)]
struct Element {
    id: u32,
    size: Option<u64>,
    body: usize,
}

/// Why an element header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    /// The data ends inside it.
    Cut,
    /// It cannot be an element header.
    Malformed(&'static str),
}

impl Problem {
    fn into_error(self, inside: &str) -> DecodeError {
        match self {
            Problem::Cut => corrupt(format!("the file is truncated inside its {inside}")),
            Problem::Malformed(what) => corrupt(format!("{what} in its {inside}")),
        }
    }
}

/// The element header at `pos`.
fn element(data: &[u8], pos: usize) -> Result<Element, Problem> {
    let first = *data.get(pos).ok_or(Problem::Cut)?;
    let id_len = first.leading_zeros() as usize + 1;
    if id_len > 4 {
        return Err(Problem::Malformed("an element ID is longer than 4 bytes"));
    }
    let id_bytes = data.get(pos..pos + id_len).ok_or(Problem::Cut)?;
    let id = id_bytes.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    let (size, size_len) = vint(data, pos + id_len)?;
    Ok(Element { id, size, body: pos + id_len + size_len })
}

/// A variable-length integer (marker bit removed) and its length; `None` for the all-ones value
/// (an unknown size).
fn vint(data: &[u8], pos: usize) -> Result<(Option<u64>, usize), Problem> {
    let first = *data.get(pos).ok_or(Problem::Cut)?;
    if first == 0 {
        return Err(Problem::Malformed("a size is longer than 8 bytes"));
    }
    let len = first.leading_zeros() as usize + 1;
    let bytes = data.get(pos..pos + len).ok_or(Problem::Cut)?;
    let mask = if len == 8 { 0 } else { 0xFFu8 >> len };
    let value = bytes[1..].iter().fold(u64::from(first & mask), |acc, &b| (acc << 8) | u64::from(b));
    let all_ones = (1u64 << (7 * len)) - 1;
    Ok((if value == all_ones { None } else { Some(value) }, len))
}

/// Where an element of known size ends, if it fits within `limit`.
fn known_end(el: &Element, limit: usize) -> Option<usize> {
    let size = usize::try_from(el.size?).ok()?;
    el.body.checked_add(size).filter(|&end| end <= limit)
}

/// Where a master element that may be cut short ends: its declared end, or `limit`.
fn end_within(body: usize, size: u64, limit: usize) -> usize {
    usize::try_from(size).ok().and_then(|size| body.checked_add(size)).map_or(limit, |end| end.min(limit))
}

fn unsigned(body: &[u8]) -> Result<u64, DecodeError> {
    if body.len() > 8 {
        return Err(corrupt("an integer element is longer than 8 bytes"));
    }
    Ok(body.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

fn signed(body: &[u8]) -> Result<i64, DecodeError> {
    if body.is_empty() {
        return Ok(0);
    }
    let value = unsigned(body)?;
    let bits = 8 * body.len() as u32;
    // Sign-extend from the element's width.
    Ok(if bits == 64 { value as i64 } else { ((value << (64 - bits)) as i64) >> (64 - bits) })
}

fn trim_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

fn printable(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' }).collect()
}

fn corrupt(detail: impl Into<String>) -> DecodeError {
    DecodeError::corrupt(format!("malformed WebM/Matroska: {}", detail.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vints() {
        assert_eq!(vint(&[0x81], 0), Ok((Some(1), 1)));
        assert_eq!(vint(&[0x40, 0x02], 0), Ok((Some(2), 2)));
        assert_eq!(vint(&[0xFF], 0), Ok((None, 1)));
        assert_eq!(vint(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], 0), Ok((None, 8)));
        assert_eq!(vint(&[0x01, 0, 0, 0, 0, 0, 0, 5], 0), Ok((Some(5), 8)));
        assert_eq!(vint(&[0x00, 1], 0), Err(Problem::Malformed("a size is longer than 8 bytes")));
        assert_eq!(vint(&[0x20, 1], 0), Err(Problem::Cut));
        assert_eq!(signed(&[0xFF]), Ok(-1));
        assert_eq!(signed(&[0x00, 0xEF, 0x5F, 0x4C]), Ok(15_687_500));
    }

    fn frames(body: &[u8], lacing: u8) -> Result<Vec<Vec<u8>>, &'static str> {
        Frames::new(body, lacing).map(|f| f.map(<[u8]>::to_vec).collect())
    }

    #[test]
    fn lacing() {
        assert_eq!(frames(&[1, 2, 3], 0), Ok(vec![vec![1, 2, 3]]));
        // Xiph: 3 frames, sizes 2 and 256 (255 + 1), the last 1.
        let mut body = vec![2, 2, 255, 1];
        body.extend_from_slice(&[7; 2]);
        body.extend_from_slice(&[8; 256]);
        body.push(9);
        let got = frames(&body, 1).unwrap();
        assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 256, 1]);
        assert_eq!((got[0][0], got[1][0], got[2][0]), (7, 8, 9));
        // Fixed: 2 frames of 2.
        assert_eq!(frames(&[1, 1, 2, 3, 4], 2), Ok(vec![vec![1, 2], vec![3, 4]]));
        assert!(frames(&[1, 1, 2, 3], 2).is_err());
        // EBML: 3 frames, first size 2, then 2 + (−1) = 1, the last takes the rest (3).
        let got = frames(&[2, 0x82, 0xBE, 1, 1, 2, 3, 3, 3], 3).unwrap();
        assert_eq!(got, vec![vec![1, 1], vec![2], vec![3, 3, 3]]);
        // Sizes larger than the block.
        assert!(frames(&[1, 200, 1, 2], 1).is_err());
        assert!(frames(&[1, 0x40, 0xFF, 1], 3).is_err());
        assert!(frames(&[], 1).is_err());
        // 256 frames of zero bytes: Xiph sizes all 0.
        let mut body = vec![255];
        body.extend_from_slice(&[0; 255]);
        assert_eq!(frames(&body, 1).unwrap().len(), 256);
    }

    #[test]
    fn doc_types() {
        let header = |doc: &[u8]| {
            let mut b = vec![0x1A, 0x45, 0xDF, 0xA3, 0x80 | (3 + doc.len() as u8), 0x42, 0x82, 0x80 | doc.len() as u8];
            b.extend_from_slice(doc);
            b
        };
        assert_eq!(doc_type(&header(b"webm")), Ok(DocType::Webm));
        assert_eq!(doc_type(&header(b"matroska")), Ok(DocType::Matroska));
        assert_eq!(doc_type(&header(b"mka\0")), Ok(DocType::Other("mka".into())));
        assert!(doc_type(&header(b"webm")[..9]).is_err());
        assert!(doc_type(&[0x1A, 0x45, 0xDF, 0xA3, 0xFF]).is_err());
    }
}
