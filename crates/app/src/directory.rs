//! Workspaces, users, teams and labels.

use hark_domain::permissions::may_grant_role;
use hark_domain::*;
use hark_store::Write;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{check_password_strength, hash_password};
use crate::change::Change;
use crate::{Actor, App, AppError, AppResult, new_id, now};

pub const LOCALES: &[&str] = &["en", "ru", "zh", "el"];

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
    #[serde(default = "default_locale")]
    pub locale: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub locale: Option<String>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub member_ids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelInput {
    pub name: String,
    /// `#rrggbb`.
    #[serde(default = "default_color")]
    pub color: String,
    #[serde(default)]
    pub description: String,
}

/// The label conversations closed without a reply get ("close, no reply
/// needed"): every workspace has it, so that action always works.
pub const NO_REPLY_LABEL: &str = "no-reply-needed";

fn no_reply_label(workspace_id: &str) -> Label {
    Label {
        id: format!("lbl_noreply_{workspace_id}"),
        workspace_id: workspace_id.to_owned(),
        name: NO_REPLY_LABEL.into(),
        color: "#98a2b3".into(),
        description: "Closed without a reply: spam, thanks, chatter".into(),
    }
}

fn default_locale() -> String {
    "en".into()
}

fn default_color() -> String {
    "#6b7280".into()
}

fn clean_name(field: &'static str, text: &str, max: usize) -> AppResult<String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(AppError::invalid(field, format!("must be at most {max} characters")));
    }
    if t.chars().any(char::is_control) {
        return Err(AppError::invalid(field, "must not contain control characters"));
    }
    Ok(t.to_owned())
}

fn clean_email(text: &str) -> AppResult<String> {
    let t = text.trim().to_lowercase();
    let valid = t.len() <= 254
        && t.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !t.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid { Ok(t) } else { Err(AppError::invalid("email", "is not an email address")) }
}

fn check_locale(locale: &str) -> AppResult<()> {
    if LOCALES.contains(&locale) {
        Ok(())
    } else {
        Err(AppError::invalid("locale", format!("must be one of {}", LOCALES.join(", "))))
    }
}

fn check_color(color: &str) -> AppResult<()> {
    let ok = color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok { Ok(()) } else { Err(AppError::invalid("color", "must look like #1a2b3c")) }
}

impl App {
    /// Creates a workspace (command line and demo only).
    pub async fn create_workspace(&self, name: &str, time_zone: &str) -> AppResult<Workspace> {
        let name = clean_name("name", name, 200)?;
        jiff::tz::TimeZone::get(time_zone)
            .map_err(|_| AppError::invalid("time_zone", format!("unknown time zone {time_zone:?}")))?;
        let workspace = Workspace { id: new_id("ws"), name, time_zone: time_zone.to_owned(), created_at: now() };
        let system = Actor::system(&workspace.id);
        Change::new(&system, workspace.created_at)
            .write(Write::InsertWorkspace(workspace.clone()))
            .write(Write::InsertLabel(no_reply_label(&workspace.id)))
            .audit("workspace.create", "workspace", &workspace.id, json!({ "name": workspace.name }))
            .commit(self)
            .await?;
        Ok(workspace)
    }

    pub async fn users(&self, actor: &Actor) -> AppResult<Vec<User>> {
        actor.require(Action::ReadInbox)?;
        Ok(self.store.users(actor.workspace_id()).await?)
    }

    pub async fn create_user(&self, actor: &Actor, input: UserCreate) -> AppResult<User> {
        actor.require(Action::ManageUsers)?;
        if actor.via != crate::ActorVia::System && !may_grant_role(actor.role(), None, input.role) {
            return Err(AppError::Forbidden);
        }
        check_password_strength(&input.password)?;
        check_locale(&input.locale)?;
        let at = now();
        let user = User {
            id: new_id("usr"),
            workspace_id: actor.workspace_id().to_owned(),
            email: clean_email(&input.email)?,
            name: clean_name("name", &input.name, 200)?,
            role: input.role,
            locale: input.locale,
            active: true,
            availability: Availability::Online,
            created_at: at,
            updated_at: at,
        };
        let password_hash = hash_password(&input.password)?;
        Change::new(actor, at)
            .write(Write::InsertUser { user: user.clone(), password_hash })
            .audit("user.create", "user", &user.id, json!({ "email": user.email, "role": user.role }))
            .event("user.created", &user.id, &user)
            .commit(self)
            .await?;
        Ok(user)
    }

    pub async fn update_user(&self, actor: &Actor, id: &str, input: UserUpdate) -> AppResult<User> {
        actor.require(Action::ManageUsers)?;
        let before = self
            .store
            .user(id)
            .await?
            .filter(|u| u.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("user"))?;
        let mut after = before.clone();
        if let Some(role) = input.role {
            if !may_grant_role(actor.role(), Some(before.role), role) {
                return Err(AppError::Forbidden);
            }
            if before.id == actor.user.id && role != before.role {
                return Err(AppError::invalid("role", "you cannot change your own role"));
            }
            after.role = role;
        } else if !may_grant_role(actor.role(), Some(before.role), before.role) {
            return Err(AppError::Forbidden);
        }
        if let Some(name) = &input.name {
            after.name = clean_name("name", name, 200)?;
        }
        if let Some(locale) = &input.locale {
            check_locale(locale)?;
            after.locale = locale.clone();
        }
        if let Some(active) = input.active {
            if !active && before.id == actor.user.id {
                return Err(AppError::invalid("active", "you cannot deactivate yourself"));
            }
            after.active = active;
        }
        let at = now();
        after.updated_at = at;
        let mut change = Change::new(actor, at).write(Write::UpdateUser(after.clone()));
        if let Some(password) = &input.password {
            check_password_strength(password)?;
            change.push(Write::SetPassword { user_id: id.to_owned(), password_hash: hash_password(password)? });
        }
        change
            .audit(
                "user.update",
                "user",
                id,
                json!({
                    "role": { "from": before.role, "to": after.role },
                    "active": { "from": before.active, "to": after.active },
                    "password_changed": input.password.is_some(),
                }),
            )
            .event("user.updated", id, &after)
            .commit(self)
            .await?;
        Ok(after)
    }

