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
        if self.via == ActorVia::System || permits(self.user.role, action) { Ok(()) } else { Err(AppError::Forbidden) }
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
        }
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
