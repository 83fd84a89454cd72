//! Everything a network can change — windows, lengths, rate limits, retry
//! schedules — lives here as configuration, never as a constant inside a
//! network module (platform-apis.md, conventions).

use std::net::{Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

/// How the sandbox is started.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct SandboxConfig {
    /// Where the HTTP server listens; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Seed of every generated id, nonce and random choice, so runs repeat.
    pub seed: u64,
    pub limits: Limits,
    /// How long a webhook receiver may take before the attempt counts as failed
    /// (X deliveries use the stricter `limits.x_delivery_timeout_ms`).
    pub webhook_timeout_secs: u64,
    /// Whether a background task sends retries when they fall due on the
    /// sandbox clock. Tests that drive retries with `redeliver_pending` may
    /// turn it off to be fully deterministic.
    pub auto_redeliver: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            seed: 0x005e_ed0f_4a4b,
            limits: Limits::default(),
            webhook_timeout_secs: 5,
            auto_redeliver: true,
        }
    }
}

/// X's Account Activity retry behaviour differs by access tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XRetryPolicy {
    /// Up to 3 retries within about five minutes.
    Enterprise,
    /// Lower tiers: a failed delivery is lost.
    None,
}

/// Every window, length and limit the sandbox enforces.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    // --- X ---
    pub x_tweet_weighted_max: u32,
    pub x_dm_max_chars: usize,
    /// Per-user budget of endpoints without a specific limit below.
    pub x_rate_limit_per_15min: u32,
    pub x_tweets_per_15min: u32,
    pub x_reads_per_15min: u32,
    pub x_dm_sends_per_15min: u32,
    pub x_likes_per_15min: u32,
    /// Replies only to posts that mention the account or belong to a
    /// conversation it takes part in (X's tightened reply rule).
    pub x_reply_restricted: bool,
    /// The brand may DM only users who contacted it first (a stand-in for the
    /// recipients' DM settings).
    pub x_dm_requires_prior_contact: bool,
    pub x_webhook_retries: XRetryPolicy,
    pub x_retry_delays_secs: Vec<u64>,
    pub x_delivery_timeout_ms: u64,
    pub x_crc_timeout_ms: u64,
    /// How often X re-runs the CRC on its own (sandbox clock).
    pub x_crc_interval_secs: u64,
    pub x_oauth_max_skew_secs: i64,
    pub x_search_window_days: i64,
    // --- Meta (Messenger, Instagram) ---
    pub meta_window_hours: i64,
    pub human_agent_days: i64,
    pub private_reply_days: i64,
    pub messenger_text_max_chars: usize,
    pub instagram_text_max_bytes: usize,
    /// Meta escapes non-ASCII as `\uXXXX` in webhook bodies and signs those bytes.
    pub meta_escape_unicode: bool,
    /// PHP-style `\/` escaping, off by default because the contract does not show it.
    pub meta_escape_slashes: bool,
    pub meta_batch_max: usize,
    /// Denominator of the `X-App-Usage` call_count percentage.
    pub meta_app_calls_per_hour: u32,
    /// Delays between Graph webhook retries; the first 0 means "immediately".
    pub meta_retry_delays_secs: Vec<u64>,
    // --- WhatsApp ---
    pub whatsapp_window_hours: i64,
    pub whatsapp_text_max_chars: usize,
    /// 130429 above this many sends per second per phone number (0 = off).
    pub whatsapp_per_sec: u32,
    /// 131056 when two sends to the same user come closer than this (0 = off).
    pub whatsapp_pair_min_interval_ms: u64,
    /// The Cloud API reports 131047 in a `failed` status webhook; set this to
    /// answer the send request itself with the error instead.
    pub whatsapp_window_error_sync: bool,
    /// Emit `read` after `delivered` for every accepted send.
    pub whatsapp_auto_read: bool,
    pub whatsapp_retry_delays_secs: Vec<u64>,
    // --- Telegram ---
    pub telegram_per_chat_per_sec: u32,
    pub telegram_group_per_min: u32,
    pub telegram_global_per_sec: u32,
    pub telegram_text_max_chars: usize,
    pub telegram_update_retention_hours: i64,
    /// Real Telegram accepts only HTTPS webhooks; the loopback sandbox allows HTTP.
    pub telegram_require_https: bool,
    pub telegram_retry_delays_secs: Vec<u64>,
    /// `retry_after` answered by the RateLimited fault.
    pub telegram_fault_retry_after_secs: u64,
    // --- VK ---
    pub vk_requests_per_sec: u32,
    pub vk_message_max_chars: usize,
    pub vk_retry_delays_secs: Vec<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            x_tweet_weighted_max: 280,
            x_dm_max_chars: 10_000,
            x_rate_limit_per_15min: 300,
            x_tweets_per_15min: 100,
            x_reads_per_15min: 300,
            x_dm_sends_per_15min: 200,
            x_likes_per_15min: 50,
            x_reply_restricted: true,
            x_dm_requires_prior_contact: true,
            x_webhook_retries: XRetryPolicy::Enterprise,
            x_retry_delays_secs: vec![30, 90, 180],
            x_delivery_timeout_ms: 3_000,
            x_crc_timeout_ms: 3_000,
            x_crc_interval_secs: 3_600,
            x_oauth_max_skew_secs: 300,
            x_search_window_days: 7,
            meta_window_hours: 24,
            human_agent_days: 7,
            private_reply_days: 7,
            messenger_text_max_chars: 2_000,
            instagram_text_max_bytes: 1_000,
            meta_escape_unicode: true,
            meta_escape_slashes: false,
            meta_batch_max: 1_000,
            meta_app_calls_per_hour: 10_000,
            // Immediately, then less and less often for about 36 hours.
            meta_retry_delays_secs: vec![0, 60, 300, 900, 3_600, 10_800, 21_600, 43_200, 43_200],
            whatsapp_window_hours: 24,
            whatsapp_text_max_chars: 4_096,
            whatsapp_per_sec: 80,
            whatsapp_pair_min_interval_ms: 0,
            whatsapp_window_error_sync: false,
            whatsapp_auto_read: true,
            // Same shape as Meta's but stretched to seven days.
            whatsapp_retry_delays_secs: vec![0, 60, 300, 900, 3_600, 21_600, 43_200, 86_400, 172_200, 259_200],
            telegram_per_chat_per_sec: 1,
            telegram_group_per_min: 20,
            telegram_global_per_sec: 30,
            telegram_text_max_chars: 4_096,
            telegram_update_retention_hours: 24,
            telegram_require_https: false,
            telegram_retry_delays_secs: vec![5, 15, 60, 300, 900, 3_600, 3_600, 3_600],
            telegram_fault_retry_after_secs: 7,
            vk_requests_per_sec: 20,
            vk_message_max_chars: 4_096,
            vk_retry_delays_secs: vec![10, 60, 300, 900],
        }
    }
}

