//! Who spoke when in a recording, with the group's voiceprints as names: the speakers found by
//! `speaker/diarization.rs` are scored like a speaker_identify probe (each speaker's embedding
//! is the mean of its windows', as an utterance's is), and one that reaches the threshold takes
//! the voiceprint's name. Two speakers that name the same voiceprint are one person.

use voxprint_api::{Diarization, Segment, SpeakerSummary};
use voxprint_engine::constants::SAMPLE_RATE;

use super::voiceprints::Upload;
use super::{Actor, Voxprint};
use crate::domain::Id;
use crate::error::ApiError;
use crate::speaker::diarization;

/// What a speaker of the recording is called in the answer.
#[derive(Clone)]
struct Naming {
    label: String,
    feature_id: Option<Id>,
    feature_name: Option<String>,
    score: Option<f64>,
}

impl Voxprint {
    /// The recording's segments and speakers; `max_speakers` caps the number of speakers.
    pub async fn diarize(
        &self,
        actor: Actor,
        group_id: Id,
        upload: Upload,
        max_speakers: Option<usize>,
    ) -> Result<Diarization, ApiError> {
        self.visible_group(actor, group_id).await?;
        let _slot = self.diarizations.enter().await.ok_or_else(|| {
            ApiError::Overloaded("the server is busy diarizing other recordings; retry in a moment".into())
        })?;
        let started = std::time::Instant::now();
        let settings = self.settings.diarization;
        let diarized =
            diarization::diarize(&self.embedder, upload.bytes, upload.raw, settings, max_speakers).await?;
        let group = self.speakers.group(&self.store, group_id.0).await?;
        let threshold = self.settings.match_threshold;

        let mut names: Vec<Naming> = diarized
            .speakers
            .iter()
            .map(|speaker| {
                let best = group.rank(&speaker.0).into_iter().next();
                let score = best.as_ref().map(|found| found.score);
                match best.filter(|found| found.score >= threshold) {
                    Some(found) => Naming {
                        label: found.voiceprint.name.clone(),
                        feature_id: Some(Id(found.voiceprint.id)),
                        feature_name: Some(found.voiceprint.name.clone()),
                        score,
                    },
                    None => Naming { label: String::new(), feature_id: None, feature_name: None, score },
                }
            })
            .collect();
        label_unnamed(&mut names);

        let seconds = |samples: usize| (samples as f64 / f64::from(SAMPLE_RATE) * 1000.0).round() / 1000.0;
        let mut segments: Vec<Segment> = Vec::new();
        for turn in &diarized.turns {
            let name = &names[turn.speaker];
            match segments.last_mut() {
                // Two speakers named after one voiceprint: one person, one segment.
                Some(last) if last.label == name.label && last.end == seconds(turn.start) => last.end = seconds(turn.end),
                _ => segments.push(Segment {
                    start: seconds(turn.start),
                    end: seconds(turn.end),
                    feature_id: name.feature_id,
                    feature_name: name.feature_name.clone(),
                    label: name.label.clone(),
                    score: name.score,
                }),
            }
        }
        let mut speakers: Vec<SpeakerSummary> = Vec::new();
        for segment in &segments {
            let length = segment.end - segment.start;
            match speakers.iter_mut().find(|speaker| speaker.label == segment.label) {
                Some(speaker) => speaker.speech_seconds += length,
                None => speakers.push(SpeakerSummary {
                    label: segment.label.clone(),
                    feature_id: segment.feature_id,
                    feature_name: segment.feature_name.clone(),
                    speech_seconds: length,
                }),
            }
        }
        for speaker in &mut speakers {
            speaker.speech_seconds = (speaker.speech_seconds * 1000.0).round() / 1000.0;
        }
        self.metrics.diarizations.inc();
        self.metrics.diarization_seconds.observe(started.elapsed().as_secs_f64());
        self.metrics.audio_seconds.inc_by(f64::from(diarized.audio_seconds));
        Ok(Diarization { segments, speakers, threshold })
    }
}

/// Labels the speakers who matched no voiceprint `speaker_1`, `speaker_2`, … in order of first
/// appearance (the speakers come in that order), skipping labels a voiceprint's name took.
fn label_unnamed(names: &mut [Naming]) {
    let taken: Vec<String> = names.iter().filter(|n| n.feature_id.is_some()).map(|n| n.label.clone()).collect();
    let mut next = 1;
    for name in names.iter_mut().filter(|n| n.feature_id.is_none()) {
        while taken.contains(&format!("speaker_{next}")) {
            next += 1;
        }
        name.label = format!("speaker_{next}");
        next += 1;
    }
}
