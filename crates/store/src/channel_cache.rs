//! Channel rows, kept for a moment. Every webhook request, every ingested
//! batch and every conversation the service-levels follower looks at reads
//! its channel: a handful of rows read thousands of times a second, each
//! read a round trip to the database.
//!
//! A commit that writes a channel empties the cache on this node at once,
//! so this node never serves a channel older than its own last change. A
//! change made by another node (several nodes share PostgreSQL) or another
//! process is seen within [`FRESH_FOR`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hark_domain::Channel;

use crate::Write;

/// How long a row read from the database is served without reading it again.
pub(crate) const FRESH_FOR: Duration = Duration::from_secs(1);

/// Beyond this many entries the cache starts over (ids of channels that do
/// not exist, probed from outside, must not grow it without bound).
const MAX_ENTRIES: usize = 4_096;

#[derive(Default)]
pub(crate) struct ChannelCache {
    entries: Mutex<HashMap<String, (Instant, Option<Channel>)>>,
    /// Moves on every local channel write; a read that began before a write
    /// must not put what it read back into the cache.
    generation: AtomicU64,
}

impl ChannelCache {
    /// The cached row (or the cached absence of one), if still fresh.
    pub(crate) fn get(&self, id: &str) -> Option<Option<Channel>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (read_at, channel) = entries.get(id)?;
        (read_at.elapsed() < FRESH_FOR).then(|| channel.clone())
    }

    /// Where the cache stands before a database read; hand it to [`Self::put`].
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps what a read found, unless a channel was written since it began.
    pub(crate) fn put(&self, id: &str, channel: Option<Channel>, read_began: u64, read_at: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != read_began {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(id.to_owned(), (read_at, channel));
    }

    /// Whether committing `writes` changes a channel row.
    pub(crate) fn written_by(writes: &[Write]) -> bool {
        writes.iter().any(|w| {
            matches!(w, Write::InsertChannel { .. } | Write::UpdateChannel { .. } | Write::UpdateChannelHealth { .. })
        })
    }

    /// Forgets everything; called after a commit that wrote a channel.
    pub(crate) fn forget_all(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}
