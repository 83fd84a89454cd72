//! Defining rules: admins create, change, order, enable and delete them.
//! Running them is automation.rs.

use hark_domain::rules::*;
use hark_domain::*;
use hark_store::{AutomationWrite, Write};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::change::Change;
use crate::{Actor, App, AppError, AppResult, new_id, now};

/// The most rules one workspace may have.
pub const MAX_RULES: usize = 200;

/// A rule as an admin writes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Where it runs among the others (ascending); new rules go last when absent.
    #[serde(default)]
    pub position: Option<i64>,
    #[serde(flatten)]
    pub definition: RuleDefinition,
}

fn yes() -> bool {
    true
}

/// A partial change: absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulePatch {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub position: Option<i64>,
    pub definition: Option<RuleDefinition>,
}

impl App {
    /// The workspace's rules in the order they run.
    pub async fn rules(&self, actor: &Actor) -> AppResult<Vec<Rule>> {
        actor.require(Action::ReadInbox)?;
        Ok(self.store.rules(actor.workspace_id()).await?)
    }

    pub async fn rule(&self, actor: &Actor, id: &str) -> AppResult<Rule> {
        actor.require(Action::ReadInbox)?;
        self.store.rule(id).await?.filter(|r| r.workspace_id == actor.workspace_id()).ok_or(AppError::NotFound("rule"))
    }

    pub async fn create_rule(&self, actor: &Actor, input: RuleInput) -> AppResult<Rule> {
        actor.require(Action::ManageWorkspace)?;
        let existing = self.store.rules(actor.workspace_id()).await?;
        if existing.len() >= MAX_RULES {
            return Err(AppError::invalid("rules", format!("a workspace has at most {MAX_RULES} rules")));
        }
        let name = rule_name(&input.name)?;
        self.check_definition(actor, &input.definition).await?;
        let at = now();
        let position = input.position.unwrap_or_else(|| existing.iter().map(|r| r.position).max().unwrap_or(0) + 10);
        let rule = Rule {
            id: new_id("rule"),
            workspace_id: actor.workspace_id().to_owned(),
            name,
            enabled: input.enabled,
            position,
            definition: input.definition,
            created_by: Some(actor.user.id.clone()).filter(|_| actor.via == crate::ActorVia::Session),
            created_at: at,
            updated_at: at,
        };
        Change::new(actor, at)
            .write(Write::Automation(AutomationWrite::InsertRule(rule.clone())))
            .audit("rule.create", "rule", &rule.id, json!({ "name": rule.name, "definition": rule.definition }))
            .event("rule.created", &rule.id, &rule)
            .commit(self)
            .await?;
        Ok(rule)
    }

    pub async fn update_rule(&self, actor: &Actor, id: &str, patch: RulePatch) -> AppResult<Rule> {
        actor.require(Action::ManageWorkspace)?;
        let before = self.rule(actor, id).await?;
        let mut after = before.clone();
        if let Some(name) = &patch.name {
            after.name = rule_name(name)?;
        }
        if let Some(enabled) = patch.enabled {
            after.enabled = enabled;
        }
        if let Some(position) = patch.position {
            after.position = position;
        }
        if let Some(definition) = patch.definition {
            self.check_definition(actor, &definition).await?;
            after.definition = definition;
        }
        if after == before {
            return Ok(before);
        }
        let at = now();
        after.updated_at = at;
        Change::new(actor, at)
            .write(Write::Automation(AutomationWrite::UpdateRule(after.clone())))
            .audit(
                "rule.update",
                "rule",
                id,
                json!({ "name": after.name, "enabled": after.enabled, "position": after.position,
                        "definition": after.definition }),
            )
            .event("rule.updated", id, &after)
            .commit(self)
            .await?;
        Ok(after)
    }

