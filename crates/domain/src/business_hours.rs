//! Business hours: when a workspace or team is open, and the time arithmetic
//! SLA due times and business-time reports are computed with.
//!
//! A schedule is an IANA time zone, a weekly pattern of open intervals in
//! local wall-clock time, and holidays (local dates that are closed, or open
//! on special hours). Everything here is exact to the millisecond and works
//! day by day, never second by second, so a year-long span costs a few
//! hundred small steps.
//!
//! # How wall-clock times become instants
//!
//! Opening time is defined per local calendar date. A boundary "T on date D"
//! is the first instant at which the local clock, on date D, shows T or
//! later. On ordinary days that is simply D at T. Around daylight-saving
//! changes:
//!
//! - spring forward (a gap): a boundary inside the skipped hour is the
//!   transition itself, so 00:00–06:00 on that day is five hours long;
//! - fall back (a fold): a boundary inside the repeated hour is its first
//!   occurrence, so 00:00–06:00 on that day is seven hours long;
//! - `24:00` is the start of the next local date, so 00:00–24:00 (24/7) gives
//!   23 or 25 hours on change days, and adjacent intervals always tile with
//!   no gap and no overlap.
//!
//! An interval whose end is not after its start (22:00–06:00) runs across
//! local midnight into the next date. A holiday replaces *all* opening time
//! on its date, including the tail of an overnight interval that started the
//! evening before; the part of an overnight interval that falls on the next
//! (ordinary) date stays open.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use jiff::civil::{Date, Time};
use jiff::tz::{AmbiguousOffset, TimeZone, TimeZoneDatabase};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::InvalidValue;

/// The time zone database compiled into the binary, so that results never
/// depend on the host's `/usr/share/zoneinfo`.
static TZDB: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// How far ahead searches (due times, next opening, next closing) look
/// before answering "never": ten years of local dates.
pub const SEARCH_HORIZON_DAYS: i64 = 3660;

const SECONDS_PER_DAY: u32 = 86_400;

/// Looks up an IANA time zone (`Europe/Athens`, `UTC`) in the bundled database.
pub fn time_zone(name: &str) -> Result<TimeZone, InvalidValue> {
    TZDB.get(name).map_err(|_| {
        InvalidValue::new("time_zone", format!("{name:?} is not a known IANA time zone (e.g. \"Europe/Athens\")"))
    })
}

/// Business hours as an admin writes them (stored and sent as JSON).
/// Turn it into [`BusinessHours`] with `BusinessHours::try_from`, which validates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BusinessHoursConfig {
    /// IANA time zone the schedule and holidays are written in.
    pub time_zone: String,
    /// Open intervals per weekday; a day with none is closed.
    #[serde(default)]
    pub week: WeekSchedule,
    /// Dates whose opening time differs from the weekly pattern.
    #[serde(default)]
    pub holidays: Vec<Holiday>,
}

/// Open intervals for each weekday, in local wall-clock time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct WeekSchedule {
    pub monday: Vec<OpenInterval>,
    pub tuesday: Vec<OpenInterval>,
    pub wednesday: Vec<OpenInterval>,
    pub thursday: Vec<OpenInterval>,
    pub friday: Vec<OpenInterval>,
    pub saturday: Vec<OpenInterval>,
    pub sunday: Vec<OpenInterval>,
}

/// `start`–`end` in `HH:MM` local time. `end` may be `24:00`; an `end` not
/// after `start` (22:00–06:00) means the interval runs past midnight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpenInterval {
    pub start: String,
    pub end: String,
}

/// A local date with its own opening time: closed all day when `open` is
/// empty, otherwise open exactly on those intervals (which must end by 24:00
/// of that date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Holiday {
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub open: Vec<OpenInterval>,
}

impl OpenInterval {
    pub fn new(start: &str, end: &str) -> Self {
        Self { start: start.to_owned(), end: end.to_owned() }
    }
}

impl WeekSchedule {
    /// The same intervals on every day of the week.
    pub fn every_day(intervals: Vec<OpenInterval>) -> Self {
        let mut week = Self::weekdays(intervals.clone());
        week.saturday = intervals.clone();
        week.sunday = intervals;
        week
    }

    /// The same intervals Monday to Friday; the weekend closed.
    pub fn weekdays(intervals: Vec<OpenInterval>) -> Self {
        Self {
            monday: intervals.clone(),
            tuesday: intervals.clone(),
            wednesday: intervals.clone(),
            thursday: intervals.clone(),
            friday: intervals,
            saturday: vec![],
            sunday: vec![],
        }
    }

