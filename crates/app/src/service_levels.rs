//! Service levels: a workspace's SLA policies and its follow-up, survey and
//! alert settings; a conversation's history as the facts every metric reads;
//! SLA evaluation and the durable timer rows it leaves; automatic messages
//! (follow-ups, surveys); survey answers; known issues.
//!
//! The definitions live in `hark_domain::{metrics, sla, csat, known_issues}`;
//! this module only gathers their input from the store and stores their output.

use std::collections::HashMap;

use hark_domain::business_hours::{BusinessHours, BusinessHoursConfig};
use hark_domain::known_issues::KnownIssue;
use hark_domain::metrics::{ConversationMetrics, Fact, FactEvent, conversation_metrics};
use hark_domain::sla::{SlaEvaluation, SlaPolicies, SlaSubject, TargetState};
use hark_domain::spikes::SurgeConfig;
use hark_domain::*;
use hark_store::{
    CsatRecord, KnownIssueLink, KnownIssueRecord, LevelsWrite, ServiceLevelSettingsRecord, SlaStateRecord,
    SlaTimerRecord, StatusChange, Write,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::change::Change;
use crate::conversations::{MAX_MESSAGE_CHARS, preview};
use crate::{Actor, App, AppError, AppResult, new_id, now};

/// Scheduled-message kinds.
pub const FOLLOW_UP: &str = "follow_up";
pub const SURVEY: &str = "survey";

/// A message some hours after resolution, asking whether all is well.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FollowUpSettings {
    pub enabled: bool,
    /// Hours after resolution.
    pub after_hours: u32,
    /// Not sent later than this many hours after resolution (the network's
    /// messaging window is checked too).
    pub window_hours: u32,
    pub text: String,
}

impl Default for FollowUpSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            after_hours: 24,
            window_hours: 48,
            text: "Hello again! Is everything sorted out? Just reply here if you need anything else.".into(),
        }
    }
}

/// The satisfaction survey sent at resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CsatSettings {
    pub enabled: bool,
    /// Seconds after resolution.
    pub delay_seconds: u32,
    /// Customer messages are read as answers for this many hours after the survey.
    pub answer_hours: u32,
}

impl Default for CsatSettings {
    fn default() -> Self {
        Self { enabled: false, delay_seconds: 0, answer_hours: 72 }
    }
}

/// Where surge alerts go besides the inbox banner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct AlertSettings {
    pub surges: bool,
    /// A Slack incoming-webhook URL (empty: none).
    pub slack_webhook_url: String,
    /// Email recipients (sent through the SMTP server in the configuration).
    pub email_to: Vec<String>,
    pub surge: SurgeConfig,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self { surges: true, slack_webhook_url: String::new(), email_to: vec![], surge: SurgeConfig::default() }
    }
}

/// A workspace's service levels, as the settings page and the API show them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ServiceLevelConfig {
    pub policies: SlaPolicies,
    pub follow_up: FollowUpSettings,
    pub csat: CsatSettings,
    pub alerts: AlertSettings,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct OtherSettings {
    follow_up: FollowUpSettings,
    csat: CsatSettings,
    alerts: AlertSettings,
}

impl ServiceLevelConfig {
    pub fn validate(&self) -> AppResult<()> {
        self.policies.validate()?;
        let f = &self.follow_up;
        if !(1..=720).contains(&f.after_hours) || f.window_hours < f.after_hours || f.window_hours > 720 {
            return Err(AppError::invalid(
                "follow_up",
                "after_hours must be 1–720 and window_hours between after_hours and 720",
            ));
        }
        if f.enabled && f.text.trim().is_empty() {
            return Err(AppError::invalid("follow_up.text", "a follow-up needs a text"));
        }
        if f.text.chars().count() > 2000 {
            return Err(AppError::invalid("follow_up.text", "must be at most 2000 characters"));
        }
        if !(1..=720).contains(&self.csat.answer_hours) || self.csat.delay_seconds > 7 * 86_400 {
            return Err(AppError::invalid("csat", "answer_hours must be 1–720 and delay_seconds at most a week"));
        }
        let url = self.alerts.slack_webhook_url.trim();
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
            return Err(AppError::invalid("alerts.slack_webhook_url", "must be an http(s) URL"));
        }
        if let Some(bad) = self.alerts.email_to.iter().find(|e| !e.contains('@') || e.trim() != e.as_str()) {
            return Err(AppError::invalid("alerts.email_to", format!("{bad:?} is not an email address")));
        }
        self.alerts.surge.validate()?;
        Ok(())
    }
}