    pub async fn delete_rule(&self, actor: &Actor, id: &str) -> AppResult<()> {
        actor.require(Action::ManageWorkspace)?;
        let rule = self.rule(actor, id).await?;
        Change::new(actor, now())
            .write(Write::Automation(AutomationWrite::DeleteRule { id: id.to_owned() }))
            .audit("rule.delete", "rule", id, json!({ "name": rule.name }))
            .event("rule.deleted", id, &json!({ "id": id }))
            .commit(self)
            .await?;
        Ok(())
    }

    /// Puts the rules in this order (every rule of the workspace, once).
    pub async fn order_rules(&self, actor: &Actor, ids: &[String]) -> AppResult<Vec<Rule>> {
        actor.require(Action::ManageWorkspace)?;
        let rules = self.store.rules(actor.workspace_id()).await?;
        let mut wanted: Vec<&String> = ids.iter().collect();
        wanted.sort();
        wanted.dedup();
        let mut known: Vec<&String> = rules.iter().map(|r| &r.id).collect();
        known.sort();
        if wanted.len() != ids.len() || wanted != known {
            return Err(AppError::invalid("rule_ids", "list every rule of the workspace exactly once"));
        }
        let at = now();
        let mut change = Change::new(actor, at);
        let mut ordered = vec![];
        for (i, id) in ids.iter().enumerate() {
            if let Some(rule) = rules.iter().find(|r| &r.id == id) {
                let mut moved = rule.clone();
                moved.position = (i as i64 + 1) * 10;
                if moved.position != rule.position {
                    moved.updated_at = at;
                    change.push(Write::Automation(AutomationWrite::UpdateRule(moved.clone())));
                }
                ordered.push(moved);
            }
        }
        change
            .audit("rule.order", "workspace", actor.workspace_id(), json!({ "rule_ids": ids }))
            .event("rules.ordered", actor.workspace_id(), &json!({ "rule_ids": ids }))
            .commit(self)
            .await?;
        Ok(ordered)
    }

    /// Checks a definition and that what it names exists in the workspace.
    async fn check_definition(&self, actor: &Actor, definition: &RuleDefinition) -> AppResult<()> {
        definition.validate()?;
        let ws = actor.workspace_id();
        let (teams, users, labels, snippets) = (
            self.store.teams(ws).await?,
            self.store.users(ws).await?,
            self.store.labels(ws).await?,
            self.store.snippets(ws).await?,
        );
        let team = |id: &str| {
            if teams.iter().any(|t| t.id == id) {
                Ok(())
            } else {
                Err(AppError::invalid("actions", format!("no team {id:?}")))
            }
        };
        let snippet = |id: &str| {
            if snippets.iter().any(|s| s.id == id) {
                Ok(())
            } else {
                Err(AppError::invalid("actions", format!("no snippet {id:?}")))
            }
        };
        for action in &definition.actions {
            match action {
                RuleAction::AssignTeam { team_id, .. } => team(team_id)?,
                RuleAction::AssignAgent { user_id } if !users.iter().any(|u| &u.id == user_id && u.active) => {
                    return Err(AppError::invalid("actions", format!("no active user {user_id:?}")));
                }
                RuleAction::AddLabel { label } | RuleAction::RemoveLabel { label }
                    if !labels.iter().any(|l| &l.name == label) =>
                {
                    return Err(AppError::invalid("actions", format!("no label named {label:?}")));
                }
                RuleAction::SendSnippet { snippet_id, .. } => snippet(snippet_id)?,
                RuleAction::MoveToPrivate { snippet_id: Some(id), .. } => snippet(id)?,
                RuleAction::AutoAnswer { answers, handoff_team_id } => {
                    for answer in answers {
                        snippet(&answer.snippet_id)?;
                    }
                    if let Some(id) = handoff_team_id {
                        team(id)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn rule_name(name: &str) -> AppResult<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 {
        return Err(AppError::invalid("name", "must have 1 to 200 characters"));
    }
    Ok(n.to_owned())
}