    fn days(&self) -> [(&'static str, &[OpenInterval]); 7] {
        [
            ("monday", &self.monday),
            ("tuesday", &self.tuesday),
            ("wednesday", &self.wednesday),
            ("thursday", &self.thursday),
            ("friday", &self.friday),
            ("saturday", &self.saturday),
            ("sunday", &self.sunday),
        ]
    }
}

impl BusinessHoursConfig {
    /// Open around the clock (00:00–24:00 every day), no holidays.
    pub fn always_open(time_zone: &str) -> Self {
        Self {
            time_zone: time_zone.to_owned(),
            week: WeekSchedule::every_day(vec![OpenInterval::new("00:00", "24:00")]),
            holidays: vec![],
        }
    }
}

/// A validated schedule, ready for arithmetic. Serialises as its
/// [`BusinessHoursConfig`]; deserialising validates.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "BusinessHoursConfig", into = "BusinessHoursConfig")]
pub struct BusinessHours {
    config: BusinessHoursConfig,
    tz: TimeZone,
    /// Monday = 0. Open seconds of the local day, sorted, merged, within [0, 86400].
    week: [Vec<(u32, u32)>; 7],
    holidays: BTreeMap<Date, Vec<(u32, u32)>>,
}

impl fmt::Debug for BusinessHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusinessHours").field("config", &self.config).finish()
    }
}

impl PartialEq for BusinessHours {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
    }
}

impl From<BusinessHours> for BusinessHoursConfig {
    fn from(hours: BusinessHours) -> Self {
        hours.config
    }
}

impl TryFrom<BusinessHoursConfig> for BusinessHours {
    type Error = InvalidValue;

    fn try_from(config: BusinessHoursConfig) -> Result<Self, InvalidValue> {
        let tz = time_zone(&config.time_zone)?;
        let week = compile_week(&config.week)?;
        let mut holidays = BTreeMap::new();
        for (i, holiday) in config.holidays.iter().enumerate() {
            let pieces = compile_holiday(i, holiday)?;
            if holidays.insert(holiday.date, pieces).is_some() {
                return Err(invalid(format!("holidays[{i}]: {} is listed twice", holiday.date)));
            }
        }
        Ok(Self { config, tz, week, holidays })
    }
}

impl BusinessHours {
    /// Open around the clock in `time_zone`: business time equals calendar time.
    pub fn always_open(time_zone: &str) -> Result<Self, InvalidValue> {
        Self::try_from(BusinessHoursConfig::always_open(time_zone))
    }

    pub fn config(&self) -> &BusinessHoursConfig {
        &self.config
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// Business milliseconds in `[from, to)`; 0 when `to` is not after `from`.
    pub fn business_ms(&self, from: Timestamp, to: Timestamp) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        let last = self.tz.to_datetime(to).date();
        for (start, end) in self.open_intervals_until(from, last) {
            if start >= to {
                break;
            }
            total += ms_between(start.max(from), end.min(to));
        }
        total
    }

    /// The earliest instant at which `ms` business milliseconds have passed
    /// since `from`: the due time of a target of `ms` started at `from`.
    /// `ms <= 0` gives `from`. `None` when the schedule never accumulates that
    /// much within [`SEARCH_HORIZON_DAYS`] (an empty schedule never does).
    pub fn add_business_ms(&self, from: Timestamp, ms: i64) -> Option<Timestamp> {
        if ms <= 0 {
            return Some(from);
        }
        let mut remaining = ms;
        for (start, end) in self.open_intervals_from(from) {
            let start = start.max(from);
            let available = ms_between(start, end);
            if remaining <= available {
                return start.checked_add(SignedDuration::from_millis(remaining)).ok();
            }
            remaining -= available;
        }
        None
    }

    /// Whether `at` falls inside an open interval (start included, end excluded).
    pub fn is_open(&self, at: Timestamp) -> bool {
        let date = self.tz.to_datetime(at).date();
        self.day_intervals(date).into_iter().any(|(start, end)| start <= at && at < end)
    }

    /// `at` itself when open, otherwise the start of the next open interval;
    /// `None` when nothing opens within [`SEARCH_HORIZON_DAYS`].
    pub fn next_open(&self, at: Timestamp) -> Option<Timestamp> {
        self.open_intervals_from(at).next().map(|(start, _)| start.max(at))
    }

    /// When the open stretch containing `at` ends (or, when closed at `at`,
    /// the end of the next open stretch). Stretches that touch across
    /// midnight count as one. `None` when it stays open past the horizon.
    pub fn next_close(&self, at: Timestamp) -> Option<Timestamp> {
        self.open_intervals_from(at).next().map(|(_, end)| end)
    }