/// Everything stored about one conversation that its metrics read.
#[derive(Debug, Clone)]
pub struct History {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
    pub status_changes: Vec<StatusChange>,
    pub ratings: Vec<CsatRecord>,
}

impl History {
    /// The conversation's facts: its messages (a survey answer as its rating,
    /// not as a customer message), its status changes and its ratings.
    pub fn facts(&self) -> Vec<Fact> {
        let answers: std::collections::HashSet<&str> = self.ratings.iter().map(|r| r.message_id.as_str()).collect();
        let mut facts: Vec<Fact> =
            self.messages.iter().filter(|m| !answers.contains(m.id.as_str())).filter_map(Fact::from_message).collect();
        facts.extend(
            self.status_changes
                .iter()
                .map(|s| Fact::new(s.at, FactEvent::Status { to: s.to_status, user_id: s.user_id.clone() })),
        );
        facts.extend(
            self.ratings
                .iter()
                .filter_map(|r| Some(Fact::new(r.at, FactEvent::Csat { rating: csat::Rating::new(r.rating).ok()? }))),
        );
        facts.sort_by_key(|f| f.at);
        facts
    }

    pub fn metrics(&self, hours: Option<&BusinessHours>) -> ConversationMetrics {
        conversation_metrics(&self.facts(), hours)
    }

    /// The latest instant in the history (evaluations never run before it).
    pub fn latest(&self) -> Option<Timestamp> {
        let m = self.messages.iter().map(|m| m.created_at);
        let s = self.status_changes.iter().map(|s| s.at);
        let r = self.ratings.iter().map(|r| r.at);
        m.chain(s).chain(r).max()
    }
}

/// Where a conversation stands against its SLA, for the API and the inbox,
/// with what its figures are made of, so anyone can recompute them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SlaView {
    pub evaluation: Option<SlaEvaluation>,
    /// Every fact the metric definitions read, in order: its messages (a
    /// survey answer as its rating), status changes and ratings.
    pub facts: Vec<Fact>,
    /// The conversation's cycles measured from those facts, in calendar time.
    pub metrics: ConversationMetrics,
}

impl App {
    // --- settings ------------------------------------------------------------

    /// The workspace's service levels (defaults when never set).
    pub async fn service_level_config(&self, workspace_id: &str) -> AppResult<ServiceLevelConfig> {
        let Some(record) = self.store.service_level_settings(workspace_id).await? else {
            return Ok(ServiceLevelConfig::default());
        };
        let policies: SlaPolicies = serde_json::from_value(record.policies)
            .map_err(|e| AppError::invalid("policies", format!("stored policies unreadable: {e}")))?;
        let other: OtherSettings = serde_json::from_value(record.settings).unwrap_or_default();
        Ok(ServiceLevelConfig { policies, follow_up: other.follow_up, csat: other.csat, alerts: other.alerts })
    }

    pub async fn service_levels(&self, actor: &Actor) -> AppResult<ServiceLevelConfig> {
        actor.require(Action::ReadInbox)?;
        let mut config = self.service_level_config(actor.workspace_id()).await?;
        if actor.require(Action::ManageServiceLevels).is_err() {
            config.alerts.slack_webhook_url = String::new();
            config.alerts.email_to.clear();
        }
        Ok(config)
    }

