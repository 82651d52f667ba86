//! Static assets: the default icons and avatars the API links to, and the web console.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_FRAME_OPTIONS};
use axum::response::IntoResponse;

pub const GROUP_ICON_PATH: &str = "/assets/voiceprint-group-icon.svg";
pub const VOICEPRINT_ICON_PATH: &str = "/assets/voiceprint-icon.svg";
pub const AVATAR_PATH: &str = "/assets/avatar.svg";

const GROUP_ICON: &str = include_str!("../../assets/voiceprint-group-icon.svg");
const VOICEPRINT_ICON: &str = include_str!("../../assets/voiceprint-icon.svg");
const AVATAR: &str = include_str!("../../assets/avatar.svg");
const CONSOLE_SCRIPT: &str = include_str!("../../console/console.js");
const CONSOLE_STYLES: &str = include_str!("../../console/console.css");

fn svg(body: &'static str) -> impl IntoResponse {
    ([(CONTENT_TYPE, "image/svg+xml"), (CACHE_CONTROL, "public, max-age=86400")], body)
}

/// The web console's script and styles, at the paths its page links to.
pub const CONSOLE_SCRIPT_PATH: &str = "/console/console.js";
pub const CONSOLE_STYLES_PATH: &str = "/console/console.css";

/// What the console page may load and who may frame it: its own script and styles only (no
/// inline code, so injected markup cannot run), the API and recordings of this server, and no
/// framing (clickjacking).
const CONSOLE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self' blob:; \
    object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The web console, one page (it takes the decision threshold from each identification answer,
/// so it needs nothing filled in).
pub async fn console() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/html; charset=utf-8"), (CACHE_CONTROL, "no-cache")],
        [(CONTENT_SECURITY_POLICY, CONSOLE_POLICY), (X_FRAME_OPTIONS, "DENY")],
        include_str!("../../console/index.html"),
    )
}

pub async fn console_script() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "no-cache")], CONSOLE_SCRIPT)
}

pub async fn console_styles() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/css; charset=utf-8"), (CACHE_CONTROL, "no-cache")], CONSOLE_STYLES)
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
