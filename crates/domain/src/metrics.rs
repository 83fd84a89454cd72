//! The metric definitions of PRODUCT.md, implemented once for SLA and
//! reports alike (docs/metrics.md explains every rule).
//!
//! The input is a conversation's history as [`Fact`]s: customer messages,
//! replies by people, automatic replies, notes, status changes and survey
//! answers, each with its instant. [`conversation_metrics`] replays it the
//! way `Conversation::record_inbound / record_outbound / change_status` move
//! the timeline, and returns every cycle's measures (a cycle starts at the
//! first customer message or a reopening and ends at resolution), in calendar
//! time and, when given business hours, in business time. The SLA module
//! reads the same [`CycleMetrics`], so the two cannot disagree.
//!
//! For reports the module also has mergeable summaries: [`DurationSummary`]
//! keeps each whole-second value with its count, so the median, p90 and
//! distribution buckets of any merge of days and dimensions are exact.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::InvalidValue;
use crate::business_hours::{BusinessHours, Clock};
use crate::csat::Rating;
use crate::enums::{AuthorKind, ConversationStatus, DeliveryStatus, Direction, Visibility};
use crate::model::Message;

/// A resolved cycle reopened before this much time has passed is no first-contact resolution.
pub const FCR_REOPEN_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);

/// One thing that happened in a conversation, as the metrics see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Fact {
    /// When it counted: a customer message's time on the network; a reply's
    /// queueing for sending (for a trainee's reply, its approval); a status
    /// change's time.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub event: FactEvent,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FactEvent {
    /// A customer's message, public or private. A message read as a survey
    /// answer is a [`FactEvent::Csat`] instead.
    Inbound,
    /// A public or private reply by a person (`user_id` is unknown for a
    /// reply the team wrote on the network itself).
    PersonReply { user_id: Option<String> },
    /// An outbound message no person wrote: a bot, an auto-reply, a rule, a
    /// follow-up or a survey. Never a response.
    AutomaticReply,
    /// An internal note. Never a response.
    Note,
    /// The status changed; `user_id` is `None` when a rule, a timer (a snooze
    /// waking up) or the system changed it. Leaving `resolved` reopens.
    Status { to: ConversationStatus, user_id: Option<String> },
    /// A survey answer.
    Csat { rating: Rating },
}

impl Fact {
    pub fn new(at: Timestamp, event: FactEvent) -> Self {
        Self { at, event }
    }

    /// The fact a stored message stands for, at its `created_at`; `None` for
    /// replies that were never queued (awaiting approval). An approved
    /// reply's `created_at` is its approval, so it counts from then.
    pub fn from_message(message: &Message) -> Option<Self> {
        let event = match (message.direction, message.visibility, message.author_kind) {
            (Direction::Inbound, _, _) => FactEvent::Inbound,
            (Direction::Outbound, Visibility::Note, _) => FactEvent::Note,
            (Direction::Outbound, _, _) if message.delivery_status == DeliveryStatus::AwaitingApproval => return None,
            (Direction::Outbound, _, AuthorKind::User) => {
                FactEvent::PersonReply { user_id: message.author_user_id.clone() }
            }
            (Direction::Outbound, _, _) => FactEvent::AutomaticReply,
        };
        Some(Self { at: message.created_at, event })
    }
}

/// How a cycle began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CycleStart {
    /// The conversation's first customer message.
    FirstMessage,
    /// A customer wrote after resolution.
    ReopenedByCustomer,
    /// Someone (or a rule) moved a resolved conversation to another status.
    ReopenedByTeam,
}

/// A measured stretch: from its start to its end, on both clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Measure {
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    pub calendar_ms: i64,
    /// `None` when no business hours were given.
    pub business_ms: Option<i64>,
}

impl Measure {
    /// The value on the chosen clock (`Business` falls back to calendar when no hours were given).
    pub fn ms(&self, basis: TimeBasis) -> i64 {
        match basis {
            TimeBasis::Calendar => self.calendar_ms,
            TimeBasis::Business => self.business_ms.unwrap_or(self.calendar_ms),
        }
    }
}

/// Calendar or business time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeBasis {
    #[default]
    Calendar,
    Business,
}

/// A stretch spent pending or snoozed; `to` is `None` while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pause {
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub to: Option<Timestamp>,
}

/// How a cycle was resolved and how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Resolution {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The person who resolved it; `None` for a rule or the system.
    pub user_id: Option<String>,
    pub by_person: bool,
    /// From the cycle's start to resolution, less pending and snoozed time.
    pub calendar_ms: i64,
    pub business_ms: Option<i64>,
    /// Calendar time spent pending or snoozed in the cycle.
    pub paused_ms: i64,
}

impl Resolution {
    pub fn ms(&self, basis: TimeBasis) -> i64 {
        match basis {
            TimeBasis::Calendar => self.calendar_ms,
            TimeBasis::Business => self.business_ms.unwrap_or(self.calendar_ms),
        }
    }
}

/// First-contact resolution of a resolved cycle, as known at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FcrOutcome {
    /// Resolved after exactly one reply by a person and not reopened within 7 days.
    Yes,
    No,
    /// One reply, resolved, but the 7 days are not over: decided at `decides_at`
    /// (yes, unless the conversation reopens before then).
    Undecided {
        #[schema(value_type = String, format = DateTime)]
        decides_at: Timestamp,
    },
}

/// The measures of one cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CycleMetrics {
    /// 0 for the first cycle.
    pub index: u32,
    pub start: CycleStart,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    /// Cycle start to the first reply by a person.
    pub first_response: Option<Measure>,
    /// Each later wait: from the first customer message after a reply by a
    /// person to the next reply by a person.
    pub next_responses: Vec<Measure>,
    /// The start of a wait still without a reply by a person when the cycle
    /// was resolved or the history ends. While `first_response` is `None`
    /// the first-response clock runs from `started_at` instead.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub unanswered_since: Option<Timestamp>,
    /// Pending and snoozed stretches within the cycle, in order.
    pub pauses: Vec<Pause>,
    pub resolution: Option<Resolution>,
    /// When the conversation reopened after this cycle's resolution.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reopened_at: Option<Timestamp>,
    pub inbound_messages: u32,
    pub person_replies: u32,
    pub automatic_replies: u32,
    pub notes: u32,
    /// Survey answers received after this cycle started (and before the next).
    pub ratings: Vec<Rating>,
}

