//! The envelope and the `data` of each endpoint, as JSON carries them. Fields Voxprint adds to
//! Coze's objects are marked; the official SDKs ignore them.

use serde::{Deserialize, Serialize};

use crate::Id;

/// Every JSON answer: `code` 0 with `data` (absent for update and delete), or a failure's code
/// and `msg`; `detail.logid` is also sent as the `X-Tt-Logid` header.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub code: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(default)]
    pub detail: Detail,
    #[serde(default)]
    pub msg: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Detail {
    #[serde(default)]
    pub logid: String,
}

/// The body of group create and update: both fields are optional on update.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroupFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
}

/// The `data` of a group create.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Created {
    pub id: Id,
}

/// A page of a list: `total` counts every matching item, not the page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// The creator of a group or voiceprint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: Id,
    pub name: String,
    pub nickname: String,
    pub avatar_url: String,
}

/// A voiceprint group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub id: Id,
    pub name: String,
    pub desc: String,
    pub icon_url: String,
    pub user_info: UserInfo,
    pub created_at: i64,
    pub updated_at: i64,
    pub feature_count: i64,
}

/// A voiceprint ("feature" in Coze's paths).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Feature {
    pub id: Id,
    pub group_id: Id,
    pub name: String,
    pub desc: String,
    pub icon_url: String,
    /// A signed link to the enrolled recording, valid for a while without a token.
    pub audio_url: String,
    pub user_info: UserInfo,
    pub created_at: i64,
    pub updated_at: i64,
    /// Voxprint: how many recordings the voiceprint is made from (see [`Sample`]).
    pub sample_count: i64,
}

/// The `data` of an enrollment: Coze's `{id}`, and (Voxprint) the recording's quality.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enrolled {
    pub id: Id,
    pub quality: Quality,
}

/// Voxprint: how good a recording is for a voiceprint, with warnings about what could make it
/// fragile (too little speech, noise, narrow band, clipping).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    pub speech_seconds: f32,
    pub snr_db: f32,
    pub bandwidth_hz: f32,
    pub clipping: f32,
    pub warnings: Vec<String>,
}

/// The `data` of speaker_identify.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identification {
    /// Best first.
    pub feature_score_list: Vec<FeatureScore>,
    /// Voxprint: the decision threshold on `score`, present even when `top_k` cut the list or
    /// the group is empty.
    pub threshold: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureScore {
    pub feature_id: Id,
    pub feature_name: String,
    pub feature_desc: String,
    /// 0–100, higher is more alike; calibrated so that one threshold fits every condition.
    pub score: f64,
    /// Voxprint: `score >= threshold`, i.e. this could be the speaker.
    pub matched: bool,
}

/// Voxprint: the `data` of verify, "is this recording the voiceprint's speaker?", on the
/// same calibrated scale as speaker_identify.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verification {
    pub score: f64,
    pub threshold: f64,
    /// `score >= threshold`.
    pub matched: bool,
}

/// Voxprint: the `data` of compare, "are these two recordings the same speaker?", with each
/// recording's quality measures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    pub score: f64,
    pub threshold: f64,
    /// `score >= threshold`.
    pub matched: bool,
    /// Of `file`.
    pub quality: Quality,
    /// Of `file2`.
    pub quality2: Quality,
}

/// Voxprint: the `data` of speaker_diarize, who spoke when in a recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diarization {
    /// Stretches of speech by one speaker, in time order.
    pub segments: Vec<Segment>,
    /// One entry per speaker heard, in order of first appearance.
    pub speakers: Vec<SpeakerSummary>,
    /// The decision threshold a speaker's score was held against to name it.
    pub threshold: f64,
}

/// Voxprint: a stretch of speech by one speaker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Segment {
    /// Seconds from the start of the recording.
    pub start: f64,
    pub end: f64,
    /// The enrolled voiceprint the speaker matched, if any.
    pub feature_id: Option<Id>,
    pub feature_name: Option<String>,
    /// The voiceprint's name, or `speaker_1`, `speaker_2`, … for a speaker who matched none.
    pub label: String,
    /// The speaker's score against the named voiceprint, or against the nearest one when
    /// unnamed; `null` when the group has no voiceprints.
    pub score: Option<f64>,
}

/// Voxprint: a speaker of a diarized recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpeakerSummary {
    pub label: String,
    pub feature_id: Option<Id>,
    pub feature_name: Option<String>,
    /// Total length of the speaker's segments, seconds.
    pub speech_seconds: f64,
}

/// Voxprint: one of the recordings a voiceprint is made from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    pub id: Id,
    /// A signed link to the recording, valid for a while without a token.
    pub audio_url: String,
    /// `null` for recordings enrolled before Voxprint kept their measures.
    pub quality: Option<Quality>,
    pub created_at: i64,
}

/// The `data` of `GET /v1/users/me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Me {
    pub user_id: Id,
    pub user_name: String,
    pub nick_name: String,
    pub avatar_url: String,
}
