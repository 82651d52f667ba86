//! `voxprint admin …`: account management straight on the storage. Create commands print the
//! new ID (or token) as the last line of standard output; list commands print one
//! tab-separated row per line, ID first — scripts and tests rely on both.

use crate::cli::{AdminCommand, StorageArgs};
use crate::domain::{AccountName, PermissionSet, WebUrl};
use crate::clock::Utc;
use crate::storage::blobs::BlobStore;
use crate::storage::privacy;
use crate::storage::encryption::MasterKey;
use crate::storage::id_generator::IdGenerator;
use crate::storage::database::now_seconds;

pub async fn run(storage: &StorageArgs, command: AdminCommand) -> anyhow::Result<()> {
    let store = crate::storage::open_store(storage).await?;
    let ids = IdGenerator::new(store.lease_id_node().await?);
    match command {
        AdminCommand::CreateTeam { name } => {
            let team = store.create_team(&ids, account_name(&name, "--name")?.as_str()).await?;
            privacy::record_admin(&store, &ids, Some(team), "create_team", &format!("team={team}")).await?;
            println!("{team}");
        }
        AdminCommand::ListTeams => {
            for team in store.list_teams().await? {
                println!("{}\t{}\t{}", team.id, team.name, team.created_at);
            }
        }
        AdminCommand::CreateUser { team, name, nickname, avatar_url } => {
            let name = account_name(&name, "--name")?;
            let nickname = nickname.map(|nickname| account_name(&nickname, "--nickname")).transpose()?;
            let nickname = nickname.as_ref().unwrap_or(&name);
            let avatar_url = WebUrl::parse(&avatar_url, "--avatar-url").map_err(|err| anyhow::anyhow!(err))?;
            let user = store.create_user(&ids, team, name.as_str(), nickname.as_str(), avatar_url.as_str()).await?;
            privacy::record_admin(&store, &ids, Some(team), "create_user", &format!("user={user}")).await?;
            println!("{user}");
        }
        AdminCommand::ListUsers { team } => {
            for user in store.list_users(team).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    user.id, user.team_id, user.name, user.nickname, user.avatar_url, user.created_at
                );
            }
        }
        AdminCommand::CreateToken { user, permissions, expires_in_days } => {
            let permissions =
                PermissionSet::parse(&permissions).map_err(|err| anyhow::anyhow!("--permissions: {err}"))?;
            let expires_at = expires_in_days.map(|days| now_seconds() + days * 86_400);
            let (id, secret) = store.create_token(&ids, user, permissions, expires_at).await?;
            let team = store.team_of_user(user).await?;
            privacy::record_admin(&store, &ids, team, "create_token", &format!("user={user} token={id}")).await?;
            println!("token id {id}, permissions {}", permissions.to_names());
            println!("{secret}");
        }
        AdminCommand::ListTokens { user } => {
            for token in store.list_tokens(user).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    token.id,
                    token.permissions,
                    token.created_at,
                    token.expires_at.map_or("never".into(), |at| at.to_string()),
                    token.revoked_at.map_or("active".into(), |at| format!("revoked {at}")),
                );
            }
        }
        AdminCommand::RevokeToken { token_id } => {
            store.revoke_token(token_id).await?;
            privacy::record_admin(&store, &ids, None, "revoke_token", &format!("token={token_id}")).await?;
            println!("revoked {token_id}");
        }
        AdminCommand::Check => {
            let (store, blobs) = crate::storage::open_sealed(storage).await?;
            let report = crate::storage::check::check(&store, &blobs).await?;
            for problem in &report.damaged {
                eprintln!("damaged: {problem}");
            }
            for key in &report.orphans {
                eprintln!("orphan audio: {key}");
            }
            for recording in &report.unencrypted {
                eprintln!("unencrypted: {recording}");
            }
            println!("voiceprints\t{}", report.voiceprints);
            println!("recordings\t{}", report.recordings);
            println!("audio files\t{}", report.audio_files);
            println!("damaged recordings\t{}", report.damaged.len());
            println!("orphan audio files\t{}", report.orphans.len());
            println!("recordings not retained\t{}", report.not_retained);
            if blobs.is_encrypted() {
                println!("unencrypted recordings\t{}", report.unencrypted.len());
            }
            anyhow::ensure!(report.is_clean(), "the storage check found problems (listed above)");
        }
        AdminCommand::Reembed { model } => {
            let (store, blobs) = crate::storage::open_sealed(storage).await?;
            crate::storage::refresh_keys(&store);
            let encoder = std::sync::Arc::new(voxprint_model::load_encoder(&model.resolve())?);
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
            let metrics = std::sync::Arc::new(crate::metrics::Metrics::new());
            let embedder = crate::speaker::workers::Embedder::start(encoder, workers, 4, metrics);
            let outcome = crate::speaker::reembed::run(&store, &blobs, &embedder).await?;
            for problem in &outcome.failed {
                eprintln!("not refreshed: {problem}");
            }
            println!("refreshed\t{}", outcome.refreshed);
            println!("superseded\t{}", outcome.superseded);
            println!("not refreshed\t{}", outcome.failed.len());
            anyhow::ensure!(outcome.failed.is_empty(), "some recordings could not be refreshed (listed above)");
        }
        AdminCommand::RotateKey { new_key_file } => {
            let current = storage.encryption_key_file.as_deref().map(MasterKey::read).transpose()?;
            let new = MasterKey::read(&new_key_file)?;
            let blobs = BlobStore::open(storage.blob_store.as_deref(), &storage.data_dir).await?;
            let rotation =
                crate::storage::rotation::rotate(&store, blobs, current, new, |line| eprintln!("{line}")).await?;
            let resources = format!("data_key={}", rotation.data_key);
            privacy::record_admin(&store, &ids, None, "rotate_key", &resources).await?;
            println!("data key\t{}", rotation.data_key);
            println!("embeddings re-encrypted\t{}", rotation.recordings);
            println!("audio files re-encrypted\t{}", rotation.audio);
            println!("rotation complete: restart every server with --encryption-key-file {}", new_key_file.display());
        }
        AdminCommand::Audit { since, user, json } => {
            let since = since.as_deref().map(parse_since).transpose()?.unwrap_or(0);
            for entry in store.audit_entries(since, user).await? {
                if json {
                    println!("{}", serde_json::to_string(&entry)?);
                } else {
                    let or_dash = |value: Option<i64>| value.map_or("-".to_owned(), |value| value.to_string());
                    let text_or_dash = |text: &str| if text.is_empty() { "-".to_owned() } else { text.to_owned() };
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        Utc::from_unix(entry.at),
                        or_dash(entry.team_id),
                        or_dash(entry.user_id),
                        or_dash(entry.token_id),
                        entry.action,
                        text_or_dash(&entry.resources),
                        entry.code,
                        text_or_dash(&entry.logid),
                        text_or_dash(&entry.client),
                    );
                }
            }
        }
        AdminCommand::EraseUser { user_id } => {
            let (store, blobs) = crate::storage::open_sealed(storage).await?;
            let erased = privacy::erase_user(&store, &blobs, &ids, user_id, |line| println!("{line}")).await?;
            println!(
                "erased user {user_id}: {} groups, {} voiceprints, {} recordings removed; {} tokens revoked",
                erased.groups, erased.voiceprints, erased.recordings, erased.tokens
            );
        }
        AdminCommand::EraseVoiceprint { voiceprint_id } => {
            let (store, blobs) = crate::storage::open_sealed(storage).await?;
            let recordings = privacy::erase_voiceprint(&store, &blobs, &ids, voiceprint_id).await?;
            println!("erased voiceprint {voiceprint_id}: {recordings} recordings removed");
        }
    }
    Ok(())
}

/// `--since`: a UTC date or time, or Unix seconds.
fn parse_since(text: &str) -> anyhow::Result<i64> {
    text.parse::<i64>().ok().or_else(|| Utc::parse(text).map(|at| at.to_unix())).ok_or_else(|| {
        anyhow::anyhow!("--since {text:?}: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ (UTC) or Unix seconds")
    })
}

/// A team or user name given with `flag`, checked like the API checks names.
fn account_name(value: &str, flag: &str) -> anyhow::Result<AccountName> {
    AccountName::parse(value, flag).map_err(|err| anyhow::anyhow!(err))
}
