//! hark-sandbox: a faithful local reproduction of the APIs and webhooks of X,
//! Meta (Facebook Page, Instagram, WhatsApp Cloud), Telegram and VK, built
//! from the contract in `shared/reference/platform-apis.md`.
//!
//! It is not a mock of Hark: it shares no code with Hark's crates and signs,
//! verifies and rate-limits on its own, so it checks Hark's connectors
//! independently. One HTTP server hosts every network under a prefix (`/x`,
//! `/meta`, `/telegram`, `/vk`) plus an admin API under `/_sim`.
//!
//! Admin API (JSON, snake_case): `POST /_sim/accounts` (an [`Account`]),
//! `GET /_sim/accounts`, `POST /_sim/actions` (a [`CustomerAction`], answers an
//! [`ActionReport`]), `POST /_sim/actions/random` (`{"seed":n}`),
//! `GET /_sim/calls`, `GET /_sim/published`, `GET /_sim/deliveries`,
//! `GET /_sim/handshakes`, `POST /_sim/handshakes` (re-run them),
//! `GET /_sim/subscriptions` ([`SubscriptionRecord`]s),
//! `GET|POST /_sim/faults/{network}` ([`Faults`]), `GET|POST /_sim/limits`
//! ([`Limits`]), `GET|POST /_sim/clock` (`{"now":RFC3339}` or
//! `{"advance_secs":n}`), `POST /_sim/redeliver`, `POST /_sim/x/crc`.
//!
//! Simulated customers act through [`Sandbox::act`]; the sandbox creates the
//! platform object and delivers the network's exact, signed webhook to the
//! brand account's `webhook_url`, with the network's retry behaviour. Every API
//! call Hark makes is recorded ([`Sandbox::calls`]) together with what it
//! actually published ([`Sandbox::published`]).

mod admin;
mod clock;
mod config;
mod customers;
mod delivery;
mod faults;
mod http;
mod meta;
mod model;
mod signing;
mod state;

pub use state::ensure_crypto_provider;
mod telegram;
mod vk;
mod x;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio_util::sync::CancellationToken;

pub use config::{ApiFault, Faults, Limits, SandboxConfig, XRetryPolicy};
pub use delivery::PreparedWebhook;
pub use model::{
    Account, ActionReport, Customer, CustomerAction, DeliveryRecord, HandshakeRecord, PublishedItem, PublishedKind,
    RecordedCall, SandboxError, SimNetwork, SubscriptionRecord,
};
pub use signing::{
    appsecret_proof, escape_json_non_ascii, meta_signature_256, oauth_percent_encode, oauth1_base_string,
    oauth1_signature, x_crc_response_token, x_webhook_signature,
};

use state::Inner;

/// A running sandbox. Cheap to clone; all clones share one server and state.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

