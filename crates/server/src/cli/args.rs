//! The command line's arguments. Every option of `serve` and of the storage can also be set by an
//! environment variable (`VOXPRINT_…`), so containers and service managers need no flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use voxprint_api::limits;

#[derive(Parser)]
#[command(name = "voxprint", version, about = "Self-hosted voiceprint server with the Coze voiceprint API")]
pub struct Cli {
    /// Log format on standard error: `text` for people, `json` (one object per line) for log
    /// collectors. Every line written while serving a request carries its logid.
    #[arg(long, env = "VOXPRINT_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Manage the speaker model.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Print the speaker embedding of audio files.
    Embed(EmbedArgs),
    /// Print the OpenAPI 3 document of the HTTP API (also served at /openapi.json).
    Openapi,
    /// Manage teams, users and tokens on the storage (with or without a running server).
    Admin {
        #[command(flatten)]
        storage: StorageArgs,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Use a running server's voiceprint API: groups, voiceprints, identification.
    Client(crate::cli::client::ClientArgs),
    /// Copy an embedded deployment (SQLite data directory) into PostgreSQL, keeping every ID,
    /// and verify the copy. Safe to run again; stop the source's servers first.
    MigrateData(MigrateDataArgs),
}

#[derive(Args, Debug)]
pub struct MigrateDataArgs {
    /// Data directory of the embedded deployment to copy from.
    #[arg(long)]
    pub from: PathBuf,
    /// PostgreSQL database to copy into (postgres://user:password@host:port/database).
    #[arg(long, env = "VOXPRINT_DATABASE_URL", hide_env_values = true)]
    pub to: String,
    /// Blob store to copy the audio into (a directory or s3://bucket/prefix). Without it the
    /// audio is verified where it is, in the source's `blobs` directory, and not copied.
    #[arg(long, env = "VOXPRINT_BLOB_STORE")]
    pub blob_store: Option<String>,
    /// The master key of an encrypted source (see `serve --encryption-key-file`); the copy
    /// stays encrypted under it.
    #[arg(long, env = "VOXPRINT_ENCRYPTION_KEY_FILE")]
    pub encryption_key_file: Option<PathBuf>,
}

/// Where Voxprint keeps its data.
#[derive(Args, Clone, Debug)]
pub struct StorageArgs {
    /// Directory of the embedded database, audio files (unless --blob-store says otherwise) and
    /// the admin token.
    #[arg(long, env = "VOXPRINT_DATA_DIR", default_value = "./voxprint-data", global = true)]
    pub data_dir: PathBuf,
    /// PostgreSQL instead of the embedded database: `postgres://user:password@host:port/db`.
    /// Every instance serving the same users must use the same database and blob store.
    #[arg(long, env = "VOXPRINT_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connections each process keeps to PostgreSQL at most.
    #[arg(long, env = "VOXPRINT_DATABASE_CONNECTIONS", default_value_t = crate::storage::database::DEFAULT_POSTGRES_CONNECTIONS, global = true)]
    pub database_connections: u32,
    /// Where audio lives: a directory (default: `blobs` in the data directory) or
    /// `s3://bucket/prefix` on any S3-compatible service, configured by the usual AWS_*
    /// variables (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_ALLOW_HTTP for a plain-http endpoint).
    #[arg(long, env = "VOXPRINT_BLOB_STORE", global = true)]
    pub blob_store: Option<String>,
    /// Encrypt recordings and embeddings at rest under the master key in this file: 64 hex
    /// digits, e.g. from `openssl rand -hex 32`. Once a storage is encrypted, every process
    /// needs the key; keep it outside the data directory and the database's backups.
    #[arg(long, env = "VOXPRINT_ENCRYPTION_KEY_FILE", global = true)]
    pub encryption_key_file: Option<PathBuf>,
}

/// Where the speaker model file is.
#[derive(Args, Clone, Debug)]
pub struct ModelArgs {
    /// The converted model file (default: the location `voxprint model fetch` writes to).
    #[arg(long = "model", env = "VOXPRINT_MODEL", global = true)]
    pub path: Option<PathBuf>,
}

impl ModelArgs {
    pub fn resolve(&self) -> PathBuf {
        self.path.clone().unwrap_or_else(voxprint_model::default_model_path)
    }
}

#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Download the pretrained encoder (resemblyzer 0.1.4 from PyPI, with pip), verify its
    /// checksums and convert it into the model file. Does nothing if it is already there.
    Fetch {
        #[command(flatten)]
        model: ModelArgs,
    },
}

