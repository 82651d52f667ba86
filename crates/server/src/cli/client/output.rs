//! What the client prints: JSON for scripts, aligned tables for people.

use std::io::Write;

use serde::Serialize;

use voxprint_api::{
    Comparison, Diarization, Feature, FeatureScore, Group, Identification, Quality, Sample, UserInfo,
};

/// Prints `value` as pretty JSON on standard output.
pub fn json<T: Serialize + ?Sized>(value: &T) {
    let text = serde_json::to_string_pretty(value).expect("JSON of plain data");
    println!("{text}");
}

/// A table with a header row; columns are separated by two spaces and padded to the widest cell
/// (in characters; tabs and newlines inside cells become spaces).
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table { rows: vec![header.iter().map(|h| h.to_string()).collect()] }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(|c| c.replace(['\t', '\n', '\r'], " ")).collect());
    }

    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|i| self.rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', widths[i] - cell.chars().count() + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        let _ = std::io::stdout().write_all(self.render().as_bytes());
    }
}

/// At most `max` characters of `text`, with an ellipsis if cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM` (UTC).
pub fn time(unix: i64) -> String {
    let t = crate::clock::Utc::from_unix(unix);
    format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year, t.month, t.day, t.hour, t.minute)
}

fn creator(user: &UserInfo) -> String {
    if user.name.is_empty() {
        user.id.to_string()
    } else {
        user.name.clone()
    }
}

pub fn groups(groups: &[Group]) {
    let mut table = Table::new(&["ID", "NAME", "VOICEPRINTS", "CREATOR", "CREATED (UTC)", "DESC"]);
    for g in groups {
        table.row(vec![
            g.id.to_string(),
            g.name.clone(),
            g.feature_count.to_string(),
            creator(&g.user_info),
            time(g.created_at),
            clip(&g.desc, 40),
        ]);
    }
    table.print();
}

pub fn features(features: &[Feature]) {
    let mut table = Table::new(&["ID", "NAME", "SAMPLES", "CREATOR", "CREATED (UTC)", "UPDATED (UTC)", "DESC"]);
    for f in features {
        table.row(vec![
            f.id.to_string(),
            f.name.clone(),
            f.sample_count.to_string(),
            creator(&f.user_info),
            time(f.created_at),
            time(f.updated_at),
            clip(&f.desc, 40),
        ]);
    }
    table.print();
}

/// A voiceprint's recordings with their measures.
pub fn samples(samples: &[Sample]) {
    let mut table = Table::new(&["ID", "SPEECH (S)", "SNR (DB)", "CREATED (UTC)", "WARNINGS"]);
    for sample in samples {
        let (speech, snr, warnings) = match &sample.quality {
            Some(q) => (format!("{:.1}", q.speech_seconds), format!("{:.0}", q.snr_db), q.warnings.join("; ")),
            None => ("?".into(), "?".into(), String::new()),
        };
        table.row(vec![sample.id.to_string(), speech, snr, time(sample.created_at), warnings]);
    }
    table.print();
}

/// A verification's or comparison's one line: the score against the threshold, and the verdict.
pub fn decision(score: f64, threshold: f64, matched: bool) {
    if matched {
        println!("same speaker ({score:.2} ≥ threshold {threshold})");
    } else {
        println!("different speaker ({score:.2} < threshold {threshold})");
    }
}

/// A comparison: the decision, then each recording's measures and warnings.
pub fn comparison(result: &Comparison, file: &std::path::Path, file2: &std::path::Path) {
    decision(result.score, result.threshold, result.matched);
    for (path, quality) in [(file, &result.quality), (file2, &result.quality2)] {
        println!("{}: {}", path.display(), measures(quality));
        for warning in &quality.warnings {
            println!("  warning: {warning}");
        }
    }
}

fn measures(quality: &Quality) -> String {
    format!(
        "{:.1} s of speech, SNR {:.0} dB, up to {:.1} kHz",
        quality.speech_seconds,
        quality.snr_db,
        quality.bandwidth_hz / 1000.0
    )
}

