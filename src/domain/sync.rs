//! The sync feed (`GET /api/v1/changes`) in the words its clients read:
//! what happened to a public article, and how several changes of one
//! article inside one page fold into one entry.
//!
//! Only changes the outside world could see reach the feed (the change
//! log's `public`): an article published, edited while public, or taken out
//! of public view (unpublished, archived, moved to the future, deleted). A
//! draft edited, or a scheduled article edited before its time, is not.

use chrono::NaiveDateTime;

use crate::domain::change::Action;

/// What a sync client does with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncAction {
    /// The article became public (published, or its scheduled time came):
    /// fetch it.
    Published,
    /// The public article changed: fetch it again.
    Updated,
    /// The article left public view (unpublished, archived, moved to the
    /// future, deleted): drop your copy. The tombstone.
    Removed,
}

impl SyncAction {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncAction::Published => "published",
            SyncAction::Updated => "updated",
            SyncAction::Removed => "removed",
        }
    }

    /// The feed's word for a public article change in the log.
    pub fn of(action: Action) -> SyncAction {
        match action {
            Action::Published => SyncAction::Published,
            // `Approved` is a comment's action; an article row never has it.
            Action::Created | Action::Updated | Action::Approved => SyncAction::Updated,
            Action::Unpublished | Action::Deleted => SyncAction::Removed,
        }
    }

    /// Two changes of one article, `self` then `next`, as one: the last
    /// word wins, except that a publication followed by edits is still news
    /// of a publication.
    fn then(self, next: SyncAction) -> SyncAction {
        match (self, next) {
            (SyncAction::Published, SyncAction::Updated) => SyncAction::Published,
            (_, next) => next,
        }
    }
}

/// One entry of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncEntry {
    /// The article's id: key your copy by it (a slug can change).
    pub id: i64,
    /// The article's slug after the change (before it, for a delete).
    pub slug: String,
    pub action: SyncAction,
    /// When the change happened (for a scheduled article: its
    /// `published_at`). Not the feed's order, which is commit order.
    pub changed_at: NaiveDateTime,
}

/// Folds the changes of a page (in commit order) so that each article
/// appears once, at the place of its last change, with the slug and time
/// of that change and the action of [`SyncAction::then`]. The order of the
/// last changes is kept, so a client applying entries in order ends where
/// applying every change would.
pub fn collapse(changes: Vec<SyncEntry>) -> Vec<SyncEntry> {
    let mut out: Vec<SyncEntry> = Vec::with_capacity(changes.len());
    for mut entry in changes {
        if let Some(i) = out.iter().position(|e| e.id == entry.id) {
            let earlier = out.remove(i);
            entry.action = earlier.action.then(entry.action);
        }
        out.push(entry);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use SyncAction::*;

    fn entry(id: i64, action: SyncAction, second: u32) -> SyncEntry {
        SyncEntry {
            id,
            slug: format!("a{id}-{second}"),
            action,
            changed_at: chrono::NaiveDate::from_ymd_opt(2026, 12, 8)
                .unwrap()
                .and_hms_opt(0, 0, second)
                .unwrap(),
        }
    }

    #[test]
    fn each_article_once_at_its_last_change() {
        let page = vec![
            entry(1, Published, 1),
            entry(2, Updated, 2),
            entry(1, Updated, 3),
            entry(3, Published, 4),
            entry(3, Removed, 5),
            entry(2, Removed, 6),
            entry(4, Removed, 7),
            entry(4, Published, 8),
        ];
        let got: Vec<(i64, SyncAction, String)> = collapse(page)
            .into_iter()
            .map(|e| (e.id, e.action, e.slug))
            .collect();
        assert_eq!(
            got,
            [
                (1, Published, "a1-3".to_string()),
                (3, Removed, "a3-5".to_string()),
                (2, Removed, "a2-6".to_string()),
                (4, Published, "a4-8".to_string()),
            ]
        );
    }

    #[test]
    fn log_actions_map_to_three_words() {
        assert_eq!(SyncAction::of(Action::Published), Published);
        assert_eq!(SyncAction::of(Action::Updated), Updated);
        assert_eq!(SyncAction::of(Action::Unpublished), Removed);
        assert_eq!(SyncAction::of(Action::Deleted), Removed);
    }
}
