//! `voxprint serve`: open the storage, bootstrap the first admin, bind, serve until told to stop.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::cli::ServeArgs;
use crate::http::ratelimit::RateLimiter;
use crate::http::{self, ApiSettings, AppState};
use crate::metrics::Metrics;
use crate::service::signing::UrlSigner;
use crate::service::stream::StreamSettings;
use crate::service::{Settings, Voxprint};
use crate::speaker::diarization::{Admission, DiarizationSettings};
use crate::speaker::scoring::EmbeddingCache;
use crate::speaker::workers::Embedder;
use crate::storage;
use crate::storage::database::SampleLimits;
use crate::storage::id_generator::IdGenerator;
use crate::storage::readiness::Readiness;

pub const ADMIN_TOKEN_FILE: &str = "admin-token";
/// Voiceprints the refresh at start names one by one in the log before it only counts the rest.
const MAX_REEMBED_WARNINGS: usize = 10;

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.test_clock_file {
        crate::clock::use_test_clock_file(path.clone());
    }
    let public_url = args.public_url.as_deref().map(parse_public_url).transpose()?;
    // The model first: without it nothing can be enrolled, so refuse to start at all.
    let encoder = Arc::new(voxprint_model::load_encoder(&args.model.resolve())?);
    let data_dir = &args.storage.data_dir;
    crate::storage::private_files::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let (store, blobs) = storage::open_sealed(&args.storage).await?;
    storage::refresh_keys(&store);
    let ids = Arc::new(IdGenerator::new(store.lease_id_node().await?));
    if let Some(admin) = store.bootstrap(&ids).await? {
        let token_path = data_dir.join(ADMIN_TOKEN_FILE);
        write_secret_file(&token_path, &admin.token)?;
        println!("First start: created the default team ({}) and the admin user ({}).", admin.team_id, admin.user_id);
        println!("Admin token with every permission (shown once; also saved to {}):", token_path.display());
        println!("{}", admin.token);
    }
    crate::storage::sweep::spawn(
        store.clone(),
        blobs.clone(),
        crate::storage::sweep::Sweeps {
            orphan_grace: std::time::Duration::from_secs(args.orphan_audio_grace),
            audio_retention_days: args.audio_retention_days,
            audit_retention_days: args.audit_retention_days,
        },
    );
    let signing_key = store.shared_secret("audio_url_signing_key", random_key).await?;
    let metrics = Arc::new(Metrics::new());
    let workers = args.embed_workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let readiness = Arc::new(Readiness::new(store.clone(), blobs.clone()));
    let (stop_streams, stopping) = tokio::sync::watch::channel(false);
    let voxprint = Voxprint {
        store,
        blobs,
        ids,
        embedder: Embedder::start(encoder, workers, args.embed_queue.max(1), metrics.clone()),
        speakers: Arc::new(EmbeddingCache::new(
            metrics.clone(),
            usize::try_from(args.embedding_cache_mb).map_or(usize::MAX, |mb| mb.saturating_mul(1 << 20)),
        )),
        diarizations: Arc::new(Admission::new(args.max_diarizations as usize)),
        streams: Arc::default(),
        metrics,
        settings: Arc::new(Settings {
            max_groups_per_user: args.max_groups_per_user,
            max_voiceprints_per_group: args.max_voiceprints_per_group,
            samples: SampleLimits {
                max_samples: args.max_samples_per_voiceprint,
                max_speech_millis: (args.max_sample_seconds_per_voiceprint * 1000.0).round() as i64,
            },
            match_threshold: args.match_threshold,
            enrollment: args.enrollment_limits(),
            diarization: DiarizationSettings {
                max_seconds: args.diarize_max_seconds,
                cluster_threshold: args.diarize_cluster_threshold,
            },
            streams: StreamSettings {
                max_streams: args.max_streams as usize,
                max_streams_per_token: args.max_streams_per_token as usize,
                idle_timeout: std::time::Duration::from_secs(args.stream_idle_timeout),
                max_duration: std::time::Duration::from_secs(args.stream_max_seconds),
            },
        }),
    };
    let state = AppState {
        voxprint: voxprint.clone(),
        settings: Arc::new(ApiSettings {
            public_url,
            max_audio_bytes: args.max_audio_bytes as usize,
            max_diarize_bytes: args.diarize_max_bytes as usize,
            audio_url_ttl_seconds: args.audio_url_ttl,
            request_timeout: std::time::Duration::from_secs(args.request_timeout),
            diarize_timeout: std::time::Duration::from_secs(args.diarize_timeout),
            trusted_proxies: args.trusted_proxies.clone().unwrap_or_default(),
        }),
        limiter: Arc::new(RateLimiter::new(args.rate_limit, args.rate_limit_burst)),
        readiness,
        signer: UrlSigner::new(signing_key),
        shutdown: stopping,
    };
    // In the background too: voiceprints stored by an older version are scored as before
    // until their scoring data is refreshed.
    tokio::spawn({
        let Voxprint { store, blobs, embedder, .. } = voxprint.clone();
        async move {
            match crate::speaker::reembed::run(&store, &blobs, &embedder).await {
                Ok(outcome) if outcome.refreshed + outcome.superseded + outcome.failed.len() == 0 => {}
                Ok(outcome) => {
                    // Every start repeats these (a voiceprint whose audio was not retained stays
                    // stale), so a few name the kind of problem and the command lists them all.
                    for problem in outcome.failed.iter().take(MAX_REEMBED_WARNINGS) {
                        tracing::warn!(problem, "voiceprint not refreshed to the current scoring");
                    }
                    let more = outcome.failed.len().saturating_sub(MAX_REEMBED_WARNINGS);
                    if more > 0 {
                        tracing::warn!(more, "more voiceprints not refreshed; `voxprint admin reembed` lists them all");
                    }
                    tracing::info!(
                        refreshed = outcome.refreshed,
                        failed = outcome.failed.len(),
                        "voiceprints brought up to the current scoring"
                    );
                }
                Err(err) => {
                    tracing::warn!(%err, "could not refresh voiceprints to the current scoring")
                }
            }
        }
    });
    let listener = TcpListener::bind(args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    println!("voxprint listening on http://{address}");
    std::io::stdout().flush()?;
    let connections = args.connection_settings();
    tracing::info!(%address, max_connections = connections.max_connections, "serving");
    let metrics = voxprint.metrics.clone();
    let signal = async move {
        shutdown_signal().await;
        // Live streams end too (they left the connections' accounting when upgraded).
        let _ = stop_streams.send(true);
    };
    http::connections::serve(listener, http::router(state), connections, metrics, signal).await;
    tracing::info!("stopped");
    Ok(())
}

fn random_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).expect("OS random source");
    key
}

fn parse_public_url(url: &str) -> anyhow::Result<String> {
    let url = url.trim().trim_end_matches('/');
    anyhow::ensure!(
        url.starts_with("http://") || url.starts_with("https://"),
        "--public-url must start with http:// or https://, got {url:?}"
    );
    // Links in answers start with it: held to the rules of every URL the server hands out.
    let url = crate::domain::WebUrl::parse(url, "--public-url").map_err(|err| anyhow::anyhow!(err))?;
    Ok(url.as_str().to_owned())
}

/// Writes a secret readable by its owner only, atomically (temp file, then rename).
fn write_secret_file(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let temp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .with_context(|| format!("cannot write {}", temp.display()))?;
    writeln!(file, "{secret}")?;
    file.sync_all()?;
    std::fs::rename(&temp, path)?;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C; the server then stops accepting and drains its connections.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