impl CycleMetrics {
    /// At least one reply by a person, or resolved by a person.
    pub fn handled(&self) -> bool {
        self.person_replies > 0 || self.resolution.as_ref().is_some_and(|r| r.by_person)
    }

    /// First-contact resolution as known at `now`; `None` while unresolved.
    pub fn fcr(&self, now: Timestamp) -> Option<FcrOutcome> {
        let resolved_at = self.resolution.as_ref()?.at;
        if self.person_replies != 1 {
            return Some(FcrOutcome::No);
        }
        let decides_at = resolved_at.checked_add(FCR_REOPEN_WINDOW).unwrap_or(resolved_at);
        Some(match self.reopened_at {
            Some(reopened) if reopened < decides_at => FcrOutcome::No,
            _ if now >= decides_at => FcrOutcome::Yes,
            _ => FcrOutcome::Undecided { decides_at },
        })
    }
}

/// Every cycle of a conversation, and the counts that belong to no cycle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationMetrics {
    pub cycles: Vec<CycleMetrics>,
    /// The status after the last fact.
    pub status: Option<ConversationStatus>,
    /// Outbound messages before the first customer message or after a
    /// resolution: counted as outbound volume, never as responses.
    pub outside_cycles_person_replies: u32,
    pub outside_cycles_automatic_replies: u32,
}

impl ConversationMetrics {
    /// Handled if any cycle was.
    pub fn handled(&self) -> bool {
        self.cycles.iter().any(CycleMetrics::handled)
    }

    pub fn current_cycle(&self) -> Option<&CycleMetrics> {
        self.cycles.last()
    }

    pub fn inbound_messages(&self) -> u32 {
        self.cycles.iter().map(|c| c.inbound_messages).sum()
    }

    pub fn person_replies(&self) -> u32 {
        self.outside_cycles_person_replies + self.cycles.iter().map(|c| c.person_replies).sum::<u32>()
    }

    pub fn automatic_replies(&self) -> u32 {
        self.outside_cycles_automatic_replies + self.cycles.iter().map(|c| c.automatic_replies).sum::<u32>()
    }
}

fn is_paused(status: ConversationStatus) -> bool {
    matches!(status, ConversationStatus::Pending | ConversationStatus::Snoozed)
}

/// A cycle while the history is replayed; instants only, measured at the end.
struct OpenCycle {
    index: u32,
    start: CycleStart,
    started_at: Timestamp,
    first_reply_at: Option<Timestamp>,
    next_waits: Vec<(Timestamp, Timestamp)>,
    awaiting_since: Option<Timestamp>,
    pauses: Vec<Pause>,
    resolved: Option<(Timestamp, Option<String>)>,
    reopened_at: Option<Timestamp>,
    counts: [u32; 4],
    ratings: Vec<Rating>,
}

/// Replays `facts` (sorted by instant here; equal instants keep their order)
/// and measures each cycle, in business time too when `hours` is given.
/// Facts are taken as they are: a conversation starts `open`, and a snooze
/// ends only with a status fact (the wake-up a timer records).
pub fn conversation_metrics(facts: &[Fact], hours: Option<&BusinessHours>) -> ConversationMetrics {
    let mut ordered: Vec<&Fact> = facts.iter().collect();
    ordered.sort_by_key(|f| f.at);
    let mut status = ConversationStatus::Open;
    let mut cycles: Vec<OpenCycle> = vec![];
    let mut pause_since: Option<Timestamp> = None;
    let mut outside = (0u32, 0u32);
    for fact in ordered {
        let at = fact.at;
        let in_cycle = status != ConversationStatus::Resolved && !cycles.is_empty();
        match &fact.event {
            FactEvent::Inbound => {
                match status {
                    ConversationStatus::Resolved => {
                        let start =
                            if cycles.is_empty() { CycleStart::FirstMessage } else { CycleStart::ReopenedByCustomer };
                        start_cycle(&mut cycles, &mut pause_since, at, start);
                    }
                    ConversationStatus::Pending | ConversationStatus::Snoozed => {
                        end_pause(&mut cycles, &mut pause_since, at);
                    }
                    ConversationStatus::Open => {}
                }
                status = ConversationStatus::Open;
                if cycles.is_empty() {
                    start_cycle(&mut cycles, &mut pause_since, at, CycleStart::FirstMessage);
                }
                if let Some(cycle) = cycles.last_mut() {
                    cycle.counts[0] += 1;
                    cycle.awaiting_since.get_or_insert(at);
                }
            }
            FactEvent::PersonReply { .. } => match cycles.last_mut() {
                Some(cycle) if in_cycle => {
                    cycle.counts[1] += 1;
                    match (cycle.first_reply_at, cycle.awaiting_since) {
                        (None, _) => cycle.first_reply_at = Some(at),
                        (Some(_), Some(since)) => cycle.next_waits.push((since, at)),
                        (Some(_), None) => {}
                    }
                    cycle.awaiting_since = None;
                }
                _ => outside.0 += 1,
            },
            FactEvent::AutomaticReply => match cycles.last_mut() {
                Some(cycle) if in_cycle => cycle.counts[2] += 1,
                _ => outside.1 += 1,
            },
            FactEvent::Note => {
                if let Some(cycle) = cycles.last_mut() {
                    cycle.counts[3] += 1;
                }
            }
            FactEvent::Csat { rating } => {
                if let Some(cycle) = cycles.last_mut() {
                    cycle.ratings.push(*rating);
                }
            }
            FactEvent::Status { to, user_id } => {
                let to = *to;
                if to == status && to != ConversationStatus::Snoozed {
                    continue;
                }
                if status == ConversationStatus::Resolved {
                    start_cycle(&mut cycles, &mut pause_since, at, CycleStart::ReopenedByTeam);
                    status = ConversationStatus::Open;
                }
                if is_paused(status) && !is_paused(to) {
                    end_pause(&mut cycles, &mut pause_since, at);
                }
                if is_paused(to) && pause_since.is_none() {
                    pause_since = Some(at);
                }
                if to == ConversationStatus::Resolved
                    && let Some(cycle) = cycles.last_mut()
                {
                    cycle.resolved = Some((at, user_id.clone()));
                }
                status = to;
            }
        }
    }
    let open_pause = pause_since.filter(|_| status != ConversationStatus::Resolved);
    let clock = hours.map_or(Clock::Calendar, Clock::Business);
    let count = cycles.len();
    let cycles = cycles
        .into_iter()
        .enumerate()
        .map(|(i, mut cycle)| {
            if i + 1 == count
                && let Some(since) = open_pause
            {
                cycle.pauses.push(Pause { from: since.max(cycle.started_at), to: None });
            }
            measure_cycle(cycle, clock, hours.is_some())
        })
        .collect();
    ConversationMetrics {
        cycles,
        status: Some(status),
        outside_cycles_person_replies: outside.0,
        outside_cycles_automatic_replies: outside.1,
    }
}

