//! Response objects shared by several resources.

use serde::Serialize;

use super::assets::AVATAR_PATH;
use crate::domain::Id;

/// The `data` of a successful create.
#[derive(Serialize)]
pub struct Created {
    pub id: Id,
}

/// The creator of a group or voiceprint, as the SDKs' `UserInfo`.
#[derive(Serialize)]
pub struct UserInfo {
    pub id: Id,
    pub name: String,
    pub nickname: String,
    pub avatar_url: String,
}

impl UserInfo {
    /// A user without an avatar of their own gets the served default one.
    pub fn new(base_url: &str, id: i64, name: String, nickname: String, avatar_url: String) -> UserInfo {
        let avatar_url = if avatar_url.is_empty() { format!("{base_url}{AVATAR_PATH}") } else { avatar_url };
        UserInfo { id: Id(id), name, nickname, avatar_url }
    }
}
