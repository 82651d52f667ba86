//! Command-line interface. Every option of `serve` and of the storage can also be set by an
//! environment variable (`VOXPRINT_…`), so containers and service managers need no flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "voxprint", version, about = "Self-hosted voiceprint server with the Coze voiceprint API")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Manage teams, users and tokens on the storage (with or without a running server).
    Admin {
        #[command(flatten)]
        storage: StorageArgs,
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// Where Voxprint keeps its data.
#[derive(Args, Clone, Debug)]
pub struct StorageArgs {
    /// Directory of the embedded database, audio files and the admin token.
    #[arg(long, env = "VOXPRINT_DATA_DIR", default_value = "./voxprint-data", global = true)]
    pub data_dir: PathBuf,
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
    #[arg(long, env = "VOXPRINT_MAX_GROUPS_PER_USER", default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..))]
    pub max_groups_per_user: i64,
    #[command(flatten)]
    pub storage: StorageArgs,
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
}
