//! Running rules. The rules follower (hark-jobs) hands every event here once;
//! this decides which triggers it fires, evaluates the workspace's rules in
//! order against the conversation, and runs the actions of those that match
//! through the same use cases people use, as the rule (audited with its id).
//!
//! A rule's actions commit on their own, before the follower moves on, so a
//! rule run is first claimed by a row unique per rule and event: a repeated
//! event (a crash, a lost lease) never runs the actions twice. Each run and
//! what each action did is kept on the conversation ("why did this happen?").

use std::collections::{HashMap, HashSet};

use hark_domain::rules::*;
use hark_domain::*;
use hark_store::{AutomationWrite, ConversationFilter, NewRuleWatch, RuleWatch, StoreError, Write};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::change::Change;
use crate::conversations::preview;
use crate::{Actor, App, AppError, AppResult, ConversationUpdate, new_id, now};

/// The side effects rules leave to the `automation` outbox worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AutomationJob {
    /// Hide a customer's comment on its network.
    Hide { message_id: String, rule_id: String },
    /// Post to a Slack-style incoming webhook.
    Slack { url: String, text: String },
    /// Call an outgoing webhook with `body`, signed when `secret` is set.
    Webhook { url: String, secret: String, body: Value },
    /// Send an email.
    Email { to: Vec<String>, subject: String, body: String },
}

/// The outbox kind of [`AutomationJob`]s.
pub const AUTOMATION_OUTBOX: &str = "automation";

/// Status-change and assignment rules run at most this often per
/// conversation and hour, so two rules that undo each other cannot loop.
const MAX_RUNS_PER_HOUR: usize = 3;

/// The built-in rule that flags personal data posted publicly.
pub const PERSONAL_DATA_RULE: &str = "builtin:personal_data";
/// The label it adds, and the shared view that lists those conversations.
pub const PERSONAL_DATA_LABEL: &str = "personal-data";
const PERSONAL_DATA_VIEW: &str = "Personal data posted publicly";

/// One trigger to fire on a conversation.
struct Firing {
    trigger: Trigger,
    conversation_id: String,
    message: Option<Message>,
    key: String,
}

/// How far each workspace's idle rules have looked, kept by the scanner
/// between scans (see [`App::automate_idle_since`]).
#[derive(Debug, Default)]
pub struct IdleProgress(HashMap<(String, u32), Timestamp>);

