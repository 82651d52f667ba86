//! Each format, decoded from hand-made headers and committed fixtures; malformed and truncated
//! variants; what is refused and why.

mod common;

use common::*;
use voxprint_audio::{
    decode, decode_into, detect, duration_seconds, DecodeError, Decoded, Format, RawPcm, Sink, MAX_DURATION_SECONDS,
};

const MONO16K: RawPcm = RawPcm { sample_rate: 16_000, channels: 1 };

fn ok(bytes: &[u8]) -> Decoded {
    decode(bytes, MONO16K).unwrap_or_else(|e| panic!("expected audio, got: {e}"))
}

fn unsupported(bytes: &[u8]) -> String {
    match decode(bytes, MONO16K) {
        Err(e @ DecodeError::Unsupported { .. }) => e.to_string(),
        other => panic!("expected Unsupported, got {:?}", other.map(|d| (d.format, d.samples.len()))),
    }
}

fn corrupt(bytes: &[u8]) -> String {
    match decode(bytes, MONO16K) {
        Err(e @ DecodeError::Corrupt { .. }) => e.to_string(),
        other => panic!("expected Corrupt, got {:?}", other.map(|d| (d.format, d.samples.len()))),
    }
}

// ------------------------------------------------------------------------------------ WAV

#[test]
fn wav_16_bit_mono() {
    let d = ok(&wav(PCM, 1, 16_000, 16, &s16le(&[0, 16_384, -16_384, i16::MIN, i16::MAX])));
    assert_eq!((d.format, d.sample_rate, d.channels), (Format::Wav, 16_000, 1));
    assert_eq!(d.samples, vec![0.0, 0.5, -0.5, -1.0, 32_767.0 / 32_768.0]);
}

#[test]
fn wav_8_bit_is_unsigned() {
    let d = ok(&wav(PCM, 1, 8_000, 8, &[128, 0, 255, 192]));
    assert_eq!(d.samples, vec![0.0, -1.0, 127.0 / 128.0, 0.5]);
}

#[test]
fn wav_24_and_32_bit() {
    let d = ok(&wav(PCM, 1, 22_050, 24, &[0x00, 0x00, 0x40, 0x00, 0x00, 0xC0, 0xFF, 0xFF, 0x7F]));
    assert_eq!(d.samples, vec![0.5, -0.5, 8_388_607.0 / 8_388_608.0]);
    let data: Vec<u8> = [i32::MIN, 1 << 30, 0].iter().flat_map(|s| s.to_le_bytes()).collect();
    let d = ok(&wav(PCM, 1, 44_100, 32, &data));
    assert_eq!(d.samples, vec![-1.0, 0.5, 0.0]);
}

#[test]
fn wav_float_is_clamped_and_sanitised() {
    let data: Vec<u8> = [0.25f32, -2.0, f32::NAN, f32::INFINITY, 1.0].iter().flat_map(|s| s.to_le_bytes()).collect();
    let d = ok(&wav(FLOAT, 1, 48_000, 32, &data));
    assert_eq!(d.samples, vec![0.25, -1.0, 0.0, 0.0, 1.0]);
    let data: Vec<u8> = [0.5f64, -0.75].iter().flat_map(|s| s.to_le_bytes()).collect();
    assert_eq!(ok(&wav(FLOAT, 1, 48_000, 64, &data)).samples, vec![0.5, -0.75]);
}

#[test]
fn wav_extensible() {
    let fmt = fmt_body(EXTENSIBLE, 2, 16_000, 16, PCM);
    let d = ok(&riff(&[chunk(b"fmt ", &fmt), chunk(b"data", &s16le(&[16_384, -16_384, 0, 8_192]))]));
    assert_eq!((d.channels, d.samples.clone()), (2, vec![0.5, -0.5, 0.0, 0.25]));
    assert!((duration_seconds(&d) - 2.0 / 16_000.0).abs() < 1e-9);

    let fmt = fmt_body(EXTENSIBLE, 1, 16_000, 32, FLOAT);
    let d = ok(&riff(&[chunk(b"fmt ", &fmt), chunk(b"data", &0.5f32.to_le_bytes())]));
    assert_eq!(d.samples, vec![0.5]);

    let mut fmt = fmt_body(EXTENSIBLE, 1, 16_000, 16, PCM);
    fmt[30] = 0x77; // not the KSDATAFORMAT GUID
    assert!(unsupported(&riff(&[chunk(b"fmt ", &fmt), chunk(b"data", &[0, 0])])).contains("EXTENSIBLE"));
}

