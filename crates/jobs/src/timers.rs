//! Service levels in the background (docs/metrics.md, "Timers"):
//!
//! - [`ServiceLevelsFollower`] follows the events table. It records status
//!   changes (the facts messages do not carry), reads survey answers, links
//!   conversations to known issues, counts inbound volume for surge
//!   detection, and for every conversation that changed re-evaluates its SLA
//!   (durable timer rows, inbox state) and replaces its report contribution.
//!   Its writes commit with its position: exactly once, in order.
//! - [`run`] ticks: claims due SLA timers and announces each warning and
//!   breach once (`sla.warning`, `sla.breached`), sends due follow-ups and
//!   surveys, closes surges when traffic stops, and asks the follower to
//!   revisit figures that decide by time alone (FCR after 7 days).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hark_app::reports::{self, Contribution};
use hark_app::service_levels::{FOLLOW_UP, History, SURVEY, ServiceLevelConfig, sla_writes};
use hark_app::{Actor, AppResult, new_id};
use hark_domain::csat::{ParsedAnswer, parse_answer, survey_text};
use hark_domain::known_issues::{KnownIssue, matching_issues};
use hark_domain::sla::{SlaEvaluation, TargetState};
use hark_domain::spikes::{SurgeDetector, SurgeEvent, top_terms};
use hark_domain::*;
use hark_store::{
    ConversationWatch, CsatRecord, KnownIssueLink, LevelsWrite, NewEvent, NewOutboxItem, ScheduledMessage,
    StatusChange, Write,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::follow::EventHandler;
use crate::{Workers, pause};
use serde::Deserialize;

/// The follower's name (its position is stored under it).
pub const FOLLOWER: &str = "service-levels";

/// Outbox kind of alert notifications (Slack, email).
pub const ALERT_OUTBOX: &str = "alert";

fn later(t: Timestamp, seconds: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_secs(seconds)).unwrap_or(t)
}

/// Follows the events table for service levels and reports.
pub struct ServiceLevelsFollower;

impl EventHandler for ServiceLevelsFollower {
    fn name(&self) -> &'static str {
        FOLLOWER
    }

    fn handle<'a>(
        &'a self,
        workers: &'a Workers,
        events: &'a [Event],
    ) -> Pin<Box<dyn Future<Output = AppResult<Vec<Write>>> + Send + 'a>> {
        Box::pin(handle_events(workers, events))
    }
}

/// What one batch gathers before it writes.
#[derive(Default)]
struct Batch {
    writes: Vec<Write>,
    /// Conversations to re-evaluate, in first-touched order.
    touched: Vec<String>,
    /// What the batch read of its conversations up front: one read of each
    /// kind for the whole batch, not one per event.
    stored: Stored,
    /// Each conversation's state as of the batch's latest event (written once, at the end).
    watch: HashMap<String, ConversationWatch>,
    /// Conversations given a follow-up by this batch (a later message cancels it).
    follow_ups: HashSet<String>,
    known_issues: HashMap<String, Vec<KnownIssue>>,
    status_changes: HashMap<String, Vec<StatusChange>>,
    ratings: HashMap<String, Vec<CsatRecord>>,
    configs: HashMap<String, ServiceLevelConfig>,
    detectors: BTreeMap<String, (String, SurgeDetector)>,
    /// Survey answers that reopened a conversation: put it back to resolved after commit.
    resolve_again: Vec<String>,
    /// Survey answers by conversation: the instant of the answering message.
    answered: HashMap<String, Timestamp>,
}

/// The stored state of a batch's conversations, as the batch began.
#[derive(Default)]
struct Stored {
    histories: HashMap<String, History>,
    watches: HashMap<String, ConversationWatch>,
    scheduled: HashMap<String, Vec<ScheduledMessage>>,
    contributions: HashMap<String, hark_store::ContributionRecord>,
    /// Conversations with an SLA state row (and so possibly timers).
    with_sla_state: HashSet<String>,
}

impl Stored {
    async fn read(workers: &Workers, events: &[Parsed<'_>]) -> AppResult<Stored> {
        let store = &workers.app.store;
        let all = distinct(events.iter().filter_map(Parsed::conversation_id));
        // Only a customer's message can answer a survey or cancel a follow-up.
        let wrote = distinct(events.iter().filter_map(|e| match e {
            Parsed::Inbound(m) => Some(m.conversation_id.as_str()),
            _ => None,
        }));
        let mut scheduled: HashMap<String, Vec<ScheduledMessage>> = HashMap::new();
        for m in store.scheduled_messages_of_conversations(&wrote).await? {
            scheduled.entry(m.conversation_id.clone()).or_default().push(m);
        }
        Ok(Stored {
            histories: workers.app.histories(&all).await?,
            watches: store
                .conversation_watches(&all)
                .await?
                .into_iter()
                .map(|w| (w.conversation_id.clone(), w))
                .collect(),
            scheduled,
            contributions: store
                .contributions(&all)
                .await?
                .into_iter()
                .map(|c| (c.conversation_id.clone(), c))
                .collect(),
            with_sla_state: store.sla_states(&all).await?.into_iter().map(|s| s.conversation_id).collect(),
        })
    }
}

/// Each id once, sorted.
fn distinct<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let set: std::collections::BTreeSet<&str> = ids.collect();
    set.into_iter().map(str::to_owned).collect()
}

