//! Speaker identification accuracy on the checked-in TTS corpus (testdata/corpus), through the
//! HTTP API: enroll one utterance per voice, identify the others and the degraded variants,
//! and probe with voices that are not enrolled.
//!
//! Two groups rotate which voices are held out, so 6 of the 15 voices serve as impostors.

mod common;

use std::collections::BTreeMap;

use common::{testdata, Api, TestServer};
use serde_json::Value;

/// What the probes of one condition (clean, or a kind of degradation) gave.
#[derive(Default)]
struct Tally {
    /// The threshold the server reported (`data.threshold`).
    threshold: f64,
    genuine_top1: Vec<bool>,
    genuine_scores: Vec<f64>,
    impostor_scores: Vec<f64>,
}

impl Tally {
    fn top1(&self) -> f64 {
        rate(self.genuine_top1.iter().copied())
    }
    fn accepted(&self) -> f64 {
        rate(self.genuine_scores.iter().map(|s| *s >= self.threshold))
    }
    fn rejected(&self) -> f64 {
        rate(self.impostor_scores.iter().map(|s| *s < self.threshold))
    }
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn identification_meets_the_accuracy_targets() {
    let manifest: Value = serde_json::from_slice(&testdata("corpus/manifest.json")).unwrap();
    let voices: Vec<String> = manifest["voices"].as_object().unwrap().keys().cloned().collect();
    assert!(voices.len() >= 8, "the corpus needs at least 8 voices");
    let server = TestServer::start(&["--max-voiceprints-per-group", "20"]);
    let api = Api::new(&server, &server.admin_token);
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();

    let held_out_sets = [&voices[voices.len() - 3..], &voices[..3]];
    for (round, held_out) in held_out_sets.iter().enumerate() {
        let group = api.create_group(&format!("round {round}")).await;
        let mut enrolled = BTreeMap::new();
        for voice in voices.iter().filter(|v| !held_out.contains(v)) {
            let enroll = manifest["voices"][voice]["enroll"][0].as_str().unwrap();
            let id = api.enroll(&group, voice, testdata(&format!("corpus/{enroll}"))).await;
            enrolled.insert(id, voice.clone());
        }
        for voice in &voices {
            let mut probes: Vec<(String, String)> = manifest["voices"][voice]["probes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| ("clean".to_owned(), p.as_str().unwrap().to_owned()))
                .collect();
            probes.extend(manifest["degraded"].as_array().unwrap().iter().filter(|d| d["voice"] == voice.as_str()).map(
                |d| (d["kind"].as_str().unwrap().to_owned(), d["file"].as_str().unwrap().to_owned()),
            ));
            for (condition, probe) in probes {
                let data = api.identify_data(&group, testdata(&format!("corpus/{probe}")), &[]).await;
                let scores = data["feature_score_list"].as_array().unwrap();
                let best = &scores[0];
                let best_voice = &enrolled[best["feature_id"].as_str().unwrap()];
                let best_score = best["score"].as_f64().unwrap();
                let tally = tallies.entry(condition).or_default();
                tally.threshold = data["threshold"].as_f64().expect("threshold");
                if held_out.contains(voice) {
                    tally.impostor_scores.push(best_score);
                    eprintln!("impostor {probe}: best {best_voice} {best_score:.1}");
                } else {
                    let own = scores.iter().find(|s| enrolled[s["feature_id"].as_str().unwrap()] == *voice).unwrap();
                    let own_score = own["score"].as_f64().unwrap();
                    tally.genuine_top1.push(best_voice == voice);
                    tally.genuine_scores.push(own_score);
                    eprintln!("genuine {probe}: own {own_score:.1}, best {best_voice} {best_score:.1}");
                }
            }
        }
    }

    eprintln!("threshold {}", tallies["clean"].threshold);
    eprintln!("| probes | genuine | top-1 | false rejects | impostor | false accepts |");
    for (condition, tally) in &tallies {
        eprintln!(
            "| {condition} | {} | {:.1} % | {:.1} % | {} | {:.1} % |",
            tally.genuine_scores.len(),
            tally.top1() * 100.0,
            (1.0 - tally.accepted()) * 100.0,
            tally.impostor_scores.len(),
            (1.0 - tally.rejected()) * 100.0,
        );
    }
    // A regression guard, not the accuracy report: 7 of these 15 voices are development voices
    // the scoring was tuned on (scripts/bench-accuracy.sh reports on others, in 22 conditions).
    // Measured when the calibrated scoring landed: clean 100 % top-1, 4 % of same-voice probes
    // and 6 % of strangers' probes on the wrong side of the threshold; noisy (15 dB) and
    // 1.2–1.5 s probes all decided right; telephone-band probes 85 % top-1. Raw cosine rejected
    // every noisy probe and ranked 69 % of telephone probes first.
    let clean = &tallies["clean"];
    assert!(clean.top1() >= 0.95, "top-1 accuracy {}", clean.top1());
    assert!(clean.accepted() >= 0.93, "same-voice scores above the threshold: {}", clean.accepted());
    assert!(clean.rejected() >= 0.9, "not-enrolled voices below the threshold: {}", clean.rejected());
    for condition in ["noise15db", "short"] {
        let tally = &tallies[condition];
        assert!(tally.top1() >= 0.9, "{condition}: top-1 accuracy {}", tally.top1());
        assert!(tally.accepted() >= 0.9, "{condition}: same-voice scores above the threshold {}", tally.accepted());
        assert!(tally.rejected() >= 0.9, "{condition}: not-enrolled voices below the threshold {}", tally.rejected());
    }
    let telephone = tallies["telephone"].top1();
    assert!(telephone >= 0.8, "telephone: top-1 accuracy {telephone}");
}

fn rate(outcomes: impl Iterator<Item = bool>) -> f64 {
    let (hits, total) = outcomes.fold((0, 0), |(hits, total), hit| (hits + usize::from(hit), total + 1));
    hits as f64 / total.max(1) as f64
}
