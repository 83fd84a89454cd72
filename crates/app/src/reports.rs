//! Reports from pre-aggregated summaries (docs/metrics.md, "Aggregate storage").
//!
//! Every conversation's figures are placed at the instant each became known
//! (a message, a reply, a resolution, a decided FCR, an answer, a met or
//! breached target) and added to one summary row per bucket and dimension
//! value: a local day in the workspace's time zone and a UTC hour. What a
//! conversation added is kept (its *contribution*), so when it changes the
//! follower takes the old contribution out and puts the new one in: the rows
//! always equal the figures of the histories as they are now. A report over
//! any range merges at most one row per day (or hour), so a year costs 365
//! merges of small summaries whatever the message count.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use hark_domain::metrics::{
    DurationSummary, DurationTally, FactEvent, FcrOutcome, MetricsSummary, RatingSummary, Share, whole_seconds,
};
use hark_domain::sla::{SlaAttainment, SlaEvaluation, TargetState};
use hark_domain::*;
use hark_store::{ContributionRecord, LevelsWrite, ReportRow, Write};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service_levels::History;
use crate::{Actor, App, AppError, AppResult};

pub const GRAIN_DAY: &str = "day";
pub const GRAIN_HOUR: &str = "hour";

/// The dimensions reports break figures down by (`all` is the whole workspace).
pub const DIMENSIONS: [&str; 8] = ["all", "channel", "network", "team", "agent", "label", "intent", "language"];
/// The dimensions with exactly one value per conversation ("none" included);
/// a conversation has any number of labels.
const SINGLE_VALUED: [&str; 6] = ["channel", "network", "team", "agent", "intent", "language"];

/// The figures of a set of conversations in one bucket: mergeable, and
/// subtractable so that a changed conversation can be replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Cycles, replies, durations, FCR and ratings as the domain defines them.
    pub summary: MetricsSummary,
    /// Every outbound message, in a cycle or not.
    pub outbound: u64,
    pub sla: SlaAttainment,
    /// Customer messages by sentiment: negative, neutral, positive, unknown.
    pub sentiment: [u64; 4],
}

impl Figures {
    pub fn merge(&mut self, other: &Figures) {
        self.summary.merge(&other.summary);
        self.outbound += other.outbound;
        self.sla.merge(other.sla);
        for (a, b) in self.sentiment.iter_mut().zip(other.sentiment) {
            *a += b;
        }
    }

