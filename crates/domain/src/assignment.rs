//! Who gets a conversation: round-robin within a team, skipping people who
//! are away or offline, who are at their capacity of open conversations, or
//! who do not read the customer's language.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::InvalidValue;
use crate::enums::{Availability, ConversationStatus};
use crate::model::User;

/// The statuses that count towards an agent's capacity: work in hand.
pub const LOAD_STATUSES: &[ConversationStatus] = &[ConversationStatus::Open, ConversationStatus::Pending];

/// What assignment knows about a person beyond their profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentProfile {
    pub user_id: String,
    /// ISO 639-1 codes of the languages the person reads. Empty: any language.
    #[serde(default)]
    pub languages: Vec<String>,
    /// The most open (or pending) conversations they take; `None`: no limit.
    #[serde(default)]
    pub capacity: Option<u32>,
}

impl AgentProfile {
    /// Normalises the language codes and checks the capacity.
    pub fn validated(mut self) -> Result<Self, InvalidValue> {
        let mut languages = vec![];
        for code in &self.languages {
            let code = primary(code);
            if code.is_empty() {
                continue;
            }
            if code.len() > 3 || !code.chars().all(|c| c.is_ascii_lowercase()) {
                return Err(InvalidValue::new("languages", format!("{code:?} is not a language code like ru or en")));
            }
            if !languages.contains(&code) {
                languages.push(code);
            }
        }
        if languages.len() > 30 {
            return Err(InvalidValue::new("languages", "at most 30 languages"));
        }
        if self.capacity.is_some_and(|c| c > 10_000) {
            return Err(InvalidValue::new("capacity", "must be at most 10000"));
        }
        self.languages = languages;
        Ok(self)
    }

    /// Whether the person reads `language` (everyone reads an unknown language).
    pub fn reads(&self, language: Option<&str>) -> bool {
        match language.map(primary) {
            Some(code) if !self.languages.is_empty() => self.languages.contains(&code),
            _ => true,
        }
    }
}

fn primary(code: &str) -> String {
    code.trim().split(['-', '_']).next().unwrap_or("").to_lowercase()
}

/// One team member as round-robin sees them.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub user: &'a User,
    pub profile: AgentProfile,
    /// Open and pending conversations assigned to them now.
    pub load: u32,
}

impl Candidate<'_> {
    /// Whether this person may take one more conversation in `language` now.
    pub fn can_take(&self, language: Option<&str>) -> bool {
        self.user.active
            && self.user.availability == Availability::Online
            && self.profile.capacity.is_none_or(|c| self.load < c)
            && self.profile.reads(language)
    }
}

/// The next member after `last` (in the order of their ids, wrapping round)
/// who can take a conversation in `language`; `None` if nobody can.
pub fn next_assignee<'a>(candidates: &[Candidate<'a>], last: Option<&str>, language: Option<&str>) -> Option<&'a User> {
    let mut ordered: Vec<&Candidate<'a>> = candidates.iter().collect();
    ordered.sort_by(|a, b| a.user.id.cmp(&b.user.id));
    let start = match last {
        // The first member whose id sorts after the last one served, so a
        // member who left the team does not restart the rotation.
        Some(last) => ordered.iter().position(|c| c.user.id.as_str() > last).unwrap_or(0),
        None => 0,
    };
    (0..ordered.len()).map(|i| ordered[(start + i) % ordered.len()]).find(|c| c.can_take(language)).map(|c| c.user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::Role;
    use jiff::Timestamp;

    fn user(id: &str, availability: Availability) -> User {
        User {
            id: id.into(),
            workspace_id: "ws".into(),
            email: format!("{id}@x"),
            name: id.into(),
            role: Role::Agent,
            locale: "en".into(),
            active: true,
            availability,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    /// Assigns `n` conversations one after another, as the engine does.
    fn run(users: &[User], capacity: Option<u32>, languages: &[&[&str]], n: usize, lang: Option<&str>) -> Vec<String> {
        let mut loads = vec![0u32; users.len()];
        let mut last: Option<String> = None;
        let mut out = vec![];
        for _ in 0..n {
            let candidates: Vec<Candidate<'_>> = users
                .iter()
                .enumerate()
                .map(|(i, u)| Candidate {
                    user: u,
                    profile: AgentProfile {
                        user_id: u.id.clone(),
                        languages: languages
                            .get(i)
                            .map(|l| l.iter().map(|s| s.to_string()).collect())
                            .unwrap_or_default(),
                        capacity,
                    },
                    load: loads[i],
                })
                .collect();
            match next_assignee(&candidates, last.as_deref(), lang) {
                Some(u) => {
                    let i = users.iter().position(|x| x.id == u.id).unwrap_or(0);
                    loads[i] += 1;
                    last = Some(u.id.clone());
                    out.push(u.id.clone());
                }
                None => out.push("-".into()),
            }
        }
        out
    }

    #[test]
    fn capacity_two_over_three_agents_and_ten_conversations() {
        let users = [user("a", Availability::Online), user("b", Availability::Online), user("c", Availability::Online)];
        assert_eq!(run(&users, Some(2), &[], 10, None), ["a", "b", "c", "a", "b", "c", "-", "-", "-", "-"]);
    }

    #[test]
    fn an_offline_or_away_agent_receives_none() {
        let users = [user("a", Availability::Online), user("b", Availability::Offline), user("c", Availability::Away)];
        assert_eq!(run(&users, Some(2), &[], 4, None), ["a", "a", "-", "-"]);
        let users =
            [user("a", Availability::Online), user("b", Availability::Offline), user("c", Availability::Online)];
        assert_eq!(run(&users, None, &[], 5, None), ["a", "c", "a", "c", "a"]);
    }

    #[test]
    fn a_russian_message_goes_to_agents_who_read_russian() {
        let users = [user("a", Availability::Online), user("b", Availability::Online), user("c", Availability::Online)];
        let skills: &[&[&str]] = &[&["en"], &["ru", "uk"], &[]];
        assert_eq!(run(&users, None, skills, 4, Some("ru")), ["b", "c", "b", "c"]);
        assert_eq!(run(&users, None, skills, 3, Some("en")), ["a", "c", "a"]);
        assert_eq!(run(&users, None, skills, 3, None), ["a", "b", "c"]);
    }

    #[test]
    fn profiles_are_normalised_and_checked() {
        let p = AgentProfile {
            user_id: "u".into(),
            languages: vec!["RU".into(), "ru-RU".into(), " en ".into()],
            capacity: Some(3),
        };
        assert_eq!(p.validated().map(|p| p.languages).ok(), Some(vec!["ru".to_owned(), "en".to_owned()]));
        let bad = AgentProfile { user_id: "u".into(), languages: vec!["Russian!".into()], capacity: None };
        assert!(bad.validated().is_err());
    }
}