fn start_cycle(cycles: &mut Vec<OpenCycle>, pause_since: &mut Option<Timestamp>, at: Timestamp, start: CycleStart) {
    if let Some(previous) = cycles.last_mut() {
        previous.reopened_at = Some(at);
    }
    *pause_since = None;
    cycles.push(OpenCycle {
        index: u32::try_from(cycles.len()).unwrap_or(u32::MAX),
        start,
        started_at: at,
        first_reply_at: None,
        next_waits: vec![],
        awaiting_since: None,
        pauses: vec![],
        resolved: None,
        reopened_at: None,
        counts: [0; 4],
        ratings: vec![],
    });
}

/// Closes a pause; only its part within the current cycle counts.
fn end_pause(cycles: &mut [OpenCycle], pause_since: &mut Option<Timestamp>, at: Timestamp) {
    if let (Some(since), Some(cycle)) = (pause_since.take(), cycles.last_mut()) {
        let from = since.max(cycle.started_at);
        if at > from {
            cycle.pauses.push(Pause { from, to: Some(at) });
        }
    }
}

fn measure(from: Timestamp, to: Timestamp, clock: Clock<'_>, business: bool) -> Measure {
    Measure {
        from,
        to,
        calendar_ms: Clock::Calendar.elapsed_ms(from, to),
        business_ms: business.then(|| clock.elapsed_ms(from, to)),
    }
}

/// Time in `[from, to)` on `clock`, less the parts of `pauses` inside it
/// (an open pause runs to `to`). Resolution time and the resolution SLA
/// clock both use this.
pub fn active_ms(from: Timestamp, to: Timestamp, pauses: &[Pause], clock: Clock<'_>) -> i64 {
    let paused: i64 = pauses.iter().map(|p| clock.elapsed_ms(p.from.max(from), p.to.unwrap_or(to).min(to))).sum();
    (clock.elapsed_ms(from, to) - paused).max(0)
}

fn measure_cycle(cycle: OpenCycle, clock: Clock<'_>, business: bool) -> CycleMetrics {
    let resolution = cycle.resolved.map(|(at, user_id)| {
        let paused_ms = cycle.pauses.iter().map(|p| Clock::Calendar.elapsed_ms(p.from, p.to.unwrap_or(at))).sum();
        Resolution {
            at,
            by_person: user_id.is_some(),
            user_id,
            calendar_ms: active_ms(cycle.started_at, at, &cycle.pauses, Clock::Calendar),
            business_ms: business.then(|| active_ms(cycle.started_at, at, &cycle.pauses, clock)),
            paused_ms,
        }
    });
    let [inbound_messages, person_replies, automatic_replies, notes] = cycle.counts;
    CycleMetrics {
        index: cycle.index,
        start: cycle.start,
        started_at: cycle.started_at,
        first_response: cycle.first_reply_at.map(|at| measure(cycle.started_at, at, clock, business)),
        next_responses: cycle.next_waits.iter().map(|&(from, to)| measure(from, to, clock, business)).collect(),
        unanswered_since: cycle.awaiting_since,
        pauses: cycle.pauses,
        resolution,
        reopened_at: cycle.reopened_at,
        inbound_messages,
        person_replies,
        automatic_replies,
        notes,
        ratings: cycle.ratings,
    }
}

/// Whole seconds of a duration, rounded down (negative counts as 0). A
/// target of T seconds is met exactly when this is below T.
pub fn whole_seconds(ms: i64) -> u64 {
    u64::try_from(ms.max(0) / 1000).unwrap_or(0)
}

/// A distribution bucket of durations: `[from_seconds, to_seconds)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct DurationBucket {
    /// Stable name for APIs, CSV columns and translations.
    pub key: &'static str,
    pub label: &'static str,
    pub from_seconds: u64,
    /// `None` for the last, open-ended bucket.
    pub to_seconds: Option<u64>,
}

/// The distribution buckets every report uses for response and resolution times.
pub const DURATION_BUCKETS: [DurationBucket; 6] = [
    DurationBucket { key: "under_5m", label: "< 5 min", from_seconds: 0, to_seconds: Some(300) },
    DurationBucket { key: "5m_15m", label: "5–15 min", from_seconds: 300, to_seconds: Some(900) },
    DurationBucket { key: "15m_1h", label: "15–60 min", from_seconds: 900, to_seconds: Some(3_600) },
    DurationBucket { key: "1h_4h", label: "1–4 h", from_seconds: 3_600, to_seconds: Some(14_400) },
    DurationBucket { key: "4h_24h", label: "4–24 h", from_seconds: 14_400, to_seconds: Some(86_400) },
    DurationBucket { key: "over_24h", label: "> 24 h", from_seconds: 86_400, to_seconds: None },
];

/// Durations in whole seconds, each distinct value with its count, sorted.
///
/// Merging two summaries adds counts per value, so a summary per day and
/// dimension merges into any range and still holds every sample's value:
/// quantiles come out exactly as from the raw samples. It stays small
/// because durations repeat (a day's thousands of first responses take a
/// few hundred distinct seconds under an hour). Stored as JSON
/// (`[[seconds, count], …]`) or as compact bytes ([`Self::to_bytes`]). It is
/// a storage format: the API shows the figures computed from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<(u64, u64)>", into = "Vec<(u64, u64)>")]
pub struct DurationSummary {
    values: Vec<(u64, u64)>,
}

impl TryFrom<Vec<(u64, u64)>> for DurationSummary {
    type Error = InvalidValue;
    fn try_from(values: Vec<(u64, u64)>) -> Result<Self, InvalidValue> {
        if values.windows(2).any(|w| w[0].0 >= w[1].0) || values.iter().any(|&(_, n)| n == 0) {
            return Err(InvalidValue::new(
                "duration_summary",
                "values must be strictly increasing [seconds, count] pairs with positive counts",
            ));
        }
        Ok(Self { values })
    }
}