    /// Takes `other` back out (it must have been merged in before).
    pub fn subtract(&mut self, other: &Figures) {
        let s = &mut self.summary;
        let o = &other.summary;
        s.cycles = s.cycles.saturating_sub(o.cycles);
        s.inbound_messages = s.inbound_messages.saturating_sub(o.inbound_messages);
        s.person_replies = s.person_replies.saturating_sub(o.person_replies);
        s.automatic_replies = s.automatic_replies.saturating_sub(o.automatic_replies);
        s.handled = s.handled.saturating_sub(o.handled);
        s.resolved = s.resolved.saturating_sub(o.resolved);
        for (mine, theirs) in [
            (&mut s.first_response, &o.first_response),
            (&mut s.next_response, &o.next_response),
            (&mut s.resolution, &o.resolution),
        ] {
            for (seconds, count) in Vec::<(u64, u64)>::from(theirs.clone()) {
                for _ in 0..count {
                    mine.remove(seconds);
                }
            }
        }
        s.fcr.part = s.fcr.part.saturating_sub(o.fcr.part);
        s.fcr.whole = s.fcr.whole.saturating_sub(o.fcr.whole);
        for (a, b) in s.ratings.counts.iter_mut().zip(o.ratings.counts) {
            *a = a.saturating_sub(b);
        }
        self.outbound = self.outbound.saturating_sub(other.outbound);
        self.sla.met = self.sla.met.saturating_sub(other.sla.met);
        self.sla.breached = self.sla.breached.saturating_sub(other.sla.breached);
        for (a, b) in self.sentiment.iter_mut().zip(other.sentiment) {
            *a = a.saturating_sub(b);
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Figures::default()
    }

    /// Compact bytes: counters as LEB128 varints, then the three duration
    /// summaries, each length-prefixed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let s = &self.summary;
        let mut out = vec![1u8];
        let counters = [
            s.cycles,
            s.inbound_messages,
            s.person_replies,
            s.automatic_replies,
            s.handled,
            s.resolved,
            s.fcr.part,
            s.fcr.whole,
            s.ratings.counts[0],
            s.ratings.counts[1],
            s.ratings.counts[2],
            s.ratings.counts[3],
            s.ratings.counts[4],
            self.outbound,
            self.sla.met,
            self.sla.breached,
            self.sentiment[0],
            self.sentiment[1],
            self.sentiment[2],
            self.sentiment[3],
        ];
        for c in counters {
            write_varint(&mut out, c);
        }
        for d in [&s.first_response, &s.next_response, &s.resolution] {
            let bytes = d.to_bytes();
            write_varint(&mut out, bytes.len() as u64);
            out.extend(bytes);
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidValue> {
        let (c, durations) = split_stored(bytes)?;
        let mut figures = Figures::with_counters(&c);
        let s = &mut figures.summary;
        for (summary, bytes) in
            [&mut s.first_response, &mut s.next_response, &mut s.resolution].into_iter().zip(durations)
        {
            *summary = DurationSummary::from_bytes(bytes)?;
        }
        Ok(figures)
    }

    /// Figures holding these stored counters, without durations.
    fn with_counters(c: &[u64; COUNTERS]) -> Self {
        Figures {
            summary: MetricsSummary {
                cycles: c[0],
                inbound_messages: c[1],
                person_replies: c[2],
                automatic_replies: c[3],
                handled: c[4],
                resolved: c[5],
                first_response: DurationSummary::default(),
                next_response: DurationSummary::default(),
                resolution: DurationSummary::default(),
                fcr: Share { part: c[6], whole: c[7] },
                ratings: RatingSummary { counts: [c[8], c[9], c[10], c[11], c[12]] },
            },
            outbound: c[13],
            sla: SlaAttainment { met: c[14], breached: c[15] },
            sentiment: [c[16], c[17], c[18], c[19]],
        }
    }
}

/// How many counters [`Figures::to_bytes`] writes before the durations.
const COUNTERS: usize = 20;

/// The counters and the three duration summaries' bytes of a stored summary.
fn split_stored(bytes: &[u8]) -> Result<([u64; COUNTERS], [&[u8]; 3]), InvalidValue> {
    let bad = || InvalidValue::new("figures", "not an encoded report summary");
    let (&version, mut rest) = bytes.split_first().ok_or_else(bad)?;
    if version != 1 {
        return Err(bad());
    }
    let mut c = [0u64; COUNTERS];
    for slot in c.iter_mut() {
        *slot = read_varint(&mut rest).ok_or_else(bad)?;
    }
    let mut durations: [&[u8]; 3] = [&[]; 3];
    for slot in durations.iter_mut() {
        let len = usize::try_from(read_varint(&mut rest).ok_or_else(bad)?).map_err(|_| bad())?;
        if rest.len() < len {
            return Err(bad());
        }
        let (head, tail) = rest.split_at(len);
        *slot = head;
        rest = tail;
    }
    Ok((c, durations))
}

/// Sums stored summaries straight from their bytes (see [`DurationTally`]):
/// what a report over a long range does with hundreds or thousands of rows.
#[derive(Debug, Default)]
pub struct FiguresTally {
    counters: [u64; COUNTERS],
    durations: [DurationTally; 3],
}

impl FiguresTally {
    pub fn add_bytes(&mut self, bytes: &[u8]) -> Result<(), InvalidValue> {
        let (c, durations) = split_stored(bytes)?;
        for (sum, n) in self.counters.iter_mut().zip(c) {
            *sum += n;
        }
        for (tally, bytes) in self.durations.iter_mut().zip(durations) {
            tally.add_bytes(bytes)?;
        }
        Ok(())
    }

    /// The sum of the rows added, leaving the tally empty for the next group.
    pub fn finish(&mut self) -> Figures {
        let mut figures = Figures::with_counters(&std::mem::take(&mut self.counters));
        let [first, next, resolution] = &mut self.durations;
        figures.summary.first_response = first.finish();
        figures.summary.next_response = next.finish();
        figures.summary.resolution = resolution.finish();
        figures
    }

    /// Sums these stored rows (one row is simply read).
    pub fn sum(&mut self, rows: &[&[u8]]) -> Result<Figures, InvalidValue> {
        if let [one] = rows {
            return Figures::from_bytes(one);
        }
        for bytes in rows {
            self.add_bytes(bytes)?;
        }
        Ok(self.finish())
    }
}

/// Below this many stored bytes a report is summed on the calling thread.
const PARALLEL_FROM_BYTES: usize = 1 << 20;

/// Sums each group of stored rows, spread over the machine's cores when the
/// rows are many: whole groups per thread when there are enough of them,
/// otherwise each group's rows split across the threads and the partial
/// sums merged.
pub fn sum_groups(groups: &[Vec<&[u8]>]) -> Result<Vec<Figures>, InvalidValue> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let bytes: usize = groups.iter().flatten().map(|b| b.len()).sum();
    if threads == 1 || bytes < PARALLEL_FROM_BYTES {
        let mut tally = FiguresTally::default();
        return groups.iter().map(|g| tally.sum(g)).collect();
    }
    if groups.len() < threads * 2 {
        return groups.iter().map(|g| sum_split(g, threads)).collect();
    }
    // Contiguous runs of groups holding about the same number of bytes.
    let share = bytes.div_ceil(threads);
    let mut runs: Vec<&[Vec<&[u8]>]> = vec![];
    let (mut start, mut filled) = (0, 0);
    for (i, group) in groups.iter().enumerate() {
        filled += group.iter().map(|b| b.len()).sum::<usize>();
        if filled >= share && runs.len() + 1 < threads {
            runs.push(&groups[start..=i]);
            (start, filled) = (i + 1, 0);
        }
    }
    runs.push(&groups[start..]);
    std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .into_iter()
            .map(|run| {
                scope.spawn(move || {
                    let mut tally = FiguresTally::default();
                    run.iter().map(|g| tally.sum(g)).collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(groups.len());
        for handle in handles {
            out.extend(handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?);
        }
        Ok(out)
    })
}

/// One group's rows summed in `threads` parts, then merged.
fn sum_split(rows: &[&[u8]], threads: usize) -> Result<Figures, InvalidValue> {
    if rows.len() < threads * 4 {
        return FiguresTally::default().sum(rows);
    }
    let parts: Vec<Figures> = std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .chunks(rows.len().div_ceil(threads))
            .map(|chunk| scope.spawn(move || FiguresTally::default().sum(chunk)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let mut total = Figures::default();
    for part in &parts {
        total.merge(part);
    }
    Ok(total)
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

/// One figure of a conversation, placed at the instant it became known.
/// Stored as `[ms, code, value]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item(pub i64, pub u8, pub i64);

const INBOUND: u8 = 0; // value: sentiment index
const OUTBOUND: u8 = 1;
const CYCLE: u8 = 2; // value: handled (0/1)
const CYCLE_PERSON_REPLIES: u8 = 3; // value: count
const CYCLE_AUTOMATIC_REPLIES: u8 = 4;
const FIRST_RESPONSE: u8 = 5; // value: whole seconds
const NEXT_RESPONSE: u8 = 6;
const RESOLUTION: u8 = 7;
const FCR: u8 = 8; // value: 1 yes, 0 no
const RATING: u8 = 9; // value: 1–5
const SLA_MET: u8 = 10;
const SLA_BREACHED: u8 = 11;

impl Item {
    fn add_to(self, f: &mut Figures) {
        let Item(_, code, value) = self;
        let v = u64::try_from(value).unwrap_or(0);
        let s = &mut f.summary;
        match code {
            INBOUND => {
                s.inbound_messages += 1;
                f.sentiment[usize::try_from(value).unwrap_or(3).min(3)] += 1;
            }
            OUTBOUND => f.outbound += 1,
            CYCLE => {
                s.cycles += 1;
                s.handled += v.min(1);
            }
            CYCLE_PERSON_REPLIES => s.person_replies += v,
            CYCLE_AUTOMATIC_REPLIES => s.automatic_replies += v,
            FIRST_RESPONSE => s.first_response.add(v),
            NEXT_RESPONSE => s.next_response.add(v),
            RESOLUTION => {
                s.resolved += 1;
                s.resolution.add(v);
            }
            FCR => s.fcr.add(v == 1),
            RATING => {
                if let Some(r) = u8::try_from(v).ok().and_then(|r| csat::Rating::new(r).ok()) {
                    s.ratings.add(r);
                }
            }
            SLA_MET => f.sla.met += 1,
            SLA_BREACHED => f.sla.breached += 1,
            _ => {}
        }
    }
}

/// What one conversation adds to the report rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    /// (dimension, value) pairs the conversation counts under.
    pub dims: Vec<(String, String)>,
    pub items: Vec<Item>,
    /// When a figure will decide by time alone (an FCR's 7 days).
    pub revisit_at: Option<i64>,
}

fn sentiment_index(s: Option<Sentiment>) -> i64 {
    match s {
        Some(Sentiment::Negative) => 0,
        Some(Sentiment::Neutral) => 1,
        Some(Sentiment::Positive) => 2,
        None => 3,
    }
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// A conversation's contribution at `now`: its figures on the calendar
/// clock, its SLA outcomes under `evaluation`. A conversation merged into
/// another contributes nothing (its messages count there).
pub fn contribution(
    history: &History,
    network: Network,
    evaluation: Option<&SlaEvaluation>,
    now: Timestamp,
) -> Contribution {
    let c = &history.conversation;
    if c.merged_into_id.is_some() {
        return Contribution::default();
    }
    let none = || "none".to_owned();
    let mut dims = vec![
        ("all".to_owned(), String::new()),
        ("channel".to_owned(), c.channel_id.clone()),
        ("network".to_owned(), network.as_str().to_owned()),
        ("team".to_owned(), c.team_id.clone().unwrap_or_else(none)),
        ("agent".to_owned(), c.assignee_id.clone().unwrap_or_else(none)),
        ("intent".to_owned(), c.intent.clone().unwrap_or_else(none)),
        ("language".to_owned(), c.language.clone().unwrap_or_else(none)),
    ];
    let mut labels: Vec<&String> = c.labels.iter().collect();
    labels.sort();
    labels.dedup();
    dims.extend(labels.into_iter().map(|l| ("label".to_owned(), l.clone())));

    let answers: BTreeSet<&str> = history.ratings.iter().map(|r| r.message_id.as_str()).collect();
    let mut items = vec![];
    for m in &history.messages {
        if m.direction == Direction::Inbound && !answers.contains(m.id.as_str()) {
            items.push(Item(ms(m.created_at), INBOUND, sentiment_index(m.sentiment)));
        }
    }
    let facts = history.facts();
    for f in &facts {
        if matches!(f.event, FactEvent::PersonReply { .. } | FactEvent::AutomaticReply) {
            items.push(Item(ms(f.at), OUTBOUND, 0));
        }
    }
    let metrics = hark_domain::metrics::conversation_metrics(&facts, None);
    let mut revisit_at: Option<i64> = None;
    for cycle in &metrics.cycles {
        let start = ms(cycle.started_at);
        items.push(Item(start, CYCLE, i64::from(cycle.handled())));
        if cycle.person_replies > 0 {
            items.push(Item(start, CYCLE_PERSON_REPLIES, i64::from(cycle.person_replies)));
        }
        if cycle.automatic_replies > 0 {
            items.push(Item(start, CYCLE_AUTOMATIC_REPLIES, i64::from(cycle.automatic_replies)));
        }
        if let Some(first) = &cycle.first_response {
            items.push(Item(ms(first.to), FIRST_RESPONSE, seconds(first.calendar_ms)));
        }
        for next in &cycle.next_responses {
            items.push(Item(ms(next.to), NEXT_RESPONSE, seconds(next.calendar_ms)));
        }
        if let Some(resolution) = &cycle.resolution {
            items.push(Item(ms(resolution.at), RESOLUTION, seconds(resolution.calendar_ms)));
            match cycle.fcr(now) {
                Some(FcrOutcome::Yes) => {
                    let decided =
                        resolution.at.checked_add(hark_domain::metrics::FCR_REOPEN_WINDOW).unwrap_or(resolution.at);
                    items.push(Item(ms(decided), FCR, 1));
                }
                Some(FcrOutcome::No) => {
                    let decided = match cycle.reopened_at {
                        Some(reopened) if cycle.person_replies == 1 => reopened,
                        _ => resolution.at,
                    };
                    items.push(Item(ms(decided), FCR, 0));
                }
                Some(FcrOutcome::Undecided { decides_at }) => {
                    revisit_at = Some(revisit_at.map_or(ms(decides_at), |r| r.min(ms(decides_at))));
                }
                None => {}
            }
        }
    }
    for r in &history.ratings {
        items.push(Item(ms(r.at), RATING, i64::from(r.rating)));
    }
    if let Some(evaluation) = evaluation {
        for t in &evaluation.targets {
            match (t.state, t.completed_at, t.due_at) {
                (TargetState::Met, Some(at), _) => items.push(Item(ms(at), SLA_MET, 0)),
                (TargetState::Breached, _, Some(due)) => items.push(Item(ms(due), SLA_BREACHED, 0)),
                _ => {}
            }
        }
    }
    items.sort_by_key(|i| (i.0, i.1, i.2));
    Contribution { dims, items, revisit_at }
}

fn seconds(ms: i64) -> i64 {
    i64::try_from(whole_seconds(ms)).unwrap_or(i64::MAX)
}

/// The local date of `ms` in `tz` as days since 1970-01-01.
pub fn day_bucket(ms: i64, tz: &TimeZone) -> i64 {
    let ts = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
    date_bucket(ts.to_zoned(tz.clone()).date())
}

/// A civil date as days since 1970-01-01.
pub fn date_bucket(date: Date) -> i64 {
    date.to_zoned(TimeZone::UTC).map_or(0, |z| z.timestamp().as_second().div_euclid(86_400))
}

/// Days since 1970-01-01 back to a civil date.
pub fn bucket_date(bucket: i64) -> Date {
    Timestamp::from_second(bucket * 86_400).map_or(Date::constant(1970, 1, 1), |t| t.to_zoned(TimeZone::UTC).date())
}

pub fn hour_bucket(ms: i64) -> i64 {
    ms.div_euclid(3_600_000)
}

/// Figures of a contribution per bucket of `grain`.
fn by_bucket(items: &[Item], grain: &str, tz: &TimeZone) -> BTreeMap<i64, Figures> {
    let mut out: BTreeMap<i64, Figures> = BTreeMap::new();
    for item in items {
        let bucket = if grain == GRAIN_DAY { day_bucket(item.0, tz) } else { hour_bucket(item.0) };
        item.add_to(out.entry(bucket).or_default());
    }
    out
}

type RowKey = (String, i64, String, String);
/// The additions and subtractions waiting for one row.
type RowDelta = (Figures, Figures);

/// Changes to report rows, gathered over many conversations before the rows are read and written.
#[derive(Debug, Default)]
pub struct RowDeltas {
    workspace_id: String,
    deltas: HashMap<RowKey, RowDelta>,
}

impl RowDeltas {
    pub fn new(workspace_id: &str) -> Self {
        Self { workspace_id: workspace_id.to_owned(), deltas: HashMap::new() }
    }

    /// Replaces `old` by `new` (either may be empty).
    pub fn replace(&mut self, old: &Contribution, new: &Contribution, tz: &TimeZone) {
        for grain in [GRAIN_DAY, GRAIN_HOUR] {
            let before = by_bucket(&old.items, grain, tz);
            let after = by_bucket(&new.items, grain, tz);
            let dims: BTreeSet<&(String, String)> = old.dims.iter().chain(&new.dims).collect();
            let buckets: BTreeSet<i64> = before.keys().chain(after.keys()).copied().collect();
            for dim in dims {
                let in_old = old.dims.contains(dim);
                let in_new = new.dims.contains(dim);
                for bucket in &buckets {
                    let take = before.get(bucket).filter(|_| in_old);
                    let put = after.get(bucket).filter(|_| in_new);
                    if take == put {
                        continue;
                    }
                    let key = (grain.to_owned(), *bucket, dim.0.clone(), dim.1.clone());
                    let entry = self.deltas.entry(key).or_default();
                    if let Some(put) = put {
                        entry.0.merge(put);
                    }
                    if let Some(take) = take {
                        entry.1.merge(take);
                    }
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.deltas.is_empty()
    }

    /// The rows as they become, read from `read` (the current rows of a bucket).
    pub async fn into_rows<F, Fut>(self, mut read: F) -> AppResult<Vec<ReportRow>>
    where
        F: FnMut(String, i64) -> Fut,
        Fut: std::future::Future<Output = AppResult<Vec<ReportRow>>>,
    {
        let mut buckets: BTreeMap<(String, i64), Vec<(RowKey, RowDelta)>> = BTreeMap::new();
        for (key, delta) in self.deltas {
            buckets.entry((key.0.clone(), key.1)).or_default().push((key, delta));
        }
        let mut rows = vec![];
        for ((grain, bucket), deltas) in buckets {
            let current = read(grain.clone(), bucket).await?;
            let mut stored: HashMap<(String, String), Vec<u8>> =
                current.into_iter().map(|r| ((r.dimension, r.value), r.figures)).collect();
            for ((_, _, dimension, value), (add, sub)) in deltas {
                let mut figures = match stored.remove(&(dimension.clone(), value.clone())) {
                    Some(bytes) => Figures::from_bytes(&bytes)?,
                    None => Figures::default(),
                };
                figures.merge(&add);
                figures.subtract(&sub);
                rows.push(ReportRow {
                    workspace_id: self.workspace_id.clone(),
                    grain: grain.clone(),
                    bucket,
                    dimension,
                    value,
                    figures: figures.to_bytes(),
                });
            }
        }
        Ok(rows)
    }

    /// The rows of an empty store (bulk generation), without reading anything.
    pub fn into_fresh_rows(self) -> Vec<ReportRow> {
        self.deltas
            .into_iter()
            .map(|((grain, bucket, dimension, value), (add, _))| ReportRow {
                workspace_id: self.workspace_id.clone(),
                grain,
                bucket,
                dimension,
                value,
                figures: add.to_bytes(),
            })
            .collect()
    }
}

/// Reads a stored contribution (empty when none or unreadable).
pub fn stored_contribution(record: Option<ContributionRecord>) -> Contribution {
    record.and_then(|r| serde_json::from_value(r.contribution).ok()).unwrap_or_default()
}

pub fn contribution_write(conversation: &Conversation, contribution: &Contribution) -> Write {
    Write::Levels(LevelsWrite::PutContribution(ContributionRecord {
        conversation_id: conversation.id.clone(),
        workspace_id: conversation.workspace_id.clone(),
        contribution: serde_json::to_value(contribution).unwrap_or_default(),
        revisit_at: contribution.revisit_at.and_then(|ms| Timestamp::from_millisecond(ms).ok()),
    }))
}

// --- queries ---------------------------------------------------------------

/// How a report's series is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportGroup {
    /// One point per local day.
    #[default]
    Day,
    /// One point per hour of the day (0–23, local), over the whole range.
    Hour,
    /// Totals only.
    None,
}

/// What a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// First and last local day, inclusive.
    pub from: Date,
    pub to: Date,
    /// IANA zone; the workspace's when `None`.
    pub time_zone: Option<String>,
    pub group: ReportGroup,
    /// Break totals down by this dimension (channel, network, team, agent, label, intent, language).
    pub dimension: Option<String>,
}

/// A duration figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DurationFigures {
    pub count: u64,
    pub median_seconds: Option<u64>,
    pub p90_seconds: Option<u64>,
    pub mean_seconds: Option<u64>,
    /// Counts per `hark_domain::metrics::DURATION_BUCKETS`: <5 min, 5–15 min, 15–60 min, 1–4 h, 4–24 h, >24 h.
    pub buckets: [u64; 6],
}

impl From<&DurationSummary> for DurationFigures {
    fn from(d: &DurationSummary) -> Self {
        Self {
            count: d.count(),
            median_seconds: d.median(),
            p90_seconds: d.p90(),
            mean_seconds: d.mean_seconds(),
            buckets: d.buckets(),
        }
    }
}

/// A share and its ratio.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ShareFigures {
    pub part: u64,
    pub whole: u64,
    pub ratio: Option<f64>,
}

/// Every figure of a report cell.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReportFigures {
    pub inbound: u64,
    pub outbound: u64,
    pub cycles: u64,
    pub handled: u64,
    pub unhandled: u64,
    pub resolved: u64,
    pub person_replies: u64,
    pub automatic_replies: u64,
    pub first_response: DurationFigures,
    pub next_response: DurationFigures,
    pub resolution: DurationFigures,
    /// First-contact resolution among decided resolved cycles.
    pub fcr: ShareFigures,
    /// Answers rating 4 or 5 among all answers.
    pub csat: ShareFigures,
    /// Answers per score 1–5.
    pub ratings: [u64; 5],
    /// Met among met and breached SLA targets.
    pub sla: ShareFigures,
    /// Customer messages by sentiment.
    pub negative: u64,
    pub neutral: u64,
    pub positive: u64,
    /// Share of negative among messages with a sentiment.
    pub negative_share: Option<f64>,
}

impl From<&Figures> for ReportFigures {
    fn from(f: &Figures) -> Self {
        let s = &f.summary;
        let csat = s.ratings.csat();
        let known = f.sentiment[0] + f.sentiment[1] + f.sentiment[2];
        Self {
            inbound: s.inbound_messages,
            outbound: f.outbound,
            cycles: s.cycles,
            handled: s.handled,
            unhandled: s.cycles.saturating_sub(s.handled),
            resolved: s.resolved,
            person_replies: s.person_replies,
            automatic_replies: s.automatic_replies,
            first_response: (&s.first_response).into(),
            next_response: (&s.next_response).into(),
            resolution: (&s.resolution).into(),
            fcr: ShareFigures { part: s.fcr.part, whole: s.fcr.whole, ratio: s.fcr.ratio() },
            csat: ShareFigures { part: csat.part, whole: csat.whole, ratio: csat.ratio() },
            ratings: s.ratings.counts,
            sla: ShareFigures { part: f.sla.met, whole: f.sla.met + f.sla.breached, ratio: f.sla.ratio() },
            negative: f.sentiment[0],
            neutral: f.sentiment[1],
            positive: f.sentiment[2],
            negative_share: (known > 0).then(|| f.sentiment[0] as f64 / known as f64),
        }
    }
}

/// One point of a report's series.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReportPoint {
    /// `YYYY-MM-DD` for days, `00`–`23` for hours of the day.
    pub key: String,
    pub figures: ReportFigures,
}

/// Totals of one value of the chosen dimension.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReportBreakdown {
    pub value: String,
    pub figures: ReportFigures,
}

/// A report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Report {
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    pub time_zone: String,
    pub group: ReportGroup,
    pub dimension: Option<String>,
    /// `day` rows (exact local days) or `hour` rows (another zone or hours of the day).
    pub source: String,
    pub rows_merged: u64,
    pub totals: ReportFigures,
    pub series: Vec<ReportPoint>,
    pub breakdown: Vec<ReportBreakdown>,
}

/// The longest range a report may cover.
pub const MAX_REPORT_DAYS: i64 = 3 * 366;

impl App {
    /// A report over `query`, merged from the stored summaries.
    pub async fn report(&self, actor: &Actor, query: &ReportQuery) -> AppResult<Report> {
        actor.require(Action::ViewReports)?;
        let workspace = self.store.workspace(actor.workspace_id()).await?.ok_or(AppError::NotFound("workspace"))?;
        self.report_for(&workspace, query).await
    }

