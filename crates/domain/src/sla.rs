//! SLA policies: which targets apply to a conversation, when each comes due,
//! and where each stands at a given instant.
//!
//! A policy has optional targets for first response, next response and
//! resolution, in calendar or business time, and a warning fraction. The
//! policy that applies is the first rule whose conditions all match, else the
//! default. [`evaluate`] reads the cycles of [`crate::metrics`], so a target
//! is met exactly when the report's measure of the same stretch is below it:
//!
//! - a response target runs from the cycle's start (first response) or from
//!   the customer message that starts a later wait (next response) until a
//!   reply by a person; pending and snoozed do not stop it;
//! - the resolution target runs from the cycle's start to resolution and
//!   stands still while pending or snoozed;
//! - met when the measured time is below the target, breached once it
//!   reaches it (a one-hour target is breached at 1:00:00.000); a target that
//!   was neither when the cycle was resolved without the awaited reply is
//!   cancelled (it counts neither way).
//!
//! Each running target has a due instant and a warning instant, which a
//! worker keeps as durable timer rows ([`SlaEvaluation::timers`]) and
//! recomputes from the history whenever the conversation changes.

use std::collections::HashSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::InvalidValue;
use crate::business_hours::{BusinessHours, Clock};
use crate::enums::{ConversationKind, Network, Priority, Sentiment};
use crate::metrics::{ConversationMetrics, CycleMetrics, Pause, TimeBasis, active_ms};
use crate::model::Conversation;

/// The longest target a policy may set: a year.
pub const MAX_TARGET_SECONDS: i64 = 366 * 86_400;

/// What a target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaMetric {
    FirstResponse,
    NextResponse,
    Resolution,
}

impl SlaMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaMetric::FirstResponse => "first_response",
            SlaMetric::NextResponse => "next_response",
            SlaMetric::Resolution => "resolution",
        }
    }
}

/// Conditions a conversation must meet for a policy to apply. Each list
/// left empty matches anything; a list with values matches when the
/// conversation has any of them; all lists must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SlaConditions {
    pub priorities: Vec<Priority>,
    pub channel_ids: Vec<String>,
    pub networks: Vec<Network>,
    pub kinds: Vec<ConversationKind>,
    /// A conversation without a sentiment yet matches no sentiment condition.
    pub sentiments: Vec<Sentiment>,
    /// Label names, compared without regard to case.
    pub labels: Vec<String>,
}

/// Targets and how they are measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SlaPolicy {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub conditions: SlaConditions,
    pub first_response_seconds: Option<i64>,
    pub next_response_seconds: Option<i64>,
    pub resolution_seconds: Option<i64>,
    /// Measure in the business hours of the conversation's team or workspace
    /// (calendar time when none are set).
    #[serde(default)]
    pub business_hours: bool,
    /// Warn when this fraction of a target has passed (0 < f ≤ 1).
    #[serde(default = "default_warn_fraction")]
    pub warn_fraction: f64,
}

fn default_warn_fraction() -> f64 {
    0.8
}

/// A workspace's policies: rules tried in order, then the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SlaPolicies {
    #[serde(default)]
    pub rules: Vec<SlaPolicy>,
    pub default: Option<SlaPolicy>,
}

/// The attributes of a conversation that policies are chosen by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaSubject<'a> {
    pub priority: Priority,
    pub channel_id: &'a str,
    pub network: Network,
    pub kind: ConversationKind,
    pub sentiment: Option<Sentiment>,
    pub labels: &'a [String],
}

impl<'a> SlaSubject<'a> {
    /// The subject of `conversation`, whose channel is on `network`.
    pub fn of(conversation: &'a Conversation, network: Network) -> Self {
        Self {
            priority: conversation.priority,
            channel_id: &conversation.channel_id,
            network,
            kind: conversation.kind,
            sentiment: conversation.sentiment,
            labels: &conversation.labels,
        }
    }
}

