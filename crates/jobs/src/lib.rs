//! Hark's background workers. Each runs as a loop on every node and claims
//! its work from the database with a lease, so any node can do any job and a
//! node that dies hands its work on when the lease runs out:
//!
//! - [`ingest`]: stored inbound events → contacts, conversations, messages;
//! - [`publish`]: queued replies → the networks, exactly once;
//! - [`poll`]: networks that offer polling (X mentions and keyword search,
//!   Telegram getUpdates) → stored inbound events;
//! - [`health`]: re-checks unhealthy channels so they recover when fixed;
//! - [`follow`]: followers of the events table, each handling every event
//!   once, in order (the framework SLA timers, reports and rules build on);
//! - [`posts`]: reads the post each new public thread hangs from;
//! - [`rules`]: the rules follower and the idle-rules scan;
//! - [`automation`]: what rules leave in the outbox (hide a comment, Slack,
//!   webhooks, email).
//!
//! Tests drive each worker one step at a time (`*_once`), never by sleeping.

pub mod automation;
pub mod follow;
pub mod health;
pub mod hooks;
pub mod ingest;
pub mod poll;
pub mod posts;
pub mod publish;
pub mod rules;
pub mod timers;

use std::sync::Arc;
use std::time::Duration;

use hark_app::App;
use hark_app::intake::Intake;
use hark_channels::ChannelContext;
use hark_domain::Channel;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Events or replies taken per claim.
    pub batch: u32,
    /// How long a claim holds its items before another node may take them.
    pub lease: Duration,
    /// Publishing attempts before a reply is marked failed.
    pub max_publish_attempts: i64,
    /// First retry delay; doubles with each attempt.
    pub retry_base: Duration,
    /// The longest a network's Retry-After (or rate-limit reset) is waited for
    /// before trying again.
    pub retry_after_cap: Duration,
    /// After a send whose outcome is unknown (a timeout), how long to let the
    /// network settle before concluding from its timeline that the post did
    /// not happen and sending again.
    pub unknown_settle: Duration,
    /// Consecutive retryable failures after which a channel is marked degraded.
    pub degraded_after_failures: i64,
    pub poll_interval: Duration,
    /// How often every channel's credentials are checked, even without traffic.
    pub health_interval: Duration,
    /// How long ingested inbound events (and so their dedup keys) are kept.
    /// Longer than any network redelivers: WhatsApp retries for 7 days.
    pub raw_event_retention: Duration,
    /// Idle wait between rounds when there is no work (wake-ups cut it short).
    pub idle: Duration,
    /// The mail server for rules that escalate by email (none: such emails fail with the reason).
    pub smtp: Option<automation::SmtpConfig>,
    /// Hark's own address as the networks reach it: they fetch attached files from there.
    pub public_url: String,
    /// Lets Slack and rule webhooks reach private and loopback addresses
    /// (see [`hooks`]); off by default.
    pub allow_private_hooks: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            batch: 200,
            lease: Duration::from_secs(120),
            max_publish_attempts: 8,
            retry_base: Duration::from_secs(5),
            retry_after_cap: Duration::from_secs(15 * 60),
            unknown_settle: Duration::from_secs(60),
            degraded_after_failures: 5,
            poll_interval: Duration::from_secs(30),
            health_interval: Duration::from_secs(300),
            raw_event_retention: Duration::from_secs(30 * 24 * 3600),
            idle: Duration::from_secs(1),
            smtp: None,
            public_url: "http://127.0.0.1:8080".into(),
            allow_private_hooks: false,
        }
    }
}

/// Everything the workers share.
#[derive(Clone)]
pub struct Workers {
    pub app: App,
    pub http: reqwest::Client,
    /// For the addresses workspaces configure (Slack, rule webhooks): see [`hooks`].
    pub hooks: reqwest::Client,
    pub intake: Intake,
    pub config: Arc<WorkerConfig>,
    /// This process's name when it holds a lease (followers of the events table).
    pub node_id: String,
}

impl Workers {
    pub fn new(app: App, http: reqwest::Client, intake: Intake, config: WorkerConfig) -> Self {
        let hooks = hooks::client(config.allow_private_hooks);
        Workers { app, http, hooks, intake, config: Arc::new(config), node_id: hark_app::new_id("node") }
    }

    /// Runs every worker loop until `shutdown`.
    pub fn spawn(&self, shutdown: CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
        vec![
            tokio::spawn(ingest::run(self.clone(), shutdown.clone())),
            tokio::spawn(publish::run(self.clone(), shutdown.clone())),
            tokio::spawn(poll::run(self.clone(), shutdown.clone())),
            tokio::spawn(health::run(self.clone(), shutdown.clone())),
            tokio::spawn(timers::run(self.clone(), shutdown.clone())),
            tokio::spawn(rules::run(self.clone(), shutdown.clone())),
            tokio::spawn(posts::run(self.clone(), shutdown.clone())),
            tokio::spawn(rules::run_idle(self.clone(), shutdown.clone())),
            tokio::spawn(automation::run(self.clone(), shutdown)),
        ]
    }

    /// The connector's view of a channel, with its credentials opened.
    pub async fn context(&self, channel: &Channel) -> hark_app::AppResult<ChannelContext> {
        let credentials = self.app.channel_credentials(&channel.id).await?.unwrap_or_default();
        Ok(ChannelContext {
            network: channel.network,
            external_id: channel.external_id.clone(),
            credentials,
            settings: channel.settings.clone(),
        })
    }
}

/// Sleeps `idle` unless woken or stopped first; `false` means stop.
pub(crate) async fn pause(idle: Duration, wake: Option<&tokio::sync::Notify>, shutdown: &CancellationToken) -> bool {
    match wake {
        Some(notify) => tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = notify.notified() => true,
            _ = tokio::time::sleep(idle) => true,
        },
        None => tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = tokio::time::sleep(idle) => true,
        },
    }
}