impl From<DurationSummary> for Vec<(u64, u64)> {
    fn from(summary: DurationSummary) -> Self {
        summary.values
    }
}

impl DurationSummary {
    pub fn new() -> Self {
        Self::default()
    }

    /// A summary of these samples (in whole seconds).
    pub fn from_seconds(samples: impl IntoIterator<Item = u64>) -> Self {
        let mut all: Vec<u64> = samples.into_iter().collect();
        all.sort_unstable();
        let mut values: Vec<(u64, u64)> = vec![];
        for s in all {
            match values.last_mut() {
                Some(last) if last.0 == s => last.1 += 1,
                _ => values.push((s, 1)),
            }
        }
        Self { values }
    }

    pub fn add(&mut self, seconds: u64) {
        self.add_count(seconds, 1);
    }

    /// Adds a duration measured in milliseconds, as [`whole_seconds`].
    pub fn add_ms(&mut self, ms: i64) {
        self.add(whole_seconds(ms));
    }

    pub fn add_count(&mut self, seconds: u64, count: u64) {
        if count == 0 {
            return;
        }
        match self.values.binary_search_by_key(&seconds, |&(s, _)| s) {
            Ok(i) => self.values[i].1 += count,
            Err(i) => self.values.insert(i, (seconds, count)),
        }
    }

    /// Takes one sample of `seconds` back out (a correction); false when there is none.
    pub fn remove(&mut self, seconds: u64) -> bool {
        let Ok(i) = self.values.binary_search_by_key(&seconds, |&(s, _)| s) else { return false };
        self.values[i].1 -= 1;
        if self.values[i].1 == 0 {
            self.values.remove(i);
        }
        true
    }

    pub fn merge(&mut self, other: &DurationSummary) {
        if other.values.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(self.values.len() + other.values.len());
        let (mut a, mut b) = (self.values.iter().peekable(), other.values.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&x), Some(&&y)) if x.0 == y.0 => {
                    a.next();
                    b.next();
                    (x.0, x.1 + y.1)
                }
                (Some(&&x), Some(&&y)) if x.0 < y.0 => {
                    a.next();
                    x
                }
                (_, Some(&&y)) => {
                    b.next();
                    y
                }
                (Some(&&x), None) => {
                    a.next();
                    x
                }
                (None, None) => break,
            };
            out.push(next);
        }
        self.values = out;
    }

    /// Merges many (days × dimensions) pairwise, so each value is copied
    /// O(log n) times rather than once per input.
    pub fn merge_all<'a>(summaries: impl IntoIterator<Item = &'a DurationSummary>) -> DurationSummary {
        let mut level: Vec<DurationSummary> = summaries.into_iter().cloned().collect();
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            let mut items = level.into_iter();
            while let Some(mut first) = items.next() {
                if let Some(second) = items.next() {
                    first.merge(&second);
                }
                next.push(first);
            }
            level = next;
        }
        level.pop().unwrap_or_default()
    }

    pub fn count(&self) -> u64 {
        self.values.iter().map(|&(_, n)| n).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn sum_seconds(&self) -> u128 {
        self.values.iter().map(|&(s, n)| u128::from(s) * u128::from(n)).sum()
    }

    /// The mean in seconds, rounded down.
    pub fn mean_seconds(&self) -> Option<u64> {
        let n = self.count();
        (n > 0).then(|| u64::try_from(self.sum_seconds() / u128::from(n)).unwrap_or(u64::MAX))
    }

    pub fn min(&self) -> Option<u64> {
        self.values.first().map(|&(s, _)| s)
    }

    pub fn max(&self) -> Option<u64> {
        self.values.last().map(|&(s, _)| s)
    }

    /// The nearest-rank percentile: the smallest value with at least
    /// ⌈p·n/100⌉ samples at or below it. Always one of the samples, exact to
    /// the second. `p` is 1–100; `None` when empty or `p` is out of range.
    pub fn percentile(&self, p: u32) -> Option<u64> {
        if !(1..=100).contains(&p) {
            return None;
        }
        let n = self.count();
        let rank = (u128::from(n) * u128::from(p)).div_ceil(100).max(1);
        let mut seen: u128 = 0;
        for &(seconds, count) in &self.values {
            seen += u128::from(count);
            if seen >= rank {
                return Some(seconds);
            }
        }
        None
    }

    pub fn median(&self) -> Option<u64> {
        self.percentile(50)
    }

    pub fn p90(&self) -> Option<u64> {
        self.percentile(90)
    }

    /// Samples per [`DURATION_BUCKETS`] bucket.
    pub fn buckets(&self) -> [u64; DURATION_BUCKETS.len()] {
        let mut out = [0; DURATION_BUCKETS.len()];
        for &(seconds, count) in &self.values {
            let i = DURATION_BUCKETS.iter().rposition(|b| seconds >= b.from_seconds).unwrap_or(0);
            out[i] += count;
        }
        out
    }

    /// Samples strictly below `seconds` (e.g. how many met a target of that length).
    pub fn count_below(&self, seconds: u64) -> u64 {
        self.values.iter().take_while(|&&(s, _)| s < seconds).map(|&(_, n)| n).sum()
    }

    /// Compact bytes: LEB128 varints of (value delta, count) pairs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.values.len() * 3);
        let mut previous = 0;
        for &(seconds, count) in &self.values {
            write_varint(&mut out, seconds - previous);
            write_varint(&mut out, count);
            previous = seconds;
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidValue> {
        let mut values = vec![];
        for_each_stored_pair(bytes, |seconds, count| values.push((seconds, count)))?;
        Ok(Self { values })
    }
}

/// Reads the (seconds, count) pairs of [`DurationSummary::to_bytes`] in
/// order, refusing bytes that are not a summary.
fn for_each_stored_pair(bytes: &[u8], mut pair: impl FnMut(u64, u64)) -> Result<(), InvalidValue> {
    let bad = || InvalidValue::new("duration_summary", "the stored bytes are not a duration summary");
    let mut rest = bytes;
    let mut previous: u64 = 0;
    let mut first = true;
    while !rest.is_empty() {
        let delta = read_varint(&mut rest).ok_or_else(bad)?;
        let count = read_varint(&mut rest).ok_or_else(bad)?;
        if count == 0 || (!first && delta == 0) {
            return Err(bad());
        }
        first = false;
        previous = previous.checked_add(delta).ok_or_else(bad)?;
        pair(previous, count);
    }
    Ok(())
}

/// Adds up many duration summaries in one pass, for reports over long
/// ranges: durations under [`Self::DENSE_LIMIT`] seconds are counted in an
/// array indexed by the second, small enough to stay in a core's cache, the
/// rarer longer ones (and any count too large for a slot) in a list sorted
/// once at the end. Each stored value is touched once, where merging sorted lists
/// pairwise copies it once per level, and the stored bytes are read straight
/// into the counts without a summary per row. Reuse one tally for many
/// groups: [`Self::finish`] leaves it empty.
#[derive(Debug, Default)]
pub struct DurationTally {
    dense: Vec<u32>,
    /// The indexes of `dense` in use, in the order first used: a small group
    /// reads these back sorted instead of scanning the whole array.
    touched: Vec<u32>,
    sparse: Vec<(u64, u64)>,
}

impl DurationTally {
    /// 2^17 seconds, about 36 hours: nearly every response and most
    /// resolutions, in half a megabyte of counts.
    pub const DENSE_LIMIT: u64 = 1 << 17;

    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, seconds: u64, count: u64) {
        if count == 0 {
            return;
        }
        if seconds >= Self::DENSE_LIMIT {
            self.sparse.push((seconds, count));
            return;
        }
        let i = seconds as usize;
        if i >= self.dense.len() {
            // Grow to what the data needs, in large steps.
            let size = (i + 1).next_power_of_two().max(4096).min(Self::DENSE_LIMIT as usize);
            self.dense.resize(size, 0);
        }
        let Some(sum) = u32::try_from(count).ok().and_then(|c| self.dense[i].checked_add(c)) else {
            self.sparse.push((seconds, count));
            return;
        };
        if self.dense[i] == 0 {
            self.touched.push(i as u32);
        }
        self.dense[i] = sum;
    }

    pub fn add_summary(&mut self, summary: &DurationSummary) {
        for &(seconds, count) in &summary.values {
            self.add(seconds, count);
        }
    }

    /// Adds a summary stored as [`DurationSummary::to_bytes`].
    pub fn add_bytes(&mut self, bytes: &[u8]) -> Result<(), InvalidValue> {
        for_each_stored_pair(bytes, |seconds, count| self.add(seconds, count))
    }

    /// The sum of everything added, and an empty tally for the next group.
    pub fn finish(&mut self) -> DurationSummary {
        let mut values = Vec::with_capacity(self.touched.len() + self.sparse.len());
        // Sorting the used indexes beats scanning when they are a small part
        // of the array; either way every used slot is read once and cleared.
        let span = self.touched.iter().max().map_or(0, |&m| m as usize + 1);
        if self.touched.len() * 16 < span {
            self.touched.sort_unstable();
            for &i in &self.touched {
                values.push((u64::from(i), u64::from(std::mem::take(&mut self.dense[i as usize]))));
            }
        } else {
            for (i, slot) in self.dense[..span].iter_mut().enumerate() {
                if *slot > 0 {
                    values.push((i as u64, u64::from(std::mem::take(slot))));
                }
            }
        }
        self.touched.clear();
        // The list holds long durations (past every dense one, so sorted
        // they append) and overflowed counts (which land on a second there).
        self.sparse.sort_unstable_by_key(|&(s, _)| s);
        let mut all = DurationSummary { values };
        for (seconds, count) in self.sparse.drain(..) {
            all.add_count(seconds, count);
        }
        all
    }
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// A part of a whole (FCR among resolutions, CSAT satisfied among answers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Share {
    pub part: u64,
    pub whole: u64,
}