#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// One JSON object per line: {"file": "<path as given>", "embedding": [256 numbers]}.
    #[arg(long)]
    pub json: bool,
    /// Also print the embeddings of the recording under each simulated condition, as an
    /// enrollment stores them (JSON field "conditions"; implies --json).
    #[arg(long)]
    pub conditions: bool,
    /// Sample rate of raw PCM files (other formats carry their own).
    #[arg(long, default_value_t = 16000)]
    pub sample_rate: u32,
    /// Channel count of raw PCM files.
    #[arg(long, default_value_t = 1)]
    pub channel: u16,
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one, printed at start).
    #[arg(long, env = "VOXPRINT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Base URL clients reach this server at, for absolute links (icons, audio). Default: taken
    /// from each request's Host header.
    #[arg(long, env = "VOXPRINT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How many voiceprint groups one user may own.
    #[arg(long, env = "VOXPRINT_MAX_GROUPS_PER_USER", default_value_t = limits::DEFAULT_MAX_GROUPS_PER_USER, value_parser = clap::value_parser!(i64).range(1..))]
    pub max_groups_per_user: i64,
    /// How many voiceprints one group may hold.
    #[arg(long, env = "VOXPRINT_MAX_VOICEPRINTS_PER_GROUP", default_value_t = limits::DEFAULT_MAX_VOICEPRINTS_PER_GROUP, value_parser = clap::value_parser!(i64).range(1..))]
    pub max_voiceprints_per_group: i64,
    /// Memory, in MiB, that the group matrices cached for identification may take; the least
    /// recently used are dropped past it (a voiceprint takes about 10 KiB).
    #[arg(long, env = "VOXPRINT_EMBEDDING_CACHE_MB", default_value_t = (crate::speaker::scoring::DEFAULT_CACHE_BYTES >> 20) as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub embedding_cache_mb: u64,
    /// How many recordings one voiceprint may be made from (its first and its added samples).
    #[arg(long, env = "VOXPRINT_MAX_SAMPLES_PER_VOICEPRINT", default_value_t = limits::DEFAULT_MAX_SAMPLES_PER_VOICEPRINT, value_parser = clap::value_parser!(i64).range(1..))]
    pub max_samples_per_voiceprint: i64,
    /// How many seconds of speech one voiceprint's recordings may hold together.
    #[arg(long, env = "VOXPRINT_MAX_SAMPLE_SECONDS_PER_VOICEPRINT", default_value_t = limits::DEFAULT_MAX_SAMPLE_SECONDS_PER_VOICEPRINT, value_parser = positive_seconds)]
    pub max_sample_seconds_per_voiceprint: f64,
    /// The decision threshold on `score` (0–100): speaker_identify reports it as `threshold`
    /// and marks each voiceprint scoring at least this much as `matched`. The default is the
    /// README's recommended threshold; calibrate on your own recordings before changing it.
    #[arg(long, env = "VOXPRINT_MATCH_THRESHOLD", default_value_t = crate::speaker::scoring::RECOMMENDED_THRESHOLD, value_parser = parse_threshold, allow_negative_numbers = true)]
    pub match_threshold: f64,
    /// Largest accepted audio upload, in bytes (default 4 MiB).
    #[arg(long, env = "VOXPRINT_MAX_AUDIO_BYTES", default_value_t = limits::DEFAULT_MAX_AUDIO_BYTES, value_parser = clap::value_parser!(u64).range(1024..=1 << 30))]
    pub max_audio_bytes: u64,
    /// How long an `audio_url` download link stays valid, in seconds.
    #[arg(long, env = "VOXPRINT_AUDIO_URL_TTL", default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..))]
    pub audio_url_ttl: i64,
    /// Audio files no voiceprint refers to (left by a crash) are deleted once they are this many
    /// seconds old, by a sweep at start and every hour.
    #[arg(long, env = "VOXPRINT_ORPHAN_AUDIO_GRACE", default_value_t = 3600)]
    pub orphan_audio_grace: u64,
    /// Delete each recording this many days after its upload, keeping its embedding (default:
    /// keep recordings). Without the audio, a later model or calibration upgrade cannot refresh
    /// a voiceprint: it must be enrolled again.
    #[arg(long, env = "VOXPRINT_AUDIO_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub audio_retention_days: Option<u32>,
    /// Delete audit trail entries this many days after they were written (0: keep them).
    #[arg(long, env = "VOXPRINT_AUDIT_RETENTION_DAYS", default_value_t = 365)]
    pub audit_retention_days: u32,
    /// Reverse proxies (addresses or networks, comma-separated) whose `X-Forwarded-For` names
    /// the client in the audit trail; from any other peer the header is ignored.
    #[arg(long, env = "VOXPRINT_TRUSTED_PROXIES", value_parser = crate::http::TrustedProxies::parse)]
    pub trusted_proxies: Option<crate::http::TrustedProxies>,
    /// Threads computing embeddings (default: one per CPU core).
    #[arg(long, env = "VOXPRINT_EMBED_WORKERS")]
    pub embed_workers: Option<usize>,
    /// Recordings that may wait for an embedding worker; past that, requests get 4009.
    #[arg(long, env = "VOXPRINT_EMBED_QUEUE", default_value_t = 64)]
    pub embed_queue: usize,
    /// Longest recording speaker_diarize accepts, in seconds (default 30 minutes).
    #[arg(long, env = "VOXPRINT_DIARIZE_MAX_SECONDS", default_value_t = 1800, value_parser = clap::value_parser!(u32).range(10..=86_400))]
    pub diarize_max_seconds: u32,
    /// Largest upload speaker_diarize accepts, in bytes (default 100 MiB: 30 minutes of 16 kHz
    /// WAV fit, and any compressed format).
    #[arg(long, env = "VOXPRINT_DIARIZE_MAX_BYTES", default_value_t = 100 << 20, value_parser = clap::value_parser!(u64).range(1024..=4 << 30))]
    pub diarize_max_bytes: u64,
    /// Seconds a speaker_diarize request may take (upload included) before it is answered with
    /// 4009 (or 408 while its upload is still arriving).
    #[arg(long, env = "VOXPRINT_DIARIZE_TIMEOUT", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub diarize_timeout: u64,
    /// Diarizations processed at once; as many more wait, and past that requests get 4009.
    #[arg(long, env = "VOXPRINT_MAX_DIARIZATIONS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_diarizations: u64,
    /// speaker_diarize's clustering threshold: the least cosine similarity (0–1) at which two
    /// groups of a recording's windows are taken for one speaker. Lower finds fewer speakers.
    #[arg(long, env = "VOXPRINT_DIARIZE_CLUSTER_THRESHOLD", default_value_t = crate::speaker::diarization::DEFAULT_CLUSTER_THRESHOLD, value_parser = parse_similarity)]
    pub diarize_cluster_threshold: f32,
    /// Live streams (speaker_stream) open at once on this instance; past that, 4009.
    #[arg(long, env = "VOXPRINT_MAX_STREAMS", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_streams: u64,
    /// Live streams one token may have open at once; past that, 4009.
    #[arg(long, env = "VOXPRINT_MAX_STREAMS_PER_TOKEN", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_streams_per_token: u64,
    /// Seconds a live stream may go without sending audio (or its first message) before it is
    /// closed.
    #[arg(long, env = "VOXPRINT_STREAM_IDLE_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub stream_idle_timeout: u64,
    /// Longest a live stream may last, in seconds.
    #[arg(long, env = "VOXPRINT_STREAM_MAX_SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub stream_max_seconds: u64,
    /// Requests per second allowed per token on average (0: no limit); past it, 4008.
    #[arg(long, env = "VOXPRINT_RATE_LIMIT", default_value_t = 0.0)]
    pub rate_limit: f64,
    /// Requests a token may make at once before the average rate applies.
    #[arg(long, env = "VOXPRINT_RATE_LIMIT_BURST", default_value_t = 20)]
    pub rate_limit_burst: u32,
    /// Seconds a request may take before it is answered with 4009.
    #[arg(long, env = "VOXPRINT_REQUEST_TIMEOUT", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,
    /// Seconds a client may take to send a request's headers, from its first byte; then the
    /// connection is closed.
    #[arg(long, env = "VOXPRINT_HEADER_READ_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout: u64,
    /// Seconds a connection may wait for its next request (keep-alive) or its first; then it is
    /// closed.
    #[arg(long, env = "VOXPRINT_IDLE_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,
    /// Open client connections at most (lowered at start to what the open-files limit allows).
    /// When full, the connection that has waited longest without a request is closed to make
    /// room.
    #[arg(long, env = "VOXPRINT_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(16..))]
    pub max_connections: u64,
    /// Seconds in-flight requests get to finish after SIGTERM or Ctrl-C; then the remaining
    /// connections are closed and the server exits.
    #[arg(long, env = "VOXPRINT_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,
    /// For tests only: the server's clock runs ahead by the whole seconds written in this file
    /// (read at every reading of the clock), so tests make time pass without sleeping.
    #[arg(long, hide = true)]
    pub test_clock_file: Option<PathBuf>,
    /// Enrollments (and voiceprint updates with a file) with less speech than this, in
    /// seconds, are refused with 4304.
    #[arg(long, env = "VOXPRINT_ENROLL_MIN_SPEECH_SECONDS", default_value_t = 1.2)]
    pub enroll_min_speech_seconds: f32,
    /// Enrollments with a lower signal-to-noise ratio than this, in dB, are refused with 4304.
    #[arg(long, env = "VOXPRINT_ENROLL_MIN_SNR_DB", default_value_t = 10.0)]
    pub enroll_min_snr_db: f32,
    /// Enrollments with a larger fraction of clipped samples than this are refused with 4304.
    #[arg(long, env = "VOXPRINT_ENROLL_MAX_CLIPPING", default_value_t = 0.01)]
    pub enroll_max_clipping: f32,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// A threshold on the 0–100 `score` scale; anything else is refused at start (clap names the
