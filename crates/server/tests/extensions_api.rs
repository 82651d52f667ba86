//! Voxprint's own endpoints through HTTP against the real binary, with the real speaker model:
//! verify one voiceprint, compare two recordings, and voiceprints made from several recordings
//! (samples). Typed calls go through the shared client (`voxprint_api::Client`); raw requests
//! where a test inspects the wire.

mod common;

use common::{audio_form, blob_count, clip, features_path, pcm_of, upload, Api, TestServer};
use reqwest::multipart::{Form, Part};

fn verify_path(group: &str, feature: &str) -> String {
    format!("{}/{feature}/verify", features_path(group))
}

fn samples_path(group: &str, feature: &str) -> String {
    format!("{}/{feature}/samples", features_path(group))
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn verify_decides_for_one_voiceprint_on_the_identification_scale() {
    let server = TestServer::start(&[]);
    let common::Cast { admin, mate, outsider, .. } = server.cast();
    let group = admin.create_group("door").await;
    let awb = admin.enroll(&group, "awb", clip("flite-awb", 1)).await;
    let slt = admin.enroll(&group, "slt", clip("flite-slt", 1)).await;

    let same = admin.client.verify(&group, &awb, &upload(clip("flite-awb", 3))).await.unwrap();
    assert!(same.matched && same.score >= same.threshold, "{same:?}");
    assert_eq!(same.threshold, 50.0);
    let other = admin.client.verify(&group, &awb, &upload(clip("flite-slt", 3))).await.unwrap();
    assert!(!other.matched && other.score < other.threshold, "{other:?}");
    // The same number speaker_identify gives the voiceprint for the same recording.
    let ranked = admin.identify(&group, clip("flite-slt", 3), None).await;
    let of = |id: &str| ranked.iter().find(|s| s.feature_id.to_string() == id).unwrap().score;
    assert_eq!(other.score, of(&awb));
    let slt_verified = admin.client.verify(&group, &slt, &upload(clip("flite-slt", 3))).await.unwrap();
    assert_eq!(slt_verified.score, of(&slt));

    // A teammate may verify (not only the creator); a recording without speech is 4304.
    assert!(mate.client.verify(&group, &awb, &upload(clip("flite-awb", 3))).await.unwrap().matched);
    let silence = common::wav_of(&vec![0; 32_000], 16_000);
    admin.post_form(&verify_path(&group, &awb), audio_form(silence, &[])).await.err(4304, 400);
    admin.post_form(&verify_path(&group, &awb), Form::new().text("x", "y")).await.err(4300, 400);

    // Another team's voiceprint is answered exactly as a missing one; so is a voiceprint of
    // another group of the team.
    let foreign = outsider.post_form(&verify_path(&group, &awb), audio_form(clip("flite-awb", 3), &[])).await;
    let missing = outsider.post_form(&verify_path(&group, "1"), audio_form(clip("flite-awb", 3), &[])).await;
    assert_eq!(foreign.err(4200, 404), missing.err(4200, 404));
    let other_group = admin.create_group("other").await;
    let msg = admin.post_form(&verify_path(&other_group, &awb), audio_form(clip("flite-awb", 3), &[])).await;
    assert!(msg.err(4200, 404).contains(&format!("voiceprint {awb} not found")));

    // Its own permission: identification's is not enough.
    let (_, token) = server.new_user(&server.default_team(), "identifier", "identifyInVoiceprintGroup");
    let identifier = Api::new(&server, &token);
    let refused = identifier.post_form(&verify_path(&group, &awb), audio_form(clip("flite-awb", 3), &[])).await;
    assert!(refused.err(4101, 403).contains("verifyVoiceprint"));
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn compare_decides_for_two_recordings_and_stores_nothing() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let same = api.client.compare(&upload(clip("flite-awb", 1)), &upload(clip("flite-awb", 4))).await.unwrap();
    assert!(same.matched, "{same:?}");
    assert!(same.quality.speech_seconds > 1.0 && same.quality2.speech_seconds > 1.0, "{same:?}");
    let different = api.client.compare(&upload(clip("flite-awb", 1)), &upload(clip("festival-ked", 4))).await.unwrap();
    assert!(!different.matched && different.score < same.score, "{different:?}");
    assert_eq!(different.threshold, same.threshold);

    // The second file as raw PCM with its own rate; the first stays WAV.
    let pcm: Vec<u8> = pcm_of(&clip("flite-awb", 4)).iter().flat_map(|s| s.to_le_bytes()).collect();
    let form = audio_form(clip("flite-awb", 1), &[("sample_rate2", "16000")])
        .part("file2", Part::bytes(pcm).file_name("clip.pcm"));
    let data = api.post_form("/v1/audio/voiceprints/compare", form).await.ok().clone();
    assert_eq!(data["matched"], true, "{data}");
    assert!(data["quality2"]["warnings"].is_array());

    // Both files are required, each at most one; nothing is stored.
    let only_one = api.post_form("/v1/audio/voiceprints/compare", audio_form(clip("flite-awb", 1), &[])).await;
    assert!(only_one.err(4300, 400).contains("file2"));
    let twice = audio_form(clip("flite-awb", 1), &[])
        .part("file2", Part::bytes(clip("flite-awb", 2)).file_name("a.wav"))
        .part("file2", Part::bytes(clip("flite-awb", 3)).file_name("b.wav"));
    api.post_form("/v1/audio/voiceprints/compare", twice).await.err(4301, 400);
    let silence = common::wav_of(&vec![0; 32_000], 16_000);
    let form = audio_form(clip("flite-awb", 1), &[]).part("file2", Part::bytes(silence).file_name("s.wav"));
    let no_speech = api.post_form("/v1/audio/voiceprints/compare", form).await;
    assert!(no_speech.err(4304, 400).starts_with("file2: no speech"), "{:?}", no_speech.body);
    assert_eq!(blob_count(&server), 0);
    assert_eq!(api.list_groups("").await.ok()["total"], 0);

    let (_, token) = server.new_user(&server.default_team(), "verifier", "verifyVoiceprint");
    let form =
        audio_form(clip("flite-awb", 1), &[]).part("file2", Part::bytes(clip("flite-awb", 2)).file_name("b.wav"));
    let refused = Api::new(&server, &token).post_form("/v1/audio/voiceprints/compare", form).await;
    assert!(refused.err(4101, 403).contains("compareVoiceprints"));
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn samples_are_added_listed_scored_together_and_removed() {
    let server = TestServer::start(&[]);
    let common::Cast { admin, mate, outsider, .. } = server.cast();
    let group = admin.create_group("home").await;
    let first = clip("flite-awb", 1);
    let awb = admin.enroll(&group, "awb", first.clone()).await;
    let slt = admin.enroll(&group, "slt", clip("flite-slt", 1)).await;
    let probe = clip("flite-awb", 5);
    let one_sample = admin.client.verify(&group, &awb, &upload(probe.clone())).await.unwrap().score;

    let second = clip("flite-awb", 2);
    let added = admin.client.add_sample(&group, &awb, &upload(second.clone())).await.unwrap();
    assert!(added.quality.speech_seconds > 1.0);
    let third = admin.client.add_sample(&group, &awb, &upload(clip("flite-awb", 3))).await.unwrap();
    let samples = admin.client.list_samples(&group, &awb).await.unwrap();
    let ids: Vec<String> = samples.iter().map(|s| s.id.to_string()).collect();
    assert_eq!(ids, [awb.clone(), added.id.to_string(), third.id.to_string()], "oldest first, the enrollment first");
    assert!(samples.iter().all(|s| s.quality.is_some()));
    let download = reqwest::get(&samples[1].audio_url).await.unwrap();
    assert_eq!(download.bytes().await.unwrap().as_ref(), second.as_slice(), "each sample's own bytes");
    let features = admin.client.list_features(&group).await.unwrap();
    let count = |id: &str| features.iter().find(|f| f.id.to_string() == id).unwrap().sample_count;
    assert_eq!((count(&awb), count(&slt)), (3, 1));
    assert_eq!(blob_count(&server), 4);

    // Scored from all three: the probe still finds its speaker, and the score moved.
    let three_samples = admin.client.verify(&group, &awb, &upload(probe.clone())).await.unwrap();
    assert!(three_samples.matched);
    assert_ne!(three_samples.score, one_sample, "the added samples take part in the score");
    let ranked = admin.identify(&group, probe.clone(), None).await;
    assert_eq!(ranked[0].feature_id.to_string(), awb);
    assert_eq!(ranked[0].score, three_samples.score);

    // Only the creator changes samples; the team may list them; other teams see nothing.
    let path = samples_path(&group, &awb);
    assert!(mate.post_form(&path, audio_form(clip("flite-awb", 4), &[])).await.err(4101, 403).contains("creator"));
    mate.delete(&format!("{path}/{}", added.id)).await.err(4101, 403);
    assert_eq!(mate.get(&path).await.ok()["total"], 3);
    let foreign = outsider.get(&path).await;
    let missing = outsider.get(&samples_path(&group, "1")).await;
    assert_eq!(foreign.err(4200, 404), missing.err(4200, 404));
    admin.delete(&format!("{path}/1")).await.err(4200, 404);
    admin.delete(&format!("{}/{}", samples_path(&group, &slt), added.id)).await.err(4200, 404);
    // A recording too poor to enroll is too poor to add.
    let silence = common::wav_of(&vec![0; 32_000], 16_000);
    admin.post_form(&path, audio_form(silence, &[])).await.err(4304, 400);

    // Removing the enrollment recording: the oldest remaining sample takes its place.
    admin.client.delete_sample(&group, &awb, &awb).await.unwrap();
    let features = admin.client.list_features(&group).await.unwrap();
    let awb_item = features.iter().find(|f| f.id.to_string() == awb).unwrap();
    assert_eq!(awb_item.sample_count, 2);
    let served = reqwest::get(&awb_item.audio_url).await.unwrap().bytes().await.unwrap();
    assert_eq!(served.as_ref(), second.as_slice());
    let ids: Vec<String> =
        admin.client.list_samples(&group, &awb).await.unwrap().iter().map(|s| s.id.to_string()).collect();
    assert_eq!(ids, [added.id.to_string(), third.id.to_string()], "sample IDs stay what they were");
    admin.client.delete_sample(&group, &awb, &third.id.to_string()).await.unwrap();
    let last = admin.delete(&format!("{path}/{}", added.id)).await;
    assert!(last.err(4000, 400).contains("at least one sample"));
    assert_eq!(blob_count(&server), 2, "removed samples take their audio along");

    // Coze's update with a file makes the voiceprint again from that one recording.
    admin.client.add_sample(&group, &awb, &upload(clip("flite-awb", 3))).await.unwrap();
    admin.put_form(&format!("{}/{awb}", features_path(&group)), audio_form(clip("flite-awb", 4), &[])).await.ok();
    let samples = admin.client.list_samples(&group, &awb).await.unwrap();
    assert_eq!(samples.len(), 1);
    assert_ne!(samples[0].id.to_string(), added.id.to_string(), "a replaced recording is a new sample");
    assert_eq!(blob_count(&server), 2);

    admin.client.add_sample(&group, &awb, &upload(clip("flite-awb", 5))).await.unwrap();
    admin.delete(&format!("/v1/audio/voiceprint_groups/{group}")).await.ok();
    assert_eq!(blob_count(&server), 0, "deleting a group deletes every sample's audio");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn sample_limits_count_recordings_and_seconds_of_speech() {
    let server = TestServer::start(&["--max-samples-per-voiceprint", "2"]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("limits").await;
    let id = api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    api.client.add_sample(&group, &id, &upload(clip("flite-awb", 2))).await.unwrap();
    let over = api.post_form(&samples_path(&group, &id), audio_form(clip("flite-awb", 3), &[])).await;
    assert!(over.err(4000, 400).contains("at most 2 recordings"), "{:?}", over.body);
    assert_eq!(blob_count(&server), 2, "a refused sample leaves no audio behind");
    drop(server);

    let server = TestServer::start(&["--max-sample-seconds-per-voiceprint", "2.5"]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("limits").await;
    let id = api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    let over = api.post_form(&samples_path(&group, &id), audio_form(clip("flite-awb", 2), &[])).await;
    assert!(over.err(4000, 400).contains("s of speech"), "{:?}", over.body);
}