/// An event as the follower reads it.
enum Parsed<'a> {
    Conversation(&'a Event, Box<Conversation>),
    Inbound(Box<Message>),
    /// Anything else that touches a conversation (its id).
    Touch(String),
    Other,
}

impl<'a> Parsed<'a> {
    fn of(event: &'a Event) -> Parsed<'a> {
        match event.kind.as_str() {
            "conversation.created" | "conversation.updated" => match Conversation::deserialize(&*event.payload) {
                Ok(c) => Parsed::Conversation(event, Box::new(c)),
                Err(_) => Parsed::Other,
            },
            "message.created" => match Message::deserialize(&*event.payload) {
                Ok(m) if m.direction == Direction::Inbound => Parsed::Inbound(Box::new(m)),
                Ok(m) => Parsed::Touch(m.conversation_id),
                Err(_) => Parsed::Other,
            },
            "message.updated" | "sla.warning" | "sla.breached" | "report.revisit" => {
                Parsed::Touch(event.subject_id.clone())
            }
            _ => Parsed::Other,
        }
    }

    fn conversation_id(&self) -> Option<&str> {
        match self {
            Parsed::Conversation(_, c) => Some(&c.id),
            Parsed::Inbound(m) => Some(&m.conversation_id),
            Parsed::Touch(id) => Some(id),
            Parsed::Other => None,
        }
    }
}

impl Batch {
    fn touch(&mut self, id: &str) {
        if !self.touched.iter().any(|t| t == id) {
            self.touched.push(id.to_owned());
        }
    }

