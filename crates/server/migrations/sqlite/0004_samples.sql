-- Voiceprints from several recordings, and two new permissions.

-- Verification and comparison need permissions of their own. A token that held every permission
-- (such as the first admin token) keeps holding every permission; any other keeps its list.
UPDATE tokens SET permissions = permissions || ',verifyVoiceprint,compareVoiceprints'
WHERE permissions = 'createVoiceprintGroup,listVoiceprintGroup,updateVoiceprintGroup,deleteVoiceprintGroup,createVoiceprintFeature,updateVoiceprintFeature,listVoiceprintFeature,deleteVoiceprintFeature,identifyInVoiceprintGroup';

-- A voiceprint's row keeps its primary recording (the one Coze's update replaces, served as its
-- `audio_url`), now also with that recording's sample ID, upload time, milliseconds of speech
-- and quality measures (JSON). Rows from before this migration get the voiceprint's own ID as
-- sample ID, 0 ms and '' (unknown) quality.
ALTER TABLE voiceprints ADD COLUMN primary_sample_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE voiceprints ADD COLUMN sample_created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE voiceprints ADD COLUMN speech_millis INTEGER NOT NULL DEFAULT 0;
ALTER TABLE voiceprints ADD COLUMN quality TEXT NOT NULL DEFAULT '';
UPDATE voiceprints SET primary_sample_id = id, sample_created_at = updated_at;

-- The voiceprint's further recordings, with the same data per recording as the primary. The
-- voiceprint is scored from all of them together (see speaker/scoring.rs).
CREATE TABLE voiceprint_samples (
    id                  INTEGER PRIMARY KEY,
    voiceprint_id       INTEGER NOT NULL REFERENCES voiceprints(id) ON DELETE CASCADE,
    audio_key           TEXT NOT NULL,
    audio_content_type  TEXT NOT NULL,
    audio_sha256        BLOB NOT NULL,
    embedding           BLOB NOT NULL,
    conditions          BLOB NOT NULL,
    scoring_version     INTEGER NOT NULL,
    speech_millis       INTEGER NOT NULL,
    quality             TEXT NOT NULL,
    created_at          INTEGER NOT NULL
);
CREATE INDEX samples_by_voiceprint ON voiceprint_samples(voiceprint_id, created_at, id);
CREATE INDEX samples_by_scoring_version ON voiceprint_samples(scoring_version);
