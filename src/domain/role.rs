use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an editor may do. `admin`: everything, including managing editors.
/// `editor`: all content and moderation. `author`: own articles only (may
/// publish them), no moderation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    // Declaration order is rank order: a higher role passes a lower guard.
    Author,
    Editor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Editor, Role::Author];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Author => "author",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// True when this role may do what `required` may do.
    pub fn includes(self, required: Role) -> bool {
        self >= required
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_are_ordered_admin_editor_author() {
        assert!(Role::Admin.includes(Role::Editor));
        assert!(Role::Admin.includes(Role::Author));
        assert!(Role::Editor.includes(Role::Author));
        assert!(!Role::Editor.includes(Role::Admin));
        assert!(!Role::Author.includes(Role::Editor));
    }

    #[test]
    fn parse_round_trips() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