#[test]
fn wav_g711() {
    let d = ok(&wav(MULAW, 1, 8_000, 8, &[0xFF, 0x80, 0x00]));
    assert_eq!(d.samples, vec![0.0, 32_124.0 / 32_768.0, -32_124.0 / 32_768.0]);
    let d = ok(&wav(ALAW, 1, 8_000, 8, &[0xAA, 0x2A]));
    assert_eq!(d.samples, vec![32_256.0 / 32_768.0, -32_256.0 / 32_768.0]);
}

#[test]
fn wav_rates_and_channels() {
    for rate in [8_000, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000] {
        assert_eq!(ok(&wav(PCM, 1, rate, 16, &[0, 0])).sample_rate, rate);
    }
    for rate in [0, 4_000, 7_999, 48_001, 96_000, u32::MAX] {
        let message = unsupported(&wav(PCM, 1, rate, 16, &[0, 0]));
        assert!(message.contains(&format!("{rate} Hz")), "{message}");
    }
    let eight = ok(&wav(PCM, 8, 16_000, 16, &[0; 32]));
    assert_eq!((eight.channels, eight.samples.len()), (8, 16));
    for channels in [9u16, 64, u16::MAX] {
        let message = unsupported(&wav(PCM, channels, 16_000, 16, &[0; 2]));
        assert!(message.contains(&format!("{channels} channels")), "{message}");
    }
    corrupt(&wav(PCM, 0, 16_000, 16, &[0; 2]));
}

#[test]
fn wav_other_codecs_are_unsupported() {
    let message = unsupported(&wav(0x0055, 1, 16_000, 0, &[0; 8]));
    assert!(message.contains("MP3"), "{message}");
    assert!(unsupported(&wav(0x0011, 1, 16_000, 4, &[0; 8])).contains("ADPCM"));
    assert!(unsupported(&wav(FLOAT, 1, 16_000, 16, &[0; 8])).contains("16-bit float"));
    assert!(unsupported(&wav(PCM, 1, 16_000, 40, &[0; 10])).contains("40-bit"));
}

#[test]
fn wav_data_chunk_longer_than_the_file_is_decoded_as_far_as_it_goes() {
    // A streaming writer's header: sizes never fixed up.
    let mut bytes = wav(PCM, 2, 16_000, 16, &s16le(&[1, 2, 3, 4, 5, 6]));
    let data_size_at = bytes.len() - 12 - 4;
    for declared in [1_000_000u32, u32::MAX] {
        bytes[data_size_at..data_size_at + 4].copy_from_slice(&declared.to_le_bytes());
        let d = ok(&bytes);
        assert_eq!(d.samples.len(), 6);
    }
}

#[test]
fn wav_cut_mid_sample_is_corrupt() {
    let full = wav(PCM, 1, 16_000, 16, &s16le(&[1, 2, 3, 4]));
    assert!(corrupt(&full[..full.len() - 1]).contains("middle of a sample"));
    // Stereo cut between the two channels of a frame.
    let stereo = wav(PCM, 2, 16_000, 16, &s16le(&[1, 2, 3, 4]));
    corrupt(&stereo[..stereo.len() - 2]);
    // 24-bit cut inside a sample.
    let deep = wav(PCM, 1, 16_000, 24, &[0; 6]);
    corrupt(&deep[..deep.len() - 1]);
}