    /// [`Self::report`] without the permission check (benchmarks, tests).
    pub async fn report_for(&self, workspace: &Workspace, query: &ReportQuery) -> AppResult<Report> {
        if query.to < query.from {
            return Err(AppError::invalid("to", "the range ends before it starts"));
        }
        let days = date_bucket(query.to) - date_bucket(query.from) + 1;
        if days > MAX_REPORT_DAYS {
            return Err(AppError::invalid("to", format!("a report covers at most {MAX_REPORT_DAYS} days")));
        }
        if let Some(d) = &query.dimension
            && (!DIMENSIONS.contains(&d.as_str()) || d == "all")
        {
            return Err(AppError::invalid("dimension", format!("{d:?} is none of {:?}", &DIMENSIONS[1..])));
        }
        let zone_name = query.time_zone.clone().unwrap_or_else(|| workspace.time_zone.clone());
        let tz = hark_domain::business_hours::time_zone(&zone_name)?;
        let same_zone = zone_name == workspace.time_zone;
        let use_days = same_zone && query.group != ReportGroup::Hour;
        let (grain, from, to) = if use_days {
            (GRAIN_DAY, date_bucket(query.from), date_bucket(query.to) + 1)
        } else {
            let start = local_midnight(query.from, &tz)?;
            let end = local_midnight(query.to.tomorrow().map_err(|e| AppError::invalid("to", e.to_string()))?, &tz)?;
            (GRAIN_HOUR, hour_bucket(ms(start)), hour_bucket(ms(end) + 3_599_999))
        };
        // Hour rows cover [from, to) in UTC hours; the first and last may
        // overhang the local range in zones with a non-whole-hour offset.
        let (zone, group) = (tz.clone(), query.group);
        let key_of = move |bucket: i64| -> String {
            if grain == GRAIN_DAY {
                bucket_date(bucket).to_string()
            } else {
                let local =
                    Timestamp::from_second(bucket * 3600).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned(zone.clone());
                match group {
                    ReportGroup::Hour => format!("{:02}", local.hour()),
                    _ => local.date().to_string(),
                }
            }
        };
        // Single-valued dimensions count every conversation under exactly one
        // value, so without a series their values add up to the totals and
        // the "all" rows need not be read.
        let totals_from_breakdown =
            query.group == ReportGroup::None && query.dimension.as_deref().is_some_and(|d| SINGLE_VALUED.contains(&d));
        let all_rows = if totals_from_breakdown {
            vec![]
        } else {
            self.store.report_rows(&workspace.id, grain, "all", from, to).await?
        };
        let dimension_rows = match &query.dimension {
            Some(dimension) => self.store.report_rows(&workspace.id, grain, dimension, from, to).await?,
            None => vec![],
        };
        let rows_merged = (all_rows.len() + dimension_rows.len()) as u64;
        // The sums are CPU work of up to a few hundred milliseconds: off the async threads.
        let (mut series, totals, breakdown) = tokio::task::spawn_blocking(move || {
            summarise(&all_rows, &dimension_rows, &key_of, group, totals_from_breakdown)
        })
        .await
        .map_err(|e| AppError::Unavailable(format!("the report could not be summed: {e}")))??;
        if query.group == ReportGroup::Day {
            let mut day = query.from;
            while day <= query.to {
                series.entry(day.to_string()).or_default();
                let Ok(next) = day.tomorrow() else { break };
                day = next;
            }
            series.retain(|k, _| {
                k.as_str() >= query.from.to_string().as_str() && k.as_str() <= query.to.to_string().as_str()
            });
        } else if query.group == ReportGroup::Hour {
            for h in 0..24 {
                series.entry(format!("{h:02}")).or_default();
            }
        }
        Ok(Report {
            from: query.from,
            to: query.to,
            time_zone: zone_name,
            group: query.group,
            dimension: query.dimension.clone(),
            source: grain.to_owned(),
            rows_merged,
            totals: (&totals).into(),
            series: series.into_iter().map(|(key, f)| ReportPoint { key, figures: (&f).into() }).collect(),
            breakdown: breakdown
                .into_iter()
                .filter(|(_, f)| !f.is_empty())
                .map(|(value, f)| ReportBreakdown { value, figures: (&f).into() })
                .collect(),
        })
    }