impl SlaConditions {
    pub fn matches(&self, subject: &SlaSubject<'_>) -> bool {
        let any = |list_empty: bool, hit: bool| list_empty || hit;
        any(self.priorities.is_empty(), self.priorities.contains(&subject.priority))
            && any(self.channel_ids.is_empty(), self.channel_ids.iter().any(|c| c == subject.channel_id))
            && any(self.networks.is_empty(), self.networks.contains(&subject.network))
            && any(self.kinds.is_empty(), self.kinds.contains(&subject.kind))
            && any(self.sentiments.is_empty(), subject.sentiment.is_some_and(|s| self.sentiments.contains(&s)))
            && any(
                self.labels.is_empty(),
                self.labels
                    .iter()
                    .any(|want| subject.labels.iter().any(|have| have.to_lowercase() == want.to_lowercase())),
            )
    }
}

impl SlaPolicy {
    /// The target of `metric` in milliseconds, if the policy sets one.
    pub fn target_ms(&self, metric: SlaMetric) -> Option<i64> {
        let seconds = match metric {
            SlaMetric::FirstResponse => self.first_response_seconds,
            SlaMetric::NextResponse => self.next_response_seconds,
            SlaMetric::Resolution => self.resolution_seconds,
        };
        seconds.map(|s| s * 1000)
    }

    pub fn validate(&self) -> Result<(), InvalidValue> {
        if self.id.trim().is_empty() || self.name.trim().is_empty() {
            return Err(InvalidValue::new("sla_policy", "a policy needs an id and a name"));
        }
        let targets = [
            ("first_response_seconds", self.first_response_seconds),
            ("next_response_seconds", self.next_response_seconds),
            ("resolution_seconds", self.resolution_seconds),
        ];
        if targets.iter().all(|(_, t)| t.is_none()) {
            return Err(InvalidValue::new("sla_policy", format!("{}: set at least one target", self.name)));
        }
        for (field, target) in targets {
            if let Some(seconds) = target
                && !(1..=MAX_TARGET_SECONDS).contains(&seconds)
            {
                return Err(InvalidValue::new(
                    field,
                    format!("{}: {seconds} s is not between 1 s and {MAX_TARGET_SECONDS} s (366 days)", self.name),
                ));
            }
        }
        if !(self.warn_fraction > 0.0 && self.warn_fraction <= 1.0) {
            return Err(InvalidValue::new(
                "warn_fraction",
                format!("{}: {} is not a fraction above 0 and at most 1", self.name, self.warn_fraction),
            ));
        }
        Ok(())
    }
}

impl SlaPolicies {
    /// Every policy valid, ids unique.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let mut ids = HashSet::new();
        for policy in self.rules.iter().chain(&self.default) {
            policy.validate()?;
            if !ids.insert(policy.id.as_str()) {
                return Err(InvalidValue::new("sla_policy", format!("the id {:?} is used twice", policy.id)));
            }
        }
        Ok(())
    }

    /// The first rule whose conditions match, else the default.
    pub fn select(&self, subject: &SlaSubject<'_>) -> Option<&SlaPolicy> {
        self.rules.iter().find(|p| p.conditions.matches(subject)).or(self.default.as_ref())
    }
}

/// Where a target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    /// The clock runs; `due_at` is when it breaches.
    Running,
    /// Resolution clock stopped while pending or snoozed.
    Paused,
    Met,
    /// Reached its target without the reply or resolution. Final.
    Breached,
    /// The cycle was resolved before the target was reached, without the awaited reply.
    Cancelled,
}

impl TargetState {
    /// Whether later facts can still change it.
    pub fn is_final(self) -> bool {
        matches!(self, TargetState::Met | TargetState::Breached | TargetState::Cancelled)
    }
}

/// One target of one cycle (or one wait, for next response) at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TargetStatus {
    /// Stable within the conversation: `first_response/0`, `next_response/0/2`, `resolution/1`.
    pub key: String,
    pub metric: SlaMetric,
    pub cycle: u32,
    /// The wait's position among the cycle's next responses (0 otherwise).
    pub seq: u32,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    pub target_ms: i64,
    pub basis: TimeBasis,
    pub state: TargetState,
    /// Running and past the warning instant.
    pub at_risk: bool,
    /// When it breaches (running) or breached (breached); `None` otherwise,
    /// or when the business hours never reach it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    /// When the warning fraction is reached (running targets only).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub warn_at: Option<Timestamp>,
    /// Counted time so far, or at the end for final states.
    pub elapsed_ms: i64,
    /// `target_ms - elapsed_ms`; negative once breached.
    pub remaining_ms: i64,
    /// The reply or resolution that met it, or the resolution that cancelled it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Timestamp>,
}

