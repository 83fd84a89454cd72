//! Assignment: each person's languages and capacity, round-robin within a
//! team (hark_domain::assignment decides who), and handing conversations on
//! when their agent goes offline.

use hark_domain::assignment::{AgentProfile, Candidate, next_assignee};
use hark_domain::*;
use hark_store::{AutomationWrite, Write};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::change::Change;
use crate::{Actor, App, AppError, AppResult, now};

/// What assignment should know about a person.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentProfileInput {
    /// Language codes the person reads (`ru`, `en`…); empty: any.
    #[serde(default)]
    pub languages: Vec<String>,
    /// The most open or pending conversations they take at once; absent: no limit.
    #[serde(default)]
    pub capacity: Option<u32>,
}

/// The most conversations handed on at once when an agent goes offline.
const MAX_HANDED_ON: u32 = 500;

impl App {
    /// Every person's assignment profile (people never set up have none).
    pub async fn agent_profiles(&self, actor: &Actor) -> AppResult<Vec<AgentProfile>> {
        actor.require(Action::ReadInbox)?;
        Ok(self.store.agent_profiles(actor.workspace_id()).await?)
    }

    pub async fn put_agent_profile(
        &self,
        actor: &Actor,
        user_id: &str,
        input: AgentProfileInput,
    ) -> AppResult<AgentProfile> {
        actor.require(Action::ManageUsers)?;
        let user = self
            .store
            .user(user_id)
            .await?
            .filter(|u| u.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("user"))?;
        let profile = AgentProfile { user_id: user.id.clone(), languages: input.languages, capacity: input.capacity }
            .validated()?;
        let at = now();
        Change::new(actor, at)
            .write(Write::Automation(AutomationWrite::PutAgentProfile {
                workspace_id: user.workspace_id.clone(),
                profile: profile.clone(),
                at,
            }))
            .audit(
                "user.assignment_profile",
                "user",
                &user.id,
                json!({ "languages": profile.languages, "capacity": profile.capacity }),
            )
            .event("user.profile_updated", &user.id, &profile)
            .commit(self)
            .await?;
        Ok(profile)
    }

    /// Gives the conversation to the next member of `team_id` who is online,
    /// has room and reads the customer's language, and puts it in that team.
    /// Returns who got it, or `None` (it then waits in the team's queue).
    pub async fn assign_round_robin(
        &self,
        actor: &Actor,
        conversation_id: &str,
        team_id: &str,
    ) -> AppResult<Option<User>> {
        actor.require(Action::AssignConversation)?;
        self.round_robin(actor, conversation_id, team_id, None).await
    }