    async fn config(&mut self, workers: &Workers, workspace_id: &str) -> AppResult<ServiceLevelConfig> {
        if let Some(c) = self.configs.get(workspace_id) {
            return Ok(c.clone());
        }
        let config = workers.app.service_level_config(workspace_id).await?;
        self.configs.insert(workspace_id.to_owned(), config.clone());
        Ok(config)
    }
}

async fn handle_events(workers: &Workers, events: &[Event]) -> AppResult<Vec<Write>> {
    let parsed: Vec<Parsed<'_>> = events.iter().map(Parsed::of).collect();
    let mut batch = Batch { stored: Stored::read(workers, &parsed).await?, ..Batch::default() };
    for event in &parsed {
        match event {
            Parsed::Conversation(event, conversation) => {
                on_conversation(workers, &mut batch, event, conversation).await?
            }
            Parsed::Inbound(message) => {
                batch.touch(&message.conversation_id);
                on_inbound(workers, &mut batch, message).await?;
            }
            Parsed::Touch(id) => batch.touch(id),
            Parsed::Other => {}
        }
    }
    let now = Timestamp::now();
    let mut changed = vec![];
    for id in batch.touched.clone() {
        let Some(mut history) = batch.stored.histories.remove(&id) else { continue };
        history.status_changes.extend(batch.status_changes.remove(&id).unwrap_or_default());
        history.status_changes.sort_by_key(|s| s.at);
        history.ratings.extend(batch.ratings.remove(&id).unwrap_or_default());
        let config = batch.config(workers, &history.conversation.workspace_id).await?;
        let evaluation = workers.app.evaluate_sla(&history, &config.policies, now).await?;
        // No policy applies, and none did before: nothing to clear.
        if evaluation.is_some() || batch.stored.with_sla_state.contains(&id) {
            batch.writes.extend(sla_writes(&history.conversation, evaluation.as_ref(), now));
        }
        let network = match workers.app.store.channel(&history.conversation.channel_id).await? {
            Some(channel) => channel.network,
            None => continue,
        };
        let old = reports::stored_contribution(batch.stored.contributions.remove(&id));
        let new = reports::contribution(&history, network, evaluation.as_ref(), now);
        changed.push((history.conversation.clone(), old, new));
    }
    let mut watches: Vec<ConversationWatch> = batch.watch.drain().map(|(_, w)| w).collect();
    watches.sort_by(|a, b| a.conversation_id.cmp(&b.conversation_id));
    batch.writes.extend(watches.into_iter().map(|w| Write::Levels(LevelsWrite::PutWatch(w))));
    batch.writes.extend(workers.app.report_writes(changed).await?);
    for (key, (workspace_id, detector)) in &batch.detectors {
        batch.writes.push(Write::Levels(LevelsWrite::PutSurgeDetector {
            detector_key: key.clone(),
            workspace_id: workspace_id.clone(),
            state: serde_json::to_value(detector).unwrap_or_default(),
            at: now,
        }));
    }
    // Putting a conversation back to resolved is a use case with its own
    // commit; it does nothing when it is resolved already, so a repeat is harmless.
    for id in &batch.resolve_again {
        if let Err(err) = workers.app.resolve_after_answer(id).await {
            tracing::warn!(conversation = id, %err, "could not resolve after a survey answer");
        }
    }
    Ok(batch.writes)
}

/// The conversation's state as the follower last recorded it.
fn watch_of(batch: &Batch, id: &str) -> Option<ConversationWatch> {
    batch.watch.get(id).or_else(|| batch.stored.watches.get(id)).cloned()
}

/// Records a status change the conversation's new state shows, unless a
/// customer message explains it (a message after resolution reopens, one
/// while pending or snoozed resumes: the facts say so already).
async fn on_conversation(workers: &Workers, batch: &mut Batch, event: &Event, c: &Conversation) -> AppResult<()> {
    batch.touch(&c.id);
    let before = watch_of(batch, &c.id);
    let (from, last_inbound) = match &before {
        Some(w) => (w.status, w.last_inbound_at),
        None => (ConversationStatus::Open, None),
    };
    let by_message = c.timeline.last_inbound_at != last_inbound && c.status == ConversationStatus::Open;
    // A survey answer reopened it on the way in, but as the facts tell it the
    // conversation never left resolved (the answer is a rating).
    let by_answer = by_message && from == ConversationStatus::Resolved && answered_last(batch, c);
    if by_answer {
        let watch = ConversationWatch {
            conversation_id: c.id.clone(),
            workspace_id: c.workspace_id.clone(),
            status: ConversationStatus::Resolved,
            last_inbound_at: c.timeline.last_inbound_at,
            updated_at: event.at,
        };
        batch.watch.insert(c.id.clone(), watch);
        return Ok(());
    }
    if from != c.status && !by_message {
        let user_id = workers.app.store.status_actor(&c.id, event.at).await?;
        let change = StatusChange {
            workspace_id: c.workspace_id.clone(),
            conversation_id: c.id.clone(),
            at: event.at,
            from_status: from,
            to_status: c.status,
            user_id,
            event_id: event.id.parse().unwrap_or(0),
        };
        batch.writes.push(Write::Levels(LevelsWrite::InsertStatusChange(change.clone())));
        batch.status_changes.entry(c.id.clone()).or_default().push(change);
        if c.status == ConversationStatus::Resolved && c.merged_into_id.is_none() {
            schedule_after_resolution(workers, batch, c, event.at).await?;
        }
    }
    let watch = ConversationWatch {
        conversation_id: c.id.clone(),
        workspace_id: c.workspace_id.clone(),
        status: c.status,
        last_inbound_at: c.timeline.last_inbound_at,
        updated_at: event.at,
    };
    batch.watch.insert(c.id.clone(), watch);
    Ok(())
}

/// Whether the conversation's latest customer message is a survey answer.
fn answered_last(batch: &Batch, c: &Conversation) -> bool {
    let Some(last) = c.timeline.last_inbound_at else { return false };
    batch.answered.get(&c.id) == Some(&last)
        || batch.stored.histories.get(&c.id).is_some_and(|h| h.ratings.iter().any(|r| r.at == last))
}

/// Schedules the survey and the follow-up a resolution calls for.
async fn schedule_after_resolution(
    workers: &Workers,
    batch: &mut Batch,
    c: &Conversation,
    resolved_at: Timestamp,
) -> AppResult<()> {
    let config = batch.config(workers, &c.workspace_id).await?;
    let mut schedule = |kind: &str, due_at: Timestamp, expires_at: Timestamp| {
        batch.writes.push(Write::Levels(LevelsWrite::ScheduleMessage(ScheduledMessage {
            id: 0,
            workspace_id: c.workspace_id.clone(),
            conversation_id: c.id.clone(),
            kind: kind.to_owned(),
            resolved_at,
            due_at,
            expires_at,
            state: "scheduled".into(),
            detail: String::new(),
            message_id: None,
            created_at: resolved_at,
        })));
    };
    if config.csat.enabled {
        let due = later(resolved_at, i64::from(config.csat.delay_seconds));
        schedule(SURVEY, due, later(due, i64::from(config.csat.answer_hours) * 3600));
    }
    if config.follow_up.enabled {
        batch.follow_ups.insert(c.id.clone());
        schedule(
            FOLLOW_UP,
            later(resolved_at, i64::from(config.follow_up.after_hours) * 3600),
            later(resolved_at, i64::from(config.follow_up.window_hours) * 3600),
        );
    }
    Ok(())
}

/// A customer wrote: follow-ups are cancelled, a survey may be answered,
/// known issues may match, and surge detectors count it.
async fn on_inbound(workers: &Workers, batch: &mut Batch, m: &Message) -> AppResult<()> {
    let follow_up_waits = batch.follow_ups.contains(&m.conversation_id)
        || batch
            .stored
            .scheduled
            .get(&m.conversation_id)
            .is_some_and(|all| all.iter().any(|s| s.kind == FOLLOW_UP && s.state == "scheduled"));
    if follow_up_waits {
        batch.writes.push(Write::Levels(LevelsWrite::SetScheduledStateFor {
            conversation_id: m.conversation_id.clone(),
            kind: FOLLOW_UP.into(),
            from_state: "scheduled".into(),
            state: "cancelled".into(),
        }));
    }
    read_survey_answer(workers, batch, m).await?;
    link_known_issues(workers, batch, m).await?;
    count_for_surges(workers, batch, m).await?;
    Ok(())
}

async fn read_survey_answer(workers: &Workers, batch: &mut Batch, m: &Message) -> AppResult<()> {
    let answerable = |s: &&ScheduledMessage| {
        s.kind == SURVEY && s.state == "sent" && m.created_at >= s.due_at && m.created_at < s.expires_at
    };
    let Some(survey) =
        batch.stored.scheduled.get(&m.conversation_id).and_then(|all| all.iter().rev().find(answerable)).cloned()
    else {
        return Ok(());
    };
    match parse_answer(&m.text) {
        ParsedAnswer::Rated(answer) => {
            let conversation = workers.app.store.conversation(&m.conversation_id).await?;
            let agent_id = match &conversation {
                Some(c) if c.assignee_id.is_some() => c.assignee_id.clone(),
                _ => last_replier(workers, &m.conversation_id).await?,
            };
            let record = CsatRecord {
                id: new_id("csat"),
                workspace_id: m.workspace_id.clone(),
                conversation_id: m.conversation_id.clone(),
                message_id: m.id.clone(),
                channel_id: m.channel_id.clone(),
                agent_id: agent_id.clone(),
                rating: answer.rating.score(),
                comment: answer.comment.clone().unwrap_or_default(),
                at: m.created_at,
            };
            batch.writes.push(Write::Levels(LevelsWrite::InsertCsat(record.clone())));
            batch.writes.push(Write::Levels(LevelsWrite::SetScheduledState {
                id: survey.id,
                state: "answered".into(),
                detail: format!("rated {}", answer.rating.score()),
                message_id: None,
            }));
            batch.ratings.entry(m.conversation_id.clone()).or_default().push(record.clone());
            batch.answered.insert(m.conversation_id.clone(), m.created_at);
            batch.writes.push(event(
                &m.workspace_id,
                m.created_at,
                "csat.answered",
                &m.conversation_id,
                json!({ "rating": record.rating, "comment": record.comment, "agent_id": agent_id, "message_id": m.id }),
            ));
            if answer.rating.score() <= 2 {
                notify_supervisors(workers, batch, &record).await?;
            }
            batch.resolve_again.push(m.conversation_id.clone());
        }
        ParsedAnswer::OutOfRange { .. } => {}
        ParsedAnswer::Unrecognised => {
            // Something else than an answer: the survey is over, and the
            // message is an ordinary one (it reopened the conversation).
            batch.writes.push(Write::Levels(LevelsWrite::SetScheduledState {
                id: survey.id,
                state: "closed".into(),
                detail: "the customer wrote something else".into(),
                message_id: None,
            }));
        }
    }
    Ok(())
}

async fn last_replier(workers: &Workers, conversation_id: &str) -> AppResult<Option<String>> {
    let recent = workers.app.store.recent_messages(conversation_id, 50).await?;
    Ok(recent.iter().rev().find(|m| m.author_kind == AuthorKind::User).and_then(|m| m.author_user_id.clone()))
}

/// A low rating opens a follow-up task: a notification to every supervisor
/// (and admin) of the workspace.
async fn notify_supervisors(workers: &Workers, batch: &mut Batch, record: &CsatRecord) -> AppResult<()> {
    let users = workers.app.store.users(&record.workspace_id).await?;
    for user in users.iter().filter(|u| u.active && matches!(u.role, Role::Supervisor | Role::Admin | Role::Owner)) {
        let notification = Notification {
            id: new_id("ntf"),
            workspace_id: record.workspace_id.clone(),
            user_id: user.id.clone(),
            kind: "low_csat".into(),
            conversation_id: Some(record.conversation_id.clone()),
            message_id: Some(record.message_id.clone()),
            actor_id: None,
            text: format!("CSAT {}/5: {}", record.rating, record.comment),
            created_at: record.at,
            read_at: None,
        };
        batch.writes.push(Write::InsertNotification(notification.clone()));
        batch.writes.push(event(
            &record.workspace_id,
            record.at,
            "notification.created",
            &user.id,
            serde_json::to_value(&notification).unwrap_or_default(),
        ));
    }
    Ok(())
}

async fn link_known_issues(workers: &Workers, batch: &mut Batch, m: &Message) -> AppResult<()> {
    if !batch.known_issues.contains_key(&m.workspace_id) {
        // Every issue of the workspace, once per batch; which are active is
        // decided per message, at its own instant.
        let issues = workers.app.known_issues_in(&m.workspace_id).await?;
        batch.known_issues.insert(m.workspace_id.clone(), issues);
    }
    let issues: Vec<KnownIssue> = batch
        .known_issues
        .get(&m.workspace_id)
        .map(|all| all.iter().filter(|i| i.is_active(m.created_at)).cloned().collect())
        .unwrap_or_default();
    if issues.is_empty() {
        return Ok(());
    }
    let links: Vec<String> =
        matching_issues(&issues, &m.text, &m.channel_id, m.created_at).into_iter().map(str::to_owned).collect();
    for id in links {
        batch.writes.push(Write::Levels(LevelsWrite::LinkKnownIssue(KnownIssueLink {
            known_issue_id: id.to_owned(),
            conversation_id: m.conversation_id.clone(),
            workspace_id: m.workspace_id.clone(),
            at: m.created_at,
            answered_at: None,
        })));
        batch.writes.push(event(
            &m.workspace_id,
            m.created_at,
            "known_issue.linked",
            &m.conversation_id,
            json!({ "known_issue_id": id, "conversation_id": m.conversation_id }),
        ));
    }
    Ok(())
}

async fn count_for_surges(workers: &Workers, batch: &mut Batch, m: &Message) -> AppResult<()> {
    let config = batch.config(workers, &m.workspace_id).await?;
    if !config.alerts.surges {
        return Ok(());
    }
    let negative = m.sentiment == Some(Sentiment::Negative);
    for key in [format!("channel:{}", m.channel_id), format!("workspace:{}", m.workspace_id)] {
        if !batch.detectors.contains_key(&key) {
            let stored = workers.app.store.surge_detectors(&m.workspace_id).await?;
            let detector = stored
                .into_iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, state)| serde_json::from_value::<SurgeDetector>(state).ok())
                .map_or_else(|| SurgeDetector::new(&key, config.alerts.surge.clone()), Ok)?;
            batch.detectors.insert(key.clone(), (m.workspace_id.clone(), detector));
        }
        let Some((_, detector)) = batch.detectors.get_mut(&key) else { continue };
        let surge_events = detector.record(m.created_at, negative);
        for e in surge_events {
            let writes = surge_writes(workers, &m.workspace_id, &key, e, m.created_at, &config).await?;
            batch.writes.extend(writes);
        }
    }
    Ok(())
}