/// A durable timer a worker stores for a running target: (conversation, key) is unique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaTimer {
    pub key: String,
    pub metric: SlaMetric,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub warn_at: Option<Timestamp>,
}

/// Every target of a conversation under one policy at `evaluated_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaEvaluation {
    pub policy_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub evaluated_at: Timestamp,
    pub targets: Vec<TargetStatus>,
}

impl SlaEvaluation {
    /// Timer rows for the running targets (paused and final ones have none).
    pub fn timers(&self) -> Vec<SlaTimer> {
        self.targets
            .iter()
            .filter(|t| t.state == TargetState::Running)
            .filter_map(|t| {
                Some(SlaTimer { key: t.key.clone(), metric: t.metric, due_at: t.due_at?, warn_at: t.warn_at })
            })
            .collect()
    }

    pub fn get(&self, key: &str) -> Option<&TargetStatus> {
        self.targets.iter().find(|t| t.key == key)
    }

    /// The earliest due instant among running targets: the inbox countdown.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.timers().into_iter().map(|t| t.due_at).min()
    }

    pub fn any_breached(&self) -> bool {
        self.targets.iter().any(|t| t.state == TargetState::Breached)
    }

    pub fn any_at_risk(&self) -> bool {
        self.targets.iter().any(|t| t.at_risk)
    }
}

/// Met and breached targets, for attainment (cancelled ones count neither way).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaAttainment {
    pub met: u64,
    pub breached: u64,
}

impl SlaAttainment {
    pub fn add(&mut self, target: &TargetStatus) {
        match target.state {
            TargetState::Met => self.met += 1,
            TargetState::Breached => self.breached += 1,
            _ => {}
        }
    }

    pub fn merge(&mut self, other: SlaAttainment) {
        self.met += other.met;
        self.breached += other.breached;
    }

    /// Met among met and breached.
    pub fn ratio(&self) -> Option<f64> {
        let whole = self.met + self.breached;
        (whole > 0).then(|| self.met as f64 / whole as f64)
    }
}

/// Every target `policy` sets, for every cycle in `metrics`, at `now`.
/// `hours` are the team's or workspace's business hours, used when the
/// policy measures in business time. Facts later than `now` should not be in
/// the history (they would be taken as having happened).
pub fn evaluate(
    policy: &SlaPolicy,
    metrics: &ConversationMetrics,
    hours: Option<&BusinessHours>,
    now: Timestamp,
) -> SlaEvaluation {
    let (clock, basis) = match (policy.business_hours, hours) {
        (true, Some(hours)) => (Clock::Business(hours), TimeBasis::Business),
        _ => (Clock::Calendar, TimeBasis::Calendar),
    };
    let mut targets = vec![];
    for cycle in &metrics.cycles {
        let judge = Judge { policy, clock, basis, now, cycle: cycle.index };
        if let Some(target) = policy.target_ms(SlaMetric::FirstResponse) {
            let end = match (&cycle.first_response, &cycle.resolution) {
                (Some(first), _) => End::Done(first.to),
                (None, Some(resolution)) => End::Cancelled(resolution.at),
                (None, None) => End::Open,
            };
            targets.push(judge.response(SlaMetric::FirstResponse, 0, cycle.started_at, end, target));
        }
        if let Some(target) = policy.target_ms(SlaMetric::NextResponse) {
            for (seq, wait) in (0u32..).zip(&cycle.next_responses) {
                targets.push(judge.response(SlaMetric::NextResponse, seq, wait.from, End::Done(wait.to), target));
            }
            if let (Some(_), Some(since)) = (&cycle.first_response, cycle.unanswered_since) {
                let end = cycle.resolution.as_ref().map_or(End::Open, |r| End::Cancelled(r.at));
                let seq = u32::try_from(cycle.next_responses.len()).unwrap_or(u32::MAX);
                targets.push(judge.response(SlaMetric::NextResponse, seq, since, end, target));
            }
        }
        if let Some(target) = policy.target_ms(SlaMetric::Resolution) {
            targets.push(judge.resolution(cycle, target));
        }
    }
    SlaEvaluation { policy_id: policy.id.clone(), evaluated_at: now, targets }
}

