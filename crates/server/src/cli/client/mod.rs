//! `voxprint client`: the voiceprint API from the command line, against any running server.
//!
//! Output is a table for people or, with `--json`, the API's `data` (lists: the array of all
//! items, every page fetched). An API error is printed to stderr as
//! `error <code>: <msg> (logid <logid>)` and the exit status is 1.

mod output;
mod stream;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;

use voxprint_api::limits::MAX_PAGE_SIZE;
use voxprint_api::{Audio, Client, Created, Error};

#[derive(Args, Debug)]
pub struct ClientArgs {
    /// Base URL of the Voxprint server.
    #[arg(long, env = "VOXPRINT_URL", default_value = "http://127.0.0.1:8080", global = true)]
    url: String,
    /// API token (`pat_…`), e.g. the one in `voxprint-data/admin-token`.
    #[arg(long, env = "VOXPRINT_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Machine-readable output: the API's `data` as JSON (lists: the array of all items).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Subcommand, Debug)]
enum ClientCommand {
    /// Voiceprint groups.
    Groups {
        #[command(subcommand)]
        command: GroupsCommand,
    },
    /// Voiceprints (features) of a group.
    Features {
        #[command(subcommand)]
        command: FeaturesCommand,
    },
    /// Who in the group is speaking in FILE? Prints the voiceprints' scores, best first, whether
    /// each reaches the server's threshold, and the verdict on the best one.
    Identify {
        #[arg(long)]
        group: String,
        file: PathBuf,
        /// Keep only the best K scores.
        #[arg(long)]
        top_k: Option<u32>,
        #[command(flatten)]
        pcm: PcmArgs,
    },
    /// Is the speaker of FILE the voiceprint's? Prints the score, the server's threshold and the
    /// verdict; exits 0 whatever the verdict (scripts read `--json`'s `matched`).
    Verify {
        #[arg(long)]
        group: String,
        feature_id: String,
        file: PathBuf,
        #[command(flatten)]
        pcm: PcmArgs,
    },
    /// Are FILE and FILE2 the same speaker? Nothing is stored. Prints the score, the verdict and
    /// each recording's quality.
    Compare {
        file: PathBuf,
        file2: PathBuf,
        /// Raw PCM parameters of both files (FILE2's may differ: --sample-rate2, --channel2).
        #[command(flatten)]
        pcm: PcmArgs,
        /// Sample rate of FILE2 if it is raw PCM with another rate.
        #[arg(long)]
        sample_rate2: Option<u32>,
        /// Channel count of FILE2 if it is raw PCM with another count.
        #[arg(long)]
        channel2: Option<u16>,
    },
    /// Who spoke when in FILE (a meeting, a call): its segments by speaker, named after the
    /// group's voiceprints where they match, then each speaker's total. `--rttm` prints the
    /// segments as RTTM lines instead (the file format of diarization scoring tools).
    Diarize {
        #[arg(long)]
        group: String,
        file: PathBuf,
        /// Find at most this many speakers.
        #[arg(long)]
        max_speakers: Option<u32>,
        /// RTTM output: `SPEAKER <file> 1 <start> <duration> <NA> <NA> <label> <NA> <NA>`.
        #[arg(long, conflicts_with = "json")]
        rttm: bool,
        #[command(flatten)]
        pcm: PcmArgs,
    },
    /// Who is speaking now: streams FILE (any supported format), or raw 16-bit PCM from
    /// standard input with `-`, to the group's live stream at real-time pace and prints the
    /// events (speech starts and ends, who is speaking about every half second).
    Stream {
        #[arg(long)]
        group: String,
        /// A recording, or `-` for raw 16-bit little-endian PCM on standard input.
        source: PathBuf,
        /// Format of the PCM on standard input (with `-`).
        #[arg(long, default_value_t = 16000)]
        sample_rate: u32,
        #[arg(long, default_value_t = 1)]
        channel: u16,
    },
    /// The recordings a voiceprint is made from.
    Samples {
        #[command(subcommand)]
        command: SamplesCommand,
    },
    /// Enroll one voiceprint per file of DIR (not recursive, by file name order; hidden files
    /// skipped), named after the file without its extension (cut to 20 characters).
    /// Exits non-zero if any file failed.
    EnrollDir {
        dir: PathBuf,
        #[arg(long)]
        group: String,
        /// Description given to every voiceprint.
        #[arg(long)]
        desc: Option<String>,
        #[command(flatten)]
        pcm: PcmArgs,
    },
}

#[derive(Subcommand, Debug)]
enum GroupsCommand {
    /// List every group of your team (all pages).
    List {
        /// Only groups whose name starts with this text.
        #[arg(long)]
        name: Option<String>,
        /// Only the groups you created.
        #[arg(long)]
        mine: bool,
        /// Groups fetched per request.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=MAX_PAGE_SIZE))]
        page_size: u32,
    },
    /// Create a group; prints its ID.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        desc: Option<String>,
    },
    /// Rename a group or change its description.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        desc: Option<String>,
    },
    /// Delete a group and all its voiceprints.
    Delete { id: String },
}