/// option and the value).
fn parse_threshold(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if (0.0..=100.0).contains(&value) => Ok(value),
        _ => Err("must be a number from 0 to 100 (a score)".to_owned()),
    }
}

fn parse_similarity(text: &str) -> Result<f32, String> {
    match text.trim().parse::<f32>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err("must be a cosine similarity from 0 to 1".to_owned()),
    }
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value > 0.0 && value <= 1e6 => Ok(value),
        _ => Err("must be a number of seconds above 0".to_owned()),
    }
}

impl ServeArgs {
    /// The connection limits, with the cap lowered to fit the open-files limit (which this
    /// raises to its hard limit first).
    pub fn connection_settings(&self) -> crate::http::connections::ConnectionSettings {
        use std::time::Duration;
        crate::http::connections::ConnectionSettings {
            header_read_timeout: Duration::from_secs(self.header_read_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            max_connections: crate::http::connections::connection_capacity(self.max_connections as usize),
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout),
        }
    }

    pub fn enrollment_limits(&self) -> crate::speaker::quality_gate::EnrollmentLimits {
        crate::speaker::quality_gate::EnrollmentLimits {
            min_speech_seconds: self.enroll_min_speech_seconds,
            min_snr_db: self.enroll_min_snr_db,
            max_clipping: self.enroll_max_clipping,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a team; prints its ID.
    CreateTeam {
        #[arg(long)]
        name: String,
    },
    /// List teams: ID, name, creation time.
    ListTeams,
    /// Create a user in a team; prints its ID.
    CreateUser {
        #[arg(long)]
        team: i64,
        #[arg(long)]
        name: String,
        /// Defaults to the name.
        #[arg(long)]
        nickname: Option<String>,
        #[arg(long, default_value = "")]
        avatar_url: String,
    },
    /// List users (of one team, or all): ID, team ID, name, nickname, avatar URL, creation time.
    ListUsers {
        #[arg(long)]
        team: Option<i64>,
    },
    /// Create a token for a user; prints the token (shown only this once) as the last line.
    CreateToken {
        #[arg(long)]
        user: i64,
        /// `all`, or a comma-separated list of permission names (e.g. listVoiceprintGroup,createVoiceprintGroup).
        #[arg(long, default_value = "all")]
        permissions: String,
        /// Days until the token expires (default: never).
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=36500))]
        expires_in_days: Option<i64>,
    },
    /// List a user's tokens: ID, permissions, created, expires, revoked.
    ListTokens {
        #[arg(long)]
        user: i64,
    },
    /// Revoke a token; requests with it fail from the next one on.
    RevokeToken {
        #[arg(long)]
        token_id: i64,
    },
    /// Check that every voiceprint's audio is stored whole (its checksum matches) with a full
    /// embedding, that every stored audio file belongs to a voiceprint and, with
    /// --encryption-key-file, that every recording is stored encrypted. Prints the counts;
    /// exits non-zero on any problem. Uploads in flight show as orphan audio for a moment.
    Check,
    /// Bring every voiceprint's scoring data up to this version from its stored audio (`serve`
    /// also does this in the background at start). Prints the counts; exits non-zero if a
    /// voiceprint could not be refreshed (it is then listed, and scored as before).
    Reembed {
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Re-encrypt every recording and embedding under a new master key, while servers keep
    /// serving: give the current key with --encryption-key-file (none for a storage not yet
    /// encrypted). Run it again to finish after an interruption; the same file as both keys
    /// encrypts what is still unencrypted. Then restart the servers with the new key.
    RotateKey {
        /// The new master key: 64 hex digits, e.g. from `openssl rand -hex 32`.
        #[arg(long)]
        new_key_file: PathBuf,
    },
    /// Print the audit trail, oldest first: time (UTC), team, user, token ID, action, resource
    /// IDs, Coze code, logid, client address; `-` where there is none.
    Audit {
        /// From this moment on: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC), or Unix seconds.
        #[arg(long)]
        since: Option<String>,
        /// Only the entries of this user ID.
        #[arg(long)]
        user: Option<i64>,
        /// One JSON object per line instead.
        #[arg(long)]
        json: bool,
    },
    /// Erase a user: every group they created (with all its voiceprints), every voiceprint they
    /// created elsewhere, with recordings and embeddings; revoke their tokens and replace their
    /// names. Prints what it removed; run it again to finish after an interruption.
    EraseUser {
        /// The user's ID.
        user_id: i64,
    },
    /// Erase one voiceprint with its recordings and embeddings.
    EraseVoiceprint {
        /// The voiceprint's (feature's) ID.
        voiceprint_id: i64,
    },
}
