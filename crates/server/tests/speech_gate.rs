//! The speech gate and enrollment quality through HTTP against the real binary: recordings
//! without speech are refused on every route that embeds, enrollments report their quality,
//! and enrollments too poor to be reliable are refused by limits the flags set.

mod common;

use common::{audio_form, clip, features_path, pcm_of, testdata, wav_of, Api, TestServer};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

/// A seeded xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Roughly Gaussian, mean 0, deviation 1 (a sum of uniforms).
    fn gauss(&mut self) -> f64 {
        (0..12).map(|_| (self.next() >> 11) as f64 / (1u64 << 53) as f64).sum::<f64>() - 6.0
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut rng = Rng(0x5eed);
    (0..n).map(|_| (rng.next() >> 32) as u8).collect()
}

fn tone_wav(hz: f64) -> Vec<u8> {
    let samples: Vec<i16> = (0..48_000)
        .map(|i| (12_000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / 16_000.0).sin()) as i16)
        .collect();
    wav_of(&samples, 16_000)
}

fn white_noise_wav(deviation: f64) -> Vec<u8> {
    let mut rng = Rng(7);
    let samples: Vec<i16> = (0..48_000).map(|_| (deviation * rng.gauss()).clamp(-32768.0, 32767.0) as i16).collect();
    wav_of(&samples, 16_000)
}

/// A corpus WAV with white noise mixed in at `snr_db` against the whole clip's power.
fn with_noise(wav: &[u8], snr_db: f64) -> Vec<u8> {
    let speech = pcm_of(wav);
    let power = speech.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / speech.len() as f64;
    let deviation = (power / 10f64.powf(snr_db / 10.0)).sqrt();
    let mut rng = Rng(11);
    let noisy: Vec<i16> =
        speech.iter().map(|&s| (f64::from(s) + deviation * rng.gauss()).clamp(-32768.0, 32767.0) as i16).collect();
    wav_of(&noisy, 16_000)
}

fn identify_path(group: &str) -> String {
    format!("/v1/audio/voiceprint_groups/{group}/speaker_identify")
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn recordings_without_speech_are_refused_on_every_route() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("gate").await;
    let id = api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    // (what, the upload, sent as raw PCM?, what the refusal says it heard)
    let cases = [
        ("50 KB of random bytes as raw PCM", random_bytes(50_000), true, "noise"),
        ("a 440 Hz tone", tone_wav(440.0), false, "tone"),
        ("a 1 kHz tone", tone_wav(1000.0), false, "tone"),
        ("digital silence", wav_of(&[0; 48_000], 16_000), false, "silent"),
        ("white noise", white_noise_wav(3000.0), false, "noise"),
    ];
    let form = |bytes: &[u8], raw: bool| {
        let form = Form::new().part("file", Part::bytes(bytes.to_vec()).file_name("clip"));
        if raw {
            form.text("sample_rate", "16000")
        } else {
            form
        }
    };
    for (what, bytes, raw, heard) in &cases {
        let identified = api.post_form(&identify_path(&group), form(bytes, *raw)).await;
        let msg = identified.err(4304, 400);
        assert!(msg.contains("no speech found") && msg.contains(heard), "{what} on identify: {msg}");
        let enrolled = api.post_form(&features_path(&group), form(bytes, *raw).text("name", "x")).await;
        let msg = enrolled.err(4304, 400);
        assert!(msg.contains("no speech found") && msg.contains(heard), "{what} on enroll: {msg}");
        let updated = api.put_form(&format!("{}/{id}", features_path(&group)), form(bytes, *raw)).await;
        assert!(updated.err(4304, 400).contains("no speech found"), "{what} on update");
    }
    assert_eq!(api.get(&features_path(&group)).await.ok()["total"], 1, "nothing enrolled");
    // The voiceprint still identifies its speaker: the refused updates left it alone.
    assert_eq!(api.identify(&group, clip("flite-awb", 2), None).await[0].feature_id.to_string(), id);
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn enrollment_reports_quality_and_refuses_poor_recordings() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("quality").await;

    let clean = api.post_form(&features_path(&group), audio_form(clip("flite-slt", 1), &[("name", "slt")])).await;
    let quality = &clean.ok()["quality"];
    let slt = clean.ok()["id"].as_str().unwrap().to_owned();
    let number = |q: &Value, field: &str| q[field].as_f64().unwrap_or_else(|| panic!("{field} in {q}"));
    assert!((2.5..=5.0).contains(&number(quality, "speech_seconds")), "{quality}");
    assert!(number(quality, "snr_db") > 25.0, "{quality}");
    assert!(number(quality, "bandwidth_hz") >= 5000.0, "{quality}");
    assert_eq!(number(quality, "clipping"), 0.0);
    assert_eq!(quality["warnings"], serde_json::json!([]), "a clean recording gets no warnings");

    let fair = testdata("corpus/degraded/noise15db/flite-awb/02.wav");
    let accepted = api.post_form(&features_path(&group), audio_form(fair, &[("name", "awb")])).await;
    let warnings = accepted.ok()["quality"]["warnings"].as_array().unwrap().clone();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("background noise is high")), "{warnings:?}");

    let noisy = with_noise(&clip("flite-rms", 1), 5.0);
    let refused = api.post_form(&features_path(&group), audio_form(noisy.clone(), &[("name", "rms")])).await;
    let msg = refused.err(4304, 400);
    assert!(msg.contains("background noise is too high") && msg.contains("quieter place"), "{msg}");
    let update = api.put_form(&format!("{}/{slt}", features_path(&group)), audio_form(noisy.clone(), &[])).await;
    assert!(update.err(4304, 400).contains("background noise is too high"));
    assert_eq!(api.get(&features_path(&group)).await.ok()["total"], 2);

    // Identification is not held to the enrollment limits: noisy speech is still speech.
    let scores = api.identify(&group, noisy, None).await;
    assert_eq!(scores.len(), 2);
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn enrollment_limits_follow_the_flags() {
    let lenient = TestServer::start(&["--enroll-min-snr-db", "0"]);
    let api = Api::new(&lenient, &lenient.admin_token);
    let group = api.create_group("lenient").await;
    let noisy = with_noise(&clip("flite-rms", 1), 5.0);
    let reply = api.post_form(&features_path(&group), audio_form(noisy, &[("name", "rms")])).await;
    let warnings = reply.ok()["quality"]["warnings"].as_array().unwrap().clone();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("background noise is high")), "{warnings:?}");
    lenient.stop();

    let strict = TestServer::start(&["--enroll-min-speech-seconds", "8"]);
    let api = Api::new(&strict, &strict.admin_token);
    let group = api.create_group("strict").await;
    let reply = api.post_form(&features_path(&group), audio_form(clip("flite-slt", 1), &[("name", "slt")])).await;
    let msg = reply.err(4304, 400);
    assert!(msg.contains("at least 8 s") && msg.contains("speaking for longer"), "{msg}");
}
