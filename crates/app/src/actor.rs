use hark_domain::{Action, Role, User, permits};

use crate::{AppError, AppResult};

/// How the actor proved who they are.
#[derive(Debug, Clone, PartialEq)]
pub enum ActorVia {
    Session,
    ApiToken {
        token_id: String,
    },
    /// Hark itself (command line, demo seeding, workers).
    System,
    /// An automation rule acting for the workspace (audited with the rule's id).
    Rule {
        rule_id: String,
    },
}

/// Who is acting. Every use case takes one and asks it before doing anything.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
    pub via: ActorVia,
}

impl Actor {
    /// Fails with `Forbidden` unless the actor's role permits `action`.
    pub fn require(&self, action: Action) -> AppResult<()> {
        let hark_itself = matches!(self.via, ActorVia::System | ActorVia::Rule { .. });
        if hark_itself || permits(self.user.role, action) { Ok(()) } else { Err(AppError::Forbidden) }
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    pub fn workspace_id(&self) -> &str {
        &self.user.workspace_id
    }

    /// How the audit log names this actor.
    pub(crate) fn audit_kind(&self) -> &'static str {
        match self.via {
            ActorVia::Session => "user",
            ActorVia::ApiToken { .. } => "token",
            ActorVia::System => "system",
            ActorVia::Rule { .. } => "rule",
        }
    }

    /// An automation rule acting in a workspace: allowed what Hark itself is,
    /// and named in the audit log.
    pub fn rule(workspace_id: &str, rule_id: &str) -> Actor {
        Actor { via: ActorVia::Rule { rule_id: rule_id.to_owned() }, ..Actor::system(workspace_id) }
    }

    /// A system actor for work Hark does on its own behalf in a workspace.
    pub fn system(workspace_id: &str) -> Actor {
        let epoch = jiff::Timestamp::UNIX_EPOCH;
        Actor {
            user: User {
                id: "system".into(),
                workspace_id: workspace_id.into(),
                email: String::new(),
                name: "Hark".into(),
                role: Role::Owner,
                locale: "en".into(),
                active: true,
                availability: hark_domain::Availability::Online,
                created_at: epoch,
                updated_at: epoch,
            },
            via: ActorVia::System,
        }
    }
}
