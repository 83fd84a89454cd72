//! What each role may do. This is the one place role checks are decided; the
//! API asks `permits(role, action)` before every read of protected data and
//! every write, and the role-matrix test walks every cell.

use serde::Serialize;

use crate::enums::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See conversations, messages, contacts, labels, teams, users and channels.
    ReadInbox,
    /// Read the audit log of changes and publications.
    ReadAuditLog,
    /// Change status, priority, snooze and custom attributes of a conversation.
    UpdateConversation,
    /// Assign a conversation to an agent or a team.
    AssignConversation,
    /// Add or remove labels on a conversation.
    LabelConversation,
    /// Write an internal note.
    WriteNote,
    /// Write a public or private reply (a trainee's waits for approval).
    Reply,
    /// Approve or reject a reply waiting for approval.
    ApproveReply,
    /// Edit a contact's profile and identities.
    EditContact,
    /// Merge two contacts into one.
    MergeContacts,
    /// Invite users, change roles, deactivate.
    ManageUsers,
    ManageTeams,
    ManageLabels,
    /// Write, edit and delete the workspace's snippets (canned responses).
    ManageSnippets,
    /// Create and change inbox views shared with the whole workspace.
    ManageSharedViews,
    /// Connect channels and change their credentials.
    ManageChannels,
    /// Workspace settings: custom attributes, business hours.
    ManageWorkspace,
    /// Create and revoke one's own API tokens.
    ManageOwnTokens,
    /// SLA policies, follow-ups, surveys and alert settings.
    ManageServiceLevels,
    /// Reports, the live dashboard and survey answers.
    ViewReports,
    /// Post known issues and answer their conversations in bulk.
    ManageKnownIssues,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::ReadInbox,
        Action::ReadAuditLog,
        Action::UpdateConversation,
        Action::AssignConversation,
        Action::LabelConversation,
        Action::WriteNote,
        Action::Reply,
        Action::ApproveReply,
        Action::EditContact,
        Action::MergeContacts,
        Action::ManageUsers,
        Action::ManageTeams,
        Action::ManageLabels,
        Action::ManageSnippets,
        Action::ManageSharedViews,
        Action::ManageChannels,
        Action::ManageWorkspace,
        Action::ManageOwnTokens,
        Action::ManageServiceLevels,
        Action::ViewReports,
        Action::ManageKnownIssues,
    ];
}

/// Whether a person with `role` may perform `action`.
pub fn permits(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Owner | Role::Admin => true,
        Role::Supervisor => !matches!(action, ManageUsers | ManageTeams | ManageChannels | ManageWorkspace),
        Role::Agent => matches!(
            action,
            ReadInbox
                | UpdateConversation
                | AssignConversation
                | LabelConversation
                | WriteNote
                | Reply
                | EditContact
                | MergeContacts
                | ManageOwnTokens
        ),
        Role::Trainee => {
            matches!(action, ReadInbox | LabelConversation | WriteNote | Reply | EditContact | ManageOwnTokens)
        }
    }
}

/// Whether a reply written by `role` must wait for a supervisor before it is published.
pub fn reply_needs_approval(role: Role) -> bool {
    role == Role::Trainee
}

/// Who may publish from one channel: replies by other roles wait for the
/// approval of someone who may (an admin sets this per channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PublishPolicy {
    /// Roles whose replies on this channel go out without approval.
    pub publish_roles: Vec<Role>,
}

impl Default for PublishPolicy {
    /// Everyone but trainees publishes.
    fn default() -> Self {
        PublishPolicy { publish_roles: Role::ALL.iter().copied().filter(|r| !reply_needs_approval(*r)).collect() }
    }
}

impl PublishPolicy {
    /// Refuses a policy under which nobody could approve a waiting reply.
    pub fn validate(&self) -> Result<(), crate::InvalidValue> {
        if !self.publish_roles.iter().any(|r| permits(*r, Action::ApproveReply)) {
            return Err(crate::InvalidValue::new(
                "publish_roles",
                "at least one role that may approve replies (owner, admin or supervisor) must publish",
            ));
        }
        Ok(())
    }
}

