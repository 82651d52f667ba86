//! Static assets: the default icons and avatars the API links to, and the web console.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;

pub const GROUP_ICON_PATH: &str = "/assets/voiceprint-group-icon.svg";
pub const VOICEPRINT_ICON_PATH: &str = "/assets/voiceprint-icon.svg";
pub const AVATAR_PATH: &str = "/assets/avatar.svg";

const GROUP_ICON: &str = include_str!("../../assets/voiceprint-group-icon.svg");
const VOICEPRINT_ICON: &str = include_str!("../../assets/voiceprint-icon.svg");
const AVATAR: &str = include_str!("../../assets/avatar.svg");

fn svg(body: &'static str) -> impl IntoResponse {
    ([(CONTENT_TYPE, "image/svg+xml"), (CACHE_CONTROL, "public, max-age=86400")], body)
}

/// The web console, one self-contained page (it takes the decision threshold from each
/// identification answer, so it needs nothing filled in).
pub async fn console() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/html; charset=utf-8"), (CACHE_CONTROL, "no-cache")],
        [("content-security-policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; media-src 'self' blob:")],
        include_str!("../../console/index.html"),
    )
}

pub async fn group_icon() -> impl IntoResponse {
    svg(GROUP_ICON)
}

pub async fn voiceprint_icon() -> impl IntoResponse {
    svg(VOICEPRINT_ICON)
}

pub async fn avatar() -> impl IntoResponse {
    svg(AVATAR)
}
