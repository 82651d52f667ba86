//! MP3, FLAC, Ogg Vorbis and M4A/AAC through symphonia.
//!
//! The container reader is chosen from the sniffed format (never symphonia's own probe, which
//! would search the whole file for anything it knows). Decoding is lenient about the end of a
//! stream: a file cut mid-packet yields the packets before the cut, as players do. A few
//! undecodable packets in the middle are skipped (symphonia's advice); many are `Corrupt`.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{self, CodecType, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::default::formats::{FlacReader, IsoMp4Reader, MpaReader, OggReader};

use crate::wav::sanitize;
use crate::{check_shape, mp4, DecodeError, Format, Output};

/// Undecodable packets tolerated before giving up.
const MAX_BAD_PACKETS: usize = 16;

pub(crate) fn decode(bytes: &[u8], format: Format, out: &mut Output) -> Result<(), DecodeError> {
    if format == Format::M4a {
        mp4::check(bytes)?;
    }
    // symphonia's source must be 'static, hence the copy (uploads are a few MB at most).
    let owned = bytes.to_vec();
    match catch_unwind(AssertUnwindSafe(|| decode_with_symphonia(owned, format, out))) {
        Ok(result) => result,
        Err(_) => Err(DecodeError::corrupt(format!("the {} data is malformed (the decoder failed)", label(format)))),
    }
}

fn label(format: Format) -> &'static str {
    match format {
        Format::Mp3 => "MP3",
        Format::Flac => "FLAC",
        Format::Ogg => "Ogg",
        Format::M4a => "MP4/M4A",
        Format::Wav => "WAV",
        Format::Pcm => "PCM",
        Format::Opus => "Ogg Opus",
        Format::Webm => "WebM",
    }
}

fn decode_with_symphonia(bytes: Vec<u8>, format: Format, out: &mut Output) -> Result<(), DecodeError> {
    let what = label(format);
    let source = MediaSourceStream::new(Box::new(Cursor::new(bytes)), MediaSourceStreamOptions::default());
    let options = FormatOptions { enable_gapless: true, ..FormatOptions::default() };
    let opened = match format {
        Format::Mp3 => MpaReader::try_new(source, &options).map(|r| Box::new(r) as Box<dyn FormatReader>),
        Format::Flac => FlacReader::try_new(source, &options).map(|r| Box::new(r) as Box<dyn FormatReader>),
        Format::Ogg => OggReader::try_new(source, &options).map(|r| Box::new(r) as Box<dyn FormatReader>),
        Format::M4a => IsoMp4Reader::try_new(source, &options).map(|r| Box::new(r) as Box<dyn FormatReader>),
        Format::Wav | Format::Pcm | Format::Opus | Format::Webm => unreachable!("decoded by this crate"),
    };
    let mut reader = opened.map_err(|e| open_error(what, e))?;

    let track = reader
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != codecs::CODEC_TYPE_NULL)
        .ok_or_else(|| DecodeError::unsupported(format!("the {what} file has no audio track")))?;
    let codec = track.codec_params.codec;
    if !supported(format, codec) {
        return Err(DecodeError::unsupported(format!("{} audio in {what}", codec_name(codec))));
    }
    if let Some(rate) = track.codec_params.sample_rate {
        let channels = track.codec_params.channels.map_or(1, |c| c.count() as u64);
        check_shape(what, rate, channels)?;
    }
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| open_error(what, e))?;

    let mut buffer: Option<SampleBuffer<f32>> = None;
    let mut bad_packets = 0usize;
    loop {
        let packet = match reader.next_packet() {
            Ok(packet) => packet,
            // The end, or a cut inside a packet: keep what came before.
            Err(SymphoniaError::IoError(_)) | Err(SymphoniaError::ResetRequired) => break,
            Err(SymphoniaError::DecodeError(_)) if out.shape.is_some() => break,
            Err(e) => return Err(stream_error(what, e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let audio = match decoder.decode(&packet) {
            Ok(audio) => audio,
            Err(SymphoniaError::DecodeError(_)) | Err(SymphoniaError::IoError(_)) => {
                bad_packets += 1;
                if bad_packets > MAX_BAD_PACKETS {
                    return Err(DecodeError::corrupt(format!(
                        "the {what} data is malformed: too many undecodable packets"
                    )));
                }
                continue;
            }
            Err(e) => return Err(stream_error(what, e)),
        };
        let spec = *audio.spec();
        let channels = spec.channels.count();
        if audio.frames() == 0 {
            continue;
        }
        match out.shape {
            None => check_shape(what, spec.rate, channels as u64)?,
            Some((rate, ch)) if rate != spec.rate || ch as usize != channels => {
                return Err(DecodeError::corrupt(format!(
                    "the {what} stream changes its sample rate or channels midway"
                )));
            }
            Some(_) => {}
        }
        let needed = audio.capacity() as u64;
        let buf = match &mut buffer {
            Some(buf) if buf.capacity() >= audio.capacity() * channels => buf,
            slot => slot.insert(SampleBuffer::new(needed, spec)),
        };
        buf.copy_interleaved_ref(audio);
        buf.samples_mut().iter_mut().for_each(|x| *x = sanitize(*x));
        out.push(spec.rate, channels as u16, buf.samples())?;
    }
    if out.shape.is_none() && bad_packets > 0 {
        return Err(DecodeError::corrupt(format!("the {what} data is malformed: no packet could be decoded")));
    }
    Ok(())
}

fn supported(format: Format, codec: CodecType) -> bool {
    match format {
        Format::Mp3 => codec == codecs::CODEC_TYPE_MP3,
        Format::Flac => codec == codecs::CODEC_TYPE_FLAC,
        Format::Ogg => codec == codecs::CODEC_TYPE_VORBIS || codec == codecs::CODEC_TYPE_FLAC,
        Format::M4a => codec == codecs::CODEC_TYPE_AAC,
        Format::Wav | Format::Pcm | Format::Opus | Format::Webm => false,
    }
}

fn codec_name(codec: CodecType) -> String {
    match symphonia::default::get_codecs().get_codec(codec) {
        Some(descriptor) => descriptor.long_name.to_owned(),
        None => match codec {
            codecs::CODEC_TYPE_OPUS => "Opus".into(),
            codecs::CODEC_TYPE_SPEEX => "Speex".into(),
            codecs::CODEC_TYPE_ALAC => "ALAC".into(),
            codecs::CODEC_TYPE_MP1 => "MPEG layer I".into(),
            codecs::CODEC_TYPE_MP2 => "MPEG layer II".into(),
            _ => format!("an unknown codec ({codec})"),
        },
    }
}

/// An error opening the container or the decoder.
fn open_error(what: &str, error: SymphoniaError) -> DecodeError {
    match error {
        SymphoniaError::Unsupported(feature) => DecodeError::unsupported(format!("{what} feature: {feature}")),
        SymphoniaError::IoError(_) => DecodeError::corrupt(format!("the {what} file is truncated")),
        other => DecodeError::corrupt(format!("the {what} file is malformed: {other}")),
    }
}

fn stream_error(what: &str, error: SymphoniaError) -> DecodeError {
    match error {
        SymphoniaError::Unsupported(feature) => DecodeError::unsupported(format!("{what} feature: {feature}")),
        other => DecodeError::corrupt(format!("the {what} data is malformed: {other}")),
    }
}
