//! speaker_diarize through HTTP against the real binary, with the real speaker model: who spoke
//! when in a conversation joined from the test corpus, with enrolled speakers named and the
//! others labelled, and the limits of the route.

mod common;

use common::{audio_form, clip, pcm_of, upload, wav_of, Api, TestServer};

fn diarize_path(group: &str) -> String {
    format!("/v1/audio/voiceprint_groups/{group}/speaker_diarize")
}

/// A spoken turn of the conversation: the voice and its span in seconds.
struct Turn {
    voice: &'static str,
    start: f64,
    end: f64,
}

/// A 16 kHz WAV of these turns (each the voice's utterances joined), with half a second of
/// silence after each, and where each turn lies.
fn conversation(turns: &[(&'static str, &[u32])]) -> (Vec<u8>, Vec<Turn>) {
    let mut samples: Vec<i16> = Vec::new();
    let mut truth = Vec::new();
    for (voice, utterances) in turns {
        let start = samples.len() as f64 / 16_000.0;
        for &n in *utterances {
            samples.extend(pcm_of(&clip(voice, n)));
        }
        truth.push(Turn { voice, start, end: samples.len() as f64 / 16_000.0 });
        samples.extend(std::iter::repeat_n(0, 8_000));
    }
    (wav_of(&samples, 16_000), truth)
}

/// Awb and ked in turn, then slt: awb and slt are enrolled, ked is not.
fn three_speakers() -> (Vec<u8>, Vec<Turn>) {
    conversation(&[
        ("flite-awb", &[2, 3, 4]),
        ("festival-ked", &[2, 3, 4]),
        ("flite-awb", &[5, 6]),
        ("festival-ked", &[5]),
        ("flite-slt", &[2, 3, 4]),
    ])
}

/// Seconds of `[start, end)` that segments with this label cover.
fn covered(segments: &[voxprint_api::Segment], label: &str, start: f64, end: f64) -> f64 {
    segments.iter().filter(|s| s.label == label).map(|s| (s.end.min(end) - s.start.max(start)).max(0.0)).sum()
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn a_conversation_is_split_by_speaker_and_enrolled_speakers_are_named() {
    let server = TestServer::start(&[]);
    let common::Cast { admin, mate, .. } = server.cast();
    let group = admin.create_group("meeting").await;
    let awb = admin.enroll(&group, "awb", clip("flite-awb", 1)).await;
    let slt = admin.enroll(&group, "slt", clip("flite-slt", 1)).await;
    let (audio, truth) = three_speakers();

    // A teammate may diarize in the group, as identify allows.
    let result = mate.client.diarize(&group, &upload(audio.clone()), None).await.unwrap();
    let segments = &result.segments;
    assert!(segments.windows(2).all(|pair| pair[0].end <= pair[1].start), "in order, no overlap");
    assert!(segments.iter().all(|s| s.start < s.end && s.end <= truth[4].end + 0.5));
    // ked is one unnamed speaker across both turns.
    let ked_label = segments
        .iter()
        .find(|s| s.start >= truth[1].start - 0.3 && s.end <= truth[1].end + 0.3)
        .map(|s| s.label.clone())
        .expect("a segment in ked's first turn");
    assert_eq!(ked_label, "speaker_1");
    for turn in &truth {
        let label = match turn.voice {
            "flite-awb" => "awb",
            "flite-slt" => "slt",
            _ => ked_label.as_str(),
        };
        let right = covered(segments, label, turn.start, turn.end) / (turn.end - turn.start);
        assert!(
            right >= 0.9,
            "{} from {:.2} to {:.2}: {right:.2} under {label}: {segments:?}",
            turn.voice,
            turn.start,
            turn.end
        );
    }
    for segment in segments {
        match segment.label.as_str() {
            "awb" | "slt" => {
                let id = if segment.label == "awb" { &awb } else { &slt };
                assert_eq!(segment.feature_id.map(|f| f.to_string()).as_ref(), Some(id));
                assert_eq!(segment.feature_name.as_deref(), Some(segment.label.as_str()));
                assert!(segment.score.unwrap() >= result.threshold);
            }
            _ => {
                assert!(segment.feature_id.is_none() && segment.feature_name.is_none(), "{segment:?}");
                assert!(segment.score.unwrap() < result.threshold);
            }
        }
    }
    let labels: Vec<&str> = result.speakers.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["awb", "speaker_1", "slt"], "in order of first appearance");
    let truth_seconds = |voice: &str| truth.iter().filter(|t| t.voice == voice).map(|t| t.end - t.start).sum::<f64>();
    for (speaker, voice) in result.speakers.iter().zip(["flite-awb", "festival-ked", "flite-slt"]) {
        assert!((speaker.speech_seconds - truth_seconds(voice)).abs() < 1.5, "{speaker:?} vs {}", truth_seconds(voice));
    }

    // max_speakers caps the speakers found.
    let capped = admin.client.diarize(&group, &upload(audio.clone()), Some(1)).await.unwrap();
    assert_eq!(capped.speakers.len(), 1, "{:?}", capped.speakers);

    // With nobody enrolled, everyone is labelled, the same way.
    let empty = admin.create_group("nobody").await;
    let unnamed = admin.client.diarize(&empty, &upload(audio), None).await.unwrap();
    let labels: Vec<&str> = unnamed.speakers.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["speaker_1", "speaker_2", "speaker_3"]);
    assert!(unnamed.segments.iter().all(|s| s.score.is_none() && s.feature_id.is_none()));
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn bad_input_limits_and_permissions_get_clear_codes() {
    // Uploads elsewhere are capped at 500 kB; diarization takes 1.5 MB and 30 s of audio.
    let server = TestServer::start(&[
        "--max-audio-bytes",
        "500000",
        "--diarize-max-bytes",
        "1500000",
        "--diarize-max-seconds",
        "30",
    ]);
    let common::Cast { admin, outsider, .. } = server.cast();
    let group = admin.create_group("meeting").await;
    let (long, _) = three_speakers(); // 35 s, 1.1 MB
    let (short, _) = conversation(&[("flite-awb", &[2, 3, 4]), ("festival-ked", &[2, 3, 4])]);
    assert!(short.len() > 500_000);

    let path = diarize_path(&group);
    let identify = format!("/v1/audio/voiceprint_groups/{group}/speaker_identify");
    admin.post_form(&identify, audio_form(short.clone(), &[])).await.err(4302, 413);
    admin.post_form(&path, audio_form(short.clone(), &[])).await.ok();
    let msg = admin.post_form(&path, audio_form(long, &[])).await.err(4304, 400).to_owned();
    assert!(msg.contains("longer than 30 seconds"), "{msg}");
    let huge = wav_of(&vec![0; 800_000], 16_000);
    admin.post_form(&path, audio_form(huge, &[])).await.err(4302, 413);

    for bad in ["0", "101", "two"] {
        let msg =
            admin.post_form(&path, audio_form(short.clone(), &[("max_speakers", bad)])).await.err(4000, 400).to_owned();
        assert!(msg.contains("max_speakers"), "{msg}");
    }
    let silence = wav_of(&vec![0; 160_000], 16_000);
    admin.post_form(&path, audio_form(silence, &[])).await.err(4304, 400);
    admin.post_form(&path, reqwest::multipart::Form::new().text("x", "y")).await.err(4300, 400);
    outsider.post_form(&path, audio_form(short.clone(), &[])).await.err(4200, 404);

    let (_, token) = server.new_user(&server.default_team(), "identifier", "identifyInVoiceprintGroup");
    let identifier = Api::new(&server, &token);
    let refused = identifier.post_form(&path, audio_form(short, &[])).await;
    assert!(refused.err(4101, 403).contains("diarizeVoiceprintGroup"));
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn diarizations_beyond_the_queue_are_refused_as_overload() {
    // One at a time and one waiting: of six sent at once, some must be turned away.
    let server = TestServer::start(&["--max-diarizations", "1"]);
    let common::Cast { admin, .. } = server.cast();
    let group = admin.create_group("meeting").await;
    let (audio, _) = three_speakers();
    let path = diarize_path(&group);
    let api = std::sync::Arc::new(admin);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (api, path, audio) = (api.clone(), path.clone(), audio.clone());
            tokio::spawn(async move { api.post_form(&path, audio_form(audio, &[])).await })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    let refused: Vec<_> = replies.iter().filter(|r| r.status == 503).collect();
    assert!(!refused.is_empty() && refused.len() <= 4, "{replies:?}");
    for reply in &refused {
        assert!(reply.err(4009, 503).contains("diarizing"));
    }
    assert!(replies.iter().filter(|r| r.status == 200).count() >= 2);
    // Once the queue is free, the next is served.
    api.post_form(&path, audio_form(audio, &[])).await.ok();
}