/// How a target's stretch ended.
#[derive(Debug, Clone, Copy)]
enum End {
    /// The reply or resolution came.
    Done(Timestamp),
    /// The cycle was resolved without it.
    Cancelled(Timestamp),
    Open,
}

struct Judge<'a> {
    policy: &'a SlaPolicy,
    clock: Clock<'a>,
    basis: TimeBasis,
    now: Timestamp,
    cycle: u32,
}

impl Judge<'_> {
    fn response(&self, metric: SlaMetric, seq: u32, from: Timestamp, end: End, target_ms: i64) -> TargetStatus {
        self.judge(metric, seq, from, &[], end, target_ms)
    }

    fn resolution(&self, cycle: &CycleMetrics, target_ms: i64) -> TargetStatus {
        let end = cycle.resolution.as_ref().map_or(End::Open, |r| End::Done(r.at));
        self.judge(SlaMetric::Resolution, 0, cycle.started_at, &cycle.pauses, end, target_ms)
    }

    /// Measures `[from, end)` less `pauses` on the policy's clock and compares it with the target.
    fn judge(
        &self,
        metric: SlaMetric,
        seq: u32,
        from: Timestamp,
        pauses: &[Pause],
        end: End,
        target_ms: i64,
    ) -> TargetStatus {
        let clock = self.clock;
        let until = match end {
            End::Done(at) | End::Cancelled(at) => at,
            End::Open => self.now.max(from),
        };
        let elapsed_ms = active_ms(from, until, pauses, clock);
        let paused_now = matches!(end, End::Open) && pauses.last().is_some_and(|p| p.to.is_none());
        let due = || reach(from, pauses, target_ms, clock);
        let (state, completed_at) = match end {
            End::Done(at) if elapsed_ms < target_ms => (TargetState::Met, Some(at)),
            End::Cancelled(at) if elapsed_ms < target_ms => (TargetState::Cancelled, Some(at)),
            End::Done(at) | End::Cancelled(at) => (TargetState::Breached, Some(at)),
            End::Open if elapsed_ms >= target_ms => (TargetState::Breached, None),
            End::Open if paused_now => (TargetState::Paused, None),
            End::Open => (TargetState::Running, None),
        };
        let (due_at, warn_at) = match state {
            TargetState::Running => (due(), reach(from, pauses, warn_ms(target_ms, self.policy.warn_fraction), clock)),
            TargetState::Breached => (due(), None),
            _ => (None, None),
        };
        let key = match metric {
            SlaMetric::NextResponse => format!("{}/{}/{seq}", metric.as_str(), self.cycle),
            _ => format!("{}/{}", metric.as_str(), self.cycle),
        };
        TargetStatus {
            key,
            metric,
            cycle: self.cycle,
            seq,
            started_at: from,
            target_ms,
            basis: self.basis,
            state,
            at_risk: state == TargetState::Running && warn_at.is_some_and(|w| w <= self.now),
            due_at,
            warn_at,
            elapsed_ms,
            remaining_ms: target_ms - elapsed_ms,
            completed_at,
        }
    }
}

fn warn_ms(target_ms: i64, fraction: f64) -> i64 {
    // Rounded to the millisecond; a fraction of 1 warns at the due instant.
    ((target_ms as f64 * fraction).round() as i64).clamp(1, target_ms.max(1))
}

