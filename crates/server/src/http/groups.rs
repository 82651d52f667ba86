//! Endpoints 1–4: create, list, update and delete voiceprint groups (`service/groups.rs`).

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use voxprint_api::{Created, Group, Page as ListPage};

use super::assets::GROUP_ICON_PATH;
use super::auth::Caller;
use super::envelope::{Done, Success};
use super::error::ApiError;
use super::json::JsonObject;
use super::views::user_info;
use super::{query_values, AppState, BaseUrl};
use crate::domain::{Description, Id, Name, Page, Permission};
use crate::service::groups::ListFilter;
use crate::storage::database::GroupView;

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonObject,
) -> Result<Success<Created>, ApiError> {
    caller.require(Permission::CreateVoiceprintGroup)?;
    let name = Name::parse(body.text("name")?.ok_or_else(|| ApiError::InvalidParameter("name is required".into()))?)?;
    let desc = Description::parse(body.text("desc")?.unwrap_or(""))?;
    let id = state.voxprint.create_group(caller.actor(), &name, &desc).await?;
    super::audit::note_created(id.0);
    Ok(Success(Created { id }))
}

fn group(base_url: &str, row: GroupView) -> Group {
    Group {
        id: Id(row.id),
        name: row.name,
        desc: row.description,
        icon_url: format!("{base_url}{GROUP_ICON_PATH}"),
        user_info: user_info(base_url, row.creator_id, row.creator_name, row.creator_nickname, row.creator_avatar_url),
        created_at: row.created_at,
        updated_at: row.updated_at,
        feature_count: row.feature_count,
    }
}

/// The list's query parameters; unknown ones (the Node SDK sends `coze_account_id`) are ignored,
/// and an empty value counts as absent.
struct ListQuery {
    page: Page,
    name: Option<String>,
    user_id: Option<String>,
    group_id: Option<String>,
}

impl ListQuery {
    fn parse(raw: Option<&str>) -> Result<ListQuery, ApiError> {
        let [page_num, page_size, name, user_id, group_id] =
            query_values(raw, ["page_num", "page_size", "name", "user_id", "group_id"]);
        let page = Page::parse(page_num.as_deref(), page_size.as_deref())?;
        Ok(ListQuery { page, name, user_id, group_id })
    }
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    BaseUrl(base_url): BaseUrl,
    RawQuery(raw): RawQuery,
) -> Result<Success<ListPage<Group>>, ApiError> {
    caller.require(Permission::ListVoiceprintGroup)?;
    let query = ListQuery::parse(raw.as_deref())?;
    if let Some(user_id) = &query.user_id {
        if *user_id != caller.user_id.to_string() {
            return Err(ApiError::Forbidden(format!(
                "user_id may only be your own user ID ({}); omit it to list every group of your team",
                caller.user_id
            )));
        }
    }
    let group_id = query.group_id.as_deref().map(|text| Id::parse(text, "group_id")).transpose()?;
    let filter = ListFilter {
        only_own: query.user_id.is_some(),
        group_id,
        name_prefix: query.name.as_deref(),
        page: query.page,
    };
    let (rows, total) = state.voxprint.list_groups(caller.actor(), filter).await?;
    let items = rows.into_iter().map(|row| group(&base_url, row)).collect();
    Ok(Success(ListPage { items, total }))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    GroupPath(group_id): GroupPath,
    body: JsonObject,
) -> Result<Done, ApiError> {
    caller.require(Permission::UpdateVoiceprintGroup)?;
    let name = body.text("name")?.map(Name::parse).transpose()?;
    let desc = body.text("desc")?.map(Description::parse).transpose()?;
    if name.is_none() && desc.is_none() {
        return Err(ApiError::InvalidParameter("nothing to update: give `name` and/or `desc`".into()));
    }
    state.voxprint.update_group(caller.actor(), group_id, name.as_ref(), desc.as_ref()).await?;
    Ok(Done)
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    GroupPath(group_id): GroupPath,
) -> Result<Done, ApiError> {
    caller.require(Permission::DeleteVoiceprintGroup)?;
    state.voxprint.delete_group(caller.actor(), group_id).await?;
    Ok(Done)
}

/// The `{group_id}` path segment, parsed.
pub struct GroupPath(pub Id);

impl<S: Send + Sync> FromRequestParts<S> for GroupPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<GroupPath, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|err| ApiError::InvalidParameter(format!("invalid path: {err}")))?;
        Ok(GroupPath(Id::parse(&raw, "group_id")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_ignores_unknown_and_empty() {
        let query = ListQuery::parse(Some("coze_account_id=1&name=&page_size=5&name=%E5%A3%B0%25")).unwrap();
        assert_eq!(query.page, Page { num: 1, size: 5 });
        assert_eq!(query.name.as_deref(), Some("声%"));
        assert!(query.user_id.is_none());
    }

    #[test]
    fn list_query_names_bad_parameter() {
        let err = ListQuery::parse(Some("page_num=0")).err().unwrap();
        assert!(matches!(err, ApiError::InvalidParameter(msg) if msg.contains("page_num")));
    }
}