/// The alert (and its notifications) or the all-clear of a surge event.
pub async fn surge_writes(
    workers: &Workers,
    workspace_id: &str,
    key: &str,
    surge: SurgeEvent,
    at: Timestamp,
    config: &ServiceLevelConfig,
) -> AppResult<Vec<Write>> {
    let channel_id = key.strip_prefix("channel:").map(str::to_owned);
    let channel_name = match &channel_id {
        Some(id) => workers.app.store.channel(id).await?.map(|c| c.name),
        None => None,
    };
    let scope = channel_name.clone().unwrap_or_else(|| "all channels".to_owned());
    match surge {
        SurgeEvent::Opened(alert) => {
            let store = &workers.app.store;
            let surge_texts =
                store.inbound_texts(workspace_id, channel_id.as_deref(), alert.window_start, at, 500).await?;
            let baseline_from = later(alert.window_start, -3600);
            let baseline_texts = store
                .inbound_texts(workspace_id, channel_id.as_deref(), baseline_from, alert.window_start, 500)
                .await?;
            let surge_refs: Vec<&str> = surge_texts.iter().map(String::as_str).collect();
            let baseline_refs: Vec<&str> = baseline_texts.iter().map(String::as_str).collect();
            let terms: Vec<String> = top_terms(&surge_refs, &baseline_refs, 5).into_iter().map(|t| t.term).collect();
            let mut link = format!("/inbox?since={}", alert.window_start);
            if let Some(id) = &channel_id {
                link.push_str(&format!("&channel_id={id}"));
            }
            let what = match alert.measure {
                hark_domain::spikes::SurgeMeasure::Volume => "inbound surge",
                hark_domain::spikes::SurgeMeasure::NegativeShare => "negative surge",
            };
            let message = format!(
                "{what} on {scope}: {} messages in the last minutes (usual {:.1} a minute); top terms: {}",
                alert.window_count,
                alert.baseline_per_bucket,
                if terms.is_empty() { "—".to_owned() } else { terms.join(", ") }
            );
            let payload = json!({
                "kind": "surge", "severity": "warning", "measure": alert.measure, "scope": key,
                "channel_id": channel_id, "channel_name": channel_name, "top_terms": terms, "link": link,
                "window_start": alert.window_start, "window_count": alert.window_count,
                "window_negative": alert.window_negative, "baseline_per_bucket": alert.baseline_per_bucket,
                "opened_at": alert.opened_at, "message": message,
            });
            let mut writes = vec![event(workspace_id, at, "alert.raised", key, payload.clone())];
            if !config.alerts.slack_webhook_url.trim().is_empty() || !config.alerts.email_to.is_empty() {
                writes.push(Write::Outbox(NewOutboxItem {
                    workspace_id: workspace_id.to_owned(),
                    kind: ALERT_OUTBOX.into(),
                    subject_id: key.to_owned(),
                    payload: json!({
                        "message": message, "link": link, "top_terms": payload["top_terms"],
                        "slack_webhook_url": config.alerts.slack_webhook_url, "email_to": config.alerts.email_to,
                    }),
                    due_at: at,
                }));
            }
            Ok(writes)
        }
        SurgeEvent::Closed { measure, opened_at, closed_at, peak_window_count, new_normal, .. } => Ok(vec![event(
            workspace_id,
            at,
            "alert.resolved",
            key,
            json!({ "kind": "surge", "measure": measure, "scope": key, "opened_at": opened_at,
                    "closed_at": closed_at, "peak_window_count": peak_window_count, "new_normal": new_normal }),
        )]),
    }
}