/// Whether a reply written by `role` on a channel with `policy` waits for
/// approval. `held` says a rule asked that replies in the conversation be
/// approved, which binds everyone who may not approve replies themselves.
pub fn reply_waits_for_approval(role: Role, policy: &PublishPolicy, held: bool) -> bool {
    approval_reason(role, policy, held).is_some()
}

/// Why a reply by `role` waits for approval, if it does: the channel's
/// policy first, since it binds whether or not a rule asked.
pub fn approval_reason(role: Role, policy: &PublishPolicy, held: bool) -> Option<ApprovalReason> {
    if !policy.publish_roles.contains(&role) {
        Some(ApprovalReason::Channel)
    } else if held && !permits(role, Action::ApproveReply) {
        Some(ApprovalReason::Rule)
    } else {
        None
    }
}

/// Why a person's replies wait for a supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalReason {
    /// The channel's policy does not let the person's role publish.
    Channel,
    /// A rule asked that replies in this conversation be approved.
    Rule,
}

/// Whether `role` may approve (and so publish) a waiting reply on a channel with `policy`.
pub fn may_approve_on(role: Role, policy: &PublishPolicy) -> bool {
    permits(role, Action::ApproveReply) && policy.publish_roles.contains(&role)
}

/// Whether `actor` may give `target` the role `new_role`. Nobody grants a role
/// above their own, and only an owner may touch an owner.
pub fn may_grant_role(actor: Role, target_current: Option<Role>, new_role: Role) -> bool {
    if !permits(actor, Action::ManageUsers) {
        return false;
    }
    if (new_role == Role::Owner || target_current == Some(Role::Owner)) && actor != Role::Owner {
        return false;
    }
    actor.outranks_or_equals(new_role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owners_touch_owners() {
        assert!(may_grant_role(Role::Owner, Some(Role::Agent), Role::Owner));
        assert!(!may_grant_role(Role::Admin, Some(Role::Agent), Role::Owner));
        assert!(!may_grant_role(Role::Admin, Some(Role::Owner), Role::Agent));
        assert!(may_grant_role(Role::Admin, None, Role::Admin));
        assert!(!may_grant_role(Role::Supervisor, None, Role::Agent));
    }

    #[test]
    fn lower_roles_have_a_subset_of_higher_roles_permissions() {
        for pair in Role::ALL.windows(2) {
            let (higher, lower) = (pair[0], pair[1]);
            for action in Action::ALL {
                if permits(lower, *action) {
                    assert!(permits(higher, *action), "{lower} may {action:?} but {higher} may not");
                }
            }
        }
    }

    #[test]
    fn a_channel_policy_decides_who_publishes_and_who_approves() {
        let default = PublishPolicy::default();
        assert!(reply_waits_for_approval(Role::Trainee, &default, false));
        assert!(!reply_waits_for_approval(Role::Agent, &default, false));
        assert!(reply_waits_for_approval(Role::Agent, &default, true), "a held conversation binds agents");
        assert!(!reply_waits_for_approval(Role::Supervisor, &default, true));
        assert_eq!(approval_reason(Role::Trainee, &default, true), Some(ApprovalReason::Channel));
        assert_eq!(approval_reason(Role::Agent, &default, true), Some(ApprovalReason::Rule));
        let strict = PublishPolicy { publish_roles: vec![Role::Owner, Role::Supervisor] };
        assert!(strict.validate().is_ok());
        assert!(reply_waits_for_approval(Role::Admin, &strict, false));
        assert!(may_approve_on(Role::Supervisor, &strict) && !may_approve_on(Role::Admin, &strict));
        assert!(PublishPolicy { publish_roles: vec![Role::Agent] }.validate().is_err());
    }

    #[test]
    fn only_trainees_wait_for_approval() {
        let waiting: Vec<Role> = Role::ALL.iter().copied().filter(|r| reply_needs_approval(*r)).collect();
        assert_eq!(waiting, vec![Role::Trainee]);
    }
}