/// The earliest instant at which `ms` of active time (outside `pauses`) has
/// passed since `from`; `None` while paused before reaching it, or when the
/// clock never gets there.
fn reach(from: Timestamp, pauses: &[Pause], ms: i64, clock: Clock<'_>) -> Option<Timestamp> {
    let mut remaining = ms;
    let mut segment_start = from;
    for pause in pauses {
        let segment_end = pause.from.max(segment_start);
        let length = clock.elapsed_ms(segment_start, segment_end);
        if remaining <= length {
            return clock.add_ms(segment_start, remaining);
        }
        remaining -= length;
        segment_start = pause.to?.max(segment_start);
    }
    clock.add_ms(segment_start, remaining)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::business_hours::{BusinessHoursConfig, OpenInterval, WeekSchedule};
    use crate::enums::ConversationStatus::{self, *};
    use crate::metrics::{Fact, FactEvent, conversation_metrics, whole_seconds};

    const S: i64 = 1000;
    const MIN: i64 = 60;

    fn ts(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_750_000_000 + seconds).unwrap_or(Timestamp::UNIX_EPOCH)
    }
    fn inbound(s: i64) -> Fact {
        Fact::new(ts(s), FactEvent::Inbound)
    }
    fn reply(s: i64) -> Fact {
        Fact::new(ts(s), FactEvent::PersonReply { user_id: Some("usr_1".into()) })
    }
    fn bot(s: i64) -> Fact {
        Fact::new(ts(s), FactEvent::AutomaticReply)
    }
    fn status(s: i64, to: ConversationStatus) -> Fact {
        Fact::new(ts(s), FactEvent::Status { to, user_id: Some("usr_1".into()) })
    }

    fn policy(first: Option<i64>, next: Option<i64>, resolution: Option<i64>) -> SlaPolicy {
        SlaPolicy {
            id: "sla_1".into(),
            name: "Standard".into(),
            conditions: SlaConditions::default(),
            first_response_seconds: first,
            next_response_seconds: next,
            resolution_seconds: resolution,
            business_hours: false,
            warn_fraction: 0.8,
        }
    }

    fn at(facts: &[Fact], p: &SlaPolicy, now: i64) -> SlaEvaluation {
        evaluate(p, &conversation_metrics(facts, None), None, ts(now))
    }

    fn state(e: &SlaEvaluation, key: &str) -> Option<TargetState> {
        e.get(key).map(|t| t.state)
    }

    #[test]
    fn a_first_response_target_runs_warns_and_breaches() {
        let p = policy(Some(60 * MIN), None, None);
        let facts = [inbound(0), bot(1)];
        let e = at(&facts, &p, 10 * MIN);
        let t = e.get("first_response/0").cloned();
        let Some(t) = t else { panic!("no target: {e:?}") };
        assert_eq!((t.state, t.at_risk), (TargetState::Running, false));
        assert_eq!((t.due_at, t.warn_at), (Some(ts(3600)), Some(ts(48 * MIN))));
        assert_eq!((t.elapsed_ms, t.remaining_ms), (600 * S, 3000 * S));
        assert_eq!(
            e.timers(),
            vec![SlaTimer {
                key: t.key.clone(),
                metric: SlaMetric::FirstResponse,
                due_at: ts(3600),
                warn_at: Some(ts(2880))
            }]
        );
        assert!(at(&facts, &p, 50 * MIN).any_at_risk());
        let late = at(&facts, &p, 3600);
        assert_eq!(state(&late, "first_response/0"), Some(TargetState::Breached), "breached at exactly the target");
        assert!(late.timers().is_empty());
        let just_before = at(&facts, &p, 3599);
        assert_eq!(state(&just_before, "first_response/0"), Some(TargetState::Running));
    }

    #[test]
    fn met_and_breached_agree_with_the_measured_seconds() {
        let p = policy(Some(60 * MIN), None, None);
        let met = at(
            &[
                inbound(0),
                Fact::new(
                    Timestamp::from_millisecond(ts(3600).as_millisecond() - 1).unwrap_or_default(),
                    FactEvent::PersonReply { user_id: None },
                ),
            ],
            &p,
            9999,
        );
        assert_eq!(state(&met, "first_response/0"), Some(TargetState::Met));
        let late = at(&[inbound(0), reply(3600)], &p, 9999);
        let t = late.get("first_response/0").cloned();
        assert_eq!(t.as_ref().map(|t| t.state), Some(TargetState::Breached));
        assert_eq!(t.as_ref().and_then(|t| t.due_at), Some(ts(3600)));
        assert_eq!(t.and_then(|t| t.completed_at), Some(ts(3600)), "breached targets keep the late reply");
    }

    #[test]
    fn pending_and_snoozed_do_not_stop_response_clocks_but_stop_resolution() {
        let p = policy(Some(30 * MIN), None, Some(120 * MIN));
        let facts = [inbound(0), status(10 * MIN, Snoozed)];
        let e = at(&facts, &p, 40 * MIN);
        assert_eq!(state(&e, "first_response/0"), Some(TargetState::Breached), "snoozing does not pause a response");
        let r = e.get("resolution/0").cloned();
        assert_eq!(r.as_ref().map(|r| (r.state, r.elapsed_ms, r.due_at)), Some((TargetState::Paused, 600 * S, None)));
        // Woken at 60 min: 110 min remain, due at 170 min.
        let woken = at(&[inbound(0), status(10 * MIN, Snoozed), status(60 * MIN, Open)], &p, 61 * MIN);
        let r = woken.get("resolution/0").cloned();
        assert_eq!(r.as_ref().map(|r| (r.state, r.due_at)), Some((TargetState::Running, Some(ts(170 * MIN)))));
        assert_eq!(
            r.and_then(|r| r.warn_at),
            Some(ts((96 + 50) * MIN)),
            "80 % = 96 min active: 10 before, 86 after waking"
        );
    }

    #[test]
    fn a_resolution_breached_before_a_pause_stays_breached() {
        let p = policy(None, None, Some(30 * MIN));
        let e = at(&[inbound(0), status(40 * MIN, Pending)], &p, 90 * MIN);
        let r = e.get("resolution/0").cloned();
        assert_eq!(r.as_ref().map(|r| (r.state, r.due_at)), Some((TargetState::Breached, Some(ts(30 * MIN)))));
        let met = at(&[inbound(0), status(20 * MIN, Pending), status(80 * MIN, Resolved)], &p, 90 * MIN);
        assert_eq!(state(&met, "resolution/0"), Some(TargetState::Met), "20 active minutes");
    }

    #[test]
    fn next_responses_each_get_a_target_and_resolution_cancels_an_open_wait() {
        let p = policy(Some(60 * MIN), Some(15 * MIN), None);
        let facts = [
            inbound(0),
            reply(5 * MIN),
            inbound(10 * MIN),
            reply(20 * MIN),
            inbound(30 * MIN),
            reply(50 * MIN),
            inbound(60 * MIN),
        ];
        let e = at(&facts, &p, 65 * MIN);
        assert_eq!(state(&e, "next_response/0/0"), Some(TargetState::Met));
        assert_eq!(state(&e, "next_response/0/1"), Some(TargetState::Breached));
        assert_eq!(state(&e, "next_response/0/2"), Some(TargetState::Running));
        assert_eq!(e.next_due(), Some(ts(75 * MIN)));
        let mut resolved = facts.to_vec();
        resolved.push(status(70 * MIN, Resolved));
        let e = at(&resolved, &p, 80 * MIN);
        assert_eq!(state(&e, "next_response/0/2"), Some(TargetState::Cancelled));
        assert_eq!(state(&at(&resolved, &p, 80 * MIN), "first_response/0"), Some(TargetState::Met));
        let mut attainment = SlaAttainment::default();
        e.targets.iter().for_each(|t| attainment.add(t));
        assert_eq!(attainment, SlaAttainment { met: 2, breached: 1 });
    }

    #[test]
    fn a_reopened_conversation_gets_new_targets_per_cycle() {
        let p = policy(Some(10 * MIN), None, Some(60 * MIN));
        let facts = [inbound(0), reply(MIN), status(2 * MIN, Resolved), inbound(100 * MIN)];
        let e = at(&facts, &p, 105 * MIN);
        assert_eq!(state(&e, "first_response/0"), Some(TargetState::Met));
        assert_eq!(state(&e, "resolution/0"), Some(TargetState::Met));
        assert_eq!(state(&e, "first_response/1"), Some(TargetState::Running));
        assert_eq!(e.get("first_response/1").and_then(|t| t.due_at), Some(ts(110 * MIN)));
    }

    #[test]
    fn business_hours_move_due_times_across_closed_hours() {
        let hours = BusinessHours::try_from(BusinessHoursConfig {
            time_zone: "Europe/Athens".into(),
            week: WeekSchedule::weekdays(vec![OpenInterval::new("09:00", "18:00")]),
            holidays: vec![],
        });
        let Ok(hours) = hours else { panic!("valid hours") };
        let mut p = policy(Some(60 * MIN), None, None);
        p.business_hours = true;
        // Friday 2025-06-06 17:30 Athens = 14:30Z.
        let friday: Timestamp = "2025-06-06T14:30:00Z".parse().unwrap_or_default();
        let facts = [Fact::new(friday, FactEvent::Inbound)];
        let metrics = conversation_metrics(&facts, Some(&hours));
        let e = evaluate(&p, &metrics, Some(&hours), "2025-06-07T10:00:00Z".parse().unwrap_or_default());
        let t = e.get("first_response/0").cloned();
        assert_eq!(t.as_ref().map(|t| (t.state, t.basis)), Some((TargetState::Running, TimeBasis::Business)));
        assert_eq!(t.as_ref().and_then(|t| t.due_at), "2025-06-09T06:30:00Z".parse().ok(), "Monday 09:30 Athens");
        assert_eq!(t.map(|t| t.elapsed_ms), Some(30 * MIN * S));
        // Without hours configured the same policy measures calendar time.
        let e = evaluate(&p, &metrics, None, friday);
        assert_eq!(e.get("first_response/0").map(|t| t.basis), Some(TimeBasis::Calendar));
    }

    #[test]
    fn policies_are_chosen_by_the_first_matching_rule_or_the_default() {
        let mut public_negative = policy(Some(15 * MIN), None, None);
        public_negative.id = "sla_public_negative".into();
        public_negative.conditions = SlaConditions {
            kinds: vec![ConversationKind::Public],
            sentiments: vec![Sentiment::Negative],
            ..Default::default()
        };
        let mut vip = policy(Some(5 * MIN), None, None);
        vip.id = "sla_vip".into();
        vip.conditions = SlaConditions {
            labels: vec!["VIP".into()],
            priorities: vec![Priority::Urgent, Priority::High],
            ..Default::default()
        };
        let mut instagram = policy(Some(30 * MIN), None, None);
        instagram.id = "sla_ig".into();
        instagram.conditions = SlaConditions {
            networks: vec![Network::Instagram],
            channel_ids: vec!["ch_ig".into()],
            ..Default::default()
        };
        let policies = SlaPolicies {
            rules: vec![public_negative, vip, instagram],
            default: Some(policy(Some(60 * MIN), None, None)),
        };
        assert!(policies.validate().is_ok());
        let vip: &[String] = &["vip".to_owned()];
        let none: &[String] = &[];
        let pick = |s: SlaSubject<'_>| policies.select(&s).map(|p| p.id.clone());
        fn subject<'a>(
            kind: ConversationKind,
            sentiment: Option<Sentiment>,
            priority: Priority,
            labels: &'a [String],
            network: Network,
            channel_id: &'a str,
        ) -> SlaSubject<'a> {
            SlaSubject { priority, channel_id, network, kind, sentiment, labels }
        }
        use ConversationKind::*;
        assert_eq!(
            pick(subject(Public, Some(Sentiment::Negative), Priority::Low, none, Network::X, "ch_x")).as_deref(),
            Some("sla_public_negative")
        );
        assert_eq!(
            pick(subject(Private, Some(Sentiment::Negative), Priority::High, vip, Network::X, "ch_x")).as_deref(),
            Some("sla_vip")
        );
        assert_eq!(
            pick(subject(Private, None, Priority::Normal, vip, Network::X, "ch_x")).as_deref(),
            Some("sla_1"),
            "VIP needs high priority too"
        );
        assert_eq!(
            pick(subject(Public, None, Priority::Normal, none, Network::Instagram, "ch_ig")).as_deref(),
            Some("sla_ig"),
            "no sentiment yet"
        );
        assert_eq!(
            pick(subject(Public, None, Priority::Normal, none, Network::Instagram, "ch_other")).as_deref(),
            Some("sla_1")
        );
        let no_default = SlaPolicies { rules: policies.rules.clone(), default: None };
        assert_eq!(no_default.select(&subject(Private, None, Priority::Low, none, Network::Email, "ch_mail")), None);
    }

    #[test]
    fn bad_policies_are_refused() {
        assert!(policy(None, None, None).validate().is_err());
        assert!(policy(Some(0), None, None).validate().err().is_some_and(|e| e.field == "first_response_seconds"));
        assert!(policy(None, Some(MAX_TARGET_SECONDS + 1), None).validate().is_err());
        let mut p = policy(Some(60), None, None);
        p.warn_fraction = 1.5;
        assert!(p.validate().err().is_some_and(|e| e.field == "warn_fraction"));
        p.warn_fraction = f64::NAN;
        assert!(p.validate().is_err());
        let twice =
            SlaPolicies { rules: vec![policy(Some(60), None, None)], default: Some(policy(Some(60), None, None)) };
        assert!(twice.validate().err().is_some_and(|e| e.message.contains("used twice")));
        let json = r#"{"id":"p","name":"P","first_response_seconds":3600}"#;
        let parsed: Option<SlaPolicy> = serde_json::from_str(json).ok();
        assert_eq!(parsed.map(|p| (p.warn_fraction, p.business_hours)), Some((0.8, false)));
    }

    /// Reports and SLA agree: for random histories, every final target's
    /// elapsed time is the report's measure, and it is met exactly when the
    /// whole seconds the report stores are below the target.
    #[test]
    fn sla_outcomes_and_report_measures_agree_on_random_histories() {
        let hours = BusinessHours::try_from(BusinessHoursConfig {
            time_zone: "America/New_York".into(),
            week: WeekSchedule::weekdays(vec![
                OpenInterval::new("08:00", "12:00"),
                OpenInterval::new("13:00", "19:00"),
            ]),
            holidays: vec![],
        });
        let Ok(hours) = hours else { panic!("valid hours") };
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut checked = 0;
        for round in 0..300 {
            let mut facts = vec![];
            let mut t = 0;
            for _ in 0..(2 + next(20)) {
                t += 1 + i64::try_from(next(4 * 3600)).unwrap_or(0);
                facts.push(match next(8) {
                    0..=2 => inbound(t),
                    3..=4 => reply(t),
                    5 => bot(t),
                    _ => status(t, [Open, Pending, Snoozed, Resolved][usize::try_from(next(4)).unwrap_or(0)]),
                });
            }
            let mut p = policy(Some(1800), Some(900), Some(4 * 3600));
            p.business_hours = round % 2 == 0;
            let basis = if p.business_hours { TimeBasis::Business } else { TimeBasis::Calendar };
            let metrics = conversation_metrics(&facts, Some(&hours));
            let e = evaluate(&p, &metrics, Some(&hours), ts(t + 1));
            for cycle in &metrics.cycles {
                let measures = cycle
                    .first_response
                    .iter()
                    .map(|m| (format!("first_response/{}", cycle.index), m.ms(basis)))
                    .chain(
                        cycle
                            .next_responses
                            .iter()
                            .enumerate()
                            .map(|(i, m)| (format!("next_response/{}/{i}", cycle.index), m.ms(basis))),
                    )
                    .chain(cycle.resolution.iter().map(|r| (format!("resolution/{}", cycle.index), r.ms(basis))));
                for (key, ms) in measures {
                    let Some(target) = e.get(&key) else { panic!("no target {key}: {facts:?}") };
                    assert_eq!(target.elapsed_ms, ms, "{key}: {facts:?}");
                    let met_by_report = whole_seconds(ms) < u64::try_from(target.target_ms / 1000).unwrap_or(0);
                    assert_eq!(target.state == TargetState::Met, met_by_report, "{key}: {facts:?}");
                    if target.state == TargetState::Breached {
                        let due = target.due_at.unwrap_or_else(|| panic!("{key} breached without a due time"));
                        assert!(due <= target.completed_at.unwrap_or(due), "{key}");
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 500, "only {checked} targets compared");
    }
}
