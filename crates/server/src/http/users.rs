//! `GET /v1/users/me`: who the token belongs to, as Coze answers it. Any valid token may ask;
//! clients use it to find their own `user_id` for the group list's filter.

use axum::extract::State;
use voxprint_api::Me;

use super::auth::Caller;
use super::envelope::Success;
use super::error::ApiError;
use super::views::user_info;
use super::{AppState, BaseUrl};

pub async fn me(
    State(state): State<AppState>,
    caller: Caller,
    BaseUrl(base_url): BaseUrl,
) -> Result<Success<Me>, ApiError> {
    let user = state.voxprint.store.user(caller.user_id).await?;
    let info = user_info(&base_url, user.id, user.name, user.nickname, user.avatar_url);
    Ok(Success(Me { user_id: info.id, user_name: info.name, nick_name: info.nickname, avatar_url: info.avatar_url }))
}
