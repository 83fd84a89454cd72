//! Surge detection: inbound volume and negative share per key (a channel or
//! a workspace) against its recent baseline, one alert per surge, and the
//! terms that set the surge apart from normal traffic.
//!
//! Messages are counted in fixed buckets (one minute by default). When a
//! bucket closes, the last `window_buckets` buckets are compared with the
//! baseline, an exponentially weighted moving average (EWMA) of past buckets:
//!
//! - **volume** opens when the window holds at least `min_count` messages and
//!   at least `open_ratio` × the baseline; it closes when the window falls
//!   below `close_ratio` × the baseline (hysteresis: one alert per surge, not
//!   one per message or per minute);
//! - **negative share** opens when the window holds at least `min_negative`
//!   negative messages and its negative share exceeds the baseline share by
//!   `share_open_increase`; it closes below `share_close_increase`.
//!
//! The baseline learns from buckets as they leave the window, and stands
//! still while an alert is open, so a surge never becomes its own baseline; an alert open for `max_open_buckets` closes and
//! the current level becomes the new normal. The first `warmup_buckets`
//! buckets only build the baseline. The detector is plain data (serde), so
//! a worker can keep one per key, persist it, or rebuild it from per-minute
//! counts with [`SurgeDetector::record_bucket`].

use std::collections::{HashMap, HashSet, VecDeque};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::InvalidValue;
use crate::known_issues::{fold, word_runs};

/// Thresholds of the detector. The defaults suit a channel of a few
/// messages a minute up to thousands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SurgeConfig {
    pub bucket_seconds: i64,
    /// EWMA weight of each new bucket (0.05 ≈ the last 40 minutes with one-minute buckets).
    pub alpha: f64,
    pub window_buckets: usize,
    pub warmup_buckets: u64,
    /// Messages the window must hold before a volume alert (quiet channels never alert).
    pub min_count: u64,
    pub open_ratio: f64,
    pub close_ratio: f64,
    /// The baseline is never taken as lower than this many messages per bucket.
    pub min_baseline_per_bucket: f64,
    pub min_negative: u64,
    pub share_open_increase: f64,
    pub share_close_increase: f64,
    pub max_open_buckets: u64,
}

impl Default for SurgeConfig {
    fn default() -> Self {
        Self {
            bucket_seconds: 60,
            alpha: 0.05,
            window_buckets: 5,
            warmup_buckets: 30,
            min_count: 20,
            open_ratio: 3.0,
            close_ratio: 1.5,
            min_baseline_per_bucket: 1.0,
            min_negative: 10,
            share_open_increase: 0.25,
            share_close_increase: 0.10,
            max_open_buckets: 360,
        }
    }
}

impl SurgeConfig {
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let fail = |message: &str| Err(InvalidValue::new("surge_config", message.to_owned()));
        if !(1..=86_400).contains(&self.bucket_seconds) {
            return fail("bucket_seconds must be between 1 and 86400");
        }
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return fail("alpha must be in (0, 1]");
        }
        if !(1..=1440).contains(&self.window_buckets) {
            return fail("window_buckets must be between 1 and 1440");
        }
        if !(self.close_ratio >= 1.0 && self.open_ratio > self.close_ratio) {
            return fail("open_ratio must exceed close_ratio, and close_ratio be at least 1");
        }
        if self.min_baseline_per_bucket.is_nan() || self.min_baseline_per_bucket <= 0.0 {
            return fail("min_baseline_per_bucket must be positive");
        }
        if !(self.share_close_increase >= 0.0 && self.share_open_increase > self.share_close_increase) {
            return fail("share_open_increase must exceed share_close_increase, which must not be negative");
        }
        if self.min_count == 0 || self.min_negative == 0 || self.max_open_buckets == 0 {
            return fail("min_count, min_negative and max_open_buckets must be positive");
        }
        Ok(())
    }
}

/// What surged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SurgeMeasure {
    Volume,
    NegativeShare,
}

