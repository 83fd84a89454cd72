//! X (API v2 + Account Activity API), served under `/x`.
//!
//! Auth: app-only bearer tokens (the account's `bearer_token`, or one issued
//! by `POST /oauth2/token`), OAuth 1.0a user signatures verified from scratch,
//! or an OAuth 2.0 user token equal to the account's `access_token`.

mod events;
mod read;
mod webhooks;
mod write;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::config::ApiFault;
use crate::faults::{Gate, gate, label};
use crate::http::{ApiRequest, ApiResponse, Handled};
use crate::model::{Account, SimNetwork};
use crate::signing;
use crate::state::{Inner, RateStatus, World};

pub(crate) use events::act;
pub(crate) use webhooks::{crc_all_for, crc_everything, crc_if_due};

/// X's first snowflake millisecond (2010-11-04).
const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;
const FIFTEEN_MINUTES: Duration = Duration::from_secs(15 * 60);

#[derive(Clone, Debug)]
pub(crate) struct XUser {
    pub id: String,
    pub screen_name: String,
    pub name: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Mention {
    pub user_id: String,
    pub screen_name: String,
    pub name: String,
    /// Code-point indices, as X gives them.
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct Tweet {
    pub id: u64,
    pub author_id: String,
    pub text: String,
    pub created_at: Timestamp,
    pub in_reply_to_status: Option<u64>,
    pub in_reply_to_user: Option<String>,
    pub conversation_id: u64,
    pub mentions: Vec<Mention>,
    /// Code point where the text proper starts, after auto-inserted reply mentions.
    pub display_start: usize,
    pub edit_of: Option<u64>,
    pub deleted: bool,
    pub hidden: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct DmEvent {
    pub id: String,
    pub sender_id: String,
    pub recipient_id: String,
    pub text: String,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub(crate) struct XWebhook {
    pub id: String,
    pub url: String,
    pub valid: bool,
    pub created_at: Timestamp,
    /// App (consumer key) that owns the webhook; its secret signs the CRC.
    pub consumer_key: String,
    pub last_crc_at: Option<Timestamp>,
}

#[derive(Default)]
pub(crate) struct XWorld {
    pub users: BTreeMap<String, XUser>,
    pub tweets: BTreeMap<u64, Tweet>,
    pub dms: Vec<DmEvent>,
    pub webhooks: Vec<XWebhook>,
    /// (webhook id, user id)
    pub subscriptions: BTreeSet<(String, String)>,
    /// Nonces already used, per consumer key.
    pub nonces: HashSet<(String, String)>,
    /// Bearer tokens issued by `/oauth2/token`, with their consumer key.
    pub issued_bearers: BTreeMap<String, String>,
    pub likes: BTreeSet<(String, String)>,
    pub retweets: BTreeSet<(String, String)>,
    last_id: u64,
}

impl XWorld {
    /// Snowflake-shaped ids that always increase, even if the clock is set back.
    pub(crate) fn next_id(&mut self, now: Timestamp, seq: u64) -> u64 {
        let ms = u64::try_from(now.as_millisecond() - SNOWFLAKE_EPOCH_MS).unwrap_or(0);
        let candidate = (ms << 22) | (seq & 0x3f_ffff);
        self.last_id = candidate.max(self.last_id + 1);
        self.last_id
    }

    /// The webhook events for `user_id` go to, and whether it is valid.
    pub(crate) fn webhook_target(&self, user_id: &str) -> Option<(String, bool)> {
        self.webhooks
            .iter()
            .find(|w| self.subscriptions.contains(&(w.id.clone(), user_id.to_string())))
            .map(|w| (w.url.clone(), w.valid))
    }

    pub(crate) fn screen_name(&self, user_id: &str) -> String {
        self.users.get(user_id).map(|u| u.screen_name.clone()).unwrap_or_default()
    }
}

/// Adds the brand user and, with a webhook URL, a pre-provisioned webhook and
/// subscription (as if set up in the developer portal); the CRC runs next.
pub(crate) fn register(world: &mut World, account: &Account, now: Timestamp) {
    let name = account.credential("name").unwrap_or(&account.handle).to_string();
    world.x.users.insert(
        account.external_id.clone(),
        XUser { id: account.external_id.clone(), screen_name: account.handle.clone(), name },
    );
    let Some(url) = account.webhook_url.clone() else { return };
    let webhook_id = match world.x.webhooks.iter().find(|w| w.url == url) {
        Some(existing) => existing.id.clone(),
        None => {
            let seq = world.next_seq();
            let id = world.x.next_id(now, seq).to_string();
            world.x.webhooks.push(XWebhook {
                id: id.clone(),
                url,
                valid: false,
                created_at: now,
                consumer_key: account.credential_or_empty("consumer_key"),
                last_crc_at: None,
            });
            id
        }
    };
    world.x.subscriptions.insert((webhook_id, account.external_id.clone()));
}

/// Who is calling.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Caller {
    /// App-only bearer, with the app's consumer key.
    App(String),
    /// User context: the brand account's user id.
    User(String),
}

pub(crate) async fn handle(inner: &Arc<Inner>, request: &ApiRequest) -> Handled {
    let fault = match gate(inner, SimNetwork::X).await {
        Gate::Proceed(label) => label,
        Gate::Refuse(fault) => {
            let response = fault_response(inner, &fault);
            return Handled { network: SimNetwork::X, response, fault: Some(label(&fault)) };
        }
    };
    let segments = request.segments("/x");
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let response = route(inner, request, &segments).await;
    Handled { network: SimNetwork::X, response, fault }
}

async fn route(inner: &Arc<Inner>, request: &ApiRequest, segments: &[&str]) -> ApiResponse {
    let method = request.method.as_str();
    if segments == ["oauth2", "token"] && method == "POST" {
        return write::issue_bearer(inner, request);
    }
    let caller = match inner.with(|world| authenticate(inner, world, request)) {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let (budget_key, limit) = inner.with(|world| rate_class(&world.limits, method, segments));
    let identity = match &caller {
        Caller::App(key) => format!("app:{key}"),
        Caller::User(id) => format!("user:{id}"),
    };
    let rate_now = inner.rate_now();
    let status =
        inner.with(|world| world.rates.hit(&format!("x:{budget_key}:{identity}"), FIFTEEN_MINUTES, limit, rate_now));
    if !status.allowed {
        return with_rate_headers(inner, too_many_requests(), status);
    }
    let response = match (method, segments) {
        (_, ["2", "webhooks", ..]) | (_, ["2", "account_activity", ..]) => {
            webhooks::route(inner, request, segments, &caller).await
        }
        _ => inner.with(|world| dispatch(world, inner, request, segments, &caller)),
    };
    with_rate_headers(inner, response, status)
}

fn dispatch(
    world: &mut World,
    inner: &Arc<Inner>,
    request: &ApiRequest,
    segments: &[&str],
    caller: &Caller,
) -> ApiResponse {
    let now = inner.now();
    match (request.method.as_str(), segments) {
        ("GET", ["2", "users", "me"]) => user_context(caller).map_or_else(|r| r, |me| read::me(world, &me)),
        ("GET", ["2", "users", id, "mentions"]) => read::mentions(world, request, id, now),
        ("GET", ["2", "users", id, "tweets"]) => read::user_tweets(world, request, id),
        ("GET", ["2", "tweets", "search", "recent"]) => read::search_recent(world, request, now),
        ("GET", ["2", "tweets", id]) => read::lookup(world, request, id),
        ("GET", ["2", "dm_events"]) => {
            user_context(caller).map_or_else(|r| r, |me| read::dm_events(world, request, &me, None))
        }
        ("GET", ["2", "dm_conversations", "with", other, "dm_events"]) => {
            user_context(caller).map_or_else(|r| r, |me| read::dm_events(world, request, &me, Some(other)))
        }
        (method, _) => match user_context(caller) {
            Ok(me) => write::dispatch(world, request, segments, &me, method, now),
            Err(response) => response,
        },
    }
}

/// Write endpoints need user context.
pub(crate) fn user_context(caller: &Caller) -> Result<String, ApiResponse> {
    match caller {
        Caller::User(id) => Ok(id.clone()),
        Caller::App(_) => Err(problem(
            403,
            "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
            "https://api.twitter.com/2/problems/unsupported-authentication",
        )),
    }
}

fn rate_class(limits: &crate::config::Limits, method: &str, segments: &[&str]) -> (String, u32) {
    match (method, segments) {
        ("POST", ["2", "tweets"]) => ("post_tweets".into(), limits.x_tweets_per_15min),
        ("POST", ["2", "dm_conversations", ..]) => ("dm_send".into(), limits.x_dm_sends_per_15min),
        ("POST", ["2", "users", _, "likes"]) => ("likes".into(), limits.x_likes_per_15min),
        ("GET", ["2", "users", _, "mentions"]) => ("mentions".into(), limits.x_reads_per_15min),
        ("GET", ["2", "tweets", "search", "recent"]) => ("search".into(), limits.x_reads_per_15min),
        ("GET", ["2", "dm_events"]) => ("dm_events".into(), limits.x_reads_per_15min),
        _ => (format!("{method}:{}", segments.first().copied().unwrap_or_default()), limits.x_rate_limit_per_15min),
    }
}

/// `x-rate-limit-*` on every response; reset is epoch seconds on the sandbox clock.
fn with_rate_headers(inner: &Inner, response: ApiResponse, status: RateStatus) -> ApiResponse {
    let reset = inner.now().as_second() + i64::try_from(status.reset_in.as_secs()).unwrap_or(900) + 1;
    response
        .header("x-rate-limit-limit", status.limit.to_string())
        .header("x-rate-limit-remaining", status.remaining.to_string())
        .header("x-rate-limit-reset", reset.to_string())
}

/// 429 without Retry-After, as X answers.
fn too_many_requests() -> ApiResponse {
    problem(429, "Too Many Requests", "Too Many Requests", "about:blank")
}

pub(crate) fn problem(status: u16, title: &str, detail: &str, kind: &str) -> ApiResponse {
    ApiResponse::json(status, &json!({"title": title, "detail": detail, "type": kind, "status": status}))
}

pub(crate) fn unauthorized() -> ApiResponse {
    problem(401, "Unauthorized", "Unauthorized", "about:blank")
}

pub(crate) fn not_found() -> ApiResponse {
    ApiResponse::json(404, &json!({"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}))
}

pub(crate) fn invalid_request(parameter: &str, message: &str) -> ApiResponse {
    ApiResponse::json(
        400,
        &json!({
            "errors": [{"parameters": {parameter: []}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request"
        }),
    )
}

fn fault_response(inner: &Inner, fault: &ApiFault) -> ApiResponse {
    match fault {
        ApiFault::RateLimited => {
            let reset = inner.now().as_second() + 15 * 60;
            too_many_requests()
                .header("x-rate-limit-limit", "300")
                .header("x-rate-limit-remaining", "0")
                .header("x-rate-limit-reset", reset.to_string())
        }
        ApiFault::ServerError(503) => problem(503, "Service Unavailable", "Service Unavailable", "about:blank"),
        ApiFault::ServerError(code) => ApiResponse::json(
            *code,
            &json!({"errors": [{"message": "Internal error", "code": 131}], "title": "Internal Server Error", "status": code}),
        ),
        ApiFault::ExpiredToken => unauthorized(),
        ApiFault::MissingPermission => ApiResponse::json(
            403,
            &json!({
                "client_id": "sandbox",
                "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.",
                "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
                "title": "Client Forbidden",
                "required_enrollment": "Appropriate Level of API Access",
                "reason": "client-not-enrolled",
                "type": "https://api.twitter.com/2/problems/client-forbidden"
            }),
        ),
        ApiFault::Timeout { .. } => unauthorized(),
    }
}

fn authenticate(inner: &Inner, world: &mut World, request: &ApiRequest) -> Result<Caller, ApiResponse> {
    let header = request.header("authorization").unwrap_or_default();
    if header.starts_with("OAuth ") {
        return verify_oauth1(inner, world, request, header);
    }
    let Some(token) = request.bearer() else { return Err(unauthorized()) };
    if let Some(key) = world.x.issued_bearers.get(token) {
        return Ok(Caller::App(key.clone()));
    }
    let x_accounts = world.accounts.iter().filter(|a| a.network == SimNetwork::X);
    for account in x_accounts {
        if account.credential("bearer_token") == Some(token) {
            return Ok(Caller::App(account.credential_or_empty("consumer_key")));
        }
        if account.credential("access_token") == Some(token) {
            return Ok(Caller::User(account.external_id.clone()));
        }
    }
    Err(unauthorized())
}

/// RFC 5849 verification: rebuild the base string from what was received and
/// compare signatures; refuse skewed timestamps and reused nonces.
fn verify_oauth1(inner: &Inner, world: &mut World, request: &ApiRequest, header: &str) -> Result<Caller, ApiResponse> {
    let Some(oauth) = signing::parse_oauth_header(header) else { return Err(unauthorized()) };
    let get = |key: &str| oauth.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default();
    let (consumer_key, token, nonce) = (get("oauth_consumer_key"), get("oauth_token"), get("oauth_nonce"));
    let account = world
        .accounts
        .iter()
        .find(|a| {
            a.network == SimNetwork::X
                && a.credential("consumer_key") == Some(consumer_key.as_str())
                && a.credential("access_token") == Some(token.as_str())
        })
        .cloned()
        .ok_or_else(unauthorized)?;
    if get("oauth_signature_method") != "HMAC-SHA1" || nonce.is_empty() {
        return Err(unauthorized());
    }
    let timestamp: i64 = get("oauth_timestamp").parse().map_err(|_| unauthorized())?;
    let skew = world.limits.x_oauth_max_skew_secs;
    // Compared with the sandbox clock and the machine clock, so tests that move
    // the sandbox clock can still sign with real time.
    let near = |t: Timestamp| (t.as_second() - timestamp).abs() <= skew;
    if !near(inner.now()) && !near(Timestamp::now()) {
        return Err(unauthorized());
    }
    let mut params: Vec<(String, String)> =
        oauth.iter().filter(|(k, _)| k != "oauth_signature" && k != "realm").cloned().collect();
    params.extend(request.query_pairs());
    params.extend(request.form_pairs());
    let host = request.header("host").unwrap_or("127.0.0.1");
    let base_url = signing::oauth_base_url("http", host, &request.path);
    let expected = signing::oauth1_signature(
        &request.method,
        &base_url,
        &params,
        &account.credential_or_empty("consumer_secret"),
        &account.credential_or_empty("access_token_secret"),
    );
    if !signing::constant_time_eq(expected.as_bytes(), get("oauth_signature").as_bytes()) {
        tracing::debug!(%base_url, "OAuth 1.0a signature mismatch");
        return Err(unauthorized());
    }
    if !world.x.nonces.insert((consumer_key, nonce)) {
        return Err(unauthorized());
    }
    Ok(Caller::User(account.external_id))
}

/// twitter-text weighting: most Latin-range characters weigh 1, CJK and emoji
/// 2, any URL 23.
pub(crate) fn weighted_length(text: &str) -> u32 {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let trimmed = word.trim_end();
            if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
                23 + (word.len() - trimmed.len()) as u32
            } else {
                word.chars().map(char_weight).sum()
            }
        })
        .sum()
}

fn char_weight(c: char) -> u32 {
    let code = c as u32;
    let light = matches!(code, 0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247);
    if light { 1 } else { 2 }
}

/// The v2 `data` object for an error-free JSON answer.
pub(crate) fn data(value: Value) -> Value {
    json!({ "data": value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_length_follows_twitter_text() {
        assert_eq!(weighted_length("hello"), 5);
        assert_eq!(weighted_length("你好"), 4);
        assert_eq!(weighted_length("see https://example.com/a/very/long/path/indeed ok"), 4 + 23 + 3);
        assert_eq!(weighted_length("Καλημέρα"), 8);
    }
}