/// A diarization: the segments in time order, then each speaker's total.
pub fn diarization(result: &Diarization) {
    let mut table = Table::new(&["START", "END", "SPEAKER", "FEATURE ID", "SCORE"]);
    for s in &result.segments {
        table.row(vec![
            format!("{:.2}", s.start),
            format!("{:.2}", s.end),
            s.label.clone(),
            s.feature_id.map(|id| id.to_string()).unwrap_or_default(),
            s.score.map(|score| format!("{score:.2}")).unwrap_or_default(),
        ]);
    }
    table.print();
    println!();
    let mut speakers = Table::new(&["SPEAKER", "FEATURE ID", "SPEECH (S)"]);
    for s in &result.speakers {
        let id = s.feature_id.map(|id| id.to_string()).unwrap_or_else(|| "(not enrolled)".into());
        speakers.row(vec![s.label.clone(), id, format!("{:.1}", s.speech_seconds)]);
    }
    speakers.print();
}

/// A diarization as RTTM, one `SPEAKER` line per segment; the recording is named after the
/// file (without extension), labels have their spaces replaced (RTTM fields are
/// space-separated).
pub fn rttm(result: &Diarization, file: &std::path::Path) {
    let name = file.file_stem().map(|s| s.to_string_lossy().replace(' ', "_")).unwrap_or_else(|| "recording".into());
    for s in &result.segments {
        let label = s.label.replace(char::is_whitespace, "_");
        println!("SPEAKER {name} 1 {:.3} {:.3} <NA> <NA> {label} <NA> <NA>", s.start, s.end - s.start);
    }
}

/// The scores, best first, then the server's verdict on the best one.
pub fn scores(result: &Identification) {
    let mut table = Table::new(&["RANK", "SCORE", "MATCHED", "FEATURE ID", "NAME", "DESC"]);
    for (rank, s) in result.feature_score_list.iter().enumerate() {
        table.row(vec![
            (rank + 1).to_string(),
            format!("{:.2}", s.score),
            if s.matched { "yes" } else { "no" }.to_owned(),
            s.feature_id.to_string(),
            s.feature_name.clone(),
            clip(&s.feature_desc, 40),
        ]);
    }
    table.print();
    if let Some(best) = result.feature_score_list.first() {
        println!("{}", verdict(best, result.threshold));
    }
}

/// One line on the best score: who matched, or that nobody did, with the threshold either way.
fn verdict(best: &FeatureScore, threshold: f64) -> String {
    if best.matched {
        format!("best match: {} ({:.2} ≥ threshold {threshold})", best.feature_name, best.score)
    } else {
        format!("no enrolled speaker matched (best {:.2} < threshold {threshold})", best.score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_by_characters() {
        let mut table = Table::new(&["ID", "NAME", "X"]);
        table.row(vec!["1".into(), "Zoë\tA".into(), "y".into()]);
        table.row(vec!["12345".into(), "b".into(), "".into()]);
        assert_eq!(table.render(), "ID     NAME   X\n1      Zoë A  y\n12345  b\n");
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(time(0), "1970-01-01 00:00");
        assert_eq!(time(951_827_696), "2000-02-29 12:34");
        assert_eq!(time(1_735_689_599), "2024-12-31 23:59");
    }

    #[test]
    fn the_verdict_follows_matched_and_names_the_threshold() {
        let mut best = FeatureScore {
            feature_id: voxprint_api::Id(1),
            feature_name: "Alice".into(),
            feature_desc: String::new(),
            score: 87.4,
            matched: true,
        };
        assert_eq!(verdict(&best, 79.0), "best match: Alice (87.40 ≥ threshold 79)");
        best.score = 61.25;
        best.matched = false;
        assert_eq!(verdict(&best, 62.5), "no enrolled speaker matched (best 61.25 < threshold 62.5)");
    }

    #[test]
    fn long_text_is_clipped() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