    /// The report rows and contribution a changed conversation calls for.
    pub async fn report_writes(
        &self,
        changed: Vec<(Conversation, Contribution, Contribution)>,
    ) -> AppResult<Vec<Write>> {
        let mut by_workspace: BTreeMap<String, (RowDeltas, TimeZone)> = BTreeMap::new();
        let mut writes = vec![];
        for (conversation, old, new) in changed {
            if old == new {
                continue;
            }
            if !by_workspace.contains_key(&conversation.workspace_id) {
                let tz = match self.store.workspace(&conversation.workspace_id).await? {
                    Some(w) => hark_domain::business_hours::time_zone(&w.time_zone).unwrap_or(TimeZone::UTC),
                    None => TimeZone::UTC,
                };
                by_workspace
                    .insert(conversation.workspace_id.clone(), (RowDeltas::new(&conversation.workspace_id), tz));
            }
            if let Some((deltas, tz)) = by_workspace.get_mut(&conversation.workspace_id) {
                deltas.replace(&old, &new, tz);
            }
            writes.push(contribution_write(&conversation, &new));
        }
        for (workspace_id, (deltas, _)) in by_workspace {
            let store = self.store.clone();
            let ws = workspace_id.clone();
            let rows = deltas
                .into_rows(move |grain, bucket| {
                    let store = store.clone();
                    let ws = ws.clone();
                    async move { Ok(store.report_bucket(&ws, &grain, bucket).await?) }
                })
                .await?;
            writes.extend(rows.into_iter().map(|r| Write::Levels(LevelsWrite::PutReportRow(r))));
        }
        Ok(writes)
    }
}

/// The series (by key), the totals and the breakdown (by value) of a report's rows.
type Summed = (BTreeMap<String, Figures>, Figures, Vec<(String, Figures)>);

/// Sums a report's rows: the "all" rows per series key and altogether, the
/// dimension's rows per value; the totals are the breakdown's when the
/// "all" rows were not read.
fn summarise(
    all_rows: &[ReportRow],
    dimension_rows: &[ReportRow],
    key_of: &(dyn Fn(i64) -> String + Send + Sync),
    group: ReportGroup,
    totals_from_breakdown: bool,
) -> Result<Summed, InvalidValue> {
    let mut by_key: BTreeMap<String, Vec<&[u8]>> = BTreeMap::new();
    if group != ReportGroup::None {
        for row in all_rows {
            by_key.entry(key_of(row.bucket)).or_default().push(&row.figures);
        }
    }
    let mut by_value: BTreeMap<&str, Vec<&[u8]>> = BTreeMap::new();
    for row in dimension_rows {
        by_value.entry(&row.value).or_default().push(&row.figures);
    }
    let keys: Vec<String> = by_key.keys().cloned().collect();
    let values: Vec<String> = by_value.keys().map(|v| (*v).to_owned()).collect();
    let mut groups: Vec<Vec<&[u8]>> = by_key.into_values().collect();
    if !totals_from_breakdown {
        groups.push(all_rows.iter().map(|r| r.figures.as_slice()).collect());
    }
    groups.extend(by_value.into_values());
    let mut sums = sum_groups(&groups)?.into_iter();
    let series: BTreeMap<String, Figures> = keys.into_iter().zip(sums.by_ref()).collect();
    let mut totals = if totals_from_breakdown { Figures::default() } else { sums.next().unwrap_or_default() };
    let breakdown: Vec<(String, Figures)> = values.into_iter().zip(sums).collect();
    if totals_from_breakdown {
        for (_, figures) in &breakdown {
            totals.merge(figures);
        }
    }
    Ok((series, totals, breakdown))
}

/// An agent on the live dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AgentLoad {
    pub user_id: String,
    pub name: String,
    pub availability: Availability,
    /// Open (not resolved) conversations assigned to them.
    pub open: i64,
}