impl Share {
    pub fn add(&mut self, counts: bool) {
        self.whole += 1;
        self.part += u64::from(counts);
    }

    pub fn merge(&mut self, other: Share) {
        self.part += other.part;
        self.whole += other.whole;
    }

    /// The share as a fraction; `None` with nothing counted.
    pub fn ratio(&self) -> Option<f64> {
        (self.whole > 0).then(|| self.part as f64 / self.whole as f64)
    }
}

/// Survey answers per score (index 0 = score 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RatingSummary {
    pub counts: [u64; 5],
}

impl RatingSummary {
    pub fn add(&mut self, rating: Rating) {
        self.counts[usize::from(rating.score() - 1)] += 1;
    }

    pub fn merge(&mut self, other: &RatingSummary) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
    }

    /// CSAT: answers rating 4 or 5 among all answers.
    pub fn csat(&self) -> Share {
        Share { part: self.counts[3] + self.counts[4], whole: self.counts.iter().sum() }
    }
}

/// The report figures of a set of cycles, mergeable across days and
/// dimensions. [`Self::add_cycle`] is the one place that says which value
/// of a cycle feeds which figure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsSummary {
    pub cycles: u64,
    pub inbound_messages: u64,
    pub person_replies: u64,
    pub automatic_replies: u64,
    pub handled: u64,
    pub resolved: u64,
    pub first_response: DurationSummary,
    pub next_response: DurationSummary,
    pub resolution: DurationSummary,
    /// Decided first-contact resolutions among decided resolved cycles.
    pub fcr: Share,
    pub ratings: RatingSummary,
}

impl MetricsSummary {
    /// Adds one cycle's figures, durations on `basis`; FCR only once decided at `now`.
    pub fn add_cycle(&mut self, cycle: &CycleMetrics, basis: TimeBasis, now: Timestamp) {
        self.cycles += 1;
        self.inbound_messages += u64::from(cycle.inbound_messages);
        self.person_replies += u64::from(cycle.person_replies);
        self.automatic_replies += u64::from(cycle.automatic_replies);
        self.handled += u64::from(cycle.handled());
        if let Some(first) = &cycle.first_response {
            self.first_response.add_ms(first.ms(basis));
        }
        for next in &cycle.next_responses {
            self.next_response.add_ms(next.ms(basis));
        }
        if let Some(resolution) = &cycle.resolution {
            self.resolved += 1;
            self.resolution.add_ms(resolution.ms(basis));
        }
        match cycle.fcr(now) {
            Some(FcrOutcome::Yes) => self.fcr.add(true),
            Some(FcrOutcome::No) => self.fcr.add(false),
            Some(FcrOutcome::Undecided { .. }) | None => {}
        }
        for rating in &cycle.ratings {
            self.ratings.add(*rating);
        }
    }

