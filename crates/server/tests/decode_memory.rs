//! Uploads that are small but decode to a great deal of audio must not make the server hold it
//! all: the peak memory of a server with two embedding workers, measured from /proc while such
//! uploads are embedded at once, stays within a bound whatever their channels, rate and length.

mod common;

use common::{audio_form, clip, features_path, pcm_of, testdata, wav_of, Api, Reply, TestServer};

/// Most the server's peak resident memory may grow by while the uploads below are embedded.
const MAX_GROWTH_KB: u64 = 150 * 1024;
/// The largest upload `voxprint serve` accepts by default (`--max-audio-bytes`).
const MAX_AUDIO_BYTES: usize = 4 * 1024 * 1024;

/// A FLAC file of `seconds` of digital silence in 7.1 channels at 48 kHz, 16-bit. Every channel
/// of every 100 ms block is one CONSTANT subframe, so ten minutes take about 210 KB yet decode
/// to 230 million samples.
fn silent_flac_7_1(seconds: u64) -> Vec<u8> {
    const RATE: u64 = 48_000;
    const CHANNELS: u64 = 8;
    const BLOCK: u64 = 4_800;
    let total = RATE * seconds;
    let mut out = b"fLaC".to_vec();
    out.extend_from_slice(&[0x80, 0, 0, 34]); // the last metadata block: STREAMINFO, 34 bytes
    out.extend_from_slice(&(BLOCK as u16).to_be_bytes()); // smallest block
    out.extend_from_slice(&(BLOCK as u16).to_be_bytes()); // largest block
    out.extend_from_slice(&[0; 6]); // frame sizes unknown
    out.extend_from_slice(&(RATE << 44 | (CHANNELS - 1) << 41 | 15 << 36 | total).to_be_bytes());
    out.extend_from_slice(&[0; 16]); // no MD5
    for frame in 0..total / BLOCK {
        let start = out.len();
        // Fixed block size given after the header, 48 kHz, 8 independent channels, 16-bit.
        out.extend_from_slice(&[0xFF, 0xF8, 0x7A, 0x78]);
        let number = char::from_u32(frame as u32).expect("frame numbers this small are chars");
        out.extend_from_slice(number.encode_utf8(&mut [0; 4]).as_bytes());
        out.extend_from_slice(&((BLOCK - 1) as u16).to_be_bytes());
        out.push(crc(&out[start..], 8, 0x07) as u8);
        for _ in 0..CHANNELS {
            out.extend_from_slice(&[0, 0, 0]); // CONSTANT subframe, value 0
        }
        out.extend_from_slice(&crc(&out[start..], 16, 0x8005).to_be_bytes());
    }
    out
}

/// FLAC's CRC-8 and CRC-16: MSB first, initial value 0.
fn crc(bytes: &[u8], width: u32, polynomial: u16) -> u16 {
    let (top, mask) = (1u32 << (width - 1), (1u32 << width) - 1);
    let mut crc = 0u32;
    for &byte in bytes {
        crc ^= u32::from(byte) << (width - 8);
        for _ in 0..8 {
            crc = if crc & top != 0 { (crc << 1) ^ u32::from(polynomial) } else { crc << 1 } & mask;
        }
    }
    crc as u16
}

/// A WAV of corpus speech as long as the upload limit allows at 22.05 kHz mono, 16-bit (95 s),
/// made from the 16 kHz clips by linear interpolation.
fn longest_speech_wav() -> Vec<u8> {
    let voices = ["flite-awb", "flite-slt", "festival-ked", "festival-it-lp", "espeak-en-us"];
    let speech: Vec<f64> =
        voices.iter().flat_map(|voice| (1..=7).flat_map(|n| pcm_of(&clip(voice, n)))).map(f64::from).collect();
    let samples: Vec<i16> = (0..(MAX_AUDIO_BYTES - 44) / 2)
        .map(|i| {
            let at = i as f64 * 16_000.0 / 22_050.0;
            let (j, frac) = (at as usize, at.fract());
            let (a, b) = (speech[j % speech.len()], speech[(j + 1) % speech.len()]);
            (a + (b - a) * frac).round() as i16
        })
        .collect();
    wav_of(&samples, 22_050)
}

/// The process's peak resident set size so far (VmHWM), in KB.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/<pid>/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/<pid>/status");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse().ok()).expect("VmHWM in kB")
}

fn identify_path(group: &str) -> String {
    format!("/v1/audio/voiceprint_groups/{group}/speaker_identify")
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn uploads_that_expand_when_decoded_keep_memory_bounded() {
    let server = TestServer::start(&["--embed-workers", "2"]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("memory").await;
    // Warm up: the model is loaded and both paths (enrollment, identification) have run once.
    api.enroll(&group, "warm-up", clip("flite-slt", 1)).await;
    api.identify(&group, clip("flite-slt", 2), None).await;
    let before = peak_rss_kb(server.pid());

    let flac = silent_flac_7_1(600);
    let ogg = testdata("long/stereo44k-silence-10min.ogg");
    let wav = longest_speech_wav();
    assert!(flac.len() < 250_000 && wav.len() == MAX_AUDIO_BYTES, "{} {}", flac.len(), wav.len());
    let send = |path: String, form| {
        let api = Api::new(&server, &server.admin_token);
        tokio::spawn(async move { api.post_form(&path, form).await })
    };
    let uploads: Vec<(&str, tokio::task::JoinHandle<Reply>)> = vec![
        ("7.1 FLAC", send(features_path(&group), audio_form(flac, &[("name", "flac")]))),
        ("stereo Ogg", send(identify_path(&group), audio_form(ogg, &[]))),
        ("4 MiB WAV", send(features_path(&group), audio_form(wav, &[("name", "wav")]))),
    ];
    let mut replies = Vec::new();
    for (name, upload) in uploads {
        replies.push((name, upload.await.unwrap()));
    }
    let growth = peak_rss_kb(server.pid()).saturating_sub(before);
    println!("peak RSS growth: {} MB", growth / 1024);
    assert!(growth <= MAX_GROWTH_KB, "peak RSS grew by {} MB; answers: {replies:?}", growth / 1024);

    // Clear Coze answers: the ten-minute files are too long, the WAV is enrolled.
    for (name, reply) in &replies[..2] {
        let msg = reply.err(4304, 400);
        assert!(msg.contains("longer than"), "{name}: {msg}");
    }
    replies[2].1.ok();
}