#[test]
fn wav_structure_errors() {
    let fmt = chunk(b"fmt ", &fmt_body(PCM, 1, 16_000, 16, PCM));
    let data = chunk(b"data", &s16le(&[1, 2]));
    assert!(corrupt(&riff(std::slice::from_ref(&data))).contains("before its fmt"));
    assert!(corrupt(&riff(std::slice::from_ref(&fmt))).contains("no data chunk"));
    assert!(corrupt(&riff(&[chunk(b"LIST", b"abcd")])).contains("no fmt chunk"));
    assert!(corrupt(&riff(&[chunk(b"fmt ", &[1, 0, 1, 0])])).contains("too short"));
    corrupt(b"RIFF\x24\0\0\0WA");
    corrupt(b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0");
    // Other chunks before and after the data are skipped.
    let list = chunk(b"LIST", b"INFOISFT\x05\0\0\0test\0");
    let d = ok(&riff(&[chunk(b"JUNK", &[0; 5]), fmt.clone(), list.clone(), data.clone(), list]));
    assert_eq!(d.samples.len(), 2);
    // No samples at all.
    assert_eq!(decode(&riff(&[fmt, chunk(b"data", &[])]), MONO16K), Err(DecodeError::Empty));
}

#[test]
fn wav_rf64() {
    let mut ds64 = Vec::new();
    ds64.extend_from_slice(&0u64.to_le_bytes());
    ds64.extend_from_slice(&4u64.to_le_bytes()); // data size
    ds64.extend_from_slice(&2u64.to_le_bytes());
    ds64.extend_from_slice(&0u32.to_le_bytes());
    let mut data = chunk(b"data", &s16le(&[100, 200, 300]));
    data[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut bytes = riff(&[chunk(b"ds64", &ds64), chunk(b"fmt ", &fmt_body(PCM, 1, 16_000, 16, PCM)), data]);
    bytes[..4].copy_from_slice(b"RF64");
    assert_eq!(ok(&bytes).samples.len(), 2);
}

#[test]
fn wav_longer_than_the_limit_is_refused() {
    let frames = MAX_DURATION_SECONDS as usize * 8_000;
    assert_eq!(ok(&wav(PCM, 1, 8_000, 8, &vec![128; frames])).samples.len(), frames);
    let message = corrupt(&wav(PCM, 1, 8_000, 8, &vec![128; frames + 1]));
    assert!(message.contains(&format!("longer than {MAX_DURATION_SECONDS} seconds")), "{message}");
}

#[test]
fn corpus_wavs_match_hound() {
    for relative in
        ["parity/05-flite-rms-44k-stereo.wav", "parity/02-flite-awb-8k-mono.wav", "corpus/festival-ru-nsh/01.wav"]
    {
        let bytes = testdata(relative);
        let ours = ok(&bytes);
        let mut reader = hound::WavReader::new(&bytes[..]).unwrap();
        let spec = reader.spec();
        let theirs: Vec<f32> = reader.samples::<i16>().map(|s| s.unwrap() as f32 / 32_768.0).collect();
        assert_eq!((ours.sample_rate, ours.channels), (spec.sample_rate, spec.channels), "{relative}");
        assert_eq!(ours.samples, theirs, "{relative}");
    }
}

#[test]
fn every_parity_clip_decodes_with_its_declared_shape() {
    let dir = testdata_dir().join("parity");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("wav") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let d = ok(&std::fs::read(&path).unwrap());
        let rate = [("-8k-", 8_000), ("-16k-", 16_000), ("-22k-", 22_050), ("-44k-", 44_100)]
            .iter()
            .find(|(tag, _)| name.contains(tag))
            .map(|&(_, r)| r)
            .unwrap();
        let channels = if name.contains("stereo") { 2 } else { 1 };
        assert_eq!((d.sample_rate, d.channels), (rate, channels), "{name}");
        let seconds = duration_seconds(&d);
        assert!((0.5..15.0).contains(&seconds), "{name}: {seconds}");
        seen += 1;
    }
    assert!(seen >= 20);
}

// -------------------------------------------------------------------------------- raw PCM

#[test]
fn raw_pcm_uses_the_callers_shape() {
    let bytes = s16le(&[16_384, -16_384, 0, 8_192]);
    let d = decode(&bytes, RawPcm { sample_rate: 8_000, channels: 2 }).unwrap();
    assert_eq!((d.format, d.sample_rate, d.channels), (Format::Pcm, 8_000, 2));
    assert_eq!(d.samples, vec![0.5, -0.5, 0.0, 0.25]);
    assert!((duration_seconds(&d) - 2.0 / 8_000.0).abs() < 1e-9);
    assert_eq!(RawPcm::default(), MONO16K);
}

#[test]
fn raw_pcm_must_be_whole_frames() {
    assert!(corrupt(&[1, 2, 3]).contains("3 bytes"));
    let stereo = RawPcm { sample_rate: 16_000, channels: 2 };
    assert!(matches!(decode(&[1, 0, 2, 0, 3, 0], stereo), Err(DecodeError::Corrupt { .. })));
}

#[test]
fn raw_pcm_shape_is_checked() {
    let bytes = s16le(&[1, 2, 3, 4]);
    for bad in [RawPcm { sample_rate: 96_000, channels: 1 }, RawPcm { sample_rate: 16_000, channels: 9 }] {
        assert!(matches!(decode(&bytes, bad), Err(DecodeError::Unsupported { .. })), "{bad:?}");
    }
    assert!(matches!(decode(&bytes, RawPcm { sample_rate: 16_000, channels: 0 }), Err(DecodeError::Corrupt { .. })));
}

#[test]
fn raw_pcm_equals_the_wav_it_came_from() {
    let bytes = testdata("corpus/flite-awb/03.wav");
    let from_wav = ok(&bytes);
    let data = &bytes[44..]; // sox writes a canonical 44-byte header
    let from_raw = ok(data);
    assert_eq!(from_raw.format, Format::Pcm);
    assert_eq!(from_raw.samples, from_wav.samples);
}

#[test]
fn raw_pcm_longer_than_the_limit_is_refused() {
    let raw = RawPcm { sample_rate: 8_000, channels: 1 };
    let mut bytes = vec![0u8; 2 * MAX_DURATION_SECONDS as usize * 8_000];
    bytes[0] = 1; // not all zeros, for realism
    assert!(decode(&bytes, raw).is_ok());
    bytes.extend_from_slice(&[0, 0]);
    assert!(matches!(decode(&bytes, raw), Err(DecodeError::Corrupt { .. })));
}

#[test]
fn empty_input() {
    assert_eq!(decode(&[], MONO16K), Err(DecodeError::Empty));
    assert_eq!(detect(&[]), Err(DecodeError::Empty));
    assert!(!DecodeError::Empty.to_string().is_empty());
}

// ------------------------------------------------------------------------ refused content

#[test]
fn non_audio_is_refused_not_read_as_noise() {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.resize(200, 7);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("PNG", png),
        ("JPEG", b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec()),
        ("GIF", b"GIF89a\x01\0\x01\0\0\0\0;".to_vec()),
        ("PDF", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec()),
        ("ZIP", b"PK\x03\x04\x14\0\0\0\x08\0".to_vec()),
        ("gzip", b"\x1f\x8b\x08\0\0\0\0\0\0\x03".to_vec()),
        ("WebP", b"RIFF\x1a\0\0\0WEBPVP8 ".to_vec()),
        ("text", br#"{"code": 0, "msg": "this is JSON, not audio"}"#.to_vec()),
        ("text", b"<!DOCTYPE html><html><body>404</body></html>\n".to_vec()),
        ("text", "Привет, это просто текст, а не звук.\n".as_bytes().to_vec()),
        ("text", b"\xff\xfeh\0e\0l\0l\0o\0 \0w\0o\0r\0l\0d\0".to_vec()),
        ("ELF", b"\x7fELF\x02\x01\x01\0\0\0\0\0".to_vec()),
    ];
    for (what, bytes) in cases {
        let message = unsupported(&bytes);
        assert!(message.contains(what), "{what}: {message}");
        assert!(message.contains("not audio"), "{what}: {message}");
    }
}

#[test]
fn audio_we_do_not_decode_is_named() {
    assert!(unsupported(&fixture("mono16k.adts.aac")).contains("ADTS"));
    assert!(unsupported(&fixture("mono16k.mp2")).contains("layer II"));
    assert!(unsupported(b"FORM\0\0\0\x20AIFFCOMM").contains("AIFF"));
    assert!(unsupported(b"RIFX\0\0\0\x20WAVEfmt ").contains("big-endian"));
    // Ogg Speex, and EBML that is not WebM or Matroska.
    let mut speex = fixture("mono16k.opus");
    speex[28..36].copy_from_slice(b"Speex   ");
    assert!(unsupported(&speex).contains("Speex"));
    assert!(unsupported(&ebml_header("mka3d")).contains("EBML document of type 'mka3d'"));
}

// -------------------------------------------------------------------------- compressed

#[test]
fn compressed_fixtures_decode() {
    for &(name, expected, rate, channels, seconds) in COMPRESSED {
        let d = ok(&fixture(name));
        assert_eq!((d.format, d.sample_rate, d.channels), (expected, rate, channels), "{name}");
        assert_eq!(detect(&fixture(name)), Ok(expected), "{name}");
        let got = duration_seconds(&d);
        assert!((got - seconds).abs() < 0.15, "{name}: {got} s, expected about {seconds}");
        assert!(d.samples.iter().all(|x| (-1.0..=1.0).contains(x)), "{name}");
        let rms = (d.samples.iter().map(|x| x * x).sum::<f32>() / d.samples.len() as f32).sqrt();
        assert!(rms > 0.02, "{name}: decoded to near silence ({rms})");
    }
}

/// A [`Sink`] that keeps every piece it is given, and the shape it was started with.
#[derive(Default)]
struct Pieces {
    shape: Option<(u32, u16)>,
    pieces: Vec<Vec<f32>>,
}

impl Sink for Pieces {
    fn start(&mut self, sample_rate: u32, channels: u16) {
        assert!(self.shape.is_none() && self.pieces.is_empty(), "started once, before any samples");
        self.shape = Some((sample_rate, channels));
    }

    fn samples(&mut self, interleaved: &[f32]) {
        let (_, channels) = self.shape.expect("started before samples");
        assert!(interleaved.len().is_multiple_of(usize::from(channels)), "whole frames only");
        self.pieces.push(interleaved.to_vec());
    }
}

#[test]
fn decoding_into_a_sink_hands_over_the_same_samples_piece_by_piece() {
    let long_wav = wav(PCM, 2, 44_100, 16, &s16le(&(0..40_000).map(|i| (i % 2000 - 1000) as i16).collect::<Vec<_>>()));
    let cases = [
        ("WAV", long_wav),
        ("Ogg", fixture("stereo44k.ogg")),
        ("MP3", fixture("stereo44k-id3.mp3")),
        ("Opus", fixture("stereo44k.opus")),
        ("WebM", fixture("mono-chromium.webm")),
    ];
    for (name, bytes) in cases {
        let whole = ok(&bytes);
        let mut sink = Pieces::default();
        let stream = decode_into(&bytes, MONO16K, &mut sink).unwrap();
        assert!(sink.pieces.len() > 1, "{name}: {} pieces", sink.pieces.len());
        assert_eq!(sink.shape, Some((whole.sample_rate, whole.channels)), "{name}");
        assert_eq!(sink.pieces.concat(), whole.samples, "{name}");
        assert_eq!(stream.frames as usize, whole.samples.len() / usize::from(whole.channels), "{name}");
        assert_eq!((stream.seconds(), stream.format), (duration_seconds(&whole), whole.format), "{name}");
    }
}

#[test]
fn flac_is_lossless() {
    let wav = ok(&testdata("corpus/degraded/short/flite-slt/02.wav"));
    assert_eq!(ok(&fixture("mono16k.flac")).samples, wav.samples);
    let wav = ok(&testdata("parity/06-festival-it-pc-16k-stereo.wav"));
    assert_eq!(ok(&fixture("stereo16k.flac")).samples, wav.samples);
    // 16-bit audio stored as 24-bit: the same values.
    let wav = ok(&testdata("parity/02-flite-awb-8k-mono.wav"));
    assert_eq!(ok(&fixture("mono8k-24bit.flac")).samples, wav.samples);
}

#[test]
fn lossy_fixtures_resemble_their_source() {
    // Energy within a factor of two of the original: real audio, not noise or silence.
    let source = ok(&testdata("corpus/flite-slt/02.wav"));
    let energy = |d: &Decoded| d.samples.iter().map(|x| x * x).sum::<f32>() / d.samples.len() as f32;
    for name in ["mono16k.mp3", "mono16k.ogg", "mono16k.m4a"] {
        let ratio = energy(&ok(&fixture(name))) / energy(&source);
        assert!((0.5..2.0).contains(&ratio), "{name}: energy ratio {ratio}");
    }
}

#[test]
fn truncated_compressed_files_keep_what_is_there_or_fail_cleanly() {
    for &(name, ..) in COMPRESSED {
        let full = fixture(name);
        let whole = duration_seconds(&ok(&full));
        for cut in [full.len() * 3 / 4, full.len() / 2, 200, 40, 4] {
            match decode(&full[..cut], MONO16K) {
                Ok(d) => assert!(duration_seconds(&d) <= whole + 0.01, "{name} cut at {cut}"),
                Err(DecodeError::Corrupt { .. } | DecodeError::Empty) => {}
                Err(e) => panic!("{name} cut at {cut}: {e:?}"),
            }
        }
    }
    // A cut MP3, Ogg Opus or WebM keeps the frames before the cut.
    for name in ["mono16k.mp3", "mono16k.opus", "mono16k.webm", "mono-chromium.webm"] {
        let bytes = fixture(name);
        let half = duration_seconds(&ok(&bytes[..bytes.len() / 2]));
        assert!((0.8..1.6).contains(&half), "{name}: {half} s");
    }
}

// --------------------------------------------------------------------------------- Opus

/// The Opus fixtures made from a corpus WAV by opusenc or ffmpeg, and that WAV.
const OPUS_SOURCES: &[(&str, &str)] = &[
    ("mono16k.opus", "corpus/flite-slt/02.wav"),
    ("stereo44k.opus", "parity/05-flite-rms-44k-stereo.wav"),
    ("mono16k.opus.ogg", "corpus/flite-slt/02.wav"),
    ("mono16k.webm", "corpus/flite-slt/02.wav"),
    ("stereo44k.webm", "parity/05-flite-rms-44k-stereo.wav"),
];
/// Recorded by Chromium's MediaRecorder from `corpus/flite-slt/02.wav`, with its default
/// processing (automatic gain control among it), for 2.4 s.
const CHROMIUM: &str = "mono-chromium.webm";

fn mono(d: &Decoded) -> Vec<f32> {
    let channels = usize::from(d.channels);
    d.samples.chunks_exact(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32).collect()
}

fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|x| x * x).sum::<f32>() / samples.len() as f32).sqrt()
}