    /// Open stretches that end after `from`, in order, merged across days,
    /// up to [`SEARCH_HORIZON_DAYS`] ahead. The first may start before `from`.
    pub fn open_intervals_from(&self, from: Timestamp) -> OpenIntervals<'_> {
        let first = self.tz.to_datetime(from).date();
        let last = first.checked_add(jiff::Span::new().days(SEARCH_HORIZON_DAYS)).unwrap_or(Date::MAX);
        let mut intervals = self.open_intervals_until(from, last);
        intervals.drop_unfinished = true;
        intervals
    }

    /// Open stretches on local dates up to `last_date` included; the last one
    /// may be cut at the end of that date.
    fn open_intervals_until(&self, from: Timestamp, last_date: Date) -> OpenIntervals<'_> {
        let first = self.tz.to_datetime(from).date();
        OpenIntervals {
            hours: self,
            from,
            next_date: Some(first),
            last_date,
            hit_horizon: false,
            drop_unfinished: false,
            pending: None,
            queue: vec![],
        }
    }

    /// The open intervals of one local date as instants, sorted and merged.
    fn day_intervals(&self, date: Date) -> Vec<(Timestamp, Timestamp)> {
        let pieces = match self.holidays.get(&date) {
            Some(pieces) => pieces,
            None => &self.week[usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0)],
        };
        let mut out: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(pieces.len());
        for &(start, end) in pieces {
            let (Some(start), Some(end)) = (self.boundary(date, start), self.boundary(date, end)) else {
                continue;
            };
            if start >= end {
                continue; // the whole piece fell inside a skipped hour
            }
            match out.last_mut() {
                Some(last) if last.1 >= start => last.1 = last.1.max(end),
                _ => out.push((start, end)),
            }
        }
        out
    }

    /// The first instant at which the local clock on `date` shows
    /// `second_of_day` or later (86 400 = the start of the next date).
    fn boundary(&self, date: Date, second_of_day: u32) -> Option<Timestamp> {
        if second_of_day >= SECONDS_PER_DAY {
            return self.boundary(date.tomorrow().ok()?, 0);
        }
        let time = Time::new(
            i8::try_from(second_of_day / 3600).ok()?,
            i8::try_from(second_of_day / 60 % 60).ok()?,
            i8::try_from(second_of_day % 60).ok()?,
            0,
        )
        .ok()?;
        let dt = date.to_datetime(time);
        match self.tz.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt).ok(),
            AmbiguousOffset::Fold { before, after } => {
                Some(offset_instant(before, dt)?.min(offset_instant(after, dt)?))
            }
            AmbiguousOffset::Gap { before, after } => {
                // The clock jumps over `dt`: the first instant showing `dt` or
                // later is the transition, which lies between the two readings.
                let earliest = offset_instant(before, dt)?.min(offset_instant(after, dt)?);
                self.tz.following(earliest).next().map(|transition| transition.timestamp())
            }
        }
    }
}

fn offset_instant(offset: jiff::tz::Offset, dt: jiff::civil::DateTime) -> Option<Timestamp> {
    offset.to_timestamp(dt).ok()
}

/// Iterator over open stretches; see [`BusinessHours::open_intervals_from`].
pub struct OpenIntervals<'a> {
    hours: &'a BusinessHours,
    from: Timestamp,
    next_date: Option<Date>,
    last_date: Date,
    /// Set when the search stopped at `last_date` rather than for want of opening time.
    hit_horizon: bool,
    /// Whether a stretch still open at the horizon is withheld (its end is unknown).
    drop_unfinished: bool,
    /// The stretch being extended while following days touch it.
    pending: Option<(Timestamp, Timestamp)>,
    /// Remaining intervals of the current date, in reverse order.
    queue: Vec<(Timestamp, Timestamp)>,
}

impl OpenIntervals<'_> {
    fn next_piece(&mut self) -> Option<(Timestamp, Timestamp)> {
        loop {
            if let Some(piece) = self.queue.pop() {
                if piece.1 > self.from {
                    return Some(piece);
                }
                continue;
            }
            let date = self.next_date?;
            if date > self.last_date || self.hours.nothing_open_from(date) {
                self.hit_horizon = date > self.last_date;
                self.next_date = None;
                return None;
            }
            self.next_date = date.tomorrow().ok();
            self.queue = self.hours.day_intervals(date);
            self.queue.reverse();
        }
    }
}

impl Iterator for OpenIntervals<'_> {
    type Item = (Timestamp, Timestamp);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match (self.pending, self.next_piece()) {
                (None, None) => return None,
                (Some(done), None) => {
                    self.pending = None;
                    // A stretch still open when the search stops has no known end.
                    let cut = self.drop_unfinished
                        && self.hit_horizon
                        && self
                            .last_date
                            .tomorrow()
                            .ok()
                            .and_then(|d| self.hours.boundary(d, 0))
                            .is_none_or(|h| done.1 >= h);
                    return if cut { None } else { Some(done) };
                }
                (None, Some(piece)) => self.pending = Some(piece),
                (Some(current), Some(piece)) if piece.0 <= current.1 => {
                    self.pending = Some((current.0, current.1.max(piece.1)));
                }
                (Some(done), Some(piece)) => {
                    self.pending = Some(piece);
                    return Some(done);
                }
            }
        }
    }
}