/// An open surge, as the in-app alert shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SurgeAlert {
    pub key: String,
    pub measure: SurgeMeasure,
    /// The end of the bucket whose close raised the alert.
    #[schema(value_type = String, format = DateTime)]
    pub opened_at: Timestamp,
    /// The start of the window that raised it: the matching conversations are those since then.
    #[schema(value_type = String, format = DateTime)]
    pub window_start: Timestamp,
    pub window_count: u64,
    pub window_negative: u64,
    /// Expected messages per bucket.
    pub baseline_per_bucket: f64,
    pub baseline_negative_share: f64,
}

/// What a bucket close changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SurgeEvent {
    Opened(SurgeAlert),
    Closed {
        key: String,
        measure: SurgeMeasure,
        #[schema(value_type = String, format = DateTime)]
        opened_at: Timestamp,
        #[schema(value_type = String, format = DateTime)]
        closed_at: Timestamp,
        /// The largest window count seen while it was open.
        peak_window_count: u64,
        /// True when it closed because the surge lasted `max_open_buckets` and became the new baseline.
        new_normal: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct OpenSurge {
    opened_at: Timestamp,
    opened_bucket: i64,
    peak_window_count: u64,
}

/// The detector of one key. Feed it every inbound message ([`Self::record`])
/// and call [`Self::advance`] periodically so quiet minutes close buckets too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurgeDetector {
    key: String,
    config: SurgeConfig,
    /// The bucket being filled.
    bucket: Option<i64>,
    current: (u64, u64),
    /// The last closed buckets, newest last: (messages, negative).
    window: VecDeque<(u64, u64)>,
    baseline_total: f64,
    baseline_negative: f64,
    closed_buckets: u64,
    /// Buckets the baseline has learnt from (the first ones average plainly, later ones weigh `alpha`).
    baseline_buckets: u64,
    volume: Option<OpenSurge>,
    negative: Option<OpenSurge>,
}

