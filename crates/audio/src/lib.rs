//! Uploaded audio bytes → PCM samples.
//!
//! The voiceprint API receives recordings as opaque uploads: a multipart `file` whose name and
//! declared content type are whatever the client felt like sending (the Coze SDKs send
//! `application/octet-stream` for everything). So this crate never looks at names or MIME types:
//! [`decode`] **sniffs the content** — the magic bytes every container starts with — and picks
//! the decoder from that alone:
//!
//! | starts with | format | decoded by |
//! | --- | --- | --- |
//! | `RIFF`/`RF64` … `WAVE` | [`Format::Wav`] | this crate ([`wav`](crate::wav)): PCM 8/16/24/32-bit, float 32/64, A-law, µ-law, `WAVE_FORMAT_EXTENSIBLE` |
//! | `ID3`, or an MPEG layer III frame header confirmed by the next one | [`Format::Mp3`] | symphonia |
//! | `fLaC` | [`Format::Flac`] | symphonia |
//! | `OggS` (Vorbis inside) | [`Format::Ogg`] | symphonia |
//! | `OggS` with an `OpusHead` first packet (`.opus`, Opus in `.ogg`) | [`Format::Opus`] | [`opus_pure`], see [`opus`] |
//! | EBML `1A 45 DF A3` with DocType `webm` or `matroska` (Opus inside) | [`Format::Webm`] | this crate ([`webm`]) and [`opus_pure`] |
//! | `....ftyp` (MP4/M4A, AAC inside) | [`Format::M4a`] | symphonia |
//! | anything else | [`Format::Pcm`] | this crate: raw PCM |
//!
//! **Raw PCM** is Coze's `pcm` format: headerless signed 16-bit little-endian samples,
//! interleaved when there are several channels. It has no magic bytes, so it is what is left
//! when nothing else matched, and its sample rate and channel count come from the request
//! ([`RawPcm`], the API's `sample_rate` and `channel` fields). That fallback must not turn a
//! mistaken upload into noise that then gets enrolled as someone's voice: content that is
//! recognisably something else — an image, a PDF, an archive, an executable, a video or audio
//! container we do not decode, text or JSON — is rejected as [`DecodeError::Unsupported`]
//! (see [`sniff`](crate::sniff)).
//!
//! Output is always interleaved `f32` in `[-1, 1]` at the stored rate and channel count;
//! downmixing and resampling are the engine's job. [`decode_into`] hands the samples to a
//! [`Sink`] piece by piece as they are decoded, so that the caller can reduce them as they come
//! instead of holding the whole recording at its original rate and channel count (ten minutes
//! of 7.1 at 48 kHz, a 200 KB FLAC of silence, are 920 MB of `f32`); [`decode`] collects them.
//!
//! # Hostile input
//! Uploads come from the network, so [`decode`] never panics and never allocates without bound:
//! - rates outside 8000–48000 Hz and channel counts outside 1–8 are refused before decoding;
//! - decoded audio is capped at [`MAX_DURATION_SECONDS`] (a tiny low-bitrate MP3 can expand
//!   a lot); past it decoding stops with [`DecodeError::Corrupt`], and WAV and raw PCM longer
//!   than that are refused before decoding;
//! - WAV and raw PCM are parsed here with checked arithmetic, so their output is bounded by the
//!   input size;
//! - MP4 sample tables are checked against their box sizes before symphonia sees them (it
//!   reserves memory from their entry counts);
//! - WebM is demuxed here over the bytes, without allocating, every element size checked
//!   against what is there (see [`webm`]);
//! - symphonia and the Opus decoder run under `catch_unwind`: a panic in a third-party decoder
//!   on a malformed file becomes [`DecodeError::Corrupt`] instead of taking the worker thread
//!   down (this needs the default `panic = "unwind"`; the panic message still goes to the panic
//!   hook, i.e. the log).
//!
//! The property tests (`tests/mutations.rs`) and the fuzz target (`fuzz/`, see its README)
//! feed mutated files of every format to [`decode`]. Test fixtures: `tests/data/make.sh`.

mod compressed;
mod mp4;
pub mod opus;
mod pcm;
pub mod sniff;
pub mod wav;
pub mod webm;

use std::fmt;

/// Decoding stops, with [`DecodeError::Corrupt`], past this much audio. Everything a speaker
/// model needs fits well within it, and it bounds what one recording costs downstream: at
/// 16 kHz mono two minutes are 7.7 MB of samples, which the speech detector, the simulated
/// enrollment conditions and the encoder each multiply.
pub const MAX_DURATION_SECONDS: u32 = 120;
/// Lowest sample rate accepted, in Hz (narrow-band telephone audio).
pub const MIN_SAMPLE_RATE: u32 = 8_000;
/// Highest sample rate accepted, in Hz.
pub const MAX_SAMPLE_RATE: u32 = 48_000;
/// Most channels accepted (7.1).
pub const MAX_CHANNELS: u16 = 8;

