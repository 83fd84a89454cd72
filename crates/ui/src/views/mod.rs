//! The pages and the fragments scripts fetch to update them live. Views
//! take plain records and render HTML; they never read the database, so
//! the web layer gathers what a page shows and a view only arranges it.

pub mod automation;
pub mod components;
pub mod contact;
pub mod conversation;
pub mod inbox;
pub mod layout;
pub mod login;
pub mod reports;
pub mod settings;

use hark_domain::*;
use jiff::Timestamp;

use crate::i18n::Strings;

/// What every view needs to know about who is looking and where.
pub struct Ctx<'a> {
    pub t: &'static Strings,
    pub me: &'a User,
    pub csrf: &'a str,
    pub workspace_name: &'a str,
    pub now: Timestamp,
    pub unread_notifications: i64,
    pub dir: &'a Directory<'a>,
}

impl Ctx<'_> {
    /// Whether the viewer's role may do this (the same rule the API enforces).
    pub fn may(&self, action: Action) -> bool {
        permits(self.me.role, action)
    }
}

/// The workspace's people, teams, labels and channels, to name things by id.
#[derive(Default)]
pub struct Directory<'a> {
    pub users: &'a [User],
    pub teams: &'a [Team],
    pub labels: &'a [Label],
    pub channels: &'a [Channel],
}

impl Directory<'_> {
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    pub fn label(&self, name: &str) -> Option<&Label> {
        self.labels.iter().find(|l| l.name == name)
    }

    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    /// People who can be given conversations: active, and not trainees only
    /// waiting for approval (they may still be assigned, like anyone active).
    pub fn assignable(&self) -> impl Iterator<Item = &User> {
        self.users.iter().filter(|u| u.active)
    }
}