/// RMS over 10 ms windows.
fn envelope(d: &Decoded) -> Vec<f32> {
    mono(d).chunks_exact(d.sample_rate as usize / 100).map(rms).collect()
}

/// The lag of `b` against `a` within ±`max_lag` at which they correlate best, and that correlation.
fn best_lag(a: &[f32], b: &[f32], max_lag: i64) -> (i64, f32) {
    let correlation = |lag: i64| {
        let pairs: Vec<(f32, f32)> = (0..a.len() as i64)
            .filter_map(|i| Some((a[i as usize], *b.get(usize::try_from(i + lag).ok()?)?)))
            .collect();
        let n = pairs.len() as f32;
        let (ma, mb) = (pairs.iter().map(|p| p.0).sum::<f32>() / n, pairs.iter().map(|p| p.1).sum::<f32>() / n);
        let cov: f32 = pairs.iter().map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f32 = pairs.iter().map(|(x, _)| (x - ma).powi(2)).sum();
        let vb: f32 = pairs.iter().map(|(_, y)| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    };
    (-max_lag..=max_lag).map(|lag| (lag, correlation(lag))).max_by(|x, y| x.1.total_cmp(&y.1)).unwrap()
}

#[test]
fn opus_decodes_at_48k_to_the_length_of_its_source() {
    for &(name, source) in OPUS_SOURCES {
        let d = ok(&fixture(name));
        let wav = ok(&testdata(source));
        assert_eq!((d.sample_rate, d.channels), (48_000, wav.channels), "{name}");
        let (got, expected) = (duration_seconds(&d), duration_seconds(&wav));
        assert!((got - expected).abs() <= 0.020, "{name}: {got} s, the source {expected} s");
    }
    // 2.4 s recorded, in 60 ms packets, with no end trimming.
    let d = ok(&fixture(CHROMIUM));
    assert_eq!((d.format, d.sample_rate, d.channels), (Format::Webm, 48_000, 1));
    assert!((duration_seconds(&d) - 2.4).abs() <= 0.06, "{}", duration_seconds(&d));
}

#[test]
fn opus_sounds_like_its_source() {
    // The loudness contour of the speech, 10 ms at a time, lines up with the source's.
    let mut cases: Vec<(&str, &str, f32, i64)> =
        OPUS_SOURCES.iter().map(|&(name, source)| (name, source, 0.99, 0)).collect();
    // Chromium's gain control changes the contour a little, and its recording starts within a
    // few packets of the file.
    cases.push((CHROMIUM, "corpus/flite-slt/02.wav", 0.85, 6));
    for (name, source, floor, max_lag) in cases {
        let (decoded, wav) = (ok(&fixture(name)), ok(&testdata(source)));
        let (lag, r) = best_lag(&envelope(&wav), &envelope(&decoded), 10);
        eprintln!("{name}: correlation {r} at a lag of {lag} × 10 ms");
        assert!(r >= floor && lag.abs() <= max_lag, "{name}: correlation {r} at a lag of {lag} × 10 ms");
        let ratio = rms(&decoded.samples) / rms(&wav.samples);
        assert!((0.7..1.6).contains(&ratio), "{name}: level ratio {ratio}");
    }
}

#[test]
fn opus_starts_after_the_pre_skip() {
    // Sample by sample, at the source's 16 kHz (every third sample: the Opus signal has nothing
    // above 8 kHz), the decoded waveform lines up with the source. Keeping the 312 samples of
    // encoder delay would put it 104 samples late.
    let source = ok(&testdata("corpus/flite-slt/02.wav")).samples;
    for name in ["mono16k.opus", "mono16k.opus.ogg", "mono16k.webm"] {
        let decoded: Vec<f32> = ok(&fixture(name)).samples.iter().step_by(3).copied().collect();
        let (lag, r) = best_lag(&source, &decoded, 150);
        eprintln!("{name}: correlation {r} at a lag of {lag} samples");
        assert!(lag.abs() <= 1 && r > 0.95, "{name}: correlation {r} at a lag of {lag} samples");
    }
}

#[test]
fn opus_output_gain_is_applied() {
    // −6.02 dB in the OpusHead's Q7.8 field halves the amplitude.
    let half = (-1541i16).to_le_bytes();
    let plain = fixture("mono16k.opus");
    let mut quieter = plain.clone();
    assert_eq!(&plain[28..36], b"OpusHead");
    quieter[44..46].copy_from_slice(&half);
    fix_ogg_crcs(&mut quieter);
    let ratio = rms(&ok(&quieter).samples) / rms(&ok(&plain).samples);
    assert!((0.495..0.505).contains(&ratio), "Ogg: {ratio}");

    let plain = fixture("mono16k.webm");
    let mut quieter = plain.clone();
    let at = plain.windows(8).position(|w| w == b"OpusHead").unwrap();
    quieter[at + 16..at + 18].copy_from_slice(&half);
    let ratio = rms(&ok(&quieter).samples) / rms(&ok(&plain).samples);
    assert!((0.495..0.505).contains(&ratio), "WebM: {ratio}");
}

#[test]
fn ogg_vorbis_and_ogg_opus_are_told_apart() {
    assert_eq!(detect(&fixture("mono16k.ogg")), Ok(Format::Ogg));
    assert_eq!(detect(&fixture("mono16k.opus.ogg")), Ok(Format::Opus));
    assert_eq!((Format::Opus.name(), Format::Webm.name()), ("opus", "webm"));
    assert_eq!(ok(&fixture("stereo44k.ogg")).sample_rate, 44_100);
}

#[test]
fn webm_as_a_live_recorder_writes_it() {
    // Unknown-size Segment and Clusters, five blocks each: the packets of the Ogg file decode to
    // its samples (the Ogg file also trims the end of its last packet, which this does not say).
    let (head, packets) = ogg_opus_packets("mono16k.opus");
    let ogg = ok(&fixture("mono16k.opus"));
    let live = ok(&live_webm(&head, &packets, 5));
    assert_eq!((live.format, live.sample_rate, live.channels), (Format::Webm, 48_000, 1));
    assert_eq!(live.samples[..ogg.samples.len()], ogg.samples[..]);
    assert!(live.samples.len() - ogg.samples.len() < 960);
    // DocType "matroska" is read the same way.
    let mut mkv = ebml_header("matroska");
    mkv.extend_from_slice(&live_webm(&head, &packets, 5)[ebml_header("webm").len()..]);
    assert_eq!(ok(&mkv).samples, live.samples);
}

#[test]
fn webm_lacing_block_groups_and_other_tracks() {
    let (head, packets) = ogg_opus_packets("mono16k.opus");
    let ogg = ok(&fixture("mono16k.opus"));
    let p: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();
    let n = p.len();
    // What the Ogg file trims from its end, as DiscardPadding in nanoseconds (rounded up).
    let padding = (n * 960 - 312 - ogg.samples.len()) as u64;
    let padding_ns = (padding * 1_000_000_000).div_ceil(48_000);

    let mut tracks = track_entry(1, 1, "V_VP8", b"");
    tracks.extend(track_entry(2, 2, "A_OPUS", &head));
    let mut first = el_uint(TIMECODE, 0);
    first.extend(el(SIMPLE_BLOCK, &block_body(1, Lacing::None, &[b"not audio"])));
    first.extend(el(SIMPLE_BLOCK, &block_body(2, Lacing::Xiph, &p[..7])));
    first.extend(el(VOID, &[0; 3]));
    first.extend(el(BLOCK_GROUP, &el(BLOCK, &block_body(2, Lacing::Ebml, &p[7..20]))));
    let mut second = el_uint(TIMECODE, 400);
    for packet in &p[20..n - 3] {
        second.extend(el(SIMPLE_BLOCK, &block_body(2, Lacing::None, &[packet])));
    }
    let mut last = el(BLOCK, &block_body(2, Lacing::Xiph, &p[n - 3..]));
    last.extend(el(DISCARD_PADDING, &padding_ns.to_be_bytes()));
    second.extend(el(BLOCK_GROUP, &last));
    let mut segment = el(VOID, &[0; 10]);
    segment.extend(el(TRACKS, &tracks));
    segment.extend(el(CLUSTER, &first));
    segment.extend(el_unknown(CLUSTER, &second));
    segment.extend(el(CUES, &[0xBB, 0x80]));
    let mut file = ebml_header("webm");
    file.extend(el(SEGMENT, &segment));
    assert_eq!(ok(&file).samples, ogg.samples);

    // Fixed-size lacing: four copies of one packet.
    let mut segment = el(TRACKS, &track_entry(1, 2, "A_OPUS", &head));
    segment.extend(el(CLUSTER, &el(SIMPLE_BLOCK, &block_body(1, Lacing::Fixed, &[p[30]; 4]))));
    let mut file = ebml_header("webm");
    file.extend(el_unknown(SEGMENT, &segment));
    assert_eq!(ok(&file).samples.len(), 4 * 960 - 312);
}

#[test]
fn webm_that_cannot_be_decoded_says_why() {
    let (head, packets) = ogg_opus_packets("mono16k.opus");
    let file = |tracks: &[u8], clusters: &[u8]| {
        let mut segment = el(TRACKS, tracks);
        segment.extend_from_slice(clusters);
        let mut file = ebml_header("webm");
        file.extend(el_unknown(SEGMENT, &segment));
        file
    };
    let cluster = el_unknown(CLUSTER, &el(SIMPLE_BLOCK, &block_body(1, Lacing::None, &[&packets[0]])));
    assert!(unsupported(&file(&track_entry(1, 2, "A_VORBIS", b"x"), &cluster)).contains("Vorbis"));
    assert!(unsupported(&file(&track_entry(1, 1, "V_VP8", b""), &cluster)).contains("no audio track"));
    let mut surround = head.clone();
    (surround[9], surround[18]) = (6, 1);
    surround.extend_from_slice(&[4, 2, 0, 4, 1, 2, 3, 5]);
    assert!(unsupported(&file(&track_entry(1, 2, "A_OPUS", &surround), &cluster)).contains("6 channels"));
    let mut silent = head.clone();
    silent[9] = 0;
    corrupt(&file(&track_entry(1, 2, "A_OPUS", &silent), &cluster));
    corrupt(&file(&track_entry(1, 2, "A_OPUS", b"OpusHead"), &cluster));
    // Blocks before the track list.
    let mut early = ebml_header("webm");
    early.extend(el_unknown(SEGMENT, &[cluster.clone(), el(TRACKS, &track_entry(1, 2, "A_OPUS", &head))].concat()));
    assert!(corrupt(&early).contains("before the track list"));
    // An element of unknown size inside a cluster, and a truncated EBML header.
    let bad = el_unknown(CLUSTER, &el_unknown(SIMPLE_BLOCK, &block_body(1, Lacing::None, &[&packets[0]])));
    assert!(corrupt(&file(&track_entry(1, 2, "A_OPUS", &head), &bad)).contains("unknown size"));
    corrupt(&ebml_header("webm")[..10]);
    // No blocks at all.
    assert_eq!(decode(&file(&track_entry(1, 2, "A_OPUS", &head), b""), MONO16K), Err(DecodeError::Empty));
}

#[test]
fn opus_longer_than_the_limit_is_refused() {
    use opus_pure::{OggOpusWriter, OpusHead};
    // One-byte packets: a 20 ms frame without data, which the decoder conceals; no pre-skip.
    let silent_ogg = |packets: usize, granule_per_packet: u32| {
        let mut head = OpusHead::new(1, 48_000).unwrap();
        head.pre_skip = 0;
        let mut writer = OggOpusWriter::new(Vec::new(), head).unwrap();
        for _ in 0..packets {
            writer.write_packet_with_duration(&[0xF8], granule_per_packet).unwrap();
        }
        writer.finish().unwrap()
    };
    let limit = MAX_DURATION_SECONDS as usize * 50;
    assert_eq!(ok(&silent_ogg(limit, 960)).samples.len(), limit * 960);
    let message = corrupt(&silent_ogg(limit + 1, 960));
    assert!(message.contains(&format!("longer than {MAX_DURATION_SECONDS} seconds")), "{message}");
    // Packets whose granule positions say they hold nothing still cost decoding.
    assert!(corrupt(&silent_ogg(2 * limit, 0)).contains("longer than"));

    let head = b"OpusHead\x01\x01\x00\x00\x80\xbb\x00\x00\x00\x00\x00";
    let packets = vec![vec![0xF8]; limit];
    assert_eq!(ok(&live_webm(head, &packets, 50)).samples.len(), limit * 960);
    let packets = vec![vec![0xF8]; limit + 1];
    assert!(corrupt(&live_webm(head, &packets, 50)).contains("longer than"));
}

#[test]
fn garbage_after_a_magic_is_corrupt() {
    let mut bytes = b"fLaC".to_vec();
    bytes.extend_from_slice(&[0x42; 300]);
    corrupt(&bytes);
    let mut bytes = b"OggS".to_vec();
    bytes.extend_from_slice(&[0x11; 300]);
    assert!(decode(&bytes, MONO16K).is_err());
    let mut bytes = b"\0\0\0\x18ftypM4A \0\0\0\0M4A isom".to_vec();
    bytes.extend_from_slice(&[0x33; 300]);
    assert!(decode(&bytes, MONO16K).is_err());
    corrupt(b"ID3\x04\0\0\0\0\x10\0abc");
    // EBML magic, then garbage; an OpusHead page, then garbage.
    let mut bytes = b"\x1a\x45\xdf\xa3".to_vec();
    bytes.extend_from_slice(&[0x42; 300]);
    corrupt(&bytes);
    let mut bytes = fixture("mono16k.opus")[..47].to_vec();
    bytes.extend_from_slice(&[0x55; 300]);
    corrupt(&bytes);
}

#[test]
fn hostile_mp4_sample_table_is_refused_before_allocation() {
    // Patch the stco entry count of a real M4A to 2^32 - 1.
    let mut bytes = fixture("mono16k.m4a");
    let at = bytes.windows(4).position(|w| w == b"stco").expect("stco box");
    bytes[at + 8..at + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(corrupt(&bytes).contains("stco"));
}