fn event(workspace_id: &str, at: Timestamp, kind: &str, subject_id: &str, payload: serde_json::Value) -> Write {
    Write::Event(NewEvent {
        workspace_id: workspace_id.to_owned(),
        at,
        kind: kind.to_owned(),
        subject_id: subject_id.to_owned(),
        payload,
    })
}

// --- the tick ----------------------------------------------------------------

/// Runs the follower and the tick until `shutdown`.
pub async fn run(workers: Workers, shutdown: CancellationToken) {
    let follower = tokio::spawn(crate::follow::run(workers.clone(), Arc::new(ServiceLevelsFollower), shutdown.clone()));
    loop {
        let now = Timestamp::now();
        for (what, result) in [
            ("sla timers", fire_due_once(&workers, now).await),
            ("scheduled messages", send_scheduled_once(&workers, now).await),
            ("surges", advance_surges_once(&workers, now).await),
            ("revisits", revisit_once(&workers, now).await),
            ("alerts", deliver_alerts_once(&workers, now).await),
            ("snoozes", workers.app.wake_snoozed(now).await),
        ] {
            if let Err(err) = result {
                tracing::warn!(%err, "service levels: {what} failed");
            }
        }
        if !pause(workers.config.idle, None, &shutdown).await {
            break;
        }
    }
    let _ = follower.await;
}