impl SurgeDetector {
    pub fn new(key: &str, config: SurgeConfig) -> Result<Self, InvalidValue> {
        config.validate()?;
        Ok(Self {
            key: key.to_owned(),
            config,
            bucket: None,
            current: (0, 0),
            window: VecDeque::new(),
            baseline_total: 0.0,
            baseline_negative: 0.0,
            closed_buckets: 0,
            baseline_buckets: 0,
            volume: None,
            negative: None,
        })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Expected messages per bucket now.
    pub fn baseline_per_bucket(&self) -> f64 {
        self.baseline_total
    }

    /// The surges open now.
    pub fn open_measures(&self) -> Vec<SurgeMeasure> {
        let volume = self.volume.as_ref().map(|_| SurgeMeasure::Volume);
        let negative = self.negative.as_ref().map(|_| SurgeMeasure::NegativeShare);
        volume.into_iter().chain(negative).collect()
    }

    /// One inbound message at `at`. A message older than the bucket being
    /// filled (late delivery) counts in that bucket.
    pub fn record(&mut self, at: Timestamp, negative: bool) -> Vec<SurgeEvent> {
        let events = self.advance(at);
        self.current.0 += 1;
        self.current.1 += u64::from(negative);
        events
    }

    /// A whole bucket's counts at once (rebuilding from stored per-minute counts).
    pub fn record_bucket(&mut self, bucket_start: Timestamp, messages: u64, negative: u64) -> Vec<SurgeEvent> {
        let events = self.advance(bucket_start);
        self.current.0 += messages;
        self.current.1 += negative.min(messages);
        events
    }

    /// Closes every bucket that ended by `now`, evaluating each.
    pub fn advance(&mut self, now: Timestamp) -> Vec<SurgeEvent> {
        let target = now.as_second().div_euclid(self.config.bucket_seconds);
        let Some(mut bucket) = self.bucket else {
            self.bucket = Some(target);
            return vec![];
        };
        let mut events = vec![];
        // Past a full window of quiet buckets nothing can open or stay open,
        // so the rest of a long gap only decays the baseline (in closed form,
        // exact once the EWMA weight has settled at `alpha`).
        while bucket < target {
            let settled = self.baseline_buckets as f64 * self.config.alpha >= 1.0;
            if settled && self.window_is_quiet() {
                let skipped = target - bucket;
                if self.volume.is_none() && self.negative.is_none() {
                    let keep = (1.0 - self.config.alpha).powi(i32::try_from(skipped).unwrap_or(i32::MAX));
                    self.baseline_total *= keep;
                    self.baseline_negative *= keep;
                }
                self.closed_buckets += u64::try_from(skipped).unwrap_or(0);
                self.baseline_buckets += u64::try_from(skipped).unwrap_or(0);
                bucket = target;
                break;
            }
            events.extend(self.close_bucket(bucket));
            bucket += 1;
        }
        self.bucket = Some(bucket);
        events
    }

    fn window_is_quiet(&self) -> bool {
        self.current == (0, 0)
            && self.window.len() == self.config.window_buckets
            && self.window.iter().all(|&b| b == (0, 0))
            && self.volume.is_none()
            && self.negative.is_none()
    }

    fn close_bucket(&mut self, bucket: i64) -> Vec<SurgeEvent> {
        let c = &self.config;
        let counts = std::mem::take(&mut self.current);
        self.window.push_back(counts);
        self.closed_buckets += 1;
        // The baseline learns from buckets as they leave the window, so the
        // traffic being judged is never part of its own baseline.
        while self.window.len() > c.window_buckets {
            if let Some(old) = self.window.pop_front()
                && self.volume.is_none()
                && self.negative.is_none()
            {
                self.baseline_buckets += 1;
                let weight = c.alpha.max(1.0 / self.baseline_buckets as f64);
                self.baseline_total += weight * (old.0 as f64 - self.baseline_total);
                self.baseline_negative += weight * (old.1 as f64 - self.baseline_negative);
            }
        }
        let ends_at = bucket_instant(bucket + 1, c.bucket_seconds);
        let window_start = bucket_instant(bucket + 1 - self.window.len() as i64, c.bucket_seconds);
        let (total, negative) = self.window.iter().fold((0, 0), |(t, n), &(bt, bn)| (t + bt, n + bn));
        let expected = self.baseline_total.max(c.min_baseline_per_bucket) * c.window_buckets as f64;
        let base_share = if self.baseline_total > 0.0 { self.baseline_negative / self.baseline_total } else { 0.0 };
        let share = if total > 0 { negative as f64 / total as f64 } else { 0.0 };
        let warmed_up = self.closed_buckets > c.warmup_buckets;
        let mut events = vec![];

        let volume_high = total >= c.min_count && total as f64 >= c.open_ratio * expected;
        let volume_low = (total as f64) < c.close_ratio * expected;
        let share_high = negative >= c.min_negative && share >= base_share + c.share_open_increase;
        let share_low = share < base_share + c.share_close_increase;
        let template = SurgeAlert {
            key: self.key.clone(),
            measure: SurgeMeasure::Volume,
            opened_at: ends_at,
            window_start,
            window_count: total,
            window_negative: negative,
            baseline_per_bucket: self.baseline_total,
            baseline_negative_share: base_share,
        };
        let mut new_normal = false;
        for (measure, high, low) in
            [(SurgeMeasure::Volume, volume_high, volume_low), (SurgeMeasure::NegativeShare, share_high, share_low)]
        {
            let slot = match measure {
                SurgeMeasure::Volume => &mut self.volume,
                SurgeMeasure::NegativeShare => &mut self.negative,
            };
            match slot.take() {
                None if warmed_up && high => {
                    events.push(SurgeEvent::Opened(SurgeAlert { measure, ..template.clone() }));
                    *slot = Some(OpenSurge { opened_at: ends_at, opened_bucket: bucket, peak_window_count: total });
                }
                None => {}
                Some(open) => {
                    let peak_window_count = open.peak_window_count.max(total);
                    let too_long = u64::try_from(bucket - open.opened_bucket).unwrap_or(0) >= c.max_open_buckets;
                    if low || too_long {
                        new_normal |= !low;
                        events.push(SurgeEvent::Closed {
                            key: self.key.clone(),
                            measure,
                            opened_at: open.opened_at,
                            closed_at: ends_at,
                            peak_window_count,
                            new_normal: !low,
                        });
                    } else {
                        *slot = Some(OpenSurge { peak_window_count, ..open });
                    }
                }
            }
        }
        if new_normal {
            let buckets = self.window.len().max(1) as f64;
            self.baseline_total = total as f64 / buckets;
            self.baseline_negative = negative as f64 / buckets;
        }

        events
    }
}

fn bucket_instant(bucket: i64, bucket_seconds: i64) -> Timestamp {
    Timestamp::from_second(bucket.saturating_mul(bucket_seconds)).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Han ideographs (CJK unified, extensions and compatibility).
pub fn is_han(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2A6DF}' | '\u{2A700}'..='\u{2EBEF}' | '\u{30000}'..='\u{3134F}')
}

/// Small stop-word lists (folded) for the main languages; the baseline
/// comparison removes most remaining common words anyway.
const STOP_WORDS: &[&str] = &[
    // en
    "the",
    "and",
    "for",
    "you",
    "your",
    "are",
    "was",
    "is",
    "it",
    "to",
    "of",
    "in",
    "on",
    "my",
    "me",
    "we",
    "our",
    "this",
    "that",
    "with",
    "at",
    "be",
    "have",
    "has",
    "not",
    "no",
    "do",
    "can",
    "please",
    "hi",
    "hello",
    "thanks",
    "thank",
    "just",
    "why",
    "what",
    "how",
    "when",
    "still",
    "any",
    "from",
    "an",
    "or",
    "so",
    "but",
    "if",
    "all",
    "get",
    "there",
    "im",
    "its",
    "dont",
    "cant",
    "been",
    "will",
    "they",
    "them",
    "us",
    "as",
    "by",
    "again",
    "now",
    // ru
    "и",
    "в",
    "не",
    "на",
    "что",
    "я",
    "с",
    "у",
    "а",
    "как",
    "это",
    "по",
    "но",
    "вы",
    "мне",
    "мои",
    "же",
    "уже",
    "вас",
    "нет",
    "да",
    "за",
    "от",
    "так",
    "все",
    "есть",
    "когда",
    "почему",
    "где",
    "еще",
    "или",
    "здравствуите",
    "спасибо",
    "пожалуиста",
    "меня",
    "до",
    // uk
    "і",
    "що",
    "з",
    "як",
    "це",
    "але",
    "ви",
    "мені",
    "вже",
    "ще",
    "чому",
    "де",
    "дякую",
    "будь",
    "ласка",
    "мене",
    // el
    "και",
    "το",
    "η",
    "ο",
    "να",
    "δεν",
    "σε",
    "με",
    "για",
    "τα",
    "τησ",
    "του",
    "την",
    "που",
    "ειναι",
    "θα",
    "μου",
    "απο",
    "στο",
    "στην",
    "οι",
    "τι",
    "γιατι",
    "ευχαριστω",
    // es / pt / it / fr
    "el",
    "la",
    "de",
    "que",
    "y",
    "en",
    "un",
    "una",
    "es",
    "por",
    "con",
    "para",
    "los",
    "las",
    "mi",
    "lo",
    "se",
    "del",
    "al",
    "o",
    "e",
    "do",
    "da",
    "em",
    "um",
    "uma",
    "nao",
    "com",
    "os",
    "meu",
    "minha",
    "il",
    "di",
    "che",
    "non",
    "per",
    "ho",
    "della",
    "le",
    "les",
    "des",
    "et",
    "est",
    "pas",
    "je",
    "du",
    "pour",
    "mon",
    "ma",
    "ne",
    "gracias",
    "obrigado",
    "grazie",
    "merci",
    // de
    "der",
    "die",
    "das",
    "und",
    "ist",
    "nicht",
    "ich",
    "zu",
    "ein",
    "eine",
    "mit",
    "auf",
    "fur",
    "es",
    "mein",
    "bei",
    "sie",
    "wir",
    "noch",
    "danke",
    "bitte",
    // tr
    "ve",
    "bir",
    "bu",
    "icin",
    "ile",
    "ben",
    "cok",
    "ne",
    "mi",
    "var",
    "yok",
    "ama",
    "neden",
    "tesekkurler",
    // ar
    "في",
    "من",
    "على",
    "و",
    "ان",
    "هذا",
    "ما",
    "لا",
    "عن",
    "الى",
    "مع",
    "هل",
    "شكرا",
];

/// Han characters that make a bigram uninformative (particles, pronouns, very common verbs).
const HAN_STOP_CHARS: &str = "的了吗呢吧啊呀是我你他她它们在有和就也都这那么不很";

/// The terms of a message for surge comparison: folded words of two or more
/// characters (no stop-words, numbers, links or @handles), and bigrams of
/// adjacent Han characters for Chinese text.
pub fn terms(text: &str) -> Vec<String> {
    let mut out = vec![];
    for chunk in text.split_whitespace() {
        let lower = chunk.to_lowercase();
        if lower.contains("://") || lower.starts_with("www.") || lower.starts_with('@') {
            continue;
        }
        let folded = fold(chunk);
        for run in word_runs(&folded) {
            let chars: Vec<char> = run.chars().collect();
            if chars.first().is_some_and(|&c| is_han(c)) {
                for pair in chars.windows(2) {
                    if pair.iter().all(|&c| is_han(c) && !HAN_STOP_CHARS.contains(c)) {
                        out.push(pair.iter().collect());
                    }
                }
            } else if chars.len() >= 2 && !chars.iter().all(char::is_ascii_digit) && !STOP_WORDS.contains(&run) {
                out.push(run.to_owned());
            }
        }
    }
    out
}

/// A term that stands out in a surge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TermScore {
    pub term: String,
    /// Surge messages containing it.
    pub surge_messages: u64,
    /// Baseline messages containing it.
    pub baseline_messages: u64,
    pub score: f64,
}