impl App {
    /// Runs the rules a batch of events calls for (oldest first) and returns
    /// the writes to commit with the follower's new position.
    pub async fn automate(&self, events: &[Event]) -> AppResult<Vec<Write>> {
        let mut writes = vec![];
        // What this batch has seen, since its writes commit only at the end.
        let mut watched: HashMap<String, RuleWatch> = HashMap::new();
        // Each workspace's rules are read and compiled once per batch, not
        // once per firing: a batch holds hundreds of events of a few workspaces.
        let mut rules_of: HashMap<String, Vec<CompiledRule>> = HashMap::new();
        let seen: Vec<String> = events
            .iter()
            .filter(|e| e.kind.starts_with("conversation."))
            .map(|e| e.subject_id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        watched.extend(self.store.rule_watches(&seen).await?);
        for event in events {
            let firings = self.firings(event, &mut watched, &mut writes).await?;
            if firings.is_empty() {
                continue;
            }
            if !rules_of.contains_key(&event.workspace_id) {
                rules_of.insert(event.workspace_id.clone(), self.compiled_rules(&event.workspace_id).await?);
            }
            let rules = rules_of.get(&event.workspace_id).map(Vec::as_slice).unwrap_or_default();
            for firing in firings {
                match self.fire(&event.workspace_id, rules, firing).await {
                    Err(AppError::Internal(err)) => return Err(AppError::Internal(err)),
                    Err(AppError::Unavailable(why)) => return Err(AppError::Unavailable(why)),
                    Err(err) => tracing::warn!(event = %event.id, %err, "rules could not run for an event"),
                    Ok(()) => {}
                }
            }
        }
        Ok(writes)
    }

    /// The triggers an event fires, and the follower's memory to update.
    async fn firings(
        &self,
        event: &Event,
        watched: &mut HashMap<String, RuleWatch>,
        writes: &mut Vec<Write>,
    ) -> AppResult<Vec<Firing>> {
        let key = format!("evt:{}", event.id);
        let on = |trigger: Trigger, id: &str, message: Option<Message>| Firing {
            trigger,
            conversation_id: id.to_owned(),
            message,
            key: key.clone(),
        };
        let mut out = vec![];
        match event.kind.as_str() {
            "message.created" => {
                let Ok(message) = Message::deserialize(&*event.payload) else { return Ok(out) };
                if message.direction != Direction::Inbound {
                    return Ok(out);
                }
                if message.visibility == Visibility::Public
                    && !message.personal_data.is_empty()
                    && let Err(err) = self.flag_personal_data(&message, &key).await
                {
                    tracing::warn!(message = %message.id, %err, "could not flag personal data");
                }
                out.push(on(Trigger::MessageReceived, &message.conversation_id.clone(), Some(message)));
            }
            "conversation.created" | "conversation.updated" => {
                let Ok(c) = Conversation::deserialize(&*event.payload) else { return Ok(out) };
                let now_seen = RuleWatch { status: c.status, assignee_id: c.assignee_id.clone() };
                // Read for the whole batch beforehand, and kept up to date as it goes.
                let before = watched.get(&c.id).cloned();
                if event.kind == "conversation.created" {
                    out.push(on(Trigger::ConversationCreated, &c.id, None));
                } else if let Some(before) = &before {
                    // A conversation from before automation has no memory yet: learn it, fire nothing.
                    if before.status != now_seen.status {
                        out.push(on(Trigger::StatusChanged, &c.id, None));
                    }
                    if now_seen.assignee_id.is_some() && before.assignee_id != now_seen.assignee_id {
                        out.push(on(Trigger::Assigned, &c.id, None));
                    }
                }
                if before.as_ref() != Some(&now_seen) {
                    writes.push(Write::Automation(AutomationWrite::PutRuleWatch(NewRuleWatch {
                        conversation_id: c.id.clone(),
                        status: c.status,
                        assignee_id: c.assignee_id.clone(),
                        at: now(),
                    })));
                    watched.insert(c.id.clone(), now_seen);
                }
            }
            "sla.warning" => out.push(on(Trigger::SlaWarning, &event.subject_id, None)),
            "sla.breached" => out.push(on(Trigger::SlaBreached, &event.subject_id, None)),
            "user.updated" => {
                let offline = event.payload.get("availability").and_then(Value::as_str) == Some("offline")
                    || event.payload.get("active").and_then(Value::as_bool) == Some(false);
                if offline {
                    let handed = self.hand_on_from(&event.workspace_id, &event.subject_id).await?;
                    if !handed.is_empty() {
                        tracing::info!(user = %event.subject_id, count = handed.len(), "handed on an offline agent's conversations");
                    }
                }
            }
            _ => {}
        }
        Ok(out)
    }

    /// Runs the idle rules of every workspace: each open or pending
    /// conversation quiet for a rule's time fires it once per quiet stretch.
    /// Safe on every node at once: a run is claimed before it acts.
    pub async fn automate_idle(&self, now: Timestamp) -> AppResult<usize> {
        self.automate_idle_since(now, &mut IdleProgress::default()).await
    }

    /// [`Self::automate_idle`] for a scanner that runs again and again:
    /// `progress` remembers, per workspace and length, how far the quiet
    /// stretches were already looked at, so each conversation is looked at
    /// once per stretch rather than at every scan. Every quiet conversation
    /// is reached, however many there are: the scan pages through them.
    pub async fn automate_idle_since(&self, now: Timestamp, progress: &mut IdleProgress) -> AppResult<usize> {
        const PAGE: u32 = 500;
        let mut fired = 0;
        for workspace in self.store.workspaces().await? {
            let rules = self.compiled_rules(&workspace.id).await?;
            let mut lengths: Vec<u32> = rules
                .iter()
                .filter(|r| r.rule.enabled)
                .filter_map(|r| match r.rule.definition.trigger {
                    Trigger::Idle { minutes } => Some(minutes),
                    _ => None,
                })
                .collect();
            lengths.sort_unstable();
            lengths.dedup();
            for minutes in lengths {
                let quiet_since = now - SignedDuration::from_mins(i64::from(minutes));
                // Only stretches that began in the last day: older ones had
                // their chance (a node that just started looks back that far).
                let day_before = quiet_since - SignedDuration::from_hours(24);
                let key = (workspace.id.clone(), minutes);
                let mut from = progress.0.get(&key).copied().filter(|t| *t > day_before).unwrap_or(day_before);
                let mut seen: HashSet<String> = HashSet::new();
                loop {
                    let page = self.store.quiet_conversations(&workspace.id, from, quiet_since, PAGE).await?;
                    let full = page.len() == PAGE as usize;
                    let mut fresh = false;
                    for id in page {
                        if !seen.insert(id.clone()) {
                            continue;
                        }
                        fresh = true;
                        let Some(c) = self.store.conversation(&id).await? else { continue };
                        from = from.max(c.timeline.last_activity_at);
                        let key = format!("idle:{minutes}:{}", c.timeline.last_activity_at.as_millisecond());
                        let firing =
                            Firing { trigger: Trigger::Idle { minutes }, conversation_id: id, message: None, key };
                        match self.fire(&workspace.id, &rules, firing).await {
                            Ok(()) => fired += 1,
                            Err(err @ (AppError::Internal(_) | AppError::Unavailable(_))) => return Err(err),
                            Err(err) => tracing::warn!(conversation = %c.id, %err, "idle rules could not run"),
                        }
                    }
                    if !full || !fresh {
                        break;
                    }
                }
                // Next time, start after everything quiet by now: a
                // conversation active again later is quiet from a later instant.
                progress.0.insert(key, quiet_since);
            }
        }
        Ok(fired)
    }

    /// The workspace's rules, compiled, in the order they run; a stored rule
    /// that no longer compiles is left out (and said so).
    async fn compiled_rules(&self, workspace_id: &str) -> AppResult<Vec<CompiledRule>> {
        let mut rules: Vec<CompiledRule> = vec![];
        for rule in self.store.rules(workspace_id).await? {
            match CompiledRule::compile(rule) {
                Ok(compiled) => rules.push(compiled),
                Err(err) => tracing::warn!(%err, "a stored rule no longer compiles; skipped"),
            }
        }
        in_order(&mut rules);
        Ok(rules)
    }

    /// Runs, in order, those of `rules` that listen to the firing's trigger.
    async fn fire(&self, workspace_id: &str, rules: &[CompiledRule], firing: Firing) -> AppResult<()> {
        for rule in rules.iter().filter(|r| r.listens_to(&firing.trigger)) {
            // Earlier rules may have changed the conversation: read it afresh.
            let Some(scene) = self.scene(workspace_id, &firing).await? else { return Ok(()) };
            let evaluation = rule.evaluate(&scene.facts());
            if !evaluation.matched {
                continue;
            }
            let runs = self.store.rule_runs(&scene.conversation.id).await?;
            if matches!(firing.trigger, Trigger::StatusChanged | Trigger::Assigned) {
                let hour_ago = now() - SignedDuration::from_hours(1);
                let recent = runs.iter().filter(|r| r.rule_id == rule.rule.id && r.at > hour_ago).count();
                if recent >= MAX_RUNS_PER_HOUR {
                    tracing::warn!(rule = %rule.rule.id, conversation = %scene.conversation.id, "rule keeps firing; paused for an hour");
                    continue;
                }
            }
            let run = RuleRun {
                id: new_id("run"),
                workspace_id: workspace_id.to_owned(),
                rule_id: rule.rule.id.clone(),
                rule_name: rule.rule.name.clone(),
                conversation_id: scene.conversation.id.clone(),
                event_key: firing.key.clone(),
                trigger: firing.trigger.name().to_owned(),
                status: "running".into(),
                actions: vec![],
                at: now(),
            };
            match self.store.commit(vec![Write::Automation(AutomationWrite::InsertRuleRun(run.clone()))]).await {
                Ok(_) => {}
                // Ran already (a repeated event, or another node's idle scan).
                Err(StoreError::Duplicate { .. }) => {
                    if rule.rule.definition.stop {
                        break;
                    }
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            let mut outcomes = vec![];
            for action in &rule.rule.definition.actions {
                let scene = match self.scene(workspace_id, &firing).await? {
                    Some(scene) => scene,
                    None => break,
                };
                outcomes.push(self.perform(&rule.rule, action, &scene, &runs).await);
            }
            self.finish_run(run, outcomes).await?;
            if rule.rule.definition.stop {
                break;
            }
        }
        Ok(())
    }

    async fn finish_run(&self, mut run: RuleRun, outcomes: Vec<ActionOutcome>) -> AppResult<()> {
        run.status = "done".into();
        run.actions = outcomes;
        let actor = Actor::rule(&run.workspace_id, &run.rule_id);
        Change::new(&actor, now())
            .write(Write::Automation(AutomationWrite::FinishRuleRun {
                id: run.id.clone(),
                actions: run.actions.clone(),
            }))
            .event("rule.ran", &run.conversation_id, &run)
            .commit(self)
            .await?;
        Ok(())
    }

    /// The conversation and everything rules look at, read now.
    async fn scene(&self, workspace_id: &str, firing: &Firing) -> AppResult<Option<Scene>> {
        let Some(mut conversation) = self.store.conversation(&firing.conversation_id).await? else { return Ok(None) };
        for _ in 0..5 {
            match conversation.merged_into_id.clone() {
                Some(into) => match self.store.conversation(&into).await? {
                    Some(c) => conversation = c,
                    None => return Ok(None),
                },
                None => break,
            }
        }
        if conversation.workspace_id != workspace_id {
            return Ok(None);
        }
        let Some(channel) = self.store.channel(&conversation.channel_id).await? else { return Ok(None) };
        let Some(contact) = self.store.contact(&conversation.contact_id).await? else { return Ok(None) };
        let message = match &firing.message {
            Some(m) => Some(m.clone()),
            None => self.store.latest_inbound_message(&conversation.id).await?,
        };
        let filter = ConversationFilter {
            workspace_id: workspace_id.to_owned(),
            contact_id: Some(contact.id.clone()),
            statuses: hark_domain::assignment::LOAD_STATUSES.to_vec(),
            ..Default::default()
        };
        let open_conversations = self.store.count_conversations(&filter, 1000).await?;
        let business_open = self.business_open(workspace_id, conversation.team_id.as_deref(), now()).await?;
        let workspace_name =
            self.store.workspace(workspace_id).await?.map(|w| w.name).unwrap_or_else(|| "Hark".to_owned());
        Ok(Some(Scene { conversation, channel, contact, message, open_conversations, business_open, workspace_name }))
    }

    /// Whether the team's business hours (else the workspace's) are open at `at`; `None` when none are set.
    async fn business_open(&self, workspace_id: &str, team_id: Option<&str>, at: Timestamp) -> AppResult<Option<bool>> {
        let records = self.store.business_hours(workspace_id).await?;
        let chosen = records
            .iter()
            .find(|r| team_id.is_some() && r.team_id.as_deref() == team_id)
            .or_else(|| records.iter().find(|r| r.team_id.is_none()));
        let Some(record) = chosen else { return Ok(None) };
        let parsed = serde_json::from_value::<hark_domain::business_hours::BusinessHoursConfig>(record.config.clone())
            .ok()
            .and_then(|c| hark_domain::business_hours::BusinessHours::try_from(c).ok());
        Ok(parsed.map(|hours| hours.is_open(at)))
    }

    /// Runs one action; whatever happens is told in its outcome, never an error.
    async fn perform(&self, rule: &Rule, action: &RuleAction, scene: &Scene, runs: &[RuleRun]) -> ActionOutcome {
        let name = action.name();
        match self.try_perform(rule, action, scene, runs).await {
            Ok(outcome) => outcome,
            Err(err) => ActionOutcome::failed(name, err.to_string()),
        }
    }

    async fn try_perform(
        &self,
        rule: &Rule,
        action: &RuleAction,
        scene: &Scene,
        runs: &[RuleRun],
    ) -> AppResult<ActionOutcome> {
        let actor = Actor::rule(&rule.workspace_id, &rule.id);
        let name = action.name();
        let c = &scene.conversation;
        match action {
            RuleAction::AssignTeam { team_id, round_robin } => {
                let team_name = self.store.team(team_id).await?.map(|t| t.name).unwrap_or_else(|| team_id.clone());
                if *round_robin {
                    let actor = Actor::rule(&rule.workspace_id, &rule.id);
                    return Ok(match self.assign_round_robin(&actor, &c.id, team_id).await? {
                        Some(user) => ActionOutcome::done(name, format!("{team_name}: assigned to {}", user.name))
                            .said_as("assigned-in-team", &[("team", &team_name), ("agent", &user.name)]),
                        None => ActionOutcome::done(
                            name,
                            format!("{team_name}: nobody online with room, waiting in the team's queue"),
                        )
                        .said_as("waiting-in-team", &[("team", &team_name)]),
                    });
                }
                self.update_conversation(
                    &actor,
                    &c.id,
                    ConversationUpdate { team_id: Some(Some(team_id.clone())), ..Default::default() },
                )
                .await?;
                Ok(ActionOutcome::done(name, team_name))
            }
            RuleAction::AssignAgent { user_id } => {
                let who = self.store.user(user_id).await?.map(|u| u.name).unwrap_or_else(|| user_id.clone());
                self.update_conversation(
                    &actor,
                    &c.id,
                    ConversationUpdate { assignee_id: Some(Some(user_id.clone())), ..Default::default() },
                )
                .await?;
                Ok(ActionOutcome::done(name, who))
            }
            RuleAction::AddLabel { label } => {
                self.update_conversation(
                    &actor,
                    &c.id,
                    ConversationUpdate { add_labels: Some(vec![label.clone()]), ..Default::default() },
                )
                .await?;
                Ok(ActionOutcome::done(name, label.clone()))
            }
            RuleAction::RemoveLabel { label } => {
                self.update_conversation(
                    &actor,
                    &c.id,
                    ConversationUpdate { remove_labels: Some(vec![label.clone()]), ..Default::default() },
                )
                .await?;
                Ok(ActionOutcome::done(name, label.clone()))
            }
            RuleAction::SetPriority { priority } => {
                self.update_conversation(
                    &actor,
                    &c.id,
                    ConversationUpdate { priority: Some(*priority), ..Default::default() },
                )
                .await?;
                Ok(ActionOutcome::done(name, priority.as_str()))
            }
            RuleAction::Resolve => {
                self.update_conversation(
                    &actor,
                    &c.id,
                    ConversationUpdate { status: Some(ConversationStatus::Resolved), ..Default::default() },
                )
                .await?;
                Ok(ActionOutcome::done(name, "resolved").said_as("resolved", &[]))
            }
            RuleAction::Snooze { minutes } => {
                let until = now() + SignedDuration::from_mins(i64::from(*minutes));
                self.update_conversation(
                    &actor,
                    &c.id,
                    ConversationUpdate {
                        status: Some(ConversationStatus::Snoozed),
                        snoozed_until: Some(until),
                        ..Default::default()
                    },
                )
                .await?;
                Ok(ActionOutcome::done(name, format!("until {until}"))
                    .said_as("until", &[("until", &until.to_string())]))
            }
            RuleAction::ReplyPublic { text } => {
                self.auto_reply(rule, name, scene, Visibility::Public, &scene.render(text)).await
            }
            RuleAction::ReplyPrivate { text } => {
                self.auto_reply(rule, name, scene, Visibility::Private, &scene.render(text)).await
            }
            RuleAction::SendSnippet { snippet_id, visibility } => {
                let snippet = self.store.snippet(snippet_id).await?.ok_or(AppError::NotFound("snippet"))?;
                self.auto_reply(rule, name, scene, *visibility, &scene.render(&snippet.text)).await
            }
            RuleAction::MoveToPrivate { public_text, private_text, snippet_id } => {
                if c.kind != ConversationKind::Public {
                    return Ok(ActionOutcome::skipped(name, "the conversation is already private")
                        .said_as("already-private", &[]));
                }
                let private = match snippet_id {
                    Some(id) => {
                        let snippet = self.store.snippet(id).await?.ok_or(AppError::NotFound("snippet"))?;
                        scene.render(&snippet.text)
                    }
                    None => scene.render(private_text),
                };
                let public = self.auto_reply(rule, name, scene, Visibility::Public, &scene.render(public_text)).await?;
                let private = self.auto_reply(rule, name, scene, Visibility::Private, &private).await?;
                let result = if private.result == "done" { "done" } else { private.result.as_str() };
                // Each reply's own detail says which side it went to.
                let mut outcome =
                    ActionOutcome { action: name.into(), result: result.into(), ..public.clone() }.and_then(&private);
                outcome.detail = format!("public: {}; private: {}", public.detail, private.detail);
                Ok(outcome)
            }
            RuleAction::AutoAnswer { answers, handoff_team_id } => {
                self.bot(rule, name, scene, runs, answers, handoff_team_id.as_deref()).await
            }
            RuleAction::HideComment => {
                let Some(m) = scene.message.as_ref().filter(|m| {
                    m.visibility == Visibility::Public
                        && m.direction == Direction::Inbound
                        && m.platform_message_id.is_some()
                }) else {
                    return Ok(ActionOutcome::skipped(name, "no public customer comment to hide")
                        .said_as("nothing-to-hide", &[]));
                };
                let job = AutomationJob::Hide { message_id: m.id.clone(), rule_id: rule.id.clone() };
                self.queue_job(&actor, &m.id, &job, "message.hide_requested").await?;
                Ok(ActionOutcome::done(name, "queued: hiding the comment on the network").said_as("queued-hide", &[]))
            }
            RuleAction::NotifySlack { url, text } => {
                let text = if text.trim().is_empty() { scene.summary(rule) } else { scene.render(text) };
                self.queue_job(&actor, &c.id, &AutomationJob::Slack { url: url.clone(), text }, "rule.notify").await?;
                Ok(ActionOutcome::done(name, "queued: Slack notification").said_as("queued-slack", &[]))
            }
            RuleAction::Webhook { url, secret } => {
                let body = json!({
                    "type": "rule.matched",
                    "rule": { "id": rule.id, "name": rule.name },
                    "conversation": c,
                    "message": scene.message,
                    "contact": { "id": scene.contact.id, "name": scene.contact.display_name },
                });
                let job = AutomationJob::Webhook { url: url.clone(), secret: secret.clone(), body };
                self.queue_job(&actor, &c.id, &job, "rule.webhook").await?;
                Ok(ActionOutcome::done(name, "queued: webhook call").said_as("queued-webhook", &[]))
            }
            RuleAction::Email { to, subject } => {
                let subject =
                    if subject.trim().is_empty() { format!("[Hark] {}", rule.name) } else { scene.render(subject) };
                let job = AutomationJob::Email { to: split_list(to), subject, body: scene.summary(rule) };
                self.queue_job(&actor, &c.id, &job, "rule.email").await?;
                Ok(ActionOutcome::done(name, format!("queued: email to {to}")).said_as("queued-email", &[("to", to)]))
            }
            RuleAction::RequireApproval => {
                Change::new(&actor, now())
                    .write(Write::Automation(AutomationWrite::PutApprovalHold {
                        workspace_id: c.workspace_id.clone(),
                        conversation_id: c.id.clone(),
                        reason: format!("rule: {}", rule.name),
                        at: now(),
                    }))
                    .audit("conversation.require_approval", "conversation", &c.id, json!({ "rule": rule.name }))
                    .commit(self)
                    .await?;
                Ok(ActionOutcome::done(name, "replies in this conversation now wait for approval")
                    .said_as("approval-required", &[]))
            }
        }
    }

    async fn queue_job(&self, actor: &Actor, subject: &str, job: &AutomationJob, action: &str) -> AppResult<()> {
        let payload = serde_json::to_value(job).map_err(|e| AppError::invalid("actions", e.to_string()))?;
        let detail = match job {
            AutomationJob::Hide { message_id, .. } => json!({ "message_id": message_id }),
            AutomationJob::Slack { url, .. } | AutomationJob::Webhook { url, .. } => json!({ "url": url }),
            AutomationJob::Email { to, subject, .. } => json!({ "to": to, "subject": subject }),
        };
        Change::new(actor, now())
            .outbox(AUTOMATION_OUTBOX, subject, payload)
            .audit(action, "conversation", subject, detail)
            .commit(self)
            .await?;
        Ok(())
    }

    /// Sends an automatic reply if the safety rules allow it.
    async fn auto_reply(
        &self,
        rule: &Rule,
        name: &str,
        scene: &Scene,
        visibility: Visibility,
        text: &str,
    ) -> AppResult<ActionOutcome> {
        let c = &scene.conversation;
        if visibility == Visibility::Public && c.kind == ConversationKind::Private {
            return Ok(ActionOutcome::skipped(name, "a private conversation gets no public reply")
                .said_as("private-no-public", &[]));
        }
        if text.trim().is_empty() {
            return Ok(ActionOutcome::skipped(name, "nothing to say").said_as("nothing-to-say", &[]));
        }
        let negative = is_negative_or_complaint(scene.message.as_ref(), c);
        let sent = self.store.automatic_replies_to(&c.contact_id, now() - SignedDuration::from_hours(24)).await?;
        if let Err(refusal) =
            check_auto_reply(visibility, text, negative, rule.definition.reply_to_negative, &sent, now())
        {
            return Ok(ActionOutcome::skipped(name, refusal.explain()).said_as(refusal.key(), &[]));
        }
        let actor = Actor::rule(&rule.workspace_id, &rule.id);
        let message = self.post_automatic_reply(&actor, &c.id, visibility, text).await?;
        let shown = preview(&message.text);
        Ok(ActionOutcome::done(name, format!("{} reply: {shown}", visibility.as_str()))
            .said_as(&format!("replied-{}", visibility.as_str()), &[("text", &shown)]))
    }

    /// Writes an automatic reply (author `bot`): queued for publication like
    /// any reply, but it counts as no response from a person.
    pub async fn post_automatic_reply(
        &self,
        actor: &Actor,
        conversation_id: &str,
        visibility: Visibility,
        text: &str,
    ) -> AppResult<Message> {
        actor.require(Action::Reply)?;
        let text = text.trim();
        if text.is_empty() || text.chars().count() > crate::conversations::MAX_MESSAGE_CHARS {
            return Err(AppError::invalid("text", "an automatic reply needs 1 to 20000 characters"));
        }
        for _ in 0..3 {
            let before = self.visible(actor, conversation_id).await?;
            let at = now();
            let mut message =
                Message::written_by_user(new_id("msg"), &before, "", visibility, text, DeliveryStatus::Queued, at);
            message.author_kind = AuthorKind::Bot;
            message.author_user_id = None;
            let mut after = before.clone();
            after.record_outbound(at, false);
            after.last_message_preview = preview(text);
            after.version = before.version + 1;
            after.updated_at = at;
            let result = Change::new(actor, at)
                .write(Write::InsertMessage(message.clone()))
                .write(Write::UpdateConversation { conversation: after.clone(), expected_version: before.version })
                .outbox("publish", &message.id, json!({ "message_id": message.id }))
                .audit(
                    "message.publish",
                    "message",
                    &message.id,
                    json!({ "visibility": visibility, "channel_id": before.channel_id, "automatic": true }),
                )
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

    async fn visible(&self, actor: &Actor, id: &str) -> AppResult<Conversation> {
        self.store
            .conversation(id)
            .await?
            .filter(|c| c.workspace_id == actor.workspace_id())
            .ok_or(AppError::NotFound("conversation"))
    }

    /// The bot: answer a common question once, then hand over to a person.
    async fn bot(
        &self,
        rule: &Rule,
        name: &str,
        scene: &Scene,
        runs: &[RuleRun],
        answers: &[BotAnswer],
        handoff_team: Option<&str>,
    ) -> AppResult<ActionOutcome> {
        let Some(message) = scene.message.as_ref() else {
            return Ok(ActionOutcome::skipped(name, "no customer message to answer").said_as("no-message", &[]));
        };
        let mine = runs.iter().filter(|r| r.rule_id == rule.id).flat_map(|r| r.actions.iter());
        let (mut answered, mut handed_off) = (0, false);
        for outcome in mine.filter(|o| o.action == name && o.result == "done") {
            answered += usize::from(outcome.detail.starts_with(ANSWERED));
            handed_off |= outcome.detail.starts_with(HANDED_OVER);
        }
        // A person has the conversation: the bot stays out of it.
        handed_off |= scene.conversation.timeline.human_replies > 0;
        // A word or two ("agent") tells little of the language: speak the one of
        // the customer's last real sentence.
        let recent = self.store.recent_messages(&scene.conversation.id, 20).await?;
        let language = recent
            .iter()
            .rev()
            .filter(|m| m.direction == Direction::Inbound && m.text.chars().count() >= 15)
            .find_map(|m| m.language.clone())
            .or_else(|| message.language.clone());
        let phrases = bot_phrases(language.as_deref());
        let visibility = match scene.conversation.kind {
            ConversationKind::Public => Visibility::Public,
            ConversationKind::Private => Visibility::Private,
        };
        match bot_step(answers, message, answered, handed_off) {
            BotStep::Nothing => {
                Ok(ActionOutcome::skipped(name, "a person has it, or nothing to answer").said_as("bot-idle", &[]))
            }
            BotStep::Answer(answer) => {
                let snippet = self.store.snippet(&answer.snippet_id).await?.ok_or(AppError::NotFound("snippet"))?;
                let text = format!("{}\n\n{}", scene.render(&snippet.text), phrases.reach_person);
                let sent = self.auto_reply(rule, name, scene, visibility, &text).await?;
                if sent.result != "done" {
                    // The bot may not say it: a person must.
                    return self.hand_over(rule, name, scene, HandoffReason::NoAnswer, handoff_team, None).await;
                }
                Ok(ActionOutcome::done(name, format!("{ANSWERED} {:?}", snippet.name))
                    .said_as("bot-answered", &[("snippet", &snippet.name)])
                    .and_then(&sent))
            }
            // Nothing fits: a person answers, without the bot saying anything first.
            BotStep::Handoff(HandoffReason::NoAnswer) => {
                self.hand_over(rule, name, scene, HandoffReason::NoAnswer, handoff_team, None).await
            }
            BotStep::Handoff(reason) => {
                let said = self.auto_reply(rule, name, scene, visibility, phrases.handing_over).await?;
                self.hand_over(rule, name, scene, reason, handoff_team, Some(said)).await
            }
        }
    }

    async fn hand_over(
        &self,
        rule: &Rule,
        name: &str,
        scene: &Scene,
        reason: HandoffReason,
        team: Option<&str>,
        said: Option<ActionOutcome>,
    ) -> AppResult<ActionOutcome> {
        let actor = Actor::rule(&rule.workspace_id, &rule.id);
        let c = &scene.conversation;
        let team = team.map(str::to_owned).or_else(|| c.team_id.clone());
        let assigned = match &team {
            Some(team_id) if c.assignee_id.is_none() => self.assign_round_robin(&actor, &c.id, team_id).await?,
            _ => None,
        };
        let (why, key) = match reason {
            HandoffReason::Asked => ("asked for a person", "handed-over-asked"),
            HandoffReason::Negative => ("negative or a complaint", "handed-over-negative"),
            HandoffReason::SecondQuestion => ("a second question", "handed-over-second-question"),
            HandoffReason::NoAnswer => ("no answer fits", "handed-over-no-answer"),
        };
        let mut outcome = ActionOutcome::done(name, format!("{HANDED_OVER} ({why})")).said_as(key, &[]);
        if let Some(agent) = assigned {
            outcome =
                outcome.and_said(&format!("assigned to {}", agent.name), "assigned-to", &[("agent", &agent.name)]);
        }
        if let Some(said) = said.filter(|s| s.result == "done") {
            outcome = outcome.and_then(&said);
        }
        Ok(outcome)
    }

    /// Personal data in a public post: the conversation gets the
    /// `personal-data` label (and the workspace a view listing them), and the
    /// built-in rule's run says why.
    async fn flag_personal_data(&self, message: &Message, key: &str) -> AppResult<()> {
        let ws = &message.workspace_id;
        let system = Actor::system(ws);
        let run = RuleRun {
            id: new_id("run"),
            workspace_id: ws.clone(),
            rule_id: PERSONAL_DATA_RULE.into(),
            rule_name: "Personal data in a public post".into(),
            conversation_id: message.conversation_id.clone(),
            event_key: key.to_owned(),
            trigger: Trigger::MessageReceived.name().into(),
            status: "running".into(),
            actions: vec![],
            at: now(),
        };
        match self.store.commit(vec![Write::Automation(AutomationWrite::InsertRuleRun(run.clone()))]).await {
            Ok(_) => {}
            Err(StoreError::Duplicate { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        if !self.store.labels(ws).await?.iter().any(|l| l.name == PERSONAL_DATA_LABEL) {
            let input = crate::LabelInput {
                name: PERSONAL_DATA_LABEL.into(),
                color: "#b91c1c".into(),
                description: "Personal data was posted publicly: move to private, consider hiding".into(),
            };
            match self.create_label(&system, input).await {
                Ok(_) | Err(AppError::Duplicate(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let views = self.store.saved_views(ws, "").await?;
        if !views.iter().any(|v| v.user_id.is_none() && v.filters.label.as_deref() == Some(PERSONAL_DATA_LABEL)) {
            let filters = ViewFilters {
                label: Some(PERSONAL_DATA_LABEL.into()),
                statuses: vec![ConversationStatus::Open, ConversationStatus::Pending],
                ..Default::default()
            };
            let input = crate::SavedViewInput { name: PERSONAL_DATA_VIEW.into(), filters, shared: true };
            self.create_saved_view(&system, input).await?;
        }
        let update = ConversationUpdate { add_labels: Some(vec![PERSONAL_DATA_LABEL.into()]), ..Default::default() };
        let kinds: Vec<&str> = message.personal_data.iter().map(|p| p.kind.as_str()).collect();
        let outcome = match self.update_conversation(&system, &message.conversation_id, update).await {
            Ok(_) => {
                ActionOutcome::done("add_label", format!("{PERSONAL_DATA_LABEL}: {} posted publicly", kinds.join(", ")))
                    .said_as("personal-data-posted", &[("label", PERSONAL_DATA_LABEL), ("kinds", &kinds.join(","))])
            }
            Err(err) => ActionOutcome::failed("add_label", err.to_string()),
        };
        self.finish_run(run, vec![outcome]).await
    }

    /// The rule runs logged on a conversation, oldest first.
    pub async fn rule_log(&self, actor: &Actor, conversation_id: &str) -> AppResult<Vec<RuleRun>> {
        actor.require(Action::ReadInbox)?;
        let conversation = self.conversation(actor, conversation_id).await?;
        Ok(self.store.rule_runs(&conversation.id).await?)
    }
}

/// How the bot's outcomes begin, so its next step can be told from its log.
const ANSWERED: &str = "answered with";
const HANDED_OVER: &str = "handed over to a person";

/// One conversation as rules see it at one moment.
struct Scene {
    conversation: Conversation,
    channel: Channel,
    contact: Contact,
    message: Option<Message>,
    open_conversations: i64,
    business_open: Option<bool>,
    workspace_name: String,
}

impl Scene {
    fn facts(&self) -> Facts<'_> {
        Facts {
            conversation: &self.conversation,
            channel: &self.channel,
            contact: &self.contact,
            message: self.message.as_ref(),
            open_conversations: self.open_conversations,
            business_open: self.business_open,
        }
    }

    /// Fills snippet variables; the "agent" of an automatic reply is the brand.
    fn render(&self, text: &str) -> String {
        let mut brand = Actor::system(&self.conversation.workspace_id).user;
        brand.name = self.workspace_name.clone();
        let ctx = SnippetContext {
            contact: &self.contact,
            conversation: &self.conversation,
            agent: &brand,
            channel: &self.channel,
        };
        render_snippet(text, &ctx).text
    }

    /// What a notification or email says about the conversation.
    fn summary(&self, rule: &Rule) -> String {
        let said = self.message.as_ref().map(|m| preview(&m.text)).unwrap_or_default();
        format!(
            "Rule \"{}\" matched: {} on {} ({}), conversation {}.\n{}",
            rule.name, self.contact.display_name, self.channel.name, self.channel.network, self.conversation.id, said
        )
    }
}
