//! Account Activity webhook registration, CRC checks and subscriptions.
//! A webhook whose CRC fails is marked invalid and X stops delivering to it,
//! silently, until a `PUT` re-validates it.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::{Caller, XWebhook, data, invalid_request, not_found, problem, user_context};
use crate::http::{ApiRequest, ApiResponse};
use crate::model::{HandshakeRecord, SimNetwork};
use crate::signing;
use crate::state::{Inner, World};

pub(crate) async fn route(inner: &Arc<Inner>, request: &ApiRequest, segments: &[&str], caller: &Caller) -> ApiResponse {
    match (request.method.as_str(), segments) {
        ("GET", ["2", "webhooks"]) => inner.with(|world| list(world, caller)),
        ("POST", ["2", "webhooks"]) => register(inner, request, caller).await,
        ("PUT", ["2", "webhooks", id]) => revalidate(inner, id, caller).await,
        ("DELETE", ["2", "webhooks", id]) => inner.with(|world| delete(world, id, caller)),
        ("GET", ["2", "account_activity", "subscriptions", "count"]) => inner.with(|world| count(world, caller)),
        (method, ["2", "account_activity", "webhooks", id, "subscriptions", rest @ ..]) => {
            let now = inner.now();
            inner.with(|world| subscriptions(world, method, id, rest, caller, now))
        }
        _ => not_found(),
    }
}

fn app_key(world: &World, caller: &Caller) -> String {
    match caller {
        Caller::App(key) => key.clone(),
        Caller::User(id) => {
            world.account(SimNetwork::X, id).map(|a| a.credential_or_empty("consumer_key")).unwrap_or_default()
        }
    }
}

fn webhook_json(hook: &XWebhook) -> Value {
    json!({"id": hook.id, "url": hook.url, "valid": hook.valid,
           "created_at": hook.created_at.strftime("%Y-%m-%dT%H:%M:%S.%3fZ").to_string()})
}

fn list(world: &World, caller: &Caller) -> ApiResponse {
    let key = app_key(world, caller);
    let hooks: Vec<Value> = world.x.webhooks.iter().filter(|w| w.consumer_key == key).map(webhook_json).collect();
    ApiResponse::json(200, &json!({"data": hooks, "meta": {"result_count": hooks.len()}}))
}

async fn register(inner: &Arc<Inner>, request: &ApiRequest, caller: &Caller) -> ApiResponse {
    let url = request.json_body().and_then(|b| b.get("url").and_then(Value::as_str).map(str::to_string));
    let url = url.or_else(|| request.query_pairs().into_iter().find(|(k, _)| k == "url").map(|(_, v)| v));
    let Some(url) = url else { return invalid_request("url", "The `url` field is required.") };
    let key = inner.with(|world| app_key(world, caller));
    let (ok, _) = crc(inner, &url, &key).await;
    if !ok {
        return problem(
            400,
            "Invalid Request",
            "CrcValidationFailed: the webhook URL did not answer the CRC check correctly within 3 seconds.",
            "https://api.twitter.com/2/problems/invalid-request",
        );
    }
    let now = inner.now();
    inner.with(|world| {
        let seq = world.next_seq();
        let id = world.x.next_id(now, seq).to_string();
        let hook = XWebhook { id, url, valid: true, created_at: now, consumer_key: key, last_crc_at: Some(now) };
        let body = data(webhook_json(&hook));
        world.record_subscription(SimNetwork::X, &hook.id, "x_webhook", Some(&hook.url), Vec::new(), now);
        world.x.webhooks.push(hook);
        ApiResponse::json(200, &body)
    })
}

async fn revalidate(inner: &Arc<Inner>, id: &str, caller: &Caller) -> ApiResponse {
    let Some((url, key)) = inner.with(|world| {
        let key = app_key(world, caller);
        world.x.webhooks.iter().find(|w| w.id == id && w.consumer_key == key).map(|w| (w.url.clone(), key))
    }) else {
        return not_found();
    };
    let (valid, _) = crc(inner, &url, &key).await;
    let now = inner.now();
    inner.with(|world| set_validity(world, id, valid, now));
    ApiResponse::json(200, &data(json!({"attempted": true, "valid": valid})))
}

fn delete(world: &mut World, id: &str, caller: &Caller) -> ApiResponse {
    let key = app_key(world, caller);
    let before = world.x.webhooks.len();
    world.x.webhooks.retain(|w| !(w.id == id && w.consumer_key == key));
    if world.x.webhooks.len() == before {
        return not_found();
    }
    world.x.subscriptions.retain(|(hook, _)| hook != id);
    ApiResponse::json(200, &data(json!({"deleted": true})))
}

fn count(world: &World, caller: &Caller) -> ApiResponse {
    let key = app_key(world, caller);
    let hooks: Vec<&String> = world.x.webhooks.iter().filter(|w| w.consumer_key == key).map(|w| &w.id).collect();
    let total = world.x.subscriptions.iter().filter(|(hook, _)| hooks.contains(&hook)).count();
    ApiResponse::json(
        200,
        &data(
            json!({"account_name": "sandbox", "provisioned_count": "15", "subscriptions_count_all": total.to_string(),
                     "subscriptions_count_direct_messages": "0"}),
        ),
    )
}