/// One failure injected into the next API call of a network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiFault {
    /// The network's exact throttling answer (X 429 + headers, Graph throttling
    /// codes, Telegram 429 retry_after, VK error 6).
    RateLimited,
    /// An HTTP 5xx (VK answers error 10 inside a 200, as it does).
    ServerError(u16),
    /// Hold the request this long before handling it normally, longer than the
    /// client's timeout: the call may still take effect, as on a real network.
    Timeout { secs: u64 },
    /// X 401, Meta 190, Telegram 401, VK error 5.
    ExpiredToken,
    /// The token lacks the permission for this call.
    MissingPermission,
}

/// Faults of one network. All off by default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Deliver every webhook this many extra times (as Meta does for up to 36 h).
    pub redeliver_each: u32,
    /// Shuffle pending deliveries; Meta ones are batched into one POST.
    pub reorder: bool,
    /// Hold webhook deliveries until this many are pending, then fire them
    /// concurrently.
    pub burst: u32,
    /// Faults applied, one each, to the next API calls.
    pub api_fail_next: Vec<ApiFault>,
    /// Every call is refused as with an expired token until cleared.
    pub expired_token: bool,
    /// Sign webhooks with a wrong secret (Telegram: wrong secret header, VK:
    /// wrong `secret` field).
    pub webhook_bad_signature: bool,
    /// Treat every webhook answer as lost, so each event is retried on schedule.
    pub drop_ack_check: bool,
}

impl Faults {
    pub fn none() -> Self {
        Faults::default()
    }
    pub fn fail_next(mut self, fault: ApiFault) -> Self {
        self.api_fail_next.push(fault);
        self
    }
    pub fn redeliver_each(mut self, extra: u32) -> Self {
        self.redeliver_each = extra;
        self
    }
    pub fn reorder(mut self) -> Self {
        self.reorder = true;
        self
    }
    pub fn burst(mut self, size: u32) -> Self {
        self.burst = size;
        self
    }
    pub fn expired_token(mut self) -> Self {
        self.expired_token = true;
        self
    }
    pub fn bad_signature(mut self) -> Self {
        self.webhook_bad_signature = true;
        self
    }
}
