//! The permissions of the voiceprint API (Coze's nine and Voxprint's own); a token holds a
//! subset of them.

use super::InvalidInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    CreateVoiceprintGroup,
    ListVoiceprintGroup,
    UpdateVoiceprintGroup,
    DeleteVoiceprintGroup,
    CreateVoiceprintFeature,
    UpdateVoiceprintFeature,
    ListVoiceprintFeature,
    DeleteVoiceprintFeature,
    IdentifyInVoiceprintGroup,
    VerifyVoiceprint,
    CompareVoiceprints,
    DiarizeVoiceprintGroup,
    StreamVoiceprintGroup,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Permission::CreateVoiceprintGroup,
        Permission::ListVoiceprintGroup,
        Permission::UpdateVoiceprintGroup,
        Permission::DeleteVoiceprintGroup,
        Permission::CreateVoiceprintFeature,
        Permission::UpdateVoiceprintFeature,
        Permission::ListVoiceprintFeature,
        Permission::DeleteVoiceprintFeature,
        Permission::IdentifyInVoiceprintGroup,
        Permission::VerifyVoiceprint,
        Permission::CompareVoiceprints,
        Permission::DiarizeVoiceprintGroup,
        Permission::StreamVoiceprintGroup,
    ];

    /// The name used by the Coze voiceprint API (and in docs/api.md). A token that holds every
    /// permission gains new ones by a migration (`migrations/*/0004_samples.sql`, `0005_diarization.sql`).
    pub fn name(self) -> &'static str {
        match self {
            Permission::CreateVoiceprintGroup => "createVoiceprintGroup",
            Permission::ListVoiceprintGroup => "listVoiceprintGroup",
            Permission::UpdateVoiceprintGroup => "updateVoiceprintGroup",
            Permission::DeleteVoiceprintGroup => "deleteVoiceprintGroup",
            Permission::CreateVoiceprintFeature => "createVoiceprintFeature",
            Permission::UpdateVoiceprintFeature => "updateVoiceprintFeature",
            Permission::ListVoiceprintFeature => "listVoiceprintFeature",
            Permission::DeleteVoiceprintFeature => "deleteVoiceprintFeature",
            Permission::IdentifyInVoiceprintGroup => "identifyInVoiceprintGroup",
            Permission::VerifyVoiceprint => "verifyVoiceprint",
            Permission::CompareVoiceprints => "compareVoiceprints",
            Permission::DiarizeVoiceprintGroup => "diarizeVoiceprintGroup",
            Permission::StreamVoiceprintGroup => "streamVoiceprintGroup",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of permissions, stored as the comma-separated Coze names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PermissionSet(u16);

impl PermissionSet {
    pub fn all() -> PermissionSet {
        PermissionSet(Permission::ALL.iter().fold(0, |bits, p| bits | p.bit()))
    }

    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Parses `all` or a comma-separated list of permission names (case-sensitive, as Coze
    /// spells them). Unknown names are an error, so a typo never silently grants less.
    pub fn parse(text: &str) -> Result<PermissionSet, InvalidInput> {
        if text.trim() == "all" {
            return Ok(PermissionSet::all());
        }
        let mut bits = 0;
        for name in text.split(',').map(str::trim).filter(|name| !name.is_empty()) {
            let permission = Permission::ALL.iter().find(|p| p.name() == name).ok_or_else(|| {
                let known: Vec<&str> = Permission::ALL.iter().map(|p| p.name()).collect();
                InvalidInput(format!("unknown permission {name:?}; known: all, {}", known.join(", ")))
            })?;
            bits |= permission.bit();
        }
        if bits == 0 {
            return Err(InvalidInput("a token needs at least one permission".into()));
        }
        Ok(PermissionSet(bits))
    }

    /// The stored form: names joined by commas, in the canonical order.
    pub fn to_names(self) -> String {
        let names: Vec<&str> = Permission::ALL.iter().filter(|p| self.contains(**p)).map(|p| p.name()).collect();
        names.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The migrations that gave tokens holding every permission the new ones recognise them by
    /// the stored text of the permissions before, and append the new ones as `to_names` writes
    /// them.
    #[test]
    fn the_permission_migration_matches_the_stored_form() {
        let coze_nine =
            PermissionSet::parse(&Permission::ALL[..9].iter().map(|p| p.name()).collect::<Vec<_>>().join(","))
                .unwrap()
                .to_names();
        let all = PermissionSet::all().to_names();
        let eleven = format!("{coze_nine},verifyVoiceprint,compareVoiceprints");
        assert_eq!(all, format!("{eleven},diarizeVoiceprintGroup,streamVoiceprintGroup"));
        for migration in [
            include_str!("../../migrations/sqlite/0004_samples.sql"),
            include_str!("../../migrations/postgres/0004_samples.sql"),
        ] {
            assert!(migration.contains(&format!("WHERE permissions = '{coze_nine}'")));
            assert!(migration.contains("permissions || ',verifyVoiceprint,compareVoiceprints'"));
        }
        for migration in [
            include_str!("../../migrations/sqlite/0005_diarization.sql"),
            include_str!("../../migrations/postgres/0005_diarization.sql"),
        ] {
            assert!(migration.contains(&format!("WHERE permissions = '{eleven}'")));
            assert!(migration.contains("permissions || ',diarizeVoiceprintGroup,streamVoiceprintGroup'"));
        }
    }

    #[test]
    fn all_contains_every_permission() {
        let all = PermissionSet::all();
        assert!(Permission::ALL.iter().all(|p| all.contains(*p)));
        assert_eq!(PermissionSet::parse(&all.to_names()), Ok(all));
    }

    #[test]
    fn subset_round_trips() {
        let set = PermissionSet::parse("listVoiceprintGroup, createVoiceprintGroup").unwrap();
        assert!(set.contains(Permission::ListVoiceprintGroup));
        assert!(!set.contains(Permission::DeleteVoiceprintGroup));
        assert_eq!(set.to_names(), "createVoiceprintGroup,listVoiceprintGroup");
    }

    #[test]
    fn rejects_unknown_and_empty() {
        assert!(PermissionSet::parse("listVoiceprintGroups").unwrap_err().0.contains("unknown permission"));
        assert!(PermissionSet::parse("").is_err());
        assert!(PermissionSet::parse(" , ").is_err());
    }
}