impl BusinessHours {
    /// True when no date from `date` on can have opening time: the weekly
    /// pattern is empty and no later holiday has special hours. This is what
    /// makes searches on a never-open schedule stop at once.
    fn nothing_open_from(&self, date: Date) -> bool {
        self.week.iter().all(Vec::is_empty) && self.holidays.range(date..).all(|(_, pieces)| pieces.is_empty())
    }
}

fn ms_between(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_millisecond() - from.as_millisecond()).max(0)
}

fn invalid(message: String) -> InvalidValue {
    InvalidValue::new("business_hours", message)
}

/// Parses `HH:MM` into seconds of the day; `24:00` only when `allow_24` (ends).
fn parse_time(text: &str, path: &str, allow_24: bool) -> Result<u32, InvalidValue> {
    let bad = || {
        invalid(format!("{path}: {text:?} is not a time of day (expected HH:MM, 00:00 to 23:59, or 24:00 as an end)"))
    };
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) if allow_24 => Ok(SECONDS_PER_DAY),
        (0..=23, 0..=59) => Ok(h * 3600 + m * 60),
        _ => Err(bad()),
    }
}

/// Validates the weekly pattern (no overlaps, including across midnight and
/// from Sunday into Monday) and splits it into per-date pieces.
fn compile_week(week: &WeekSchedule) -> Result<[Vec<(u32, u32)>; 7], InvalidValue> {
    const WEEK: u32 = 7 * SECONDS_PER_DAY;
    // (start, end) in seconds of the week, end possibly past the week's end; with its path and text.
    let mut spans: Vec<(u32, u32, String)> = vec![];
    for (day_index, (day, intervals)) in (0u32..).zip(week.days()) {
        for (i, interval) in intervals.iter().enumerate() {
            let path = format!("week.{day}[{i}]");
            let start = parse_time(&interval.start, &format!("{path}.start"), false)?;
            let end = parse_time(&interval.end, &format!("{path}.end"), true)?;
            if start == end {
                return Err(invalid(format!(
                    "{path}: start and end are both {}; use 00:00–24:00 for a whole day",
                    interval.start
                )));
            }
            let end = if end > start { end } else { end + SECONDS_PER_DAY };
            let base = day_index * SECONDS_PER_DAY;
            spans.push((base + start, base + end, format!("{path} ({}–{})", interval.start, interval.end)));
        }
    }
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            // Shifting by a week catches Sunday-night intervals running into Monday.
            let overlaps = |shift_a: u32, shift_b: u32| a.0 + shift_a < b.1 + shift_b && b.0 + shift_b < a.1 + shift_a;
            if overlaps(0, 0) || overlaps(WEEK, 0) || overlaps(0, WEEK) {
                return Err(invalid(format!("{} overlaps {}", b.2, a.2)));
            }
        }
    }
    let mut days: [Vec<(u32, u32)>; 7] = Default::default();
    for (start, end, _) in spans {
        let day = (start / SECONDS_PER_DAY) as usize;
        let (start, end) = (start % SECONDS_PER_DAY, end - day as u32 * SECONDS_PER_DAY);
        days[day].push((start, end.min(SECONDS_PER_DAY)));
        if end > SECONDS_PER_DAY {
            days[(day + 1) % 7].push((0, end - SECONDS_PER_DAY));
        }
    }
    for day in &mut days {
        *day = merge_pieces(std::mem::take(day));
    }
    Ok(days)
}

fn compile_holiday(index: usize, holiday: &Holiday) -> Result<Vec<(u32, u32)>, InvalidValue> {
    let mut pieces = vec![];
    for (i, interval) in holiday.open.iter().enumerate() {
        let path = format!("holidays[{index}].open[{i}]");
        let start = parse_time(&interval.start, &format!("{path}.start"), false)?;
        let end = parse_time(&interval.end, &format!("{path}.end"), true)?;
        if end <= start {
            return Err(invalid(format!(
                "{path}: a holiday's hours must end after they start on the same date ({}–{})",
                interval.start, interval.end
            )));
        }
        if let Some(&(s, e)) = pieces.iter().find(|&&(s, e)| start < e && s < end) {
            return Err(invalid(format!(
                "{path} ({}–{}) overlaps another interval of the same holiday ({}–{})",
                interval.start,
                interval.end,
                hhmm(s),
                hhmm(e)
            )));
        }
        pieces.push((start, end));
    }
    Ok(merge_pieces(pieces))
}