    /// Replaces the workspace's service levels. Running conversations are
    /// re-evaluated under the new policies as they next change.
    pub async fn put_service_levels(&self, actor: &Actor, config: ServiceLevelConfig) -> AppResult<ServiceLevelConfig> {
        actor.require(Action::ManageServiceLevels)?;
        config.validate()?;
        let at = now();
        let other = OtherSettings {
            follow_up: config.follow_up.clone(),
            csat: config.csat.clone(),
            alerts: config.alerts.clone(),
        };
        let record = ServiceLevelSettingsRecord {
            workspace_id: actor.workspace_id().to_owned(),
            policies: serde_json::to_value(&config.policies).unwrap_or_default(),
            settings: serde_json::to_value(&other).unwrap_or_default(),
            updated_at: at,
        };
        let ws = actor.workspace_id().to_owned();
        Change::new(actor, at)
            .write(Write::Levels(LevelsWrite::PutSettings(record)))
            .audit("service_levels.update", "workspace", &ws, json!({ "policies": config.policies }))
            .event("service_levels.updated", &ws, &json!({ "policies": config.policies }))
            .commit(self)
            .await?;
        Ok(config)
    }

    // --- history and evaluation ----------------------------------------------

    /// The stored history of a conversation, every message included.
    /// [`Self::history`] of many conversations at once, with one read of
    /// each kind for all of them (those that do not exist are left out).
    pub async fn histories(&self, conversation_ids: &[String]) -> AppResult<HashMap<String, History>> {
        let mut histories: HashMap<String, History> = self
            .store
            .conversations_by_ids(conversation_ids)
            .await?
            .into_iter()
            .map(|conversation| {
                let history = History { conversation, messages: vec![], status_changes: vec![], ratings: vec![] };
                (history.conversation.id.clone(), history)
            })
            .collect();
        let found: Vec<String> = histories.keys().cloned().collect();
        for m in self.store.messages_of_conversations(&found).await? {
            if let Some(h) = histories.get_mut(&m.conversation_id) {
                h.messages.push(m);
            }
        }
        for s in self.store.status_changes_of(&found).await? {
            if let Some(h) = histories.get_mut(&s.conversation_id) {
                h.status_changes.push(s);
            }
        }
        for r in self.store.csat_of_conversations(&found).await? {
            if let Some(h) = histories.get_mut(&r.conversation_id) {
                h.ratings.push(r);
            }
        }
        Ok(histories)
    }

    pub async fn history(&self, conversation_id: &str) -> AppResult<Option<History>> {
        Ok(self.histories(&[conversation_id.to_owned()]).await?.remove(conversation_id))
    }

    /// The business hours that apply to a conversation of `team_id`: the
    /// team's, else the workspace's, else none.
    pub async fn business_hours_for(
        &self,
        workspace_id: &str,
        team_id: Option<&str>,
    ) -> AppResult<Option<BusinessHours>> {
        let all = self.store.business_hours(workspace_id).await?;
        let chosen = team_id
            .and_then(|t| all.iter().find(|b| b.team_id.as_deref() == Some(t)))
            .or_else(|| all.iter().find(|b| b.team_id.is_none()));
        let Some(record) = chosen else { return Ok(None) };
        let config: BusinessHoursConfig = match serde_json::from_value(record.config.clone()) {
            Ok(c) => c,
            Err(_) => return Ok(None),
        };
        Ok(BusinessHours::try_from(config).ok())
    }

    /// The conversation's SLA targets at `now` under the policy that applies
    /// to it, or `None` when no policy does (or it was merged away).
    pub async fn evaluate_sla(
        &self,
        history: &History,
        policies: &SlaPolicies,
        now: Timestamp,
    ) -> AppResult<Option<SlaEvaluation>> {
        let c = &history.conversation;
        if c.merged_into_id.is_some() {
            return Ok(None);
        }
        let Some(channel) = self.store.channel(&c.channel_id).await? else { return Ok(None) };
        let Some(policy) = policies.select(&SlaSubject::of(c, channel.network)) else { return Ok(None) };
        let hours = if policy.business_hours {
            self.business_hours_for(&c.workspace_id, c.team_id.as_deref()).await?
        } else {
            None
        };
        let metrics = history.metrics(hours.as_ref());
        let now = history.latest().map_or(now, |l| l.max(now));
        Ok(Some(hark_domain::sla::evaluate(policy, &metrics, hours.as_ref(), now)))
    }