/// Claims the SLA timers due at `now` and announces each warning and breach
/// once. Returns how many announcements were made.
pub async fn fire_due_once(workers: &Workers, now: Timestamp) -> AppResult<usize> {
    let store = &workers.app.store;
    let lease = workers.config.lease.as_millis() as i64;
    let timers = store.claim_sla_timers(now, lease, workers.config.batch).await?;
    let mut fired = 0;
    for timer in timers {
        let history = workers.app.history(&timer.conversation_id).await?;
        let Some(history) = history else {
            store
                .commit(vec![Write::Levels(LevelsWrite::RetainSlaTimers {
                    conversation_id: timer.conversation_id.clone(),
                    keep: vec![],
                })])
                .await?;
            continue;
        };
        let config = workers.app.service_level_config(&timer.workspace_id).await?;
        let evaluation = workers.app.evaluate_sla(&history, &config.policies, now).await?;
        let mut writes = vec![];
        if let Some(target) = evaluation.as_ref().and_then(|e| e.get(&timer.target_key)) {
            let kind = match target.state {
                TargetState::Breached => Some(("breached", "sla.breached")),
                TargetState::Running if target.at_risk => Some(("warning", "sla.warning")),
                _ => None,
            };
            if let (Some((kind, event_kind)), Some(evaluation)) = (kind, &evaluation) {
                let payload = json!({
                    "target": target.key, "metric": target.metric, "due_at": target.due_at,
                    "warn_at": target.warn_at, "policy_id": evaluation.policy_id,
                    "conversation_id": timer.conversation_id, "elapsed_ms": target.elapsed_ms,
                    "target_ms": target.target_ms,
                });
                writes.push(Write::Levels(LevelsWrite::FireSla {
                    timer_id: timer.id,
                    conversation_id: timer.conversation_id.clone(),
                    target_key: timer.target_key.clone(),
                    kind: kind.to_owned(),
                    at: now,
                    event: NewEvent {
                        workspace_id: timer.workspace_id.clone(),
                        at: now,
                        kind: event_kind.to_owned(),
                        subject_id: timer.conversation_id.clone(),
                        payload,
                    },
                }));
                fired += 1;
            }
        }
        writes.push(Write::Levels(LevelsWrite::ReleaseSlaTimer { id: timer.id }));
        writes.extend(sla_writes(&history.conversation, evaluation.as_ref(), now));
        store.commit(writes).await?;
    }
    Ok(fired)
}