    /// Round-robin leaving out `skip` (someone who just went offline).
    async fn round_robin(
        &self,
        actor: &Actor,
        conversation_id: &str,
        team_id: &str,
        skip: Option<&str>,
    ) -> AppResult<Option<User>> {
        let ws = actor.workspace_id();
        let team =
            self.store.team(team_id).await?.filter(|t| t.workspace_id == ws).ok_or(AppError::NotFound("team"))?;
        // Another node may take a slot or change the conversation meanwhile: try again with fresh counts.
        for _ in 0..5 {
            let before = self
                .store
                .conversation(conversation_id)
                .await?
                .filter(|c| c.workspace_id == ws)
                .ok_or(AppError::NotFound("conversation"))?;
            let users = self.store.users(ws).await?;
            let profiles = self.store.agent_profiles(ws).await?;
            let load = self.store.assigned_load(ws).await?;
            let cursor = self.store.assignment_cursor(&team.id).await?;
            let candidates: Vec<Candidate<'_>> = users
                .iter()
                .filter(|u| team.member_ids.contains(&u.id) && Some(u.id.as_str()) != skip)
                .map(|u| Candidate {
                    user: u,
                    profile: profiles
                        .iter()
                        .find(|p| p.user_id == u.id)
                        .cloned()
                        .unwrap_or_else(|| AgentProfile { user_id: u.id.clone(), ..Default::default() }),
                    load: load
                        .iter()
                        .find(|(id, _)| *id == u.id)
                        .map_or(0, |(_, n)| u32::try_from(*n).unwrap_or(u32::MAX)),
                })
                .collect();
            let language = before.language.clone();
            let Some(chosen) = next_assignee(&candidates, cursor.as_deref(), language.as_deref()) else {
                if before.team_id.as_deref() != Some(team.id.as_str()) || before.assignee_id.as_deref() == skip {
                    let mut after = before.clone();
                    after.team_id = Some(team.id.clone());
                    if skip.is_some() && after.assignee_id.as_deref() == skip {
                        after.assignee_id = None;
                    }
                    match self.commit_assignment(actor, &before, after, None, &team.id, None).await {
                        Err(AppError::Conflict(_)) => continue,
                        other => other?,
                    }
                }
                return Ok(None);
            };
            let chosen = chosen.clone();
            let capacity = candidates.iter().find(|c| c.user.id == chosen.id).and_then(|c| c.profile.capacity);
            let mut after = before.clone();
            after.assignee_id = Some(chosen.id.clone());
            after.team_id = Some(team.id.clone());
            match self.commit_assignment(actor, &before, after, Some(&chosen.id), &team.id, capacity).await {
                Ok(()) => return Ok(Some(chosen)),
                Err(AppError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AppError::Conflict("the team's agents are being assigned by others; try again".into()))
    }

    async fn commit_assignment(
        &self,
        actor: &Actor,
        before: &Conversation,
        mut after: Conversation,
        chosen: Option<&str>,
        team_id: &str,
        capacity: Option<u32>,
    ) -> AppResult<()> {
        let at = now();
        after.version = before.version + 1;
        after.updated_at = at;
        let mut change = Change::new(actor, at);
        if let (Some(user_id), Some(capacity)) = (chosen, capacity) {
            // Checked again inside the commit, under a lock on the agent's row.
            change.push(Write::Automation(AutomationWrite::ReserveAgentSlot { user_id: user_id.to_owned(), capacity }));
        }
        if let Some(user_id) = chosen {
            change.push(Write::Automation(AutomationWrite::SetAssignmentCursor {
                team_id: team_id.to_owned(),
                last_user_id: user_id.to_owned(),
                at,
            }));
        }
        change
            .write(Write::UpdateConversation { conversation: after.clone(), expected_version: before.version })
            .audit(
                "conversation.assign",
                "conversation",
                &before.id,
                json!({
                    "changes": {
                        "assignee_id": { "from": before.assignee_id, "to": after.assignee_id },
                        "team_id": { "from": before.team_id, "to": after.team_id },
                    },
                    "round_robin": true,
                }),
            )
            .event("conversation.updated", &before.id, &after)
            .commit(self)
            .await?;
        Ok(())
    }

    /// Hands on the open conversations of someone who went offline: to the
    /// next available member of each conversation's team, or back to the
    /// unassigned queue. Does nothing if they are back online by now.
    /// Returns the conversations handed on.
    pub async fn hand_on_from(&self, workspace_id: &str, user_id: &str) -> AppResult<Vec<String>> {
        let Some(user) = self.store.user(user_id).await?.filter(|u| u.workspace_id == workspace_id) else {
            return Ok(vec![]);
        };
        if user.availability != Availability::Offline && user.active {
            return Ok(vec![]);
        }
        let actor = Actor::system(workspace_id);
        let mut handed = vec![];
        for id in self.store.open_assigned(user_id, MAX_HANDED_ON).await? {
            let Some(conversation) = self.store.conversation(&id).await? else { continue };
            let result = match conversation.team_id.clone() {
                Some(team_id) => self.round_robin(&actor, &id, &team_id, Some(user_id)).await.map(|_| ()),
                None => self.unassign(&actor, &conversation, user_id).await,
            };
            match result {
                Ok(()) => handed.push(id),
                Err(err) => tracing::warn!(conversation = %conversation.id, %err, "could not hand on a conversation"),
            }
        }
        Ok(handed)
    }

    async fn unassign(&self, actor: &Actor, conversation: &Conversation, user_id: &str) -> AppResult<()> {
        if conversation.assignee_id.as_deref() != Some(user_id) {
            return Ok(());
        }
        let update = crate::ConversationUpdate { assignee_id: Some(None), ..Default::default() };
        self.update_conversation(actor, &conversation.id, update).await.map(|_| ())
    }
}