/// A customer waiting on the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Waiting {
    pub conversation_id: String,
    pub subject: String,
    #[schema(value_type = String, format = DateTime)]
    pub since: Timestamp,
}

/// What a supervisor watches live.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Dashboard {
    pub open: i64,
    pub unassigned: i64,
    pub at_risk: i64,
    pub breached: i64,
    pub waiting_longest: Vec<Waiting>,
    pub agents: Vec<AgentLoad>,
    /// Today's figures, in the workspace's time zone.
    pub today: ReportFigures,
}

impl App {
    /// The live dashboard: counts of the inbox as it is, who is online and
    /// their load, and today's report figures.
    pub async fn dashboard(&self, actor: &Actor) -> AppResult<Dashboard> {
        actor.require(Action::ViewReports)?;
        let workspace = self.store.workspace(actor.workspace_id()).await?.ok_or(AppError::NotFound("workspace"))?;
        let open_statuses = vec![ConversationStatus::Open, ConversationStatus::Pending, ConversationStatus::Snoozed];
        let base = hark_store::ConversationFilter {
            workspace_id: workspace.id.clone(),
            statuses: open_statuses,
            ..Default::default()
        };
        let cap = 100_000;
        let open = self.store.count_conversations(&base, cap).await?;
        let unassigned = self
            .store
            .count_conversations(
                &hark_store::ConversationFilter { assignee: Some(hark_store::AssigneeFilter::Nobody), ..base.clone() },
                cap,
            )
            .await?;
        let now = crate::now();
        let at_risk = self
            .store
            .count_conversations(
                &hark_store::ConversationFilter { sla: Some(hark_store::SlaFilter::AtRisk { now }), ..base.clone() },
                cap,
            )
            .await?;
        let breached = self
            .store
            .count_conversations(
                &hark_store::ConversationFilter { sla: Some(hark_store::SlaFilter::Breached), ..base.clone() },
                cap,
            )
            .await?;
        let waiting = self
            .store
            .conversations(
                &hark_store::ConversationFilter {
                    needs_reply: true,
                    sort: hark_store::ConversationSort::Waiting,
                    ..base.clone()
                },
                &hark_store::Page::first(5),
            )
            .await?;
        let waiting_longest = waiting
            .into_iter()
            .take(5)
            .filter_map(|c| {
                Some(Waiting {
                    since: c.timeline.awaiting_reply_since?,
                    subject: if c.subject.is_empty() { c.last_message_preview.clone() } else { c.subject.clone() },
                    conversation_id: c.id,
                })
            })
            .collect();
        let load: HashMap<String, i64> = self.store.open_load(&workspace.id).await?.into_iter().collect();
        let agents = self
            .store
            .users(&workspace.id)
            .await?
            .into_iter()
            .filter(|u| u.active)
            .map(|u| AgentLoad {
                open: load.get(&u.id).copied().unwrap_or(0),
                user_id: u.id,
                name: u.name,
                availability: u.availability,
            })
            .collect();
        let tz = hark_domain::business_hours::time_zone(&workspace.time_zone).unwrap_or(TimeZone::UTC);
        let today = now.to_zoned(tz).date();
        let query = ReportQuery { from: today, to: today, time_zone: None, group: ReportGroup::None, dimension: None };
        let report = self.report_for(&workspace, &query).await?;
        Ok(Dashboard { open, unassigned, at_risk, breached, waiting_longest, agents, today: report.totals })
    }
}