/// Sends the follow-ups and surveys due at `now`. Returns how many were sent.
pub async fn send_scheduled_once(workers: &Workers, now: Timestamp) -> AppResult<usize> {
    let store = &workers.app.store;
    let lease = workers.config.lease.as_millis() as i64;
    let mut sent = 0;
    for item in store.claim_scheduled_messages(now, lease, workers.config.batch).await? {
        let set = |state: &str, detail: &str, message_id: Option<String>| {
            Write::Levels(LevelsWrite::SetScheduledState {
                id: item.id,
                state: state.to_owned(),
                detail: detail.to_owned(),
                message_id,
            })
        };
        let Some(conversation) = store.conversation(&item.conversation_id).await? else {
            store.commit(vec![set("skipped", "the conversation is gone", None)]).await?;
            continue;
        };
        if conversation.status != ConversationStatus::Resolved || conversation.merged_into_id.is_some() {
            store.commit(vec![set("cancelled", "the conversation is no longer resolved", None)]).await?;
            continue;
        }
        let config = workers.app.service_level_config(&item.workspace_id).await?;
        let text = if item.kind == SURVEY {
            let survey = survey_text(conversation.language.as_deref().unwrap_or("en"));
            format!("{}\n{}", survey.question, survey.comment_invitation)
        } else {
            if now >= item.expires_at {
                store.commit(vec![set("skipped", "its window after resolution has passed", None)]).await?;
                continue;
            }
            config.follow_up.text.clone()
        };
        if let Some(reason) = window_closed(workers, &conversation, &text, now).await? {
            store.commit(vec![set("skipped", &reason, None)]).await?;
            continue;
        }
        // The scheduled row is marked sent in the same commit as the message.
        let marker = Write::Levels(LevelsWrite::SetScheduledState {
            id: item.id,
            state: "sent".into(),
            detail: String::new(),
            message_id: None,
        });
        match workers.app.send_automatic(&conversation.id, &text, &item.kind, vec![marker]).await {
            Ok(_) => sent += 1,
            Err(err) => {
                tracing::warn!(conversation = conversation.id, %err, "automatic message not sent");
                store.commit(vec![set("skipped", &err.to_string(), None)]).await?;
            }
        }
    }
    Ok(sent)
}

/// Why the network would refuse an automatic message now (its messaging window), if it would.
async fn window_closed(workers: &Workers, c: &Conversation, text: &str, now: Timestamp) -> AppResult<Option<String>> {
    let actor = Actor::system(&c.workspace_id);
    let visibility = if c.kind == ConversationKind::Private { Visibility::Private } else { Visibility::Public };
    let mut job = workers.app.draft_outbound(&actor, &c.id, visibility, text).await?;
    job.message.author_user_id = None;
    job.message.author_kind = AuthorKind::Bot;
    let ctx = workers.context(&job.channel).await?;
    let outbound = crate::publish::outbound_message(&job, &workers.config.public_url);
    Ok(match hark_channels::connector::check_outbound(&ctx, &outbound, now) {
        Err(hark_channels::ConnectorError::NotAllowed(refusal)) => Some(refusal.text),
        _ => None,
    })
}

/// Moves every surge detector to `now`, so alerts close when traffic stops.
pub async fn advance_surges_once(workers: &Workers, now: Timestamp) -> AppResult<usize> {
    let store = &workers.app.store;
    let mut closed = 0;
    for (key, workspace_id, state) in store.all_surge_detectors().await? {
        let Ok(mut detector) = serde_json::from_value::<SurgeDetector>(state.clone()) else { continue };
        let events = detector.advance(now);
        if events.is_empty() {
            continue;
        }
        let config = workers.app.service_level_config(&workspace_id).await?;
        let mut writes = vec![];
        for e in events {
            closed += usize::from(matches!(e, SurgeEvent::Closed { .. }));
            writes.extend(surge_writes(workers, &workspace_id, &key, e, now, &config).await?);
        }
        writes.push(Write::Levels(LevelsWrite::PutSurgeDetector {
            detector_key: key,
            workspace_id,
            state: serde_json::to_value(&detector).unwrap_or_default(),
            at: now,
        }));
        store.commit(writes).await?;
    }
    Ok(closed)
}

/// Asks the follower to recompute conversations whose figures decide by time
/// alone at `now` (a `report.revisit` event, handled in order with the rest).
pub async fn revisit_once(workers: &Workers, now: Timestamp) -> AppResult<usize> {
    let store = &workers.app.store;
    let due = store.contributions_due(now, workers.config.batch).await?;
    let mut writes = vec![];
    for id in &due {
        let Some(c) = store.conversation(id).await? else { continue };
        writes.push(Write::Levels(LevelsWrite::ClearRevisit { conversation_id: id.clone() }));
        writes.push(event(&c.workspace_id, now, "report.revisit", id, json!({})));
    }
    if !writes.is_empty() {
        store.commit(writes).await?;
    }
    Ok(due.len())
}