/// The `limit` terms most typical of `surge` messages compared with
/// `baseline` messages: each term is counted once per message, must appear
/// in at least two surge messages, and is scored by its surge count times
/// the log of how much more often it appears than in the baseline (with
/// +0.5 smoothing). Ties go to the alphabetically first term.
pub fn top_terms(surge: &[&str], baseline: &[&str], limit: usize) -> Vec<TermScore> {
    let document_frequency = |texts: &[&str]| {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for text in texts {
            let unique: HashSet<String> = terms(text).into_iter().collect();
            for term in unique {
                *counts.entry(term).or_default() += 1;
            }
        }
        counts
    };
    let (in_surge, in_baseline) = (document_frequency(surge), document_frequency(baseline));
    let (n_surge, n_baseline) = (surge.len() as f64 + 1.0, baseline.len() as f64 + 1.0);
    let mut scored: Vec<TermScore> = in_surge
        .into_iter()
        .filter(|&(_, count)| count >= 2)
        .map(|(term, count)| {
            let before = in_baseline.get(&term).copied().unwrap_or(0);
            let lift = ((count as f64 + 0.5) / n_surge) / ((before as f64 + 0.5) / n_baseline);
            TermScore { score: count as f64 * lift.ln(), term, surge_messages: count, baseline_messages: before }
        })
        .filter(|t| t.score > 0.0)
        .collect();
    scored.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.term.cmp(&b.term)));
    scored.truncate(limit);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60;

    fn at(minute: i64, second: i64) -> Timestamp {
        Timestamp::from_second(1_750_000_020 + minute * MINUTE + second).unwrap_or_default()
    }

    fn detector() -> SurgeDetector {
        match SurgeDetector::new("ch_1", SurgeConfig::default()) {
            Ok(d) => d,
            Err(e) => panic!("default config refused: {e}"),
        }
    }

    /// Spreads `count` messages over minute `minute`, `negative` of them negative.
    fn minute(d: &mut SurgeDetector, minute: i64, count: u64, negative: u64, events: &mut Vec<SurgeEvent>) {
        for i in 0..count {
            let second = i64::try_from(i * 60 / count.max(1)).unwrap_or(0);
            events.extend(d.record(at(minute, second), i < negative));
        }
    }

    fn opened(events: &[SurgeEvent], measure: SurgeMeasure) -> usize {
        events.iter().filter(|e| matches!(e, SurgeEvent::Opened(a) if a.measure == measure)).count()
    }

    fn closed(events: &[SurgeEvent], measure: SurgeMeasure) -> usize {
        events.iter().filter(|e| matches!(e, SurgeEvent::Closed { measure: m, .. } if *m == measure)).count()
    }

    #[test]
    fn ten_times_the_baseline_within_five_minutes_raises_exactly_one_alert() {
        let mut d = detector();
        let mut events = vec![];
        let mut noise: u64 = 7;
        for m in 0..120 {
            noise = (noise * 31 + 11) % 5; // 8 to 12 a minute
            minute(&mut d, m, 8 + noise, 1, &mut events);
        }
        assert!(events.is_empty(), "steady traffic raises nothing: {events:?}");
        for (i, m) in (120..125).enumerate() {
            minute(&mut d, m, 10 + 18 * (i as u64 + 1), 2, &mut events); // ramps to 100 a minute
        }
        for m in 125..155 {
            minute(&mut d, m, 95 + (m as u64 % 10), 3, &mut events);
        }
        let alert = events.iter().find_map(|e| match e {
            SurgeEvent::Opened(a) => Some(a.clone()),
            _ => None,
        });
        let Some(alert) = alert else { panic!("no alert raised: {events:?}") };
        assert!(alert.opened_at <= at(125, 0), "raised within the five-minute ramp, at {}", alert.opened_at);
        assert!((9.0..11.0).contains(&alert.baseline_per_bucket), "baseline {}", alert.baseline_per_bucket);
        for m in 155..240 {
            minute(&mut d, m, 10, 1, &mut events);
        }
        assert_eq!(opened(&events, SurgeMeasure::Volume), 1, "{events:?}");
        assert_eq!(closed(&events, SurgeMeasure::Volume), 1, "it closes once the rate falls back");
        assert_eq!(opened(&events, SurgeMeasure::NegativeShare), 0, "the share of negatives did not rise");
        assert!(d.open_measures().is_empty());
    }

    #[test]
    fn a_quiet_channels_three_messages_raise_nothing() {
        let mut d = detector();
        let mut events = vec![];
        for m in 0..600 {
            if m % 97 == 0 {
                minute(&mut d, m, 1, 0, &mut events);
            }
        }
        minute(&mut d, 600, 3, 3, &mut events); // three angry messages in one minute
        events.extend(d.advance(at(700, 0)));
        assert!(events.is_empty(), "{events:?}");
    }

    #[test]
    fn a_rise_in_negative_share_raises_its_own_alert() {
        let mut d = detector();
        let mut events = vec![];
        for m in 0..60 {
            minute(&mut d, m, 20, 2, &mut events); // 10 % negative
        }
        for m in 60..80 {
            minute(&mut d, m, 24, 12, &mut events); // same volume, half negative
        }
        for m in 80..100 {
            minute(&mut d, m, 20, 2, &mut events);
        }
        assert_eq!(opened(&events, SurgeMeasure::NegativeShare), 1, "{events:?}");
        assert_eq!(closed(&events, SurgeMeasure::NegativeShare), 1);
        assert_eq!(opened(&events, SurgeMeasure::Volume), 0);
    }

    #[test]
    fn nothing_alerts_while_the_baseline_warms_up() {
        let mut d = detector();
        let mut events = vec![];
        for m in 0..10 {
            minute(&mut d, m, if m < 5 { 1 } else { 200 }, 0, &mut events);
        }
        assert!(events.is_empty());
    }

    #[test]
    fn a_surge_that_lasts_becomes_the_new_normal() {
        let config = SurgeConfig { max_open_buckets: 60, ..SurgeConfig::default() };
        let Ok(mut d) = SurgeDetector::new("ws_1", config) else { panic!("valid config") };
        let mut events = vec![];
        for m in 0..60 {
            minute(&mut d, m, 10, 0, &mut events);
        }
        for m in 60..200 {
            minute(&mut d, m, 60, 0, &mut events);
        }
        assert_eq!(opened(&events, SurgeMeasure::Volume), 1, "{events:?}");
        assert!(events.iter().any(|e| matches!(e, SurgeEvent::Closed { new_normal: true, .. })));
        assert!(d.baseline_per_bucket() > 50.0);
    }

    #[test]
    fn a_long_silence_closes_alerts_and_costs_little() {
        let mut d = detector();
        let mut events = vec![];
        for m in 0..60 {
            minute(&mut d, m, 10, 0, &mut events);
        }
        for m in 60..65 {
            minute(&mut d, m, 150, 0, &mut events);
        }
        assert_eq!(d.open_measures(), vec![SurgeMeasure::Volume]);
        events.extend(d.advance(at(60 * 24 * 365, 0)));
        assert_eq!(closed(&events, SurgeMeasure::Volume), 1);
        assert!(d.baseline_per_bucket() < 0.01);
        // Serialises for a worker to keep.
        let back: Option<SurgeDetector> = serde_json::to_string(&d).ok().and_then(|s| serde_json::from_str(&s).ok());
        assert_eq!(back, Some(d));
    }

    #[test]
    fn rebuilding_from_bucket_counts_gives_the_same_events() {
        let (mut by_message, mut by_bucket) = (detector(), detector());
        let (mut a, mut b) = (vec![], vec![]);
        for m in 0..100 {
            let count = if (60..70).contains(&m) { 80 } else { 9 };
            minute(&mut by_message, m, count, 1, &mut a);
            b.extend(by_bucket.record_bucket(at(m, 0), count, 1));
        }
        a.extend(by_message.advance(at(101, 0)));
        b.extend(by_bucket.advance(at(101, 0)));
        assert_eq!(a, b);
        assert_eq!(opened(&a, SurgeMeasure::Volume), 1);
    }

    #[test]
    fn bad_configs_are_refused() {
        assert!(SurgeDetector::new("k", SurgeConfig { open_ratio: 1.2, ..SurgeConfig::default() }).is_err());
        assert!(SurgeDetector::new("k", SurgeConfig { alpha: 0.0, ..SurgeConfig::default() }).is_err());
        assert!(SurgeDetector::new("k", SurgeConfig { bucket_seconds: 0, ..SurgeConfig::default() }).is_err());
        assert!(SurgeDetector::new("k", SurgeConfig { window_buckets: 0, ..SurgeConfig::default() }).is_err());
        assert!(SurgeDetector::new("k", SurgeConfig { alpha: f64::NAN, ..SurgeConfig::default() }).is_err());
    }

    #[test]
    fn terms_across_scripts() {
        assert_eq!(
            terms("The APP crashes again!! https://t.co/x @acme_help #Outage 2025"),
            vec!["app", "crashes", "outage"]
        );
        assert_eq!(terms("Δεν έχω ΔΊΚΤΥΟ"), vec!["εχω", "δικτυο"]);
        assert_eq!(terms("Не работает интернет"), vec!["работает", "интернет"]);
        assert_eq!(terms("网络断了，我们很生气"), vec!["网络", "络断", "生气"]);
        assert_eq!(terms("wifi网络"), vec!["wifi", "网络"]);
    }

    #[test]
    fn top_terms_are_what_the_surge_talks_about() {
        let baseline = [
            "where is my order",
            "order status please",
            "how do I return shoes",
            "my order is late",
            "change delivery address",
            "refund for order",
            "app login help",
            "order not arrived",
        ];
        let surge = [
            "app crashes on login",
            "the app crashes every time",
            "app crash after update",
            "update broke the app",
            "login fails after update",
            "app keeps crashing",
            "is the app down?",
            "where is my order",
            "应用崩溃了",
            "应用又崩溃",
            "更新以后应用崩溃",
        ];
        let top = top_terms(&surge, &baseline, 4);
        let words: Vec<&str> = top.iter().map(|t| t.term.as_str()).collect();
        assert_eq!(words[0], "app", "{top:?}");
        assert!(words.contains(&"update"), "{top:?}");
        assert!(!words.contains(&"order"), "common in the baseline too: {top:?}");
        let han = top_terms(&surge, &baseline, 20);
        assert!(han.iter().any(|t| t.term == "崩溃" && t.surge_messages == 3), "{han:?}");
        assert!(han.iter().any(|t| t.term == "crashes" && t.surge_messages == 2), "{han:?}");
        assert!(!han.iter().any(|t| t.term == "crash"), "a term in one message only is noise: {han:?}");
        assert!(top_terms(&[], &baseline, 5).is_empty());
    }
}