    /// Where a conversation stands against its SLA right now.
    pub async fn conversation_sla(&self, actor: &Actor, conversation_id: &str) -> AppResult<SlaView> {
        actor.require(Action::ReadInbox)?;
        let history = self
            .history(conversation_id)
            .await?
            .filter(|h| h.conversation.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("conversation"))?;
        let config = self.service_level_config(actor.workspace_id()).await?;
        let evaluation = self.evaluate_sla(&history, &config.policies, now()).await?;
        let facts = history.facts();
        let metrics = conversation_metrics(&facts, None);
        Ok(SlaView { evaluation, facts, metrics })
    }

    /// Survey answers rated at most `max_rating` since `since`, newest first.
    pub async fn csat_answers(
        &self,
        actor: &Actor,
        max_rating: u8,
        since: Timestamp,
        limit: u32,
    ) -> AppResult<Vec<CsatRecord>> {
        actor.require(Action::ViewReports)?;
        Ok(self.store.csat_ratings(actor.workspace_id(), max_rating, since, limit).await?)
    }

    // --- automatic messages ----------------------------------------------------

    /// Queues an automatic reply (a follow-up or a survey) in the conversation,
    /// written by no person: it never counts as a response. `with` commits
    /// together with it (marking the scheduled row sent).
    pub async fn send_automatic(
        &self,
        conversation_id: &str,
        text: &str,
        purpose: &str,
        with: Vec<Write>,
    ) -> AppResult<Message> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_MESSAGE_CHARS {
            return Err(AppError::invalid("text", "an automatic message needs a text of a sensible length"));
        }
        for _ in 0..3 {
            let before = self.store.conversation(conversation_id).await?.ok_or(AppError::NotFound("conversation"))?;
            let actor = Actor::system(&before.workspace_id);
            let at = now();
            let visibility = match before.kind {
                ConversationKind::Private => Visibility::Private,
                ConversationKind::Public => Visibility::Public,
            };
            let mut message = Message::written_by_user(
                new_id("msg"),
                &before,
                "system",
                visibility,
                text,
                DeliveryStatus::Queued,
                at,
            );
            message.author_kind = AuthorKind::Bot;
            message.author_user_id = None;
            let mut after = before.clone();
            after.record_outbound(at, false);
            after.last_message_preview = preview(text);
            after.version = before.version + 1;
            after.updated_at = at;
            let mut change = Change::new(&actor, at);
            for write in with.iter().cloned() {
                change.push(write);
            }
            let result = change
                .write(Write::InsertMessage(message.clone()))
                .write(Write::UpdateConversation { conversation: after.clone(), expected_version: before.version })
                .audit("message.automatic", "message", &message.id, json!({ "purpose": purpose }))
                .outbox("publish", &message.id, json!({ "message_id": message.id }))
                .event("message.created", conversation_id, &message)
                .event("conversation.updated", conversation_id, &after)
                .commit(self)
                .await;
            match result {
                Ok(_) => return Ok(message),
                Err(AppError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AppError::Conflict("the conversation is being changed by others; try again".into()))
    }

    /// Puts a conversation back to resolved after a survey answer reopened it:
    /// the answer is a rating, not a new request.
    pub async fn resolve_after_answer(&self, conversation_id: &str) -> AppResult<()> {
        for _ in 0..3 {
            let before = self.store.conversation(conversation_id).await?.ok_or(AppError::NotFound("conversation"))?;
            if before.status == ConversationStatus::Resolved {
                return Ok(());
            }
            let actor = Actor::system(&before.workspace_id);
            let at = now();
            let mut after = before.clone();
            after.change_status(ConversationStatus::Resolved, at, None)?;
            after.version = before.version + 1;
            after.updated_at = at;
            let result = Change::new(&actor, at)
                .write(Write::UpdateConversation { conversation: after.clone(), expected_version: before.version })
                .audit(
                    "conversation.status",
                    "conversation",
                    conversation_id,
                    json!({ "changes": { "status": { "from": before.status, "to": after.status } }, "why": "survey answer" }),
                )
                .event("conversation.updated", conversation_id, &after)
                .commit(self)
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(AppError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AppError::Conflict("the conversation is being changed by others; try again".into()))
    }

    // --- known issues ----------------------------------------------------------

    pub async fn known_issues(&self, actor: &Actor) -> AppResult<Vec<KnownIssueView>> {
        actor.require(Action::ReadInbox)?;
        let mut out = vec![];
        for record in self.store.known_issues(actor.workspace_id()).await? {
            out.push(self.known_issue_view(record).await?);
        }
        Ok(out)
    }

    /// Issues whose window contains `at` (for the agents' banner and for linking).
    pub async fn active_known_issues(&self, workspace_id: &str, at: Timestamp) -> AppResult<Vec<KnownIssue>> {
        Ok(self.known_issues_in(workspace_id).await?.into_iter().filter(|i| i.is_active(at)).collect())
    }

    /// Every known issue of the workspace, active or not (unreadable ones left out).
    pub async fn known_issues_in(&self, workspace_id: &str) -> AppResult<Vec<KnownIssue>> {
        Ok(self
            .store
            .known_issues(workspace_id)
            .await?
            .into_iter()
            .filter_map(|r| serde_json::from_value::<KnownIssue>(r.issue).ok())
            .collect())
    }

    async fn known_issue_view(&self, record: KnownIssueRecord) -> AppResult<KnownIssueView> {
        let links = self.store.known_issue_links(&record.id).await?;
        let issue: KnownIssue = serde_json::from_value(record.issue)
            .map_err(|e| AppError::invalid("known_issue", format!("stored issue unreadable: {e}")))?;
        Ok(KnownIssueView {
            conversations: links.len() as u64,
            answered: links.iter().filter(|l| l.answered_at.is_some()).count() as u64,
            conversation_ids: links.into_iter().map(|l| l.conversation_id).collect(),
            issue,
            created_by: record.created_by,
            created_at: record.created_at,
        })
    }

    /// Posts (no `id`) or replaces a known issue.
    pub async fn put_known_issue(
        &self,
        actor: &Actor,
        id: Option<&str>,
        mut issue: KnownIssue,
    ) -> AppResult<KnownIssueView> {
        actor.require(Action::ManageKnownIssues)?;
        let existing = match id {
            Some(id) => Some(
                self.store
                    .known_issue(id)
                    .await?
                    .filter(|k| k.workspace_id == actor.workspace_id())
                    .ok_or(AppError::NotFound("known issue"))?,
            ),
            None => None,
        };
        issue.id = id.map(str::to_owned).unwrap_or_else(|| new_id("ki"));
        issue.workspace_id = actor.workspace_id().to_owned();
        issue.validate()?;
        let at = now();
        let record = KnownIssueRecord {
            id: issue.id.clone(),
            workspace_id: actor.workspace_id().to_owned(),
            issue: serde_json::to_value(&issue).unwrap_or_default(),
            created_by: existing.as_ref().map_or(Some(actor.user.id.clone()), |e| e.created_by.clone()),
            created_at: existing.as_ref().map_or(at, |e| e.created_at),
            updated_at: at,
        };
        Change::new(actor, at)
            .write(Write::Levels(LevelsWrite::PutKnownIssue(record.clone())))
            .audit(
                if id.is_some() { "known_issue.update" } else { "known_issue.create" },
                "known_issue",
                &issue.id,
                json!({ "title": issue.title, "keywords": issue.keywords }),
            )
            .event("known_issue.updated", &issue.id, &issue)
            .commit(self)
            .await?;
        self.known_issue_view(record).await
    }

    pub async fn delete_known_issue(&self, actor: &Actor, id: &str) -> AppResult<()> {
        actor.require(Action::ManageKnownIssues)?;
        self.store
            .known_issue(id)
            .await?
            .filter(|k| k.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("known issue"))?;
        Change::new(actor, now())
            .write(Write::Levels(LevelsWrite::DeleteKnownIssue { id: id.to_owned() }))
            .audit("known_issue.delete", "known_issue", id, json!({}))
            .event("known_issue.deleted", id, &json!({ "id": id }))
            .commit(self)
            .await?;
        Ok(())
    }

    /// Sends the issue's prepared reply, as `actor`, to every linked
    /// conversation not answered yet and not resolved. Returns how many got it.
    pub async fn answer_known_issue(&self, actor: &Actor, id: &str) -> AppResult<u64> {
        actor.require(Action::ManageKnownIssues)?;
        actor.require(Action::Reply)?;
        let record = self
            .store
            .known_issue(id)
            .await?
            .filter(|k| k.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("known issue"))?;
        let issue: KnownIssue = serde_json::from_value(record.issue)
            .map_err(|e| AppError::invalid("known_issue", format!("stored issue unreadable: {e}")))?;
        let reply = issue
            .prepared_reply
            .clone()
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| AppError::invalid("reply", "this known issue has no prepared reply"))?;
        let mut sent = 0;
        for link in self.store.known_issue_links(id).await? {
            if link.answered_at.is_some() {
                continue;
            }
            let Some(conversation) = self.store.conversation(&link.conversation_id).await? else { continue };
            if conversation.status == ConversationStatus::Resolved || conversation.merged_into_id.is_some() {
                continue;
            }
            let visibility = match conversation.kind {
                ConversationKind::Private => Visibility::Private,
                ConversationKind::Public => Visibility::Public,
            };
            let input = crate::NewMessage { visibility, text: reply.clone(), template: None };
            self.post_message(actor, &conversation.id, input).await?;
            Change::new(actor, now())
                .write(Write::Levels(LevelsWrite::MarkKnownIssueAnswered {
                    known_issue_id: id.to_owned(),
                    conversation_id: conversation.id.clone(),
                    at: now(),
                }))
                .commit(self)
                .await?;
            sent += 1;
        }
        Ok(sent)
    }

    pub async fn known_issues_of(&self, actor: &Actor, conversation_id: &str) -> AppResult<Vec<KnownIssueLink>> {
        actor.require(Action::ReadInbox)?;
        Ok(self
            .store
            .known_issue_links_of(conversation_id)
            .await?
            .into_iter()
            .filter(|l| l.workspace_id == actor.workspace_id())
            .collect())
    }
}

/// A known issue with its volume.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KnownIssueView {
    pub issue: KnownIssue,
    /// Conversations linked to it.
    pub conversations: u64,
    /// Of those, answered with its prepared reply.
    pub answered: u64,
    pub conversation_ids: Vec<String>,
    pub created_by: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// The timer rows and inbox state an evaluation calls for (every running
/// target upserted, the rest deleted).
pub fn sla_writes(conversation: &Conversation, evaluation: Option<&SlaEvaluation>, at: Timestamp) -> Vec<Write> {
    let id = &conversation.id;
    let Some(evaluation) = evaluation else {
        return vec![
            Write::Levels(LevelsWrite::RetainSlaTimers { conversation_id: id.clone(), keep: vec![] }),
            Write::Levels(LevelsWrite::DeleteSlaState { conversation_id: id.clone() }),
        ];
    };
    let timers = evaluation.timers();
    let mut writes: Vec<Write> = timers
        .iter()
        .map(|t| {
            Write::Levels(LevelsWrite::PutSlaTimer(SlaTimerRecord {
                id: 0,
                workspace_id: conversation.workspace_id.clone(),
                conversation_id: id.clone(),
                target_key: t.key.clone(),
                metric: t.metric.as_str().to_owned(),
                policy_id: evaluation.policy_id.clone(),
                due_at: t.due_at,
                warn_at: t.warn_at,
                next_at: t.warn_at.unwrap_or(t.due_at),
            }))
        })
        .collect();
    writes.push(Write::Levels(LevelsWrite::RetainSlaTimers {
        conversation_id: id.clone(),
        keep: timers.iter().map(|t| t.key.clone()).collect(),
    }));
    let current_cycle = evaluation.targets.iter().map(|t| t.cycle).max();
    let breached = evaluation
        .targets
        .iter()
        .filter(|t| t.state == TargetState::Breached && Some(t.cycle) == current_cycle)
        .count() as i64;
    let resolved = conversation.status == ConversationStatus::Resolved;
    writes.push(Write::Levels(LevelsWrite::PutSlaState(SlaStateRecord {
        conversation_id: id.clone(),
        workspace_id: conversation.workspace_id.clone(),
        policy_id: evaluation.policy_id.clone(),
        next_due_at: evaluation.next_due(),
        at_risk_from: timers.iter().map(|t| t.warn_at.unwrap_or(t.due_at)).min(),
        breached: if resolved { 0 } else { breached },
        updated_at: at,
    })));
    writes
}
