//! VK API 5.199, served under `/vk/method/<name>` (form or query parameters),
//! plus the Bots Long Poll server under `/vk/lp/<group>`. Answers are
//! `{"response":…}` or `{"error":{error_code,error_msg,request_params}}`, both
//! with HTTP 200. Callback API deliveries start with a confirmation request
//! and carry the `secret` field; anything but a plain `ok` is re-sent.

mod events;
mod methods;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::config::ApiFault;
use crate::faults::{Gate, gate, label};
use crate::http::{ApiRequest, ApiResponse, Handled, param_str};
use crate::model::{Account, SimNetwork};
use crate::state::{Inner, World};

pub(crate) use events::act;

pub(crate) const API_VERSION: &str = "5.199";

#[derive(Clone, Debug)]
pub(crate) struct Callback {
    pub url: String,
    pub secret: String,
    pub confirmed: bool,
    pub code: String,
}

#[derive(Clone, Debug)]
pub(crate) struct VkMessage {
    pub id: i64,
    pub peer_id: i64,
    pub from_id: i64,
    pub text: String,
    pub date: Timestamp,
    pub conversation_message_id: i64,
    pub out: bool,
    pub random_id: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct WallComment {
    pub id: i64,
    pub post_id: i64,
    pub from_id: i64,
    pub text: String,
    pub date: Timestamp,
    pub reply_to_comment: Option<i64>,
    pub reply_to_user: Option<i64>,
    pub parents_stack: Vec<i64>,
    pub deleted: bool,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Group {
    pub id: i64,
    pub name: String,
    pub screen_name: String,
    pub callback: Option<Callback>,
    /// Users who wrote to the community or allowed its messages.
    pub allowed: BTreeSet<i64>,
    pub denied: BTreeSet<i64>,
    pub next_message_id: i64,
    pub next_cmid: BTreeMap<i64, i64>,
    pub messages: BTreeMap<i64, VkMessage>,
    /// (peer, random_id) → message id: VK's idempotency key.
    pub random_ids: BTreeMap<(i64, i64), i64>,
    pub posts: BTreeMap<i64, (String, Timestamp)>,
    pub comments: BTreeMap<i64, WallComment>,
    pub next_wall_id: i64,
    /// (post, guid) → comment id.
    pub guids: BTreeMap<(i64, String), i64>,
    pub likes: BTreeSet<(String, i64, i64)>,
    /// Long poll log: (ts, event without secret).
    pub lp_events: Vec<(u64, Value)>,
    pub lp_next: u64,
    pub lp_key: String,
}

#[derive(Default)]
pub(crate) struct VkWorld {
    pub groups: BTreeMap<String, Group>,
}

impl VkWorld {
    pub(crate) fn callback(&self, group: &str) -> Option<Callback> {
        self.groups.get(group).and_then(|g| g.callback.clone())
    }

    pub(crate) fn set_confirmed(&mut self, group: &str, confirmed: bool) {
        if let Some(callback) = self.groups.get_mut(group).and_then(|g| g.callback.as_mut()) {
            callback.confirmed = confirmed;
        }
    }
}

pub(crate) fn register(world: &mut World, account: &Account) {
    let id: i64 = account.external_id.parse().unwrap_or_default();
    let callback = account.webhook_url.clone().map(|url| Callback {
        url,
        secret: account.credential_or_empty("secret"),
        confirmed: false,
        code: account.credential_or_empty("confirmation_code"),
    });
    let key = world.rng.hex(40);
    let mut group = world.vk.groups.remove(&account.external_id).unwrap_or_else(|| Group {
        next_message_id: 8_800,
        next_wall_id: 940,
        lp_next: 1,
        ..Group::default()
    });
    group.id = id;
    group.name = account.credential("name").unwrap_or(&account.handle).to_string();
    group.screen_name = account.handle.trim_start_matches('@').to_string();
    group.callback = callback;
    group.lp_key = key;
    world.vk.groups.insert(account.external_id.clone(), group);
}

/// The Callback API's confirmation request: VK POSTs `{"type":"confirmation"}`
/// and expects the community's code as the plain-text body.
pub(crate) async fn confirm_callback(inner: &Arc<Inner>, group: &str) {
    let Some(callback) = inner.with(|world| world.vk.callback(group)) else { return };
    let body = json!({"type": "confirmation", "group_id": group.parse::<i64>().unwrap_or_default()});
    let timeout = Duration::from_secs(inner.config.webhook_timeout_secs);
    let result = inner.http.post(&callback.url).json(&body).timeout(timeout).send().await;
    let (ok, detail) = match result {
        Err(error) => (false, error.to_string()),
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            (
                status == 200 && text == callback.code,
                format!("HTTP {status}, body {text:?}, expected {:?}", callback.code),
            )
        }
    };
    let now = inner.now();
    inner.with(|world| {
        world.vk.set_confirmed(group, ok);
        world.record_handshake(crate::model::HandshakeRecord {
            network: SimNetwork::Vk,
            account_id: group.to_string(),
            kind: "vk_confirmation".into(),
            url: callback.url.clone(),
            ok,
            detail,
            at: now,
        });
    });
}

/// `request_params` echo: method, oauth flag, and every parameter but the token.
fn request_params(method: &str, params: &Map<String, Value>) -> Value {
    let mut list = vec![json!({"key": "method", "value": method}), json!({"key": "oauth", "value": "1"})];
    for (key, value) in params.iter().filter(|(k, _)| k.as_str() != "access_token") {
        let value = value.as_str().map_or_else(|| value.to_string(), str::to_string);
        list.push(json!({"key": key, "value": value}));
    }
    Value::Array(list)
}

/// A VK error answer (HTTP 200, as VK does).
pub(crate) struct VkError {
    pub code: u32,
    pub message: String,
}

pub(crate) fn vk_error(code: u32, message: &str) -> VkError {
    VkError { code, message: message.to_string() }
}

fn error_response(method: &str, params: &Map<String, Value>, error: &VkError) -> ApiResponse {
    ApiResponse::json(
        200,
        &json!({"error": {"error_code": error.code, "error_msg": error.message, "request_params": request_params(method, params)}}),
    )
}

fn fault_error(fault: &ApiFault) -> VkError {
    match fault {
        ApiFault::RateLimited => vk_error(6, "Too many requests per second"),
        ApiFault::ServerError(_) => vk_error(10, "Internal server error: Unknown error, try later"),
        ApiFault::ExpiredToken | ApiFault::Timeout { .. } => {
            vk_error(5, "User authorization failed: access_token has expired.")
        }
        ApiFault::MissingPermission => vk_error(15, "Access denied: no access to call this method"),
    }
}

pub(crate) async fn handle(inner: &Arc<Inner>, request: &ApiRequest) -> Handled {
    let segments = request.segments("/vk");
    let params = request.params();
    let response = match segments.as_slice() {
        [lp, group] if lp == "lp" => events::a_check(inner, group, &params).await,
        [method_segment, method] if method_segment == "method" => {
            return call_method(inner, method, &params).await;
        }
        _ => ApiResponse::json(404, &json!({"error": {"error_code": 3, "error_msg": "Unknown method passed"}})),
    };
    Handled { network: SimNetwork::Vk, response, fault: None }
}

async fn call_method(inner: &Arc<Inner>, method: &str, params: &Map<String, Value>) -> Handled {
    let done = |response: ApiResponse, fault: Option<String>| Handled { network: SimNetwork::Vk, response, fault };
    let token = param_str(params, "access_token").unwrap_or_default();
    if token.is_empty() {
        return done(
            error_response(method, params, &vk_error(5, "User authorization failed: no access_token passed.")),
            None,
        );
    }
    let group = inner.with(|world| {
        world
            .accounts
            .iter()
            .find(|a| a.network == SimNetwork::Vk && a.credential("access_token") == Some(token.as_str()))
            .map(|a| a.external_id.clone())
    });
    let Some(group) = group else {
        return done(
            error_response(method, params, &vk_error(5, "User authorization failed: invalid access_token (4).")),
            None,
        );
    };
    let fault = match gate(inner, SimNetwork::Vk).await {
        Gate::Proceed(label) => label,
        Gate::Refuse(fault) => return done(error_response(method, params, &fault_error(&fault)), Some(label(&fault))),
    };
    let now = inner.now();
    let base = inner.api_base(SimNetwork::Vk);
    let result = inner.with(|world| {
        if param_str(params, "v").is_none() {
            return Err(vk_error(8, "Invalid request: v (version) is required"));
        }
        let limit = world.limits.vk_requests_per_sec;
        let rate_now = world.request_rate_now;
        if !world.rates.hit(&format!("vk:{token}"), Duration::from_secs(1), limit, rate_now).allowed {
            return Err(vk_error(6, "Too many requests per second"));
        }
        methods::call(world, &group, method, params, now, &base)
    });
    let response = match result {
        Ok(value) => ApiResponse::json(200, &json!({ "response": value })),
        Err(error) => error_response(method, params, &error),
    };
    done(response, fault)
}
