//! Opus voice messages and browser recordings: Opus in Ogg (RFC 7845: `.opus`, and `.ogg` files
//! whose first stream is Opus) and in WebM/Matroska ([`webm`]), decoded at 48 kHz,
//! Opus's own rate, mono or stereo.
//!
//! # The decoder
//! [`opus_pure`], a pure-Rust port of libopus with its own Ogg reader, decodes the packets. It
//! needs no C library, no `cmake` and nothing installed, on any machine that builds Rust. It was
//! chosen over the alternatives (late 2026) because:
//! - its own test suite checks it against libopus 1.6.1 (bit-exact SILK decoding, better than
//!   100 dB SNR on 433 of 440 encoder configurations, RFC 6716 test vectors), it has fuzz
//!   targets for the decoder and the Ogg reader, and it caps what a hostile Ogg stream can make
//!   it allocate (16 MiB a packet, 1 MiB of resynchronisation); here it decodes the `.opus`
//!   fixtures to within float rounding of `opusdec` (libopus 1.3.1): 212 dB SNR mono, 142 dB
//!   stereo;
//! - it is fast: 3 ms for the 2.4 s fixture, so about 0.15 s for the longest recording accepted;
//! - it is maintained: four releases from August to September 2026, with a changelog that
//!   records its bounds and fixes.
//!
//! libopus through the `opus`/`opusic-sys` bindings (well kept: 32 releases, the latest in
//! November 2026) builds the C library with `cmake`, which every developer machine and CI runner
//! would have to install, and puts a C decoder in the server process. `opus-decoder` (pure Rust,
//! no `unsafe`) had two releases on one day in March 2026 and none since, decodes 20 times
//! slower, and panics on the stereo fixture. `opus_pure` has `unsafe` only in its SIMD kernels;
//! like symphonia, its calls run under `catch_unwind`, so that a panic on a malformed packet
//! becomes [`DecodeError::Corrupt`].
//!
//! # What is decoded
//! - Mono and stereo (channel mapping family 0); surround mappings are refused as unsupported.
//! - The OpusHead's pre-skip (the encoder's delay) is dropped from the start, and its output gain
//!   applied. In WebM the OpusHead is the track's CodecPrivate; the track's CodecDelay is not
//!   used: ffmpeg's `mono16k.webm` fixture says 104 samples there and 312 in its OpusHead, and
//!   lines up with its source with the 312 (`tests/formats.rs`, `opus_starts_after_the_pre_skip`).
//!   Chromium writes a pre-skip of 0.
//! - The end is trimmed where the container says the audio stops: the final Ogg page's granule
//!   position, a WebM block's DiscardPadding.
//! - Decoding stops past [`MAX_DURATION_SECONDS`](crate::MAX_DURATION_SECONDS) of output, and
//!   also when the packets decode to much more than that, which trimming then drops: a 4 MB
//!   file of tiny packets whose granule positions claim no audio would otherwise be decoded to
//!   the end, hours of audio at a cost of minutes.
//! - A file cut short, or damaged after some audio, keeps the audio before the damage, as the
//!   other compressed formats do. A few undecodable packets are skipped; many are `Corrupt`.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use opus_pure::{OggOpusReader, OggPacket, OpusDecoder, MAX_PACKET_SAMPLES};

use crate::wav::sanitize;
use crate::{webm, DecodeError, Output};

/// The rate Opus decodes at.
pub(crate) const RATE: u32 = 48_000;
/// Undecodable packets tolerated before giving up.
const MAX_BAD_PACKETS: usize = 16;
/// How much more than [`MAX_DURATION_SECONDS`](crate::MAX_DURATION_SECONDS) the packets may decode
/// to: the longest pre-skip and one packet of end trimming.
const LENGTH_SLACK: u64 = u16::MAX as u64 + MAX_PACKET_SAMPLES as u64;

/// Runs a call into `opus_pure`, a panic in which becomes [`DecodeError::Corrupt`]. Only its
/// calls are guarded: a panic in this crate's own code (the WebM reader) is a bug that the
/// property tests and the fuzzer must see.
fn guarded<T>(what: &str, call: impl FnOnce() -> T) -> Result<T, DecodeError> {
    catch_unwind(AssertUnwindSafe(call))
        .map_err(|_| DecodeError::corrupt(format!("the {what} data is malformed (the decoder failed)")))
}

/// Decodes Ogg Opus.
pub(crate) fn decode_ogg(bytes: &[u8], out: &mut Output) -> Result<(), DecodeError> {
    const WHAT: &str = "Ogg Opus";
    let mut reader = guarded(WHAT, || OggOpusReader::new(Cursor::new(bytes)))?
        .map_err(|e| DecodeError::corrupt(format!("the Ogg Opus headers are malformed: {e}")))?;
    let header = reader.head();
    let head = Head {
        channels: header.channel_count,
        pre_skip: header.pre_skip,
        gain_q8: header.output_gain_q8,
        mapping_family: header.mapping_family,
    };
    let mut stream = Stream::new(head, WHAT)?;
    let mut packet = OggPacket::default();
    loop {
        match guarded(WHAT, || reader.read_packet_into(&mut packet))? {
            Ok(true) => {}
            Ok(false) => break,
            // A cut or damaged page: keep what came before it.
            Err(_) if stream.decoded > 0 => break,
            Err(e) => return Err(DecodeError::corrupt(format!("the Ogg Opus data is malformed: {e}"))),
        }
        // A page's granule position counts the samples decodable through its last packet,
        // pre-skip included; the final page's may count fewer than its packets hold (the end
        // trim). -1: the page completes no packet.
        let playable =
            u64::try_from(packet.page_granule).ok().map(|granule| granule.saturating_sub(u64::from(head.pre_skip)));
        stream.packet(&packet.data, playable, 0, out)?;
    }
    stream.finish()
}