    pub fn merge(&mut self, other: &MetricsSummary) {
        self.cycles += other.cycles;
        self.inbound_messages += other.inbound_messages;
        self.person_replies += other.person_replies;
        self.automatic_replies += other.automatic_replies;
        self.handled += other.handled;
        self.resolved += other.resolved;
        self.first_response.merge(&other.first_response);
        self.next_response.merge(&other.next_response);
        self.resolution.merge(&other.resolution);
        self.fcr.merge(other.fcr);
        self.ratings.merge(&other.ratings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::business_hours::{BusinessHoursConfig, OpenInterval, WeekSchedule};
    use crate::model::Conversation;
    use ConversationStatus::*;

    const S: i64 = 1000;

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
    fn note(s: i64) -> Fact {
        Fact::new(ts(s), FactEvent::Note)
    }
    fn status(s: i64, to: ConversationStatus) -> Fact {
        Fact::new(ts(s), FactEvent::Status { to, user_id: Some("usr_1".into()) })
    }
    fn by_rule(s: i64, to: ConversationStatus) -> Fact {
        Fact::new(ts(s), FactEvent::Status { to, user_id: None })
    }
    fn rating(s: i64, score: u8) -> Fact {
        Fact::new(ts(s), FactEvent::Csat { rating: Rating::new(score).unwrap_or_else(|_| panic!("bad score")) })
    }

    fn metrics(facts: &[Fact]) -> ConversationMetrics {
        conversation_metrics(facts, None)
    }

    #[test]
    fn a_tally_sums_summaries_exactly_as_merging_does() {
        let mut rng: u64 = 7;
        let mut next = move |below: u64| {
            rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (rng >> 33) % below
        };
        let parts: Vec<DurationSummary> =
            (0..40)
                .map(|_| {
                    // Mostly short, some past the dense limit, one empty.
                    let n = next(300);
                    DurationSummary::from_seconds((0..n).map(|_| {
                        if next(10) == 0 { DurationTally::DENSE_LIMIT + next(5_000_000) } else { next(200_000) }
                    }))
                })
                .collect();
        let merged = DurationSummary::merge_all(&parts);
        let mut tally = DurationTally::new();
        for (i, p) in parts.iter().enumerate() {
            if i % 2 == 0 {
                tally.add_summary(p);
            } else {
                tally.add_bytes(&p.to_bytes()).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        assert_eq!(tally.finish(), merged);
        assert_eq!(tally.finish(), DurationSummary::new(), "finish leaves it empty");
        tally.add(5, 2);
        assert_eq!(tally.finish(), DurationSummary::from_seconds([5, 5]), "and reusable");
        tally.add(7, u64::from(u32::MAX));
        tally.add(7, 10);
        tally.add(3, u64::from(u32::MAX) * 3);
        let mut big = DurationSummary::new();
        big.add_count(3, u64::from(u32::MAX) * 3);
        big.add_count(7, u64::from(u32::MAX) + 10);
        assert_eq!(tally.finish(), big, "counts past a slot's size are kept whole");
        assert!(tally.add_bytes(&[0x80]).is_err(), "a cut varint is refused");
        assert!(tally.add_bytes(&[1, 0]).is_err(), "a zero count is refused");
    }

    #[test]
    fn first_response_ignores_bots_and_notes() {
        let m = metrics(&[inbound(0), bot(2), note(30), inbound(40), reply(90), status(200, Resolved)]);
        let c = &m.cycles[0];
        assert_eq!(c.first_response.map(|f| f.calendar_ms), Some(90 * S));
        assert!(c.next_responses.is_empty(), "the second message was still the first wait");
        assert_eq!((c.inbound_messages, c.person_replies, c.automatic_replies, c.notes), (2, 1, 1, 1));
        assert_eq!(c.resolution.as_ref().map(|r| r.calendar_ms), Some(200 * S));
        assert!(c.handled());
    }

    #[test]
    fn next_responses_run_from_the_first_message_after_a_reply() {
        let m = metrics(&[
            inbound(0),
            reply(10),
            inbound(100),
            inbound(150),
            bot(160),
            reply(400),
            reply(450),
            inbound(500),
        ]);
        let c = &m.cycles[0];
        let next: Vec<(Timestamp, i64)> = c.next_responses.iter().map(|n| (n.from, n.calendar_ms)).collect();
        assert_eq!(next, vec![(ts(100), 300 * S)]);
        assert_eq!(c.unanswered_since, Some(ts(500)));
        assert_eq!(c.person_replies, 3);
    }

    #[test]
    fn resolution_excludes_pending_and_snoozed_time_and_ends_a_pause() {
        let m = metrics(&[
            inbound(0),
            reply(10),
            status(100, Pending),
            inbound(400),
            status(500, Snoozed),
            by_rule(700, Open), // the snooze timer wakes it
            status(800, Pending),
            status(1000, Resolved), // resolving while pending ends the pause
        ]);
        let r = m.cycles[0].resolution.clone();
        assert_eq!(r.as_ref().map(|r| (r.calendar_ms, r.paused_ms)), Some((300 * S, 700 * S)));
        assert_eq!(m.cycles[0].pauses.len(), 3);
    }

    #[test]
    fn a_reopening_starts_a_new_cycle_measured_from_the_reopening() {
        let m = metrics(&[
            inbound(0),
            reply(60),
            status(100, Resolved),
            reply(150), // a word after resolution belongs to no cycle
            inbound(1000),
            reply(1100),
            status(2000, Resolved),
            status(5000, Open), // reopened by the team
            reply(5030),
        ]);
        assert_eq!(m.cycles.len(), 3);
        assert_eq!(m.outside_cycles_person_replies, 1);
        let starts: Vec<CycleStart> = m.cycles.iter().map(|c| c.start).collect();
        assert_eq!(starts, vec![CycleStart::FirstMessage, CycleStart::ReopenedByCustomer, CycleStart::ReopenedByTeam]);
        assert_eq!(m.cycles[1].first_response.map(|f| f.calendar_ms), Some(100 * S));
        assert_eq!(m.cycles[2].first_response.map(|f| f.calendar_ms), Some(30 * S));
        assert_eq!(m.cycles[0].reopened_at, Some(ts(1000)));
        assert_eq!(m.person_replies(), 4);
    }

    #[test]
    fn first_contact_resolution_waits_seven_days_for_a_reopening() {
        let day = 86_400;
        let once = metrics(&[inbound(0), reply(60), status(100, Resolved)]);
        let c = &once.cycles[0];
        let decides_at = ts(100 + 7 * day);
        assert_eq!(c.fcr(ts(200)), Some(FcrOutcome::Undecided { decides_at }));
        assert_eq!(c.fcr(decides_at), Some(FcrOutcome::Yes));
        let reopened = metrics(&[inbound(0), reply(60), status(100, Resolved), inbound(100 + 7 * day - 1)]);
        assert_eq!(reopened.cycles[0].fcr(ts(100 + 30 * day)), Some(FcrOutcome::No));
        let late = metrics(&[inbound(0), reply(60), status(100, Resolved), inbound(100 + 7 * day)]);
        assert_eq!(late.cycles[0].fcr(ts(100 + 30 * day)), Some(FcrOutcome::Yes), "exactly 7 days later is not within");
        let two = metrics(&[inbound(0), reply(60), inbound(70), reply(80), status(100, Resolved)]);
        assert_eq!(two.cycles[0].fcr(ts(200)), Some(FcrOutcome::No));
        let none = metrics(&[inbound(0), status(100, Resolved)]);
        assert_eq!(none.cycles[0].fcr(ts(200)), Some(FcrOutcome::No));
        assert_eq!(metrics(&[inbound(0)]).cycles[0].fcr(ts(9)), None);
    }

    #[test]
    fn handled_needs_a_person() {
        assert!(!metrics(&[inbound(0), bot(1), by_rule(50, Resolved)]).handled());
        assert!(metrics(&[inbound(0), bot(1), status(50, Resolved)]).handled(), "resolved by a person");
        assert!(!metrics(&[inbound(0), note(5)]).handled(), "a note is no reply");
    }

    #[test]
    fn ratings_belong_to_the_cycle_they_follow() {
        let m = metrics(&[inbound(0), reply(5), status(10, Resolved), rating(20, 5), inbound(100), rating(200, 2)]);
        assert_eq!(m.cycles[0].ratings.iter().map(|r| r.score()).collect::<Vec<_>>(), vec![5]);
        assert_eq!(m.cycles[1].ratings.iter().map(|r| r.score()).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn business_time_is_measured_on_the_schedule() {
        let hours = BusinessHours::try_from(BusinessHoursConfig {
            time_zone: "UTC".into(),
            week: WeekSchedule::every_day(vec![OpenInterval::new("09:00", "17:00")]),
            holidays: vec![],
        });
        let Ok(hours) = hours else { panic!("valid hours") };
        // 2025-06-15T16:00Z is 1_750_003_200: an hour before closing.
        let base = 1_750_003_200 - 1_750_000_000;
        let facts = [
            inbound(base),
            reply(base + 17 * 3600),
            status(base + 18 * 3600, Pending),
            status(base + 19 * 3600, Resolved),
        ];
        let m = conversation_metrics(&facts, Some(&hours));
        let first = m.cycles[0].first_response;
        assert_eq!(
            first.map(|f| (f.calendar_ms, f.business_ms)),
            Some((17 * 3600 * S, Some(3600 * S))),
            "16:00–17:00 only"
        );
        let r = m.cycles[0].resolution.clone();
        assert_eq!(
            r.map(|r| (r.calendar_ms, r.business_ms)),
            Some((18 * 3600 * S, Some(2 * 3600 * S))),
            "3 open hours less the pending one"
        );
    }

    /// A conversation with the fields every version of the model has; the rest default.
    fn fresh_conversation() -> Conversation {
        let value = serde_json::json!({
            "id": "conv_1", "workspace_id": "ws_1", "channel_id": "ch_1", "contact_id": "ct_1",
            "kind": "public", "status": "open", "priority": "normal", "assignee_id": null, "team_id": null,
            "labels": [], "custom_attributes": {}, "platform_thread_id": null, "subject": "",
            "last_message_preview": "", "language": null, "sentiment": null, "intent": null,
            "snoozed_until": null, "timeline": { "paused_ms": 0, "human_replies": 0, "last_activity_at": ts(0) },
            "created_at": ts(0), "updated_at": ts(0), "version": 1
        });
        match serde_json::from_value(value) {
            Ok(c) => c,
            Err(e) => panic!("conversation fixture: {e}"),
        }
    }

    fn replay(conversation: &mut Conversation, fact: &Fact) {
        match &fact.event {
            FactEvent::Inbound => conversation.record_inbound(fact.at),
            FactEvent::PersonReply { .. } => conversation.record_outbound(fact.at, true),
            FactEvent::AutomaticReply => conversation.record_outbound(fact.at, false),
            FactEvent::Note | FactEvent::Csat { .. } => {}
            FactEvent::Status { to, .. } => {
                let until = (*to == Snoozed).then(|| ts(10_000_000));
                if let Err(e) = conversation.change_status(*to, fact.at, until) {
                    panic!("replay refused {fact:?}: {e}");
                }
            }
        }
    }

    #[test]
    fn the_timeline_and_the_metrics_agree_on_every_prefix_of_random_histories() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..400 {
            let mut conversation = fresh_conversation();
            let mut facts = vec![];
            let mut t = 0;
            for _ in 0..(1 + next(25)) {
                t += 1 + i64::try_from(next(5000)).unwrap_or(0);
                let fact = match next(10) {
                    0..=2 => inbound(t),
                    3..=4 => reply(t),
                    5 => bot(t),
                    6 => note(t),
                    _ => status(t, [Open, Pending, Snoozed, Resolved][usize::try_from(next(4)).unwrap_or(0)]),
                };
                replay(&mut conversation, &fact);
                facts.push(fact);
                let m = metrics(&facts);
                let tl = &conversation.timeline;
                let current = m.current_cycle();
                assert_eq!(tl.first_inbound_at, current.map(|c| c.started_at), "{facts:?}");
                assert_eq!(
                    conversation.first_response_ms(),
                    current.and_then(|c| c.first_response.map(|f| f.calendar_ms)),
                    "{facts:?}"
                );
                assert_eq!(
                    conversation.resolution_ms(),
                    current.and_then(|c| c.resolution.as_ref().map(|r| r.calendar_ms)),
                    "{facts:?}"
                );
                assert_eq!(tl.human_replies, i64::from(current.map_or(0, |c| c.person_replies)), "{facts:?}");
                assert_eq!(m.status, Some(conversation.status), "{facts:?}");
                if conversation.status != Resolved {
                    assert_eq!(tl.awaiting_reply_since, current.and_then(|c| c.unanswered_since), "{facts:?}");
                    let closed: i64 = current.map_or(0, |c| {
                        c.pauses
                            .iter()
                            .filter_map(|p| p.to.map(|to| to.as_millisecond() - p.from.as_millisecond()))
                            .sum()
                    });
                    assert_eq!(tl.paused_ms, closed, "{facts:?}");
                    let open = current.and_then(|c| c.pauses.iter().find(|p| p.to.is_none()).map(|p| p.from));
                    if tl.first_inbound_at.is_some() {
                        assert_eq!(tl.paused_since, open, "{facts:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn percentiles_are_nearest_rank_and_exact_after_merging() {
        let samples: Vec<u64> = (0..1000u64).map(|i| (i * 7919) % 5000).collect();
        let whole = DurationSummary::from_seconds(samples.iter().copied());
        let days: Vec<DurationSummary> =
            samples.chunks(37).map(|c| DurationSummary::from_seconds(c.iter().copied())).collect();
        let merged = DurationSummary::merge_all(&days);
        assert_eq!(merged, whole);
        let mut sorted = samples.clone();
        sorted.sort_unstable();
        for p in [1, 10, 50, 90, 99, 100] {
            let rank = (sorted.len() * p as usize).div_ceil(100);
            assert_eq!(merged.percentile(p), Some(sorted[rank - 1]), "p{p}");
        }
        let small = DurationSummary::from_seconds([10, 20, 30, 40]);
        assert_eq!((small.median(), small.p90()), (Some(20), Some(40)));
        assert_eq!(DurationSummary::new().median(), None);
        assert_eq!(small.percentile(0), None);
        assert_eq!(small.mean_seconds(), Some(25));
    }

    #[test]
    fn buckets_are_half_open_and_agree_with_targets() {
        let s = DurationSummary::from_seconds([
            0, 299, 300, 899, 900, 3599, 3600, 14_399, 14_400, 86_399, 86_400, 1_000_000,
        ]);
        assert_eq!(s.buckets(), [2, 2, 2, 2, 2, 2]);
        assert_eq!(s.count_below(3600), 6);
        // 3 599.999 s is within a one-hour target; 3 600.000 s is not.
        assert_eq!(whole_seconds(3_599_999), 3599);
        assert_eq!(whole_seconds(3_600_000), 3600);
        assert_eq!(whole_seconds(-5), 0);
    }

    #[test]
    fn summaries_round_trip_through_bytes_and_json_and_refuse_garbage() {
        let mut s = DurationSummary::from_seconds([5, 5, 5, 70, 3600, 3600, 1_000_000_000]);
        s.add(6);
        assert!(s.remove(5));
        assert!(!s.remove(4));
        let bytes = s.to_bytes();
        assert_eq!(DurationSummary::from_bytes(&bytes).ok(), Some(s.clone()));
        let json = serde_json::to_string(&s).unwrap_or_default();
        assert_eq!(json, "[[5,2],[6,1],[70,1],[3600,2],[1000000000,1]]");
        assert_eq!(serde_json::from_str::<DurationSummary>(&json).ok(), Some(s));
        assert!(serde_json::from_str::<DurationSummary>("[[5,1],[5,1]]").is_err());
        assert!(serde_json::from_str::<DurationSummary>("[[5,0]]").is_err());
        assert!(DurationSummary::from_bytes(&[0x80]).is_err());
        assert!(DurationSummary::from_bytes(&[5, 0]).is_err());
    }

    #[test]
    fn the_report_summary_is_the_sum_of_its_cycles() {
        let now = ts(100 * 86_400);
        let a = metrics(&[inbound(0), reply(100), status(200, Resolved), rating(300, 5)]);
        let b = metrics(&[inbound(0), bot(1), inbound(50), reply(4000), inbound(4100), reply(4200), rating(5000, 3)]);
        let mut day1 = MetricsSummary::default();
        a.cycles.iter().for_each(|c| day1.add_cycle(c, TimeBasis::Calendar, now));
        let mut day2 = MetricsSummary::default();
        b.cycles.iter().for_each(|c| day2.add_cycle(c, TimeBasis::Calendar, now));
        day1.merge(&day2);
        assert_eq!((day1.cycles, day1.handled, day1.resolved, day1.inbound_messages), (2, 2, 1, 4));
        assert_eq!(day1.first_response, DurationSummary::from_seconds([100, 4000]));
        assert_eq!(day1.next_response, DurationSummary::from_seconds([100]));
        assert_eq!(day1.fcr, Share { part: 1, whole: 1 });
        assert_eq!(day1.ratings.csat(), Share { part: 1, whole: 2 });
        assert_eq!(day1.ratings.csat().ratio(), Some(0.5));
    }

    #[test]
    fn facts_from_stored_messages() {
        let json = |direction: &str, visibility: &str, author: &str, delivery: &str| {
            serde_json::from_value::<Message>(serde_json::json!({
                "id": "msg_1", "conversation_id": "conv_1", "workspace_id": "ws_1", "channel_id": "ch_1",
                "direction": direction, "visibility": visibility, "author_kind": author,
                "author_user_id": if author == "user" { Some("usr_1") } else { None },
                "author_contact_id": null, "text": "hi", "attachments": [], "platform_message_id": null,
                "platform_parent_id": null, "delivery_status": delivery, "delivery_error": null, "language": null,
                "sentiment": null, "intent": null, "personal_data": [], "created_at": ts(5), "recorded_at": ts(5),
                "edited_at": null, "deleted_at": null
            }))
            .ok()
            .and_then(|m| Fact::from_message(&m))
            .map(|f| f.event)
        };
        assert_eq!(json("inbound", "public", "contact", "received"), Some(FactEvent::Inbound));
        assert_eq!(
            json("outbound", "public", "user", "queued"),
            Some(FactEvent::PersonReply { user_id: Some("usr_1".into()) })
        );
        assert_eq!(json("outbound", "private", "bot", "delivered"), Some(FactEvent::AutomaticReply));
        assert_eq!(json("outbound", "note", "user", "internal"), Some(FactEvent::Note));
        assert_eq!(json("outbound", "public", "user", "awaiting_approval"), None);
        let fact = Fact::new(ts(1), FactEvent::Status { to: Snoozed, user_id: None });
        let text = serde_json::to_string(&fact).unwrap_or_default();
        assert_eq!(serde_json::from_str::<Fact>(&text).ok(), Some(fact));
    }
}