fn local_midnight(date: Date, tz: &TimeZone) -> AppResult<Timestamp> {
    date.to_zoned(tz.clone()).map(|z| z.timestamp()).map_err(|e| AppError::invalid("from", e.to_string()))
}

/// A report as CSV: one line per series point (or breakdown value), every figure a column.
pub fn report_csv(report: &Report) -> String {
    let mut out = String::from(
        "key,inbound,outbound,cycles,handled,unhandled,resolved,first_response_median_s,first_response_p90_s,\
         next_response_median_s,next_response_p90_s,resolution_median_s,resolution_p90_s,fcr,csat,sla_attainment,\
         negative,neutral,positive\n",
    );
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    let ratio = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    let mut line = |key: &str, f: &ReportFigures| {
        let key =
            if key.contains([',', '"', '\n']) { format!("\"{}\"", key.replace('"', "\"\"")) } else { key.to_owned() };
        out.push_str(&format!(
            "{key},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            f.inbound,
            f.outbound,
            f.cycles,
            f.handled,
            f.unhandled,
            f.resolved,
            opt(f.first_response.median_seconds),
            opt(f.first_response.p90_seconds),
            opt(f.next_response.median_seconds),
            opt(f.next_response.p90_seconds),
            opt(f.resolution.median_seconds),
            opt(f.resolution.p90_seconds),
            ratio(f.fcr.ratio),
            ratio(f.csat.ratio),
            ratio(f.sla.ratio),
            f.negative,
            f.neutral,
            f.positive
        ));
    };
    if report.breakdown.is_empty() {
        for p in &report.series {
            line(&p.key, &p.figures);
        }
    } else {
        for b in &report.breakdown {
            line(&b.value, &b.figures);
        }
    }
    line("total", &report.totals);
    out
}