/// Audio decoded to samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Interleaved samples (frame after frame, each frame one sample per channel), in `[-1, 1]`.
    pub samples: Vec<f32>,
    /// Frames per second, within [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`].
    pub sample_rate: u32,
    /// Channels per frame, within 1..=[`MAX_CHANNELS`].
    pub channels: u16,
    /// The format recognised from the content.
    pub format: Format,
}

/// The container or encoding recognised from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// RIFF/WAVE (also RF64/BW64).
    Wav,
    /// Headerless signed 16-bit little-endian PCM, described by [`RawPcm`].
    Pcm,
    /// MPEG-1/2/2.5 layer III.
    Mp3,
    /// Native FLAC.
    Flac,
    /// Ogg Vorbis (or FLAC in Ogg).
    Ogg,
    /// MP4/M4A with AAC.
    M4a,
    /// Opus in Ogg (`.opus`; also `.ogg` files whose first stream is Opus), decoded at 48 kHz.
    Opus,
    /// WebM or Matroska with Opus audio, as browsers record it (`MediaRecorder`), decoded at
    /// 48 kHz.
    Webm,
}

impl Format {
    /// A short lowercase name, as users know the format.
    pub fn name(self) -> &'static str {
        match self {
            Format::Wav => "wav",
            Format::Pcm => "pcm",
            Format::Mp3 => "mp3",
            Format::Flac => "flac",
            Format::Ogg => "ogg",
            Format::M4a => "m4a",
            Format::Opus => "opus",
            Format::Webm => "webm",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where [`decode_into`] puts the audio as it is decoded.
pub trait Sink {
    /// Called once, before any samples, with the stream's sample rate and channel count (within
    /// the accepted ranges).
    fn start(&mut self, sample_rate: u32, channels: u16);
    /// The next whole frames, interleaved, in `[-1, 1]`.
    fn samples(&mut self, interleaved: &[f32]);
}

/// What [`decode_into`] decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream {
    /// Frames per second, within [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`].
    pub sample_rate: u32,
    /// Channels per frame, within 1..=[`MAX_CHANNELS`].
    pub channels: u16,
    /// Frames handed to the sink; never 0.
    pub frames: u64,
    /// The format recognised from the content.
    pub format: Format,
}

impl Stream {
    /// Length of the decoded audio in seconds.
    pub fn seconds(&self) -> f32 {
        (self.frames as f64 / f64::from(self.sample_rate)) as f32
    }
}

/// How to read content that is no recognised container: raw signed 16-bit little-endian PCM
/// with this rate and channel count (Coze's `sample_rate` and `channel`; default 16000 Hz mono).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawPcm {
    pub sample_rate: u32,
    pub channels: u16,
}

impl Default for RawPcm {
    fn default() -> Self {
        RawPcm { sample_rate: 16_000, channels: 1 }
    }
}

/// Why bytes could not be decoded. `Display` is a sentence for the API's error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// No bytes, or a container holding no samples.
    Empty,
    /// A format, codec, sample rate or channel count this crate does not decode (or something
    /// that is not audio at all, such as an image or text).
    Unsupported { detail: String },
    /// Recognised, but malformed, truncated mid-sample, or longer than [`MAX_DURATION_SECONDS`].
    Corrupt { detail: String },
}

impl DecodeError {
    pub(crate) fn unsupported(detail: impl Into<String>) -> Self {
        DecodeError::Unsupported { detail: detail.into() }
    }