fn merge_pieces(mut pieces: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    pieces.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(pieces.len());
    for (start, end) in pieces {
        match out.last_mut() {
            Some(last) if last.1 >= start => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

fn hhmm(seconds: u32) -> String {
    format!("{:02}:{:02}", seconds / 3600, seconds / 60 % 60)
}

/// Which clock a duration is measured on: plain calendar time, or the
/// business time of a schedule. Metrics and SLA take one of these so both
/// measure the same way.
#[derive(Debug, Clone, Copy)]
pub enum Clock<'a> {
    Calendar,
    Business(&'a BusinessHours),
}

impl Clock<'_> {
    /// Milliseconds in `[from, to)` on this clock; 0 when `to` is not after `from`.
    pub fn elapsed_ms(&self, from: Timestamp, to: Timestamp) -> i64 {
        match self {
            Clock::Calendar => ms_between(from, to),
            Clock::Business(hours) => hours.business_ms(from, to),
        }
    }

    /// The earliest instant at which `ms` milliseconds have passed on this
    /// clock since `from`; `None` when that never happens.
    pub fn add_ms(&self, from: Timestamp, ms: i64) -> Option<Timestamp> {
        match self {
            Clock::Calendar => from.checked_add(SignedDuration::from_millis(ms.max(0))).ok(),
            Clock::Business(hours) => hours.add_business_ms(from, ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const MINUTE: i64 = 60_000;

    /// A local wall-clock time in `zone`, resolved as jiff's compatible mode does (tests pick unambiguous times).
    fn local(zone: &str, text: &str) -> Timestamp {
        let dt: jiff::civil::DateTime = text.parse().unwrap_or_default();
        time_zone(zone).and_then(|tz| tz.to_timestamp(dt).map_err(|e| invalid(e.to_string()))).unwrap_or_default()
    }

    fn utc(text: &str) -> Timestamp {
        text.parse().unwrap_or_default()
    }

    fn hours(config: BusinessHoursConfig) -> BusinessHours {
        match BusinessHours::try_from(config) {
            Ok(hours) => hours,
            Err(e) => panic!("valid config refused: {e}"),
        }
    }

    fn nine_to_six(zone: &str) -> BusinessHoursConfig {
        BusinessHoursConfig {
            time_zone: zone.into(),
            week: WeekSchedule::weekdays(vec![OpenInterval::new("09:00", "18:00")]),
            holidays: vec![],
        }
    }

    fn daily(zone: &str, start: &str, end: &str) -> BusinessHours {
        hours(BusinessHoursConfig {
            time_zone: zone.into(),
            week: WeekSchedule::every_day(vec![OpenInterval::new(start, end)]),
            holidays: vec![],
        })
    }

    fn date(text: &str) -> Date {
        text.parse().unwrap_or(Date::MIN)
    }

    #[test]
    fn a_24_7_day_has_23_or_25_hours_when_the_clocks_change_in_athens() {
        let h = hours(BusinessHoursConfig::always_open("Europe/Athens"));
        // 2025-03-30 03:00 → 04:00; 2025-10-26 04:00 → 03:00.
        let spring =
            h.business_ms(local("Europe/Athens", "2025-03-30T00:00"), local("Europe/Athens", "2025-03-31T00:00"));
        assert_eq!(spring, 23 * HOUR);
        let autumn =
            h.business_ms(local("Europe/Athens", "2025-10-26T00:00"), local("Europe/Athens", "2025-10-27T00:00"));
        assert_eq!(autumn, 25 * HOUR);
        // Business time equals calendar time around the clock.
        let (a, b) = (utc("2025-03-29T17:13:05Z"), utc("2025-03-30T09:01:00Z"));
        assert_eq!(h.business_ms(a, b), b.as_millisecond() - a.as_millisecond());
    }

    #[test]
    fn an_interval_straddling_the_change_is_an_hour_shorter_or_longer_in_new_york() {
        let h = daily("America/New_York", "00:00", "06:00");
        // 2025-03-09 02:00 → 03:00; 2025-11-02 02:00 → 01:00.
        let day = |d: &str| {
            (local("America/New_York", &format!("{d}T00:00")), local("America/New_York", &format!("{d}T12:00")))
        };
        let (a, b) = day("2025-03-09");
        assert_eq!(h.business_ms(a, b), 5 * HOUR);
        let (a, b) = day("2025-11-02");
        assert_eq!(h.business_ms(a, b), 7 * HOUR);
        let (a, b) = day("2025-11-03");
        assert_eq!(h.business_ms(a, b), 6 * HOUR);
    }

    #[test]
    fn boundaries_inside_a_skipped_or_repeated_hour_follow_the_first_instant_rule() {
        // Starts inside the skipped hour: opens at the transition (03:00 EDT).
        let h = daily("America/New_York", "02:30", "04:00");
        let (a, b) = (utc("2025-03-09T00:00:00Z"), utc("2025-03-10T00:00:00Z"));
        assert_eq!(h.business_ms(a, b), HOUR);
        assert_eq!(h.next_open(a), Some(utc("2025-03-09T07:00:00Z")));
        // Ends inside the repeated hour: at its first occurrence (01:30 EDT = 05:30Z).
        let h = daily("America/New_York", "00:00", "01:30");
        let (a, b) = (utc("2025-11-02T00:00:00Z"), utc("2025-11-03T00:00:00Z"));
        assert_eq!(h.business_ms(a, b), 90 * MINUTE);
        assert!(h.is_open(utc("2025-11-02T05:29:59Z")));
        assert!(!h.is_open(utc("2025-11-02T06:15:00Z"))); // 01:15 EST, the second pass
        // A piece wholly inside the skipped hour is empty that day.
        let h = daily("Europe/Athens", "03:10", "03:50");
        let (a, b) = (utc("2025-03-29T12:00:00Z"), utc("2025-03-31T12:00:00Z"));
        assert_eq!(h.business_ms(a, b), 40 * MINUTE); // only the 31st's morning counts
    }

    #[test]
    fn adjacent_intervals_tile_a_fall_back_day_exactly() {
        let h = hours(BusinessHoursConfig {
            time_zone: "Europe/Athens".into(),
            week: WeekSchedule::every_day(vec![
                OpenInterval::new("00:00", "03:30"),
                OpenInterval::new("03:30", "24:00"),
            ]),
            holidays: vec![],
        });
        let a = local("Europe/Athens", "2025-10-26T00:00");
        let b = local("Europe/Athens", "2025-10-27T00:00");
        assert_eq!(h.business_ms(a, b), 25 * HOUR);
        assert_eq!(h.next_close(a), None, "open around the clock: no closing within the horizon");
    }

    #[test]
    fn an_overnight_interval_runs_across_midnight_and_from_sunday_into_monday() {
        let h = hours(BusinessHoursConfig {
            time_zone: "Europe/Athens".into(),
            week: WeekSchedule {
                friday: vec![OpenInterval::new("22:00", "06:00")],
                sunday: vec![OpenInterval::new("20:00", "02:00")],
                ..Default::default()
            },
            holidays: vec![],
        });
        let z = "Europe/Athens";
        // 2025-06-06 is a Friday.
        assert_eq!(h.business_ms(local(z, "2025-06-06T21:00"), local(z, "2025-06-07T07:00")), 8 * HOUR);
        assert!(h.is_open(local(z, "2025-06-07T05:59")));
        assert!(!h.is_open(local(z, "2025-06-07T06:00")));
        assert!(h.is_open(local(z, "2025-06-09T01:00")), "Sunday's interval runs into Monday");
        assert_eq!(h.next_open(local(z, "2025-06-07T06:00")), Some(local(z, "2025-06-08T20:00")));
        assert_eq!(h.next_close(local(z, "2025-06-08T21:00")), Some(local(z, "2025-06-09T02:00")));
    }

    #[test]
    fn holidays_close_a_day_or_give_it_special_hours() {
        let mut config = nine_to_six("Europe/Athens");
        config.holidays = vec![
            Holiday { date: date("2025-12-25"), name: "Christmas".into(), open: vec![] },
            Holiday {
                date: date("2025-12-24"),
                name: "Christmas Eve".into(),
                open: vec![OpenInterval::new("09:00", "13:00")],
            },
            Holiday {
                date: date("2025-12-27"),
                name: "Stock-taking Saturday".into(),
                open: vec![OpenInterval::new("10:00", "12:00")],
            },
        ];
        let h = hours(config);
        let z = "Europe/Athens";
        // Tue 23 17:00 → Fri 26 10:00: 1 h + 4 h (Eve) + 0 (Christmas) + 1 h.
        assert_eq!(h.business_ms(local(z, "2025-12-23T17:00"), local(z, "2025-12-26T10:00")), 6 * HOUR);
        assert!(!h.is_open(local(z, "2025-12-24T14:00")));
        assert!(h.is_open(local(z, "2025-12-27T11:00")), "a holiday may open a normally closed day");
        assert_eq!(h.next_open(local(z, "2025-12-24T13:00")), Some(local(z, "2025-12-26T09:00")));
        // One business hour from Eve 12:30 is Boxing Day 09:30.
        assert_eq!(h.add_business_ms(local(z, "2025-12-24T12:30"), HOUR), Some(local(z, "2025-12-26T09:30")));
    }

    #[test]
    fn a_holiday_closes_the_tail_of_an_overnight_interval_on_its_date() {
        let h = hours(BusinessHoursConfig {
            time_zone: "UTC".into(),
            week: WeekSchedule::every_day(vec![OpenInterval::new("22:00", "02:00")]),
            holidays: vec![Holiday { date: date("2025-01-02"), name: String::new(), open: vec![] }],
        });
        // Jan 1 22:00–24:00 open; Jan 2 00:00–02:00 closed (holiday), 22:00–24:00 closed too; Jan 3 00:00–02:00 open.
        assert_eq!(h.business_ms(utc("2025-01-01T12:00:00Z"), utc("2025-01-03T12:00:00Z")), 4 * HOUR);
    }

    #[test]
    fn a_schedule_that_never_opens_answers_at_once() {
        let h = hours(BusinessHoursConfig { time_zone: "UTC".into(), week: WeekSchedule::default(), holidays: vec![] });
        let (a, b) = (utc("2025-01-01T00:00:00Z"), utc("2026-01-01T00:00:00Z"));
        assert_eq!(h.business_ms(a, b), 0);
        assert_eq!(h.add_business_ms(a, MINUTE), None);
        assert_eq!(h.add_business_ms(a, 0), Some(a));
        assert_eq!(h.next_open(a), None);
        assert!(!h.is_open(a));
        // Only a holiday with hours opens it, once.
        let h = hours(BusinessHoursConfig {
            time_zone: "UTC".into(),
            week: WeekSchedule::default(),
            holidays: vec![Holiday {
                date: date("2025-05-01"),
                name: String::new(),
                open: vec![OpenInterval::new("10:00", "11:00")],
            }],
        });
        assert_eq!(h.add_business_ms(a, 30 * MINUTE), Some(utc("2025-05-01T10:30:00Z")));
        assert_eq!(h.add_business_ms(a, 2 * HOUR), None);
    }

    #[test]
    fn a_year_of_weekday_hours_counts_every_weekday_across_both_changes() {
        let h = hours(nine_to_six("Europe/Athens"));
        let z = "Europe/Athens";
        let mut weekdays = 0;
        let mut d = date("2025-01-01");
        while d < date("2026-01-01") {
            weekdays += i64::from(d.weekday().to_monday_one_offset() <= 5);
            d = d.tomorrow().unwrap_or(Date::MAX);
        }
        assert_eq!(weekdays, 261);
        let (a, b) = (local(z, "2025-01-01T00:00"), local(z, "2026-01-01T00:00"));
        assert_eq!(h.business_ms(a, b), weekdays * 9 * HOUR);
        // And 24/7 over a year in New York is exactly 365 days: the two changes cancel.
        let h = hours(BusinessHoursConfig::always_open("America/New_York"));
        let (a, b) = (local("America/New_York", "2025-01-01T00:00"), local("America/New_York", "2026-01-01T00:00"));
        assert_eq!(h.business_ms(a, b), 365 * 24 * HOUR);
    }

    #[test]
    fn spans_longer_than_the_search_horizon_are_measured_in_full() {
        let h = hours(BusinessHoursConfig::always_open("Europe/Athens"));
        let (a, b) = (utc("2020-01-01T00:00:00Z"), utc("2035-01-01T00:00:00Z"));
        assert_eq!(h.business_ms(a, b), b.as_millisecond() - a.as_millisecond());
    }

    #[test]
    fn adding_business_time_is_the_exact_inverse_of_measuring_it() {
        let h = hours(BusinessHoursConfig {
            time_zone: "America/New_York".into(),
            week: WeekSchedule {
                monday: vec![OpenInterval::new("08:00", "12:00"), OpenInterval::new("13:00", "17:30")],
                wednesday: vec![OpenInterval::new("00:00", "03:00")],
                saturday: vec![OpenInterval::new("23:00", "01:30")],
                ..WeekSchedule::weekdays(vec![OpenInterval::new("01:00", "02:30")])
            },
            holidays: vec![],
        });
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let start = utc("2025-02-20T00:00:00Z").as_millisecond();
        for _ in 0..300 {
            let from_ms = start + i64::try_from(next() % (300 * 24 * HOUR as u64)).unwrap_or(0);
            let from = Timestamp::from_millisecond(from_ms).unwrap_or_default();
            let amount = 1 + i64::try_from(next() % (40 * HOUR as u64)).unwrap_or(0);
            let Some(due) = h.add_business_ms(from, amount) else { panic!("the schedule opens every week") };
            assert_eq!(h.business_ms(from, due), amount, "from {from} + {amount} ms = {due}");
            let just_before = Timestamp::from_millisecond(due.as_millisecond() - 1).unwrap_or_default();
            assert_eq!(h.business_ms(from, just_before), amount - 1, "{due} is the earliest such instant");
            assert!(h.is_open(just_before), "time is only added while open");
        }
    }

    #[test]
    fn next_open_and_close_across_a_weekend() {
        let h = hours(nine_to_six("Europe/Athens"));
        let z = "Europe/Athens";
        let friday_evening = local(z, "2025-06-06T18:00");
        assert!(!h.is_open(friday_evening), "the end of an interval is closed");
        assert!(h.is_open(local(z, "2025-06-06T17:59:59")));
        assert_eq!(h.next_open(friday_evening), Some(local(z, "2025-06-09T09:00")));
        assert_eq!(h.next_open(local(z, "2025-06-09T10:00")), Some(local(z, "2025-06-09T10:00")));
        assert_eq!(h.next_close(local(z, "2025-06-09T10:00")), Some(local(z, "2025-06-09T18:00")));
        assert_eq!(h.add_business_ms(local(z, "2025-06-06T17:30"), HOUR), Some(local(z, "2025-06-09T09:30")));
        // Reaching the target exactly at closing time is due at closing time.
        assert_eq!(h.add_business_ms(local(z, "2025-06-06T17:30"), 30 * MINUTE), Some(friday_evening));
    }

    #[test]
    fn clocks_measure_calendar_or_business_time() {
        let h = hours(nine_to_six("UTC"));
        let (a, b) = (utc("2025-06-06T17:00:00Z"), utc("2025-06-09T10:00:00Z"));
        assert_eq!(Clock::Calendar.elapsed_ms(a, b), 65 * HOUR);
        assert_eq!(Clock::Business(&h).elapsed_ms(a, b), 2 * HOUR);
        assert_eq!(Clock::Calendar.elapsed_ms(b, a), 0);
        assert_eq!(Clock::Calendar.add_ms(a, HOUR), Some(utc("2025-06-06T18:00:00Z")));
        assert_eq!(Clock::Business(&h).add_ms(a, 2 * HOUR), Some(b));
    }

    fn refusal(config: BusinessHoursConfig) -> String {
        BusinessHours::try_from(config).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn bad_configs_are_refused_with_the_place_and_the_reason() {
        let mut c = nine_to_six("Mars/Olympus_Mons");
        assert!(refusal(c.clone()).contains("\"Mars/Olympus_Mons\" is not a known IANA time zone"));
        c.time_zone = "Europe/Athens".into();
        c.week.tuesday = vec![OpenInterval::new("09:00", "12:00"), OpenInterval::new("11:00", "14:00")];
        assert_eq!(
            refusal(c.clone()),
            "business_hours: week.tuesday[1] (11:00–14:00) overlaps week.tuesday[0] (09:00–12:00)"
        );
        c.week.tuesday = vec![OpenInterval::new("25:00", "26:00")];
        assert!(refusal(c.clone()).contains("week.tuesday[0].start: \"25:00\" is not a time of day"));
        c.week.tuesday = vec![OpenInterval::new("9:00", "17:00")];
        assert!(refusal(c.clone()).contains("\"9:00\" is not a time of day"));
        c.week.tuesday = vec![OpenInterval::new("24:00", "17:00")];
        assert!(refusal(c.clone()).contains("week.tuesday[0].start: \"24:00\""));
        c.week.tuesday = vec![OpenInterval::new("10:00", "10:00")];
        assert!(refusal(c.clone()).contains("start and end are both 10:00"));
        c.week.tuesday = vec![];
        c.week.sunday = vec![OpenInterval::new("22:00", "06:00")];
        assert!(BusinessHours::try_from(c.clone()).is_ok(), "Sunday 22:00–06:00 ends before Monday opens");
        c.week.sunday = vec![OpenInterval::new("22:00", "09:30")];
        assert!(refusal(c.clone()).contains("week.sunday[0] (22:00–09:30) overlaps week.monday[0] (09:00–18:00)"));
        c.week.sunday = vec![];
        c.holidays = vec![
            Holiday { date: date("2025-05-01"), name: String::new(), open: vec![] },
            Holiday { date: date("2025-05-01"), name: String::new(), open: vec![] },
        ];
        assert!(refusal(c.clone()).contains("holidays[1]: 2025-05-01 is listed twice"));
        c.holidays = vec![Holiday {
            date: date("2025-05-01"),
            name: String::new(),
            open: vec![OpenInterval::new("22:00", "02:00")],
        }];
        assert!(refusal(c.clone()).contains("must end after they start on the same date"));
        c.holidays = vec![Holiday {
            date: date("2025-05-01"),
            name: String::new(),
            open: vec![OpenInterval::new("09:00", "12:00"), OpenInterval::new("10:00", "11:00")],
        }];
        assert!(refusal(c).contains("holidays[0].open[1] (10:00–11:00) overlaps"));
    }

    #[test]
    fn json_round_trips_and_deserialising_validates() {
        let text = r#"{"time_zone":"Europe/Athens","week":{"monday":[{"start":"09:00","end":"18:00"}]},
            "holidays":[{"date":"2025-12-25","name":"Christmas"}]}"#;
        let parsed: Result<BusinessHours, _> = serde_json::from_str(text);
        let Ok(h) = parsed else { panic!("valid JSON refused") };
        assert_eq!(h.config().week.monday, vec![OpenInterval::new("09:00", "18:00")]);
        assert!(h.config().week.friday.is_empty());
        let back: Result<BusinessHours, _> = serde_json::to_string(&h).and_then(|s| serde_json::from_str(&s));
        assert_eq!(back.ok(), Some(h));
        let bad = serde_json::from_str::<BusinessHours>(r#"{"time_zone":"Nowhere/City"}"#);
        assert!(bad.err().map(|e| e.to_string()).unwrap_or_default().contains("not a known IANA time zone"));
    }
}