/// Shifts an instant by whole days (for generated data).
pub fn days_later(t: Timestamp, days: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_hours(24 * days)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored rows of varied figures, several megabytes in all.
    fn stored_rows(n: u64) -> Vec<Vec<u8>> {
        let mut state: u64 = 11;
        let mut next = move |below: u64| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % below
        };
        (0..n)
            .map(|_| {
                let mut f = Figures::default();
                f.summary.cycles = next(1000);
                f.summary.inbound_messages = next(5000);
                f.outbound = next(4000);
                f.sentiment = [next(9), next(9), next(9), next(9)];
                for _ in 0..next(3000) {
                    f.summary.first_response.add(next(20_000));
                    f.summary.resolution.add(if next(8) == 0 { 2_000_000 + next(9_000_000) } else { next(900_000) });
                }
                f.to_bytes()
            })
            .collect()
    }

    #[test]
    fn summing_groups_in_parallel_equals_merging_one_by_one() {
        let rows = stored_rows(600);
        assert!(rows.iter().map(Vec::len).sum::<usize>() > 2 * PARALLEL_FROM_BYTES, "big enough to split");
        let merged = |rows: &[Vec<u8>]| {
            let mut total = Figures::default();
            for r in rows {
                total.merge(&Figures::from_bytes(r).unwrap_or_else(|e| panic!("{e}")));
            }
            total
        };
        // One group (split across threads), a few, many (whole groups per thread), and one-row groups.
        for sizes in [vec![600], vec![300, 200, 100], vec![15; 40], vec![1; 600]] {
            let mut groups: Vec<Vec<&[u8]>> = vec![];
            let mut expected = vec![];
            let mut start = 0;
            for size in sizes {
                groups.push(rows[start..start + size].iter().map(Vec::as_slice).collect());
                expected.push(merged(&rows[start..start + size]));
                start += size;
            }
            let summed = sum_groups(&groups).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(summed.len(), expected.len());
            for (got, want) in summed.iter().zip(&expected) {
                assert_eq!(got, want);
            }
        }
        assert!(sum_groups(&[vec![b"garbage".as_slice()]]).is_err(), "a bad row is an error, not a zero");
    }

    #[test]
    fn figures_round_trip_through_bytes_and_subtract_back() {
        let mut a = Figures::default();
        for item in [Item(0, INBOUND, 0), Item(0, FIRST_RESPONSE, 42), Item(0, RESOLUTION, 3600), Item(0, RATING, 5)] {
            item.add_to(&mut a);
        }
        let bytes = a.to_bytes();
        assert_eq!(Figures::from_bytes(&bytes).ok(), Some(a.clone()));
        let mut b = a.clone();
        Item(0, FIRST_RESPONSE, 7).add_to(&mut b);
        b.merge(&a);
        b.subtract(&a);
        let mut expected = a.clone();
        Item(0, FIRST_RESPONSE, 7).add_to(&mut expected);
        assert_eq!(b, expected);
        assert!(Figures::from_bytes(&[9, 9]).is_err());
    }

    #[test]
    fn day_buckets_follow_the_local_date() {
        let tz = hark_domain::business_hours::time_zone("Asia/Shanghai").unwrap_or(TimeZone::UTC);
        // 2026-03-01 23:30 UTC is 2026-03-02 07:30 in Shanghai.
        let ms = jiff::civil::date(2026, 3, 1)
            .at(23, 30, 0, 0)
            .to_zoned(TimeZone::UTC)
            .map_or(0, |z| z.timestamp().as_millisecond());
        assert_eq!(bucket_date(day_bucket(ms, &tz)), jiff::civil::date(2026, 3, 2));
        assert_eq!(bucket_date(date_bucket(jiff::civil::date(2000, 2, 29))), jiff::civil::date(2000, 2, 29));
    }
}

// --- generated history (benchmarks) --------------------------------------------

/// The shape of a generated history (`hark bench reports`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationSpec {
    /// The first local day.
    pub start: Date,
    pub days: u32,
    /// Customer messages in all, spread over the days.
    pub messages: u64,
    pub channels: u32,
    pub agents: u32,
    pub labels: u32,
    pub seed: u64,
}

/// What was generated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenerationStats {
    pub conversations: u64,
    pub inbound: u64,
    pub outbound: u64,
    pub rows: u64,
}

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }

    /// A duration in seconds spread over orders of magnitude (minutes to a day).
    fn spread(&mut self, low: u64, high: u64) -> u64 {
        let (l, h) = ((low.max(1)) as f64, high.max(low + 1) as f64);
        let u = self.below(1_000_000) as f64 / 1_000_000.0;
        (l * (h / l).powf(u * u)) as u64
    }
}