/// Delivers alert notifications: Slack incoming-webhook JSON, retried with
/// backoff through the outbox. Returns how many were delivered.
pub async fn deliver_alerts_once(workers: &Workers, now: Timestamp) -> AppResult<usize> {
    let store = &workers.app.store;
    let lease = workers.config.lease.as_millis() as i64;
    let mut delivered = 0;
    for item in store.claim_outbox(ALERT_OUTBOX, now, lease, workers.config.batch).await? {
        let message = item.payload["message"].as_str().unwrap_or_default();
        let link = item.payload["link"].as_str().unwrap_or_default();
        let url = item.payload["slack_webhook_url"].as_str().unwrap_or_default().trim().to_owned();
        let emails: Vec<String> = item.payload["email_to"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        // Each channel is tried once per attempt and remembered once done, so
        // a retry does not send what already went out.
        let mut done: Vec<String> = item.payload["delivered"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let mut outcome: Result<(), String> = Ok(());
        if !url.is_empty() && !done.iter().any(|d| d == "slack") {
            let body = slack_payload(message, link);
            let checked = crate::hooks::check_url(&url, workers.config.allow_private_hooks);
            let sent = match checked {
                Ok(()) => workers.hooks.post(&url).json(&body).send().await.map_err(|e| e.to_string()),
                Err(refused) => Err(refused),
            };
            match sent {
                Ok(r) if r.status().is_success() => done.push("slack".into()),
                Ok(r) => outcome = Err(format!("slack webhook answered {}", r.status())),
                Err(e) => outcome = Err(format!("slack webhook not delivered: {e}")),
            }
        }
        if !emails.is_empty() && !done.iter().any(|d| d == "email") {
            match send_alert_email(workers, &emails, message, link).await {
                Ok(()) => done.push("email".into()),
                Err(e) => outcome = Err(e),
            }
        }
        let attempt = |outcome: &str, detail: String| {
            Write::RecordDeliveryAttempt(hark_store::DeliveryAttempt {
                outbox_id: item.id,
                subject_id: item.subject_id.clone(),
                at: now,
                outcome: outcome.to_owned(),
                detail,
            })
        };
        match outcome {
            Ok(()) => {
                delivered += 1;
                store
                    .commit(vec![Write::FinishOutbox { id: item.id, at: now }, attempt("published", url.clone())])
                    .await?;
            }
            Err(error) if item.attempts < workers.config.max_publish_attempts => {
                let wait = workers.config.retry_base.as_millis() as i64 * (1i64 << item.attempts.clamp(0, 16));
                let due_at = Timestamp::from_millisecond(now.as_millisecond() + wait).unwrap_or(now);
                let mut payload = item.payload.clone();
                payload["delivered"] = json!(done);
                store
                    .commit(vec![
                        Write::RescheduleOutbox { id: item.id, due_at, error: error.clone() },
                        Write::Levels(LevelsWrite::SetOutboxPayload { id: item.id, payload }),
                        attempt("retry", error),
                    ])
                    .await?;
            }
            Err(error) => {
                store.commit(vec![Write::FinishOutbox { id: item.id, at: now }, attempt("failed", error)]).await?;
            }
        }
    }
    Ok(delivered)
}

/// Sends an alert by email through the configured SMTP server (`smtp_url`, `smtp_from`).
async fn send_alert_email(workers: &Workers, to: &[String], message: &str, link: &str) -> Result<(), String> {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let Some(smtp) = &workers.config.smtp else {
        return Err("alert email: no SMTP server is configured (smtp_url and smtp_from)".into());
    };
    let from = smtp.from.parse().map_err(|e| format!("smtp_from: {e}"))?;
    let mut builder = Message::builder().from(from).subject(format!("Hark alert: {}", clip(message, 120)));
    for address in to {
        builder = builder.to(address.parse().map_err(|e| format!("{address}: {e}"))?);
    }
    let email = builder
        .body(format!("{message}\n\nConversations: {link}\n"))
        .map_err(|e| format!("cannot build the email: {e}"))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp.url)
        .map_err(|e| format!("smtp_url: {e}"))?
        .timeout(Some(std::time::Duration::from_secs(30)))
        .build();
    transport.send(email).await.map(|_| ()).map_err(|e| format!("mail server: {e}"))
}

fn clip(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// A Slack incoming-webhook message: plain `text` (shown in notifications)
/// and a section block with a link to the matching conversations.
pub fn slack_payload(message: &str, link: &str) -> serde_json::Value {
    json!({
        "text": message,
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": message } },
            { "type": "context", "elements": [ { "type": "mrkdwn", "text": format!("Conversations: {link}") } ] }
        ]
    })
}

/// The contribution a history makes now (for tests and bulk generation).
pub fn contribution_now(history: &History, network: Network, evaluation: Option<&SlaEvaluation>) -> Contribution {
    reports::contribution(history, network, evaluation, Timestamp::now())
}
