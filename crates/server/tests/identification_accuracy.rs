//! Speaker identification accuracy on the checked-in TTS corpus (testdata/corpus), through the
//! HTTP API: enroll one utterance per voice, identify the others and the degraded variants,
//! and probe with voices that are not enrolled.
//!
//! Two groups rotate which voices are held out, so 6 of the 15 voices serve as impostors.

mod common;

use std::collections::BTreeMap;

use common::{testdata, Api, TestServer};
use serde_json::Value;

/// The decision threshold on `score` that README.md recommends ("Identification" section);
/// keep the two in step.
const THRESHOLD: f64 = 50.0;

/// What the probes of one condition (clean, or a kind of degradation) gave.
#[derive(Default)]
struct Tally {
    genuine_top1: Vec<bool>,
    genuine_scores: Vec<f64>,
    impostor_scores: Vec<f64>,
}

impl Tally {
    fn top1(&self) -> f64 {
        rate(self.genuine_top1.iter().copied())
    }
    fn accepted(&self) -> f64 {
        rate(self.genuine_scores.iter().map(|s| *s >= THRESHOLD))
    }
    fn rejected(&self) -> f64 {
        rate(self.impostor_scores.iter().map(|s| *s < THRESHOLD))
    }
}

#[tokio::test]
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
                let scores = api.identify(&group, testdata(&format!("corpus/{probe}")), &[]).await;
                let best = &scores[0];
                let best_voice = &enrolled[best["feature_id"].as_str().unwrap()];
                let best_score = best["score"].as_f64().unwrap();
                let tally = tallies.entry(condition).or_default();
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

    eprintln!("threshold {THRESHOLD}");
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
    // The targets are for clean probes. Degraded ones are held to what the model measurably
    // does, as a guard against regressions: noisy and 1.2 s probes still find their speaker
    // first; telephone-band audio (300–3400 Hz, 8 kHz) is a known weakness of a model trained
    // on wideband speech — README.md says so.
    let clean = &tallies["clean"];
    assert!(clean.top1() >= 0.95, "top-1 accuracy {}", clean.top1());
    assert!(clean.accepted() >= 0.95, "same-voice scores above the threshold: {}", clean.accepted());
    assert!(clean.rejected() >= 0.99, "not-enrolled voices below the threshold: {}", clean.rejected());
    for (condition, floor) in [("noise15db", 0.9), ("short", 0.9), ("telephone", 0.6)] {
        let top1 = tallies[condition].top1();
        assert!(top1 >= floor, "{condition}: top-1 accuracy {top1}");
    }
}

fn rate(outcomes: impl Iterator<Item = bool>) -> f64 {
    let (hits, total) = outcomes.fold((0, 0), |(hits, total), hit| (hits + usize::from(hit), total + 1));
    hits as f64 / total.max(1) as f64
}
