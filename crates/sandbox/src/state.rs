//! The shared state behind a [`crate::Sandbox`] handle. One mutex guards the
//! whole simulated world; it is never held across an `.await`, so handlers
//! lock, change, unlock, and do their I/O afterwards.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::clock::{Clock, DetRng};
use crate::config::{Faults, Limits, SandboxConfig};
use crate::delivery::PendingDelivery;
use crate::model::{
    Account, DeliveryRecord, HandshakeRecord, PublishedItem, PublishedKind, RecordedCall, SandboxError, SimNetwork,
    SubscriptionRecord,
};
use crate::{meta, telegram, vk, x};

pub(crate) struct Inner {
    pub config: SandboxConfig,
    pub base_url: String,
    pub clock: Clock,
    pub http: reqwest::Client,
    world: Mutex<World>,
    /// Background work (handshakes, echo deliveries) that `settle` waits for.
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Wakes long-polling requests (Telegram getUpdates, VK a_check).
    pub updates_arrived: Notify,
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl Inner {
    pub(crate) fn new(config: SandboxConfig, base_url: String) -> Self {
        let world = World::new(config.seed, config.limits.clone());
        ensure_crypto_provider();
        let http = reqwest::Client::builder().no_proxy().build().unwrap_or_else(|_| reqwest::Client::new());
        Inner {
            config,
            base_url,
            clock: Clock::new(),
            http,
            world: Mutex::new(world),
            tasks: Mutex::new(Vec::new()),
            updates_arrived: Notify::new(),
            shutdown: tokio_util::sync::CancellationToken::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` with the world locked. Keep `f` free of I/O.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let rate_now = self.clock.rate_elapsed();
        let mut world = self.lock();
        world.request_rate_now = rate_now;
        f(&mut world)
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(crate) fn rate_now(&self) -> Duration {
        self.clock.rate_elapsed()
    }

    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(task);
        let mut tasks = self.tasks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    /// Waits until every background task spawned so far (and those they
    /// spawn) has finished.
    pub(crate) async fn settle(&self) {
        for _ in 0..32 {
            let batch: Vec<JoinHandle<()>> =
                std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
            if batch.is_empty() {
                return;
            }
            for task in batch {
                let _ = task.await;
            }
        }
    }

    pub(crate) fn api_base(&self, network: SimNetwork) -> String {
        format!("{}{}", self.base_url, network.api_prefix())
    }
}

/// Everything the simulated networks know.
pub(crate) struct World {
    pub limits: Limits,
    pub rng: DetRng,
    counter: u64,
    pub accounts: Vec<Account>,
    pub calls: Vec<RecordedCall>,
    pub published: Vec<PublishedItem>,
    pub deliveries: Vec<DeliveryRecord>,
    pub handshakes: Vec<HandshakeRecord>,
    pub subscriptions: Vec<SubscriptionRecord>,
    pub pending: Vec<PendingDelivery>,
    pub faults: BTreeMap<SimNetwork, Faults>,
    pub rates: RateBook,
    /// Rate time when the world was last locked (see `clock.rs`).
    pub request_rate_now: Duration,
    pub x: x::XWorld,
    pub meta: meta::MetaWorld,
    pub tg: telegram::TgWorld,
    pub vk: vk::VkWorld,
}

impl World {
    fn new(seed: u64, limits: Limits) -> Self {
        World {
            limits,
            rng: DetRng::new(seed),
            counter: 0,
            accounts: Vec::new(),
            calls: Vec::new(),
            published: Vec::new(),
            deliveries: Vec::new(),
            handshakes: Vec::new(),
            subscriptions: Vec::new(),
            pending: Vec::new(),
            faults: BTreeMap::new(),
            rates: RateBook::default(),
            request_rate_now: Duration::ZERO,
            x: x::XWorld::default(),
            meta: meta::MetaWorld::default(),
            tg: telegram::TgWorld::default(),
            vk: vk::VkWorld::default(),
        }
    }

    /// A process-wide increasing number, the base of most generated ids.
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    pub(crate) fn account(&self, network: SimNetwork, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.network == network && a.external_id == id)
    }

    /// The account an action names, or the network's first account.
    pub(crate) fn resolve_account(&self, network: SimNetwork, id: Option<&str>) -> Result<Account, SandboxError> {
        match id {
            Some(id) => self
                .account(network, id)
                .cloned()
                .ok_or_else(|| SandboxError::UnknownAccount { network, id: id.to_string() }),
            None => {
                self.accounts.iter().find(|a| a.network == network).cloned().ok_or(SandboxError::NoAccount(network))
            }
        }
    }

    pub(crate) fn faults_mut(&mut self, network: SimNetwork) -> &mut Faults {
        self.faults.entry(network).or_default()
    }

    pub(crate) fn faults(&self, network: SimNetwork) -> Faults {
        self.faults.get(&network).cloned().unwrap_or_default()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn publish(
        &mut self,
        network: SimNetwork,
        account_id: &str,
        kind: PublishedKind,
        id: &str,
        in_reply_to: Option<&str>,
        recipient: Option<&str>,
        text: &str,
        at: Timestamp,
    ) {
        self.published.push(PublishedItem {
            network,
            account_id: account_id.to_string(),
            kind,
            id: id.to_string(),
            in_reply_to: in_reply_to.map(str::to_string),
            recipient: recipient.map(str::to_string),
            text: text.to_string(),
            at,
        });
    }

    pub(crate) fn record_handshake(&mut self, record: HandshakeRecord) {
        self.handshakes.push(record);
    }

    pub(crate) fn record_subscription(
        &mut self,
        network: SimNetwork,
        account_id: &str,
        object: &str,
        callback_url: Option<&str>,
        fields: Vec<String>,
        at: Timestamp,
    ) {
        self.subscriptions.push(SubscriptionRecord {
            network,
            account_id: account_id.to_string(),
            object: object.to_string(),
            callback_url: callback_url.map(str::to_string),
            fields,
            at,
        });
    }
}

/// Sliding-window counters on rate time, one log of hit times per key.
#[derive(Default)]
pub(crate) struct RateBook {
    logs: HashMap<String, VecDeque<Duration>>,
}

/// Outcome of a rate check, enough for X's `x-rate-limit-*` headers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateStatus {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Time until the oldest counted hit leaves the window.
    pub reset_in: Duration,
}

impl RateBook {
    /// Counts a hit for `key` unless `limit` hits already happened in `window`.
    /// A limit of 0 means unlimited.
    pub(crate) fn hit(&mut self, key: &str, window: Duration, limit: u32, now: Duration) -> RateStatus {
        let log = self.logs.entry(key.to_string()).or_default();
        while log.front().is_some_and(|t| now.saturating_sub(*t) >= window) {
            log.pop_front();
        }
        let reset_in = log.front().map_or(window, |oldest| (*oldest + window).saturating_sub(now));
        let used = u32::try_from(log.len()).unwrap_or(u32::MAX);
        if limit != 0 && used >= limit {
            return RateStatus { allowed: false, limit, remaining: 0, reset_in };
        }
        log.push_back(now);
        RateStatus { allowed: true, limit, remaining: limit.saturating_sub(used + 1), reset_in }
    }

    /// Hits of `key` within `window` (without counting a new one).
    pub(crate) fn count(&self, key: &str, window: Duration, now: Duration) -> usize {
        self.logs.get(key).map_or(0, |log| log.iter().filter(|t| now.saturating_sub(**t) < window).count())
    }

    /// Time since the last hit of `key`, if any.
    pub(crate) fn since_last(&self, key: &str, now: Duration) -> Option<Duration> {
        self.logs.get(key).and_then(|log| log.back()).map(|last| now.saturating_sub(*last))
    }
}

/// The sandbox speaks plain HTTP, but reqwest may be built (through feature
/// unification in a larger program) with rustls and no crypto provider of its
/// own; one must then be installed before any client is built. An already
/// installed provider is kept.
pub fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_book_refuses_above_the_limit_until_the_window_passes() {
        let mut book = RateBook::default();
        let second = Duration::from_secs(1);
        assert!(book.hit("k", second, 2, Duration::ZERO).allowed);
        assert!(book.hit("k", second, 2, Duration::from_millis(10)).allowed);
        let refused = book.hit("k", second, 2, Duration::from_millis(20));
        assert!(!refused.allowed);
        assert_eq!(refused.reset_in, Duration::from_millis(980));
        assert!(book.hit("k", second, 2, Duration::from_millis(1_001)).allowed);
    }
}
