//! The sandbox clock and its deterministic random generator.
//!
//! Two notions of time are kept apart on purpose:
//! - *business time* (`now`): timestamps in payloads, messaging windows, token
//!   ages. It follows the machine clock until a test calls `set_now`, which
//!   freezes it; `advance` moves it either way.
//! - *rate time* (`rate_elapsed`): what per-second and per-15-minute rate limits
//!   count against. It is the real monotonic time since start plus every
//!   `advance`, so a frozen business clock never freezes a rate limit (a client
//!   that sleeps for `retry_after` still gets through), yet a test can jump past
//!   a limit with `advance`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

#[derive(Debug)]
pub(crate) struct Clock {
    started: Instant,
    state: Mutex<ClockState>,
}

#[derive(Debug, Default)]
struct ClockState {
    frozen_at: Option<Timestamp>,
    offset: SignedDuration,
    advanced: Duration,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Clock { started: Instant::now(), state: Mutex::new(ClockState::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn now(&self) -> Timestamp {
        let state = self.lock();
        match state.frozen_at {
            Some(frozen) => frozen,
            None => Timestamp::now().checked_add(state.offset).unwrap_or_else(|_| Timestamp::now()),
        }
    }

    /// Freezes business time at `t`.
    pub(crate) fn set_now(&self, t: Timestamp) {
        self.lock().frozen_at = Some(t);
    }

    pub(crate) fn advance(&self, by: SignedDuration) {
        let mut state = self.lock();
        match state.frozen_at {
            Some(frozen) => state.frozen_at = frozen.checked_add(by).ok(),
            None => state.offset = state.offset.saturating_add(by),
        }
        // Rate windows only ever move forward.
        if let Ok(forward) = Duration::try_from(by) {
            state.advanced += forward;
        }
    }

    pub(crate) fn rate_elapsed(&self) -> Duration {
        self.started.elapsed() + self.lock().advanced
    }
}

/// SplitMix64: tiny, fast and good enough to make ids and choices look random
/// while staying reproducible from the configured seed.
#[derive(Clone, Debug)]
pub(crate) struct DetRng {
    state: u64,
}

impl DetRng {
    pub(crate) fn new(seed: u64) -> Self {
        DetRng { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 { 0 } else { self.next_u64() % bound }
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let len = u64::try_from(items.len()).ok()?;
        items.get(usize::try_from(self.below(len)).ok()?)
    }

    pub(crate) fn alphanumeric(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len).map(|_| char::from(ALPHABET[(self.next_u64() % ALPHABET.len() as u64) as usize])).collect()
    }

    pub(crate) fn hex(&mut self, len: usize) -> String {
        (0..len).map(|_| char::from(b"0123456789abcdef"[(self.next_u64() % 16) as usize])).collect()
    }

    /// Fisher–Yates shuffle.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_advanced() {
        let clock = Clock::new();
        let t: Timestamp = "2026-11-03T09:12:45Z".parse().unwrap_or_else(|e| panic!("{e}"));
        clock.set_now(t);
        assert_eq!(clock.now(), t);
        clock.advance(SignedDuration::from_hours(25));
        assert_eq!(clock.now(), t + SignedDuration::from_hours(25));
        assert!(clock.rate_elapsed() >= Duration::from_secs(25 * 3600));
    }

    #[test]
    fn generator_repeats_from_the_same_seed_and_differs_across_seeds() {
        let (mut a, mut b, mut c) = (DetRng::new(7), DetRng::new(7), DetRng::new(8));
        let first: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let again: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let other: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        assert_eq!(first, again);
        assert_ne!(first, other);
    }
}
