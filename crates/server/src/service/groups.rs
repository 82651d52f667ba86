//! Voiceprint groups: creation under the per-user quota, the team's list, update and delete by
//! the creator only, and the visibility rule every group-scoped operation starts with.

use super::{Actor, Voxprint};
use crate::domain::{Description, Id, Name, Page};
use crate::error::ApiError;
use crate::storage::database::{GroupFilter, GroupOwner, GroupView, NewGroup};

/// Which groups to list: the actor's team, optionally only the actor's own, one group, or those
/// whose name starts with a prefix.
pub struct ListFilter<'a> {
    pub only_own: bool,
    pub group_id: Option<Id>,
    pub name_prefix: Option<&'a str>,
    pub page: Page,
}

impl Voxprint {
    pub async fn create_group(&self, actor: Actor, name: &Name, desc: &Description) -> Result<Id, ApiError> {
        let id = self.ids.next();
        let group = NewGroup {
            id,
            team_id: actor.team_id,
            creator_id: actor.user_id,
            name: name.as_str(),
            description: desc.as_str(),
        };
        self.store.create_group(group, self.settings.max_groups_per_user).await?;
        Ok(Id(id))
    }

    /// One page of the team's groups, and how many match in all.
    pub async fn list_groups(&self, actor: Actor, filter: ListFilter<'_>) -> Result<(Vec<GroupView>, i64), ApiError> {
        let filter = GroupFilter {
            team_id: actor.team_id,
            creator_id: filter.only_own.then_some(actor.user_id),
            group_id: filter.group_id.map(|id| id.0),
            name_prefix: filter.name_prefix,
            limit: filter.page.size,
            offset: filter.page.offset(),
        };
        Ok(self.store.list_groups(&filter).await?)
    }

    pub async fn update_group(
        &self,
        actor: Actor,
        group_id: Id,
        name: Option<&Name>,
        desc: Option<&Description>,
    ) -> Result<(), ApiError> {
        self.owned_group(actor, group_id, "update").await?;
        self.store.update_group(group_id.0, name.map(Name::as_str), desc.map(Description::as_str)).await?;
        Ok(())
    }

    /// Deletes the group with its voiceprints; their audio goes after the rows.
    pub async fn delete_group(&self, actor: Actor, group_id: Id) -> Result<(), ApiError> {
        self.owned_group(actor, group_id, "delete").await?;
        let audio_keys = self.store.delete_group(group_id.0).await?;
        self.blobs.delete_all_logged(&audio_keys).await;
        Ok(())
    }

    /// The group, if the actor's team has it (otherwise 4200: another team's group is never
    /// revealed); 4101 unless the actor created it, since only the creator may `action` it.
    async fn owned_group(&self, actor: Actor, group_id: Id, action: &str) -> Result<GroupOwner, ApiError> {
        let owner = self.visible_group(actor, group_id).await?;
        if owner.creator_id != actor.user_id {
            return Err(ApiError::Forbidden(format!(
                "only the creator of voiceprint group {group_id} may {action} it"
            )));
        }
        Ok(owner)
    }

    /// The group, if it exists in the actor's team; 4200 otherwise.
    pub async fn visible_group(&self, actor: Actor, group_id: Id) -> Result<GroupOwner, ApiError> {
        match self.store.group_owner(group_id.0).await? {
            Some(owner) if owner.team_id == actor.team_id => Ok(owner),
            _ => Err(ApiError::NotFound(format!("voiceprint group {group_id} not found"))),
        }
    }
}