/// Report rows for a generated history of realistic conversations, built
/// straight into summaries (no messages are stored): a quick way to fill the
/// aggregate storage with a year of ten million messages for benchmarks.
/// Each conversation has 1–6 customer messages, replies by people and bots,
/// a resolution for most, ratings for some and SLA outcomes against a 1 h
/// first-response and 24 h resolution target.
pub fn generate_rows(workspace_id: &str, tz: &TimeZone, spec: &GenerationSpec) -> (Vec<ReportRow>, GenerationStats) {
    let mut rng = Lcg(spec.seed | 1);
    let mut cells: HashMap<(bool, i64, u8, u32), Figures> = HashMap::new();
    let mut stats = GenerationStats::default();
    let per_day = spec.messages / u64::from(spec.days.max(1));
    let networks = ["x", "facebook", "instagram", "whatsapp", "telegram", "vk"];
    let intents = ["order_status", "refund", "complaint", "delivery", "account", "billing", "praise", "other"];
    let languages = ["en", "ru", "zh", "el", "es"];
    for day in 0..spec.days {
        let date = spec.start.checked_add(jiff::Span::new().days(i64::from(day))).unwrap_or(spec.start);
        let Ok(midnight) = date.to_zoned(tz.clone()) else { continue };
        let day_ms = midnight.timestamp().as_millisecond();
        let mut inbound_today = 0;
        while inbound_today < per_day {
            stats.conversations += 1;
            let channel = rng.below(u64::from(spec.channels.max(1))) as u32;
            let dims: [u32; 8] = [
                0,
                channel,
                channel % networks.len() as u32,
                rng.below(3) as u32,
                rng.below(u64::from(spec.agents.max(1))) as u32,
                rng.below(u64::from(spec.labels.max(1))) as u32,
                rng.below(intents.len() as u64) as u32,
                rng.below(languages.len() as u64) as u32,
            ];
            // Busier in the day: a start time biased towards 08:00–20:00.
            let hour = if rng.below(10) < 8 { 8 + rng.below(12) } else { rng.below(24) };
            let start = day_ms + (hour * 3600 + rng.below(3600)) as i64 * 1000;
            let inbound = 1 + rng.below(6);
            let mut items = vec![];
            let mut at = start;
            for _ in 0..inbound {
                items.push(Item(at, INBOUND, rng.below(4) as i64));
                at += rng.spread(10, 3600) as i64 * 1000;
            }
            let first = rng.spread(20, 86_400);
            let replies = 1 + rng.below(3);
            let bots = rng.below(2);
            let handled = rng.below(10) < 9;
            items.push(Item(start, CYCLE, i64::from(handled)));
            if handled {
                items.push(Item(start, CYCLE_PERSON_REPLIES, replies as i64));
                items.push(Item(start + first as i64 * 1000, FIRST_RESPONSE, first as i64));
                items.push(Item(start + first as i64 * 1000, if first < 3600 { SLA_MET } else { SLA_BREACHED }, 0));
                for _ in 1..replies {
                    let next = rng.spread(30, 7200);
                    items.push(Item(start + (first + next) as i64 * 1000, NEXT_RESPONSE, next as i64));
                }
            }
            if bots > 0 {
                items.push(Item(start, CYCLE_AUTOMATIC_REPLIES, bots as i64));
            }
            for k in 0..replies * u64::from(handled) + bots {
                items.push(Item(start + (first + k * 60) as i64 * 1000, OUTBOUND, 0));
            }
            if handled && rng.below(10) < 8 {
                let resolution = first + rng.spread(60, 3 * 86_400);
                let resolved_at = start + resolution as i64 * 1000;
                items.push(Item(resolved_at, RESOLUTION, resolution as i64));
                items.push(Item(resolved_at, if resolution < 86_400 { SLA_MET } else { SLA_BREACHED }, 0));
                items.push(Item(resolved_at + 7 * 86_400_000, FCR, i64::from(replies == 1 && rng.below(10) < 8)));
                if rng.below(5) == 0 {
                    items.push(Item(resolved_at + 600_000, RATING, 1 + rng.below(5) as i64));
                }
            }
            inbound_today += inbound;
            stats.inbound += inbound;
            stats.outbound += replies * u64::from(handled) + bots;
            for item in items {
                let day_bucket = day_bucket(item.0, tz);
                let hour = hour_bucket(item.0);
                for (d, value) in dims.iter().enumerate() {
                    item.add_to(cells.entry((true, day_bucket, d as u8, *value)).or_default());
                    item.add_to(cells.entry((false, hour, d as u8, *value)).or_default());
                }
            }
        }
    }
    let value_name = |d: u8, v: u32| -> String {
        match d {
            0 => String::new(),
            1 => format!("ch_bench_{v}"),
            2 => networks[v as usize % networks.len()].to_owned(),
            3 => format!("team_bench_{v}"),
            4 => format!("usr_bench_{v}"),
            5 => format!("label {v}"),
            6 => intents[v as usize % intents.len()].to_owned(),
            _ => languages[v as usize % languages.len()].to_owned(),
        }
    };
    let rows: Vec<ReportRow> = cells
        .into_iter()
        .map(|((day, bucket, d, v), figures)| ReportRow {
            workspace_id: workspace_id.to_owned(),
            grain: if day { GRAIN_DAY } else { GRAIN_HOUR }.to_owned(),
            bucket,
            dimension: DIMENSIONS[usize::from(d)].to_owned(),
            value: value_name(d, v),
            figures: figures.to_bytes(),
        })
        .collect();
    stats.rows = rows.len() as u64;
    (rows, stats)
}

#[cfg(test)]
mod generation_tests {
    use super::*;

    #[test]
    fn generated_rows_agree_across_dimensions_and_grains() {
        let tz = hark_domain::business_hours::time_zone("Europe/Athens").unwrap_or(TimeZone::UTC);
        let spec = GenerationSpec {
            start: jiff::civil::date(2026, 3, 1),
            days: 40,
            messages: 20_000,
            channels: 4,
            agents: 6,
            labels: 3,
            seed: 7,
        };
        let (rows, stats) = generate_rows("ws_1", &tz, &spec);
        assert_eq!(stats.rows as usize, rows.len());
        let total = |grain: &str, dimension: &str| -> Figures {
            let mut f = Figures::default();
            for r in rows.iter().filter(|r| r.grain == grain && r.dimension == dimension) {
                f.merge(&Figures::from_bytes(&r.figures).unwrap_or_default());
            }
            f
        };
        let all = total(GRAIN_DAY, "all");
        assert_eq!(all.summary.inbound_messages, stats.inbound);
        assert_eq!(all.outbound, stats.outbound);
        assert_eq!(all.summary.cycles, stats.conversations);
        for dimension in &DIMENSIONS[1..] {
            assert_eq!(total(GRAIN_DAY, dimension), all, "{dimension}");
            assert_eq!(total(GRAIN_HOUR, dimension), all, "{dimension} by hour");
        }
    }
}