fn subscriptions(
    world: &mut World,
    method: &str,
    hook: &str,
    rest: &[&str],
    caller: &Caller,
    now: Timestamp,
) -> ApiResponse {
    let key = app_key(world, caller);
    let Some(hook) =
        world.x.webhooks.iter().find(|w| w.id == hook && w.consumer_key == key).map(|w| (w.id.clone(), w.url.clone()))
    else {
        return not_found();
    };
    match (method, rest) {
        ("POST", ["all"]) => {
            let user = match user_context(caller) {
                Ok(user) => user,
                Err(response) => return response,
            };
            if !world.x.subscriptions.insert((hook.0.clone(), user.clone())) {
                return problem(
                    409,
                    "Conflict",
                    "DuplicateSubscription: this user is already subscribed to the webhook.",
                    "about:blank",
                );
            }
            let fields = vec![format!("webhook:{}", hook.0)];
            world.record_subscription(SimNetwork::X, &user, "x_subscription", Some(&hook.1), fields, now);
            ApiResponse::json(200, &data(json!({"subscribed": true})))
        }
        ("GET", ["all"]) => {
            let user = match user_context(caller) {
                Ok(user) => user,
                Err(response) => return response,
            };
            let subscribed = world.x.subscriptions.contains(&(hook.0, user));
            ApiResponse::json(200, &data(json!({"subscribed": subscribed})))
        }
        ("GET", ["all", "list"]) => {
            let users: Vec<Value> = world
                .x
                .subscriptions
                .iter()
                .filter(|(h, _)| *h == hook.0)
                .map(|(_, user)| json!({"user_id": user}))
                .collect();
            ApiResponse::json(
                200,
                &data(
                    json!({"application_id": key, "webhook_id": hook.0, "webhook_url": hook.1, "subscriptions": users}),
                ),
            )
        }
        ("DELETE", [user, "all"]) => {
            let removed = world.x.subscriptions.remove(&(hook.0, (*user).to_string()));
            if !removed {
                return not_found();
            }
            ApiResponse::json(200, &data(json!({"subscribed": false})))
        }
        _ => not_found(),
    }
}

fn set_validity(world: &mut World, id: &str, valid: bool, now: Timestamp) {
    if let Some(hook) = world.x.webhooks.iter_mut().find(|w| w.id == id) {
        hook.valid = valid;
        hook.last_crc_at = Some(now);
    }
}

/// One CRC exchange: `GET url?crc_token=…`, expecting 200, JSON, the right
/// `response_token`, within the configured time. Recorded as a handshake.
async fn crc(inner: &Arc<Inner>, url: &str, consumer_key: &str) -> (bool, String) {
    let (token, secret, account_id, timeout) = inner.with(|world| {
        let token = format!("crc-{}-{}-{}", world.rng.hex(8), world.rng.hex(4), world.rng.hex(12));
        let account = world
            .accounts
            .iter()
            .find(|a| a.network == SimNetwork::X && a.credential("consumer_key") == Some(consumer_key));
        let secret = account.map(|a| a.credential_or_empty("consumer_secret")).unwrap_or_default();
        let account_id = account.map(|a| a.external_id.clone()).unwrap_or_default();
        (token, secret, account_id, Duration::from_millis(world.limits.x_crc_timeout_ms))
    });
    let expected = signing::x_crc_response_token(&secret, &token);
    let result = inner.http.get(url).query(&[("crc_token", token.as_str())]).timeout(timeout).send().await;
    let (ok, detail) = match result {
        Err(error) if error.is_timeout() => (false, "timed out".to_string()),
        Err(error) => (false, error.to_string()),
        Ok(response) => {
            let status = response.status().as_u16();
            let json_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.contains("application/json"));
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let answered = body.get("response_token").and_then(Value::as_str).unwrap_or_default().to_string();
            let ok = status == 200 && json_type && signing::constant_time_eq(answered.as_bytes(), expected.as_bytes());
            (ok, format!("HTTP {status}, json: {json_type}, response_token {answered:?}, expected {expected:?}"))
        }
    };
    let now = inner.now();
    inner.with(|world| {
        world.record_handshake(HandshakeRecord {
            network: SimNetwork::X,
            account_id,
            kind: "x_crc".into(),
            url: url.to_string(),
            ok,
            detail: detail.clone(),
            at: now,
        })
    });
    (ok, detail)
}

async fn crc_webhooks(inner: &Arc<Inner>, filter: impl Fn(&World, &XWebhook) -> bool) {
    let hooks: Vec<(String, String, String)> = inner.with(|world| {
        world
            .x
            .webhooks
            .iter()
            .filter(|w| filter(world, w))
            .map(|w| (w.id.clone(), w.url.clone(), w.consumer_key.clone()))
            .collect()
    });
    for (id, url, key) in hooks {
        let (valid, _) = crc(inner, &url, &key).await;
        let now = inner.now();
        inner.with(|world| set_validity(world, &id, valid, now));
    }
}

/// CRC of the webhooks a user is subscribed to (after `add_account`).
pub(crate) async fn crc_all_for(inner: &Arc<Inner>, user_id: &str) {
    let user = user_id.to_string();
    crc_webhooks(inner, move |world, hook| world.x.subscriptions.contains(&(hook.id.clone(), user.clone()))).await;
}

pub(crate) async fn crc_everything(inner: &Arc<Inner>) {
    crc_webhooks(inner, |_, _| true).await;
}

/// X's periodic re-check, on the sandbox clock.
pub(crate) async fn crc_if_due(inner: &Arc<Inner>) {
    let now = inner.now();
    crc_webhooks(inner, move |world, hook| {
        let interval =
            SignedDuration::from_secs(i64::try_from(world.limits.x_crc_interval_secs).unwrap_or(i64::MAX / 4));
        hook.last_crc_at.is_some_and(|last| last + interval <= now)
    })
    .await;
}