#[derive(Subcommand, Debug)]
enum FeaturesCommand {
    /// List the voiceprints of a group.
    List {
        #[arg(long)]
        group: String,
    },
    /// Enroll a voiceprint from a recording; prints its ID.
    Create {
        #[arg(long)]
        group: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        desc: Option<String>,
        file: PathBuf,
        #[command(flatten)]
        pcm: PcmArgs,
    },
    /// Change a voiceprint's name or description, or replace its recording.
    Update {
        #[arg(long)]
        group: String,
        feature_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        desc: Option<String>,
        /// A new recording (replaces audio and embedding).
        #[arg(long)]
        file: Option<PathBuf>,
        #[command(flatten)]
        pcm: PcmArgs,
    },
    /// Delete a voiceprint.
    Delete {
        #[arg(long)]
        group: String,
        feature_id: String,
    },
}

#[derive(Subcommand, Debug)]
enum SamplesCommand {
    /// List a voiceprint's recordings, oldest first.
    List {
        #[arg(long)]
        group: String,
        feature_id: String,
    },
    /// Add a recording to a voiceprint; prints the sample's ID.
    Add {
        #[arg(long)]
        group: String,
        feature_id: String,
        file: PathBuf,
        #[command(flatten)]
        pcm: PcmArgs,
    },
    /// Remove a recording from a voiceprint (the last one stays).
    Delete {
        #[arg(long)]
        group: String,
        feature_id: String,
        sample_id: String,
    },
}

/// Parameters of raw 16-bit PCM uploads (other formats carry their own).
#[derive(Args, Debug, Clone, Copy)]
struct PcmArgs {
    /// Sample rate of a raw PCM file (server default 16000).
    #[arg(long)]
    sample_rate: Option<u32>,
    /// Channel count of a raw PCM file (server default 1).
    #[arg(long)]
    channel: Option<u16>,
}