impl Sandbox {
    /// Binds `config.listen` and serves in a background tokio task.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let address = listener.local_addr()?;
        let inner = Arc::new(Inner::new(config, format!("http://{address}")));
        let shutdown = inner.shutdown.clone();
        let app = http::router(inner.clone());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await;
            if let Err(error) = served {
                tracing::warn!(%error, "sandbox server stopped");
            }
        });
        tokio::spawn(background_loop(inner.clone(), shutdown.clone()));
        tracing::info!(%address, "platform sandbox listening");
        Ok(Sandbox { inner })
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Sandbox {
        Sandbox { inner }
    }

    /// Stops the server and the background retry loop.
    pub fn stop(&self) {
        self.inner.shutdown.cancel();
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// What a connector's `api_base_url` should be for `network`.
    pub fn api_base_url(&self, network: SimNetwork) -> String {
        self.inner.api_base(network)
    }

    /// Registers (or replaces) the brand's account. With a `webhook_url`, the
    /// network's verification runs in the background (X CRC, Meta
    /// hub.challenge when `verify_token` is set, VK confirmation); `act` and
    /// `settle` wait for it. See [`Sandbox::handshakes`].
    pub fn add_account(&self, account: Account) {
        let now = self.inner.now();
        self.inner.with(|world| {
            world.accounts.retain(|a| !(a.network == account.network && a.external_id == account.external_id));
            world.accounts.push(account.clone());
            match account.network {
                SimNetwork::X => x::register(world, &account, now),
                SimNetwork::Facebook | SimNetwork::Instagram | SimNetwork::Whatsapp => meta::register(world, &account),
                SimNetwork::Telegram => telegram::register(world, &account),
                SimNetwork::Vk => vk::register(world, &account),
            }
        });
        let inner = self.inner.clone();
        match account.network {
            SimNetwork::X => self.inner.spawn(async move { x::crc_all_for(&inner, &account.external_id).await }),
            SimNetwork::Facebook | SimNetwork::Instagram | SimNetwork::Whatsapp => {
                self.inner.spawn(async move { meta::verify_subscription(&inner, &account).await })
            }
            SimNetwork::Vk => self.inner.spawn(async move { vk::confirm_callback(&inner, &account.external_id).await }),
            SimNetwork::Telegram => {}
        }
    }

    pub fn accounts(&self) -> Vec<Account> {
        self.inner.with(|world| world.accounts.clone())
    }

    /// A simulated customer acts: the platform object is created and the
    /// network's webhook delivered (first attempt awaited), or queued for
    /// Telegram `getUpdates` / VK long poll.
    pub async fn act(&self, action: CustomerAction) -> Result<ActionReport, SandboxError> {
        self.inner.settle().await;
        let now = self.inner.now();
        let report = self.inner.with(|world| dispatch(world, now, action))?;
        self.inner.updates_arrived.notify_waiters();
        delivery::flush(&self.inner, false).await;
        Ok(report)
    }

    /// A simulated customer acts, but the webhooks it causes are returned,
    /// built and signed, instead of sent: for load generators that send them
    /// themselves, as fast as the receiver takes them. Report each answer
    /// with [`Sandbox::settle_prepared`].
    pub fn prepare(&self, action: CustomerAction) -> Result<(ActionReport, Vec<PreparedWebhook>), SandboxError> {
        let now = self.inner.now();
        self.inner.with(|world| {
            let report = dispatch(world, now, action)?;
            Ok((report, delivery::prepare_due(world, &self.inner, now)))
        })
    }

    /// What the receiver answered to a prepared webhook (`None`: no answer).
    pub fn settle_prepared(&self, webhook: PreparedWebhook, status: Option<u16>, body: String) {
        let now = self.inner.now();
        self.inner.with(|world| delivery::settle_prepared(world, webhook, status, body, now));
    }

    /// Every API call Hark made, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.inner.with(|world| world.calls.clone())
    }

    /// What Hark created on the networks, after the networks' own de-duplication.
    pub fn published(&self) -> Vec<PublishedItem> {
        self.inner.with(|world| world.published.clone())
    }

    /// Every webhook attempt.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.inner.with(|world| world.deliveries.clone())
    }

    /// Verification exchanges: X CRC, Meta hub.challenge, VK confirmation.
    pub fn handshakes(&self) -> Vec<HandshakeRecord> {
        self.inner.with(|world| world.handshakes.clone())
    }

    /// Webhook subscriptions and registrations Hark made through the APIs
    /// (Meta app subscriptions and `subscribed_apps`, X webhooks and
    /// subscriptions, Telegram `setWebhook`, VK `addCallbackServer`).
    pub fn subscriptions(&self) -> Vec<SubscriptionRecord> {
        self.inner.with(|world| world.subscriptions.clone())
    }

    pub fn acknowledged_event_keys(&self) -> BTreeSet<String> {
        self.inner
            .with(|world| world.deliveries.iter().filter(|d| d.acknowledged).map(|d| d.event_key.clone()).collect())
    }

    /// Event keys still waiting for a (re)delivery.
    pub fn pending_event_keys(&self) -> Vec<String> {
        self.inner.with(|world| world.pending.iter().map(|p| p.key.clone()).collect())
    }

    pub fn set_faults(&self, network: SimNetwork, faults: Faults) {
        self.inner.with(|world| *world.faults_mut(network) = faults);
    }

    pub fn faults(&self, network: SimNetwork) -> Faults {
        self.inner.with(|world| world.faults(network))
    }

    pub fn limits(&self) -> Limits {
        self.inner.with(|world| world.limits.clone())
    }

    /// Changes windows and limits at run time (e.g. X's reply rule).
    pub fn set_limits(&self, limits: Limits) {
        self.inner.with(|world| world.limits = limits);
    }

    /// Freezes the sandbox clock at `t` (it follows real time until then).
    pub fn set_now(&self, t: Timestamp) {
        self.inner.clock.set_now(t);
    }

    pub fn advance(&self, d: SignedDuration) {
        self.inner.clock.advance(d);
    }

    pub fn now(&self) -> Timestamp {
        self.inner.now()
    }

    /// Sends every pending delivery now, whatever its due time: one step of
    /// each event's retry schedule, so tests drive retries without sleeping.
    pub async fn redeliver_pending(&self) {
        self.inner.settle().await;
        delivery::flush(&self.inner, true).await;
        self.inner.settle().await;
    }

    /// Waits for background work: handshakes and deliveries caused by API
    /// calls (Messenger echoes, WhatsApp statuses, X DM echoes).
    pub async fn settle(&self) {
        self.inner.settle().await;
    }

    /// Re-runs the X CRC for every registered webhook, as X does periodically.
    pub async fn recheck_x_webhooks(&self) {
        x::crc_everything(&self.inner).await;
    }

    /// Re-runs every account's verification (X CRC, Meta hub.challenge, VK
    /// confirmation), e.g. after Hark's endpoint came up later than the
    /// accounts were added. Failed verifications otherwise stop deliveries.
    pub async fn rerun_handshakes(&self) {
        self.inner.settle().await;
        x::crc_everything(&self.inner).await;
        for account in self.accounts() {
            if account.network.is_meta() {
                meta::verify_subscription(&self.inner, &account).await;
            } else if account.network == SimNetwork::Vk {
                vk::confirm_callback(&self.inner, &account.external_id).await;
            }
        }
    }

    /// A realistic customer action on one of the registered accounts,
    /// reproducible from `rng_seed`.
    pub fn random_action(&self, rng_seed: u64) -> Result<CustomerAction, SandboxError> {
        self.inner.with(|world| customers::random_action(world, rng_seed))
    }

    /// A steady stream of `random_action`s across all accounts until `stop`.
    pub async fn run_traffic(&self, per_minute: u32, stop: CancellationToken) {
        let pause = Duration::from_secs_f64(60.0 / f64::from(per_minute.max(1)));
        let mut round: u64 = 0;
        loop {
            round += 1;
            let seed = self.inner.config.seed ^ round.wrapping_mul(0x9e37_79b9);
            match self.random_action(seed) {
                Ok(action) => {
                    if let Err(error) = self.act(action).await {
                        tracing::debug!(%error, "traffic action skipped");
                    }
                }
                Err(error) => tracing::debug!(%error, "no traffic possible yet"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

fn dispatch(world: &mut state::World, now: Timestamp, action: CustomerAction) -> Result<ActionReport, SandboxError> {
    use CustomerAction as A;
    match action {
        A::XMention { .. } | A::XReply { .. } | A::XDirectMessage { .. } => x::act(world, now, action),
        A::FacebookComment { .. }
        | A::FacebookVisitorPost { .. }
        | A::MessengerMessage { .. }
        | A::InstagramComment { .. }
        | A::InstagramMessage { .. }
        | A::InstagramMention { .. }
        | A::WhatsappMessage { .. } => meta::act(world, now, action),
        A::TelegramPrivateMessage { .. } | A::TelegramGroupMessage { .. } | A::TelegramBlockBot { .. } => {
            telegram::act(world, now, action)
        }
        A::VkMessage { .. } | A::VkMessagePermission { .. } | A::VkWallComment { .. } => vk::act(world, now, action),
        A::Edit { network, .. } | A::Delete { network, .. } => match network {
            SimNetwork::X => x::act(world, now, action),
            SimNetwork::Telegram => telegram::act(world, now, action),
            SimNetwork::Vk => vk::act(world, now, action),
            _ => meta::act(world, now, action),
        },
    }
}

/// Sends retries as they fall due and re-runs X's CRC on its timer.
async fn background_loop(inner: Arc<Inner>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        if inner.config.auto_redeliver {
            delivery::flush(&inner, false).await;
        }
        x::crc_if_due(&inner).await;
    }
}
