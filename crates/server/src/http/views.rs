//! Pieces of responses shared by several resources.

use voxprint_api::{Id, UserInfo};

use super::assets::AVATAR_PATH;

/// The creator of a group or voiceprint, as the SDKs' `UserInfo`. A user without an avatar of
/// their own gets the served default one.
pub fn user_info(base_url: &str, id: i64, name: String, nickname: String, avatar_url: String) -> UserInfo {
    let avatar_url = if avatar_url.is_empty() { format!("{base_url}{AVATAR_PATH}") } else { avatar_url };
    UserInfo { id: Id(id), name, nickname, avatar_url }
}