/// Decodes the Opus track of a WebM/Matroska file.
pub(crate) fn decode_webm(bytes: &[u8], out: &mut Output) -> Result<(), DecodeError> {
    let mut demuxer = webm::Demuxer::open(bytes)?;
    let head = Head::parse(demuxer.track().codec_private)?;
    let mut stream = Stream::new(head, "WebM")?;
    loop {
        let block = match demuxer.next_block() {
            Ok(Some(block)) => block,
            Ok(None) => break,
            Err(_) if stream.decoded > 0 => break,
            Err(e) => return Err(e),
        };
        // DiscardPadding trims the end of the block, i.e. of its last frame; nanoseconds to the
        // nearest sample.
        let discard = (u128::from(block.discard_padding_ns) * u128::from(RATE) + 500_000_000) / 1_000_000_000;
        let discard = u64::try_from(discard).unwrap_or(u64::MAX);
        let mut frames = block.frames;
        while let Some(frame) = frames.next() {
            let tail = if frames.remaining() == 0 { discard } else { 0 };
            stream.packet(frame, None, tail, out)?;
        }
    }
    stream.finish()
}

/// What decoding needs from an OpusHead (RFC 7845 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) channels: u8,
    /// Samples at 48 kHz to drop from the start.
    pub(crate) pre_skip: u16,
    /// Output gain, dB in Q7.8.
    pub(crate) gain_q8: i16,
    pub(crate) mapping_family: u8,
}

impl Head {
    /// Reads an OpusHead packet (WebM keeps it as the track's CodecPrivate).
    pub(crate) fn parse(packet: &[u8]) -> Result<Head, DecodeError> {
        if packet.len() < 19 || !packet.starts_with(b"OpusHead") {
            return Err(DecodeError::corrupt("the Opus track's header (OpusHead) is missing or truncated"));
        }
        if packet[8] >> 4 != 0 {
            return Err(DecodeError::unsupported(format!("Opus header version {}", packet[8])));
        }
        Ok(Head {
            channels: packet[9],
            pre_skip: u16::from_le_bytes([packet[10], packet[11]]),
            gain_q8: i16::from_le_bytes([packet[16], packet[17]]),
            mapping_family: packet[18],
        })
    }
}

/// Decodes packets one at a time and hands their trimmed output on.
struct Stream {
    decoder: OpusDecoder,
    channels: usize,
    /// Pre-skip frames still to drop.
    skip: u64,
    /// Frames handed on.
    emitted: u64,
    /// Frames the packets decoded to, trimmed or not.
    decoded: u64,
    bad_packets: usize,
    /// One packet's output, interleaved.
    pcm: Vec<f32>,
    what: &'static str,
}

impl Stream {
    fn new(head: Head, what: &'static str) -> Result<Stream, DecodeError> {
        if head.channels == 0 {
            return Err(DecodeError::corrupt(format!("the {what} header declares 0 channels")));
        }
        if head.mapping_family != 0 || head.channels > 2 {
            return Err(DecodeError::unsupported(format!(
                "{what} with {} channels (channel mapping family {}); mono and stereo Opus are supported",
                head.channels, head.mapping_family
            )));
        }
        let channels = usize::from(head.channels);
        let mut decoder = OpusDecoder::new(RATE as i32, channels)
            .map_err(|e| DecodeError::unsupported(format!("{what} stream: {e}")))?;
        decoder.gain_q8 = i32::from(head.gain_q8);
        Ok(Stream {
            decoder,
            channels,
            skip: u64::from(head.pre_skip),
            emitted: 0,
            decoded: 0,
            bad_packets: 0,
            pcm: vec![0.0; MAX_PACKET_SAMPLES * channels],
            what,
        })
    }

    /// Decodes one packet; passes on its frames after the pre-skip, less `tail` frames at its end,
    /// and no further than `playable` frames into the stream.
    fn packet(&mut self, data: &[u8], playable: Option<u64>, tail: u64, out: &mut Output) -> Result<(), DecodeError> {
        // An empty packet would mean "lost" to the decoder, which would conceal it with made-up audio.
        if data.is_empty() {
            return Ok(());
        }
        let frames = match guarded(self.what, || self.decoder.decode(data, MAX_PACKET_SAMPLES, &mut self.pcm))? {
            Ok(frames) => frames.min(MAX_PACKET_SAMPLES) as u64,
            Err(_) => {
                self.bad_packets += 1;
                if self.bad_packets > MAX_BAD_PACKETS {
                    return Err(DecodeError::corrupt(format!(
                        "the {} data is malformed: too many undecodable packets",
                        self.what
                    )));
                }
                return Ok(());
            }
        };
        self.decoded += frames;
        out.check_length(RATE, self.decoded.saturating_sub(LENGTH_SLACK))?;

        let start = self.skip.min(frames);
        self.skip -= start;
        let mut end = frames - tail.min(frames - start);
        if let Some(playable) = playable {
            end = start + (end - start).min(playable.saturating_sub(self.emitted));
        }
        self.emitted += end - start;
        if end > start {
            let samples = &mut self.pcm[start as usize * self.channels..end as usize * self.channels];
            samples.iter_mut().for_each(|x| *x = sanitize(*x));
            out.push(RATE, self.channels as u16, samples)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), DecodeError> {
        if self.decoded == 0 && self.bad_packets > 0 {
            return Err(DecodeError::corrupt(format!(
                "the {} data is malformed: no packet could be decoded",
                self.what
            )));
        }
        Ok(())
    }
}