    pub(crate) fn corrupt(detail: impl Into<String>) -> Self {
        DecodeError::Corrupt { detail: detail.into() }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => f.write_str("the audio is empty: it contains no samples"),
            DecodeError::Unsupported { detail } => write!(f, "unsupported audio: {detail}"),
            DecodeError::Corrupt { detail } => write!(f, "invalid audio: {detail}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes an upload to interleaved `f32` samples, choosing the decoder from the content alone.
///
/// `raw` describes the samples when the content is no recognised container (see the crate
/// documentation); it is not consulted otherwise.
pub fn decode(bytes: &[u8], raw: RawPcm) -> Result<Decoded, DecodeError> {
    let mut samples = Collect(Vec::new());
    let stream = decode_into(bytes, raw, &mut samples)?;
    Ok(Decoded {
        samples: samples.0,
        sample_rate: stream.sample_rate,
        channels: stream.channels,
        format: stream.format,
    })
}

/// Decodes an upload as [`decode`] does, handing the samples to `sink` as they are decoded
/// (a packet, or a few thousand frames, at a time) instead of collecting them.
pub fn decode_into(bytes: &[u8], raw: RawPcm, sink: &mut dyn Sink) -> Result<Stream, DecodeError> {
    decode_into_at_most(bytes, raw, sink, MAX_DURATION_SECONDS)
}

/// [`decode_into`] with another limit than [`MAX_DURATION_SECONDS`] on the decoded audio, for
/// the callers that work on long recordings piece by piece (diarization).
pub fn decode_into_at_most(
    bytes: &[u8],
    raw: RawPcm,
    sink: &mut dyn Sink,
    max_seconds: u32,
) -> Result<Stream, DecodeError> {
    let sniffed = sniff::sniff(bytes)?;
    let mut out = Output { sink, shape: None, frames: 0, max_seconds };
    match sniffed {
        sniff::Sniffed::Wav => wav::decode(bytes, &mut out)?,
        sniff::Sniffed::Raw => pcm::decode_raw(bytes, raw, &mut out)?,
        sniff::Sniffed::Mp3 { offset } => compressed::decode(&bytes[offset..], Format::Mp3, &mut out)?,
        sniff::Sniffed::Flac { offset } => compressed::decode(&bytes[offset..], Format::Flac, &mut out)?,
        sniff::Sniffed::Ogg => compressed::decode(bytes, Format::Ogg, &mut out)?,
        sniff::Sniffed::M4a => compressed::decode(bytes, Format::M4a, &mut out)?,
        sniff::Sniffed::Opus => opus::decode_ogg(bytes, &mut out)?,
        sniff::Sniffed::Webm => opus::decode_webm(bytes, &mut out)?,
    }
    match out.shape {
        Some((sample_rate, channels)) if out.frames > 0 => {
            Ok(Stream { sample_rate, channels, frames: out.frames, format: format_of(sniffed) })
        }
        _ => Err(DecodeError::Empty),
    }
}

/// The format [`decode`] would use for these bytes, without decoding them: `Ok(Format::Pcm)`
/// for unrecognised content, `Err` for empty input or content that is recognisably not audio
/// we decode.
pub fn detect(bytes: &[u8]) -> Result<Format, DecodeError> {
    sniff::sniff(bytes).map(format_of)
}

fn format_of(sniffed: sniff::Sniffed) -> Format {
    match sniffed {
        sniff::Sniffed::Wav => Format::Wav,
        sniff::Sniffed::Raw => Format::Pcm,
        sniff::Sniffed::Mp3 { .. } => Format::Mp3,
        sniff::Sniffed::Flac { .. } => Format::Flac,
        sniff::Sniffed::Ogg => Format::Ogg,
        sniff::Sniffed::M4a => Format::M4a,
        sniff::Sniffed::Opus => Format::Opus,
        sniff::Sniffed::Webm => Format::Webm,
    }
}

/// The [`Sink`] of [`decode`]: keeps everything.
struct Collect(Vec<f32>);

impl Sink for Collect {
    fn start(&mut self, _sample_rate: u32, _channels: u16) {}

    fn samples(&mut self, interleaved: &[f32]) {
        self.0.extend_from_slice(interleaved);
    }
}

/// The decoders' end of a [`Sink`]: starts it with the first frames, counts the frames, and
/// stops decoding past its limit ([`MAX_DURATION_SECONDS`] unless the caller chose another).
pub(crate) struct Output<'a> {
    sink: &'a mut dyn Sink,
    /// Sample rate and channel count, once frames have come.
    pub(crate) shape: Option<(u32, u16)>,
    frames: u64,
    max_seconds: u32,
}

impl Output<'_> {
    /// Passes on whole frames of a stream of this shape (checked with [`check_shape`]).
    pub(crate) fn push(&mut self, sample_rate: u32, channels: u16, interleaved: &[f32]) -> Result<(), DecodeError> {
        if self.shape.is_none() {
            self.shape = Some((sample_rate, channels));
            self.sink.start(sample_rate, channels);
        }
        let frames = self.frames + (interleaved.len() / usize::from(channels)) as u64;
        self.check_length(sample_rate, frames)?;
        self.frames = frames;
        self.sink.samples(interleaved);
        Ok(())
    }
}

/// Length of the decoded audio in seconds (frames / sample rate).
pub fn duration_seconds(decoded: &Decoded) -> f32 {
    if decoded.channels == 0 || decoded.sample_rate == 0 {
        return 0.0;
    }
    let frames = decoded.samples.len() / decoded.channels as usize;
    (frames as f64 / decoded.sample_rate as f64) as f32
}

/// Refuses a sample rate or channel count outside what the crate accepts; `what` names the
/// source in the message ("WAV", "raw PCM", …).
pub(crate) fn check_shape(what: &str, sample_rate: u32, channels: u64) -> Result<(), DecodeError> {
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(DecodeError::unsupported(format!(
            "{what} sample rate {sample_rate} Hz; rates from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz are supported"
        )));
    }
    if channels == 0 {
        return Err(DecodeError::corrupt(format!("{what} declares 0 channels")));
    }
    if channels > MAX_CHANNELS as u64 {
        return Err(DecodeError::unsupported(format!(
            "{what} with {channels} channels; at most {MAX_CHANNELS} are supported"
        )));
    }
    Ok(())
}

impl Output<'_> {
    /// Refuses `frames` at `sample_rate` when they last longer than the limit.
    pub(crate) fn check_length(&self, sample_rate: u32, frames: u64) -> Result<(), DecodeError> {
        let max = self.max_seconds;
        if frames <= u64::from(max) * u64::from(sample_rate) {
            return Ok(());
        }
        Err(DecodeError::corrupt(format!(
            "the recording is longer than {max} seconds, the most that is accepted; upload a shorter one"
        )))
    }
}
