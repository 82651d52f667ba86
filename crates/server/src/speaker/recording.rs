//! An upload decoded straight into what the speaker engine works on, 16 kHz mono: each piece
//! the decoder produces is mixed down and resampled at once, so a job never holds the recording
//! at its original rate and channel count (ten minutes of 48 kHz 7.1, a 200 KB FLAC of silence,
//! would be 920 MB of samples; at 16 kHz mono they are 38 MB, and decoding stops at
//! [`voxprint_audio::MAX_DURATION_SECONDS`]). The samples are exactly those of
//! `voxprint_engine::preprocess`'s first steps on the whole recording.

use voxprint_audio::{DecodeError, Format, RawPcm, Sink};
use voxprint_engine::preprocess::to_mono;
use voxprint_engine::quality::Clipping;
use voxprint_engine::resample::To16k;

/// A decoded upload.
pub struct Recording {
    /// The recording mixed down and resampled to 16 kHz.
    pub wav_16k: Vec<f32>,
    pub format: Format,
    /// The rate it was decoded at: its bandwidth is at most half of it.
    pub sample_rate: u32,
    pub seconds: f32,
    /// Fraction of the mixed-down samples clipped at full scale, judged before resampling.
    pub clipping: f32,
}

/// Decodes an upload (see [`voxprint_audio::decode`]) into a [`Recording`].
pub fn decode(audio: &[u8], raw: RawPcm) -> Result<Recording, DecodeError> {
    decode_at_most(audio, raw, voxprint_audio::MAX_DURATION_SECONDS)
}

/// [`decode`] with another limit on the length, in seconds (diarization takes long recordings).
pub fn decode_at_most(audio: &[u8], raw: RawPcm, max_seconds: u32) -> Result<Recording, DecodeError> {
    let mut mixdown = Mixdown::default();
    let stream = voxprint_audio::decode_into_at_most(audio, raw, &mut mixdown, max_seconds)?;
    Ok(Recording {
        wav_16k: mixdown.resampler.map(To16k::finish).unwrap_or_default(),
        format: stream.format,
        sample_rate: stream.sample_rate,
        seconds: stream.seconds(),
        clipping: mixdown.clipping.fraction(),
    })
}

/// The [`Sink`] that reduces each decoded piece to mono and resamples it.
#[derive(Default)]
struct Mixdown {
    channels: usize,
    clipping: Clipping,
    /// Made when the stream starts, at its rate.
    resampler: Option<To16k>,
}

impl Sink for Mixdown {
    fn start(&mut self, sample_rate: u32, channels: u16) {
        self.channels = usize::from(channels);
        self.resampler = Some(To16k::new(sample_rate));
    }

    fn samples(&mut self, interleaved: &[f32]) {
        let mono = to_mono(interleaved, self.channels);
        self.clipping.push(&mono);
        if let Some(resampler) = &mut self.resampler {
            resampler.push(&mono);
        }
    }
}

/// The content type a recording is stored with: the one of the format detected from its bytes,
/// never what the client declared (`audio/html` must not reach a browser). Raw PCM gets
/// `audio/L16` with its rate and channels: the bytes cannot be read without them, and
/// re-embedding the recording later (`admin reembed`) reads them back from here.
pub fn content_type(format: Format, raw: RawPcm) -> String {
    match format {
        Format::Pcm => format!("audio/L16;rate={};channels={}", raw.sample_rate, raw.channels),
        Format::Wav => "audio/wav".into(),
        Format::Mp3 => "audio/mpeg".into(),
        Format::Flac => "audio/flac".into(),
        Format::Ogg => "audio/ogg".into(),
        Format::M4a => "audio/mp4".into(),
        Format::Opus => "audio/ogg".into(),
        Format::Webm => "audio/webm".into(),
    }
}

/// The raw PCM parameters recorded in a stored content type by [`content_type`]; Coze's
/// defaults for anything else (other formats carry their own).
pub fn raw_pcm_of(content_type: &str) -> RawPcm {
    let mut raw = RawPcm::default();
    for parameter in content_type.split(';').skip(1) {
        match parameter.trim().split_once('=') {
            Some(("rate", value)) => raw.sample_rate = value.parse().unwrap_or(raw.sample_rate),
            Some(("channels", value)) => raw.channels = value.parse().unwrap_or(raw.channels),
            _ => {}
        }
    }
    raw
}