/// Runs the client command; errors are printed here, so the caller only returns the status.
pub async fn run(args: ClientArgs) -> ExitCode {
    match execute(args).await {
        Ok(status) => status,
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(args: ClientArgs) -> Result<ExitCode, Error> {
    let token = args.token.as_deref().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        Error::Local("no API token: pass --token or set VOXPRINT_TOKEN (e.g. from voxprint-data/admin-token)".into())
    })?;
    let client = Client::new(&args.url, token.trim())?;
    let json = args.json;
    match args.command {
        ClientCommand::Groups { command } => groups(&client, json, command).await?,
        ClientCommand::Features { command } => features(&client, json, command).await?,
        ClientCommand::Identify { group, file, top_k, pcm } => {
            let audio = Audio::read(&file, pcm.sample_rate, pcm.channel)?;
            let result = client.identify(&group, &audio, top_k).await?;
            if json {
                output::json(&result);
            } else if result.feature_score_list.is_empty() {
                println!("no voiceprints in group {group}");
            } else {
                output::scores(&result);
            }
        }
        ClientCommand::Verify { group, feature_id, file, pcm } => {
            let audio = Audio::read(&file, pcm.sample_rate, pcm.channel)?;
            let result = client.verify(&group, &feature_id, &audio).await?;
            show(json, &result, |result| output::decision(result.score, result.threshold, result.matched));
        }
        ClientCommand::Compare { file, file2, pcm, sample_rate2, channel2 } => {
            let audio = Audio::read(&file, pcm.sample_rate, pcm.channel)?;
            let audio2 = Audio::read(&file2, sample_rate2.or(pcm.sample_rate), channel2.or(pcm.channel))?;
            let result = client.compare(&audio, &audio2).await?;
            show(json, &result, |result| output::comparison(result, &file, &file2));
        }
        ClientCommand::Diarize { group, file, max_speakers, rttm, pcm } => {
            let audio = Audio::read(&file, pcm.sample_rate, pcm.channel)?;
            let result = client.diarize(&group, &audio, max_speakers).await?;
            if rttm {
                output::rttm(&result, &file);
            } else {
                show(json, &result, output::diarization);
            }
        }
        ClientCommand::Stream { group, source, sample_rate, channel } => {
            let source = if source.as_os_str() == "-" {
                stream::Source::Stdin { sample_rate, channels: channel }
            } else {
                stream::Source::File(&source)
            };
            return stream::stream(&args.url, token.trim(), &group, source, json).await;
        }
        ClientCommand::Samples { command } => samples(&client, json, command).await?,
        ClientCommand::EnrollDir { dir, group, desc, pcm } => {
            return enroll_dir(&client, json, &dir, &group, desc.as_deref(), pcm).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn groups(client: &Client, json: bool, command: GroupsCommand) -> Result<(), Error> {
    match command {
        GroupsCommand::List { name, mine, page_size } => {
            let me = if mine { Some(client.me().await?.user_id.to_string()) } else { None };
            let groups = client.list_groups(name.as_deref(), me.as_deref(), i64::from(page_size)).await?;
            show(json, &groups, |groups| output::groups(groups));
        }
        GroupsCommand::Create { name, desc } => {
            let created = client.create_group(&name, desc.as_deref()).await?;
            print_created(json, &created);
        }
        GroupsCommand::Update { id, name, desc } => {
            if name.is_none() && desc.is_none() {
                return Err(Error::Local("nothing to update: give --name and/or --desc".into()));
            }
            client.update_group(&id, name.as_deref(), desc.as_deref()).await?;
            print_done(json, &format!("updated group {id}"));
        }
        GroupsCommand::Delete { id } => {
            client.delete_group(&id).await?;
            print_done(json, &format!("deleted group {id}"));
        }
    }
    Ok(())
}

async fn features(client: &Client, json: bool, command: FeaturesCommand) -> Result<(), Error> {
    match command {
        FeaturesCommand::List { group } => {
            let features = client.list_features(&group).await?;
            show(json, &features, |features| output::features(features));
        }
        FeaturesCommand::Create { group, name, desc, file, pcm } => {
            let audio = Audio::read(&file, pcm.sample_rate, pcm.channel)?;
            let enrolled = client.create_feature(&group, &name, desc.as_deref(), &audio).await?;
            print_created(json, &Created { id: enrolled.id });
        }
        FeaturesCommand::Update { group, feature_id, name, desc, file, pcm } => {
            if name.is_none() && desc.is_none() && file.is_none() {
                return Err(Error::Local("nothing to update: give --name, --desc and/or --file".into()));
            }
            let audio = file.map(|f| Audio::read(&f, pcm.sample_rate, pcm.channel)).transpose()?;
            client.update_feature(&group, &feature_id, name.as_deref(), desc.as_deref(), audio.as_ref()).await?;
            print_done(json, &format!("updated voiceprint {feature_id}"));
        }
        FeaturesCommand::Delete { group, feature_id } => {
            client.delete_feature(&group, &feature_id).await?;
            print_done(json, &format!("deleted voiceprint {feature_id}"));
        }
    }
    Ok(())
}

async fn samples(client: &Client, json: bool, command: SamplesCommand) -> Result<(), Error> {
    match command {
        SamplesCommand::List { group, feature_id } => {
            let samples = client.list_samples(&group, &feature_id).await?;
            show(json, &samples, |samples| output::samples(samples));
        }
        SamplesCommand::Add { group, feature_id, file, pcm } => {
            let audio = Audio::read(&file, pcm.sample_rate, pcm.channel)?;
            let added = client.add_sample(&group, &feature_id, &audio).await?;
            show(json, &added, |added| {
                println!("{}", added.id);
                for warning in &added.quality.warnings {
                    eprintln!("warning: {warning}");
                }
            });
        }
        SamplesCommand::Delete { group, feature_id, sample_id } => {
            client.delete_sample(&group, &feature_id, &sample_id).await?;
            print_done(json, &format!("deleted sample {sample_id} of voiceprint {feature_id}"));
        }
    }
    Ok(())
}

/// Prints `value` as JSON for scripts, or as `for_people` writes it.
fn show<T: Serialize>(json: bool, value: &T, for_people: impl FnOnce(&T)) {
    if json {
        output::json(value);
    } else {
        for_people(value);
    }
}

fn print_created(json: bool, created: &Created) {
    show(json, created, |created| println!("{}", created.id));
}

/// Update and delete have no `data`: JSON `null`, or a sentence for people.
fn print_done(json: bool, text: &str) {
    if json {
        output::json(&serde_json::Value::Null);
    } else {
        println!("{text}");
    }
}

/// One file's outcome in `enroll-dir`.
#[derive(Serialize)]
struct Enrolled {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    msg: Option<String>,
}

async fn enroll_dir(
    client: &Client,
    json: bool,
    dir: &Path,
    group: &str,
    desc: Option<&str>,
    pcm: PcmArgs,
) -> Result<ExitCode, Error> {
    let files = audio_files(dir)?;
    if files.is_empty() {
        return Err(Error::Local(format!("{}: no files to enroll", dir.display())));
    }
    let bar = progress_bar(files.len() as u64);
    let mut results = Vec::with_capacity(files.len());
    for path in &files {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        bar.set_message(file.clone());
        let name = voiceprint_name(path);
        let outcome = match Audio::read(path, pcm.sample_rate, pcm.channel) {
            Ok(audio) => client.create_feature(group, &name, desc, &audio).await,
            Err(err) => Err(err),
        };
        let entry = match outcome {
            Ok(enrolled) => Enrolled { file, id: Some(enrolled.id.to_string()), code: None, msg: None },
            // Unreachable server or bad credentials: every other file would fail the same way.
            Err(err @ Error::Transport(_))
            | Err(err @ Error::Api { code: voxprint_api::codes::UNAUTHENTICATED, .. }) => {
                bar.finish_and_clear();
                return Err(err);
            }
            Err(Error::Api { code, msg, .. }) => Enrolled { file, id: None, code: Some(code), msg: Some(msg) },
            Err(Error::Local(msg)) => Enrolled { file, id: None, code: None, msg: Some(msg) },
        };
        results.push(entry);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let failed = results.iter().filter(|r| r.id.is_none()).count();
    show(json, &results, |results| {
        let mut table = output::Table::new(&["FILE", "RESULT"]);
        for r in results {
            let result = match (&r.id, r.code) {
                (Some(id), _) => id.clone(),
                (None, Some(code)) => format!("error {code}: {}", r.msg.as_deref().unwrap_or("")),
                (None, None) => format!("error: {}", r.msg.as_deref().unwrap_or("")),
            };
            table.row(vec![r.file.clone(), result]);
        }
        table.print();
    });
    if failed > 0 {
        eprintln!("{failed} of {} files failed", results.len());
        Ok(ExitCode::FAILURE)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// The regular, non-hidden files directly in `dir`, sorted by name.
fn audio_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries =
        std::fs::read_dir(dir).map_err(|err| Error::Local(format!("cannot read {}: {err}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|err| Error::Local(format!("cannot read {}: {err}", dir.display())))?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        // Follows symlinks: a link to an audio file is enrolled like the file.
        if !hidden && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// The file name without its extension, cut to the API's 20-character limit.
fn voiceprint_name(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    stem.chars().take(voxprint_api::limits::MAX_NAME_CHARS).collect()
}

/// A progress bar on stderr, or a hidden one when stderr is not a terminal.
fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} {elapsed_precise} {wide_msg}")
        .expect("valid template")
        .progress_chars("=> ");
    bar.set_style(style);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stems_cut_to_twenty_characters() {
        assert_eq!(voiceprint_name(Path::new("/x/alice.wav")), "alice");
        assert_eq!(voiceprint_name(Path::new("a-very-long-speaker-name-here.flac")), "a-very-long-speaker-");
        assert_eq!(voiceprint_name(Path::new("Zoë.Ünïcödé.wav")), "Zoë.Ünïcödé");
    }
}