    pub async fn teams(&self, actor: &Actor) -> AppResult<Vec<Team>> {
        actor.require(Action::ReadInbox)?;
        Ok(self.store.teams(actor.workspace_id()).await?)
    }

    async fn check_members(&self, actor: &Actor, member_ids: &[String]) -> AppResult<Vec<String>> {
        let users = self.store.users(actor.workspace_id()).await?;
        let mut ids = vec![];
        for id in member_ids {
            if !users.iter().any(|u| &u.id == id) {
                return Err(AppError::invalid("member_ids", format!("no user with id {id:?}")));
            }
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids.sort();
        Ok(ids)
    }

    pub async fn create_team(&self, actor: &Actor, input: TeamInput) -> AppResult<Team> {
        actor.require(Action::ManageTeams)?;
        let at = now();
        let team = Team {
            id: new_id("team"),
            workspace_id: actor.workspace_id().to_owned(),
            name: clean_name("name", &input.name, 100)?,
            description: input.description.trim().to_owned(),
            member_ids: self.check_members(actor, &input.member_ids).await?,
            created_at: at,
        };
        Change::new(actor, at)
            .write(Write::InsertTeam(team.clone()))
            .audit("team.create", "team", &team.id, json!({ "name": team.name, "member_ids": team.member_ids }))
            .event("team.created", &team.id, &team)
            .commit(self)
            .await?;
        Ok(team)
    }

    pub async fn update_team(&self, actor: &Actor, id: &str, input: TeamInput) -> AppResult<Team> {
        actor.require(Action::ManageTeams)?;
        let before = self
            .store
            .team(id)
            .await?
            .filter(|t| t.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("team"))?;
        let team = Team {
            name: clean_name("name", &input.name, 100)?,
            description: input.description.trim().to_owned(),
            member_ids: self.check_members(actor, &input.member_ids).await?,
            ..before.clone()
        };
        Change::new(actor, now())
            .write(Write::UpdateTeam(team.clone()))
            .audit("team.update", "team", id, json!({ "before": before, "after": team }))
            .event("team.updated", id, &team)
            .commit(self)
            .await?;
        Ok(team)
    }

    pub async fn delete_team(&self, actor: &Actor, id: &str) -> AppResult<()> {
        actor.require(Action::ManageTeams)?;
        let team = self
            .store
            .team(id)
            .await?
            .filter(|t| t.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("team"))?;
        Change::new(actor, now())
            .write(Write::DeleteTeam { id: id.to_owned() })
            .audit("team.delete", "team", id, json!({ "name": team.name }))
            .event("team.deleted", id, &json!({ "id": id }))
            .commit(self)
            .await?;
        Ok(())
    }

    pub async fn labels(&self, actor: &Actor) -> AppResult<Vec<Label>> {
        actor.require(Action::ReadInbox)?;
        Ok(self.store.labels(actor.workspace_id()).await?)
    }

    pub async fn create_label(&self, actor: &Actor, input: LabelInput) -> AppResult<Label> {
        actor.require(Action::ManageLabels)?;
        check_color(&input.color)?;
        let label = Label {
            id: new_id("lbl"),
            workspace_id: actor.workspace_id().to_owned(),
            name: clean_name("name", &input.name, 60)?,
            color: input.color.to_lowercase(),
            description: input.description.trim().to_owned(),
        };
        Change::new(actor, now())
            .write(Write::InsertLabel(label.clone()))
            .audit("label.create", "label", &label.id, json!({ "name": label.name }))
            .event("label.created", &label.id, &label)
            .commit(self)
            .await?;
        Ok(label)
    }

    pub async fn update_label(&self, actor: &Actor, id: &str, input: LabelInput) -> AppResult<Label> {
        actor.require(Action::ManageLabels)?;
        check_color(&input.color)?;
        let before = self
            .store
            .label(id)
            .await?
            .filter(|l| l.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("label"))?;
        let label = Label {
            name: clean_name("name", &input.name, 60)?,
            color: input.color.to_lowercase(),
            description: input.description.trim().to_owned(),
            ..before.clone()
        };
        Change::new(actor, now())
            .write(Write::UpdateLabel(label.clone()))
            .audit("label.update", "label", id, json!({ "before": before, "after": label }))
            .event("label.updated", id, &label)
            .commit(self)
            .await?;
        Ok(label)
    }

    pub async fn delete_label(&self, actor: &Actor, id: &str) -> AppResult<()> {
        actor.require(Action::ManageLabels)?;
        let label = self
            .store
            .label(id)
            .await?
            .filter(|l| l.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("label"))?;
        Change::new(actor, now())
            .write(Write::DeleteLabel { id: id.to_owned() })
            .audit("label.delete", "label", id, json!({ "name": label.name }))
            .event("label.deleted", id, &json!({ "id": id }))
            .commit(self)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_names_are_checked() {
        assert_eq!(clean_email(" Ada@Example.COM ").ok().as_deref(), Some("ada@example.com"));
        assert!(clean_email("ada@localhost").is_err());
        assert!(clean_email("ada example.com").is_err());
        assert!(clean_name("name", "  ", 10).is_err());
        assert!(clean_name("name", "a\u{0}b", 10).is_err());
        assert!(check_color("#A1b2C3").is_ok());
        assert!(check_color("red").is_err());
    }
}
