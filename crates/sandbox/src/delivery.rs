//! Webhook delivery with each network's signing, acknowledgement rule and
//! retry schedule, plus the delivery faults (duplicates, reordering, batching,
//! bursts, bad signatures, lost acknowledgements).

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::config::{Faults, XRetryPolicy};
use crate::model::{DeliveryRecord, HandshakeRecord, SimNetwork};
use crate::signing;
use crate::state::{Inner, World};
use crate::{meta, vk};

/// The unit of a webhook body.
#[derive(Clone, Debug)]
pub(crate) enum Payload {
    /// A whole body: X envelope or Telegram Update.
    Whole(Value),
    /// One `entry` of a Meta webhook; entries for the same endpoint are batched.
    MetaEntry { object: &'static str, entry: Value },
    /// A VK Callback event without `secret`, which is added when sending.
    Vk(Value),
}

#[derive(Clone, Debug)]
pub(crate) struct PendingDelivery {
    pub network: SimNetwork,
    pub account_id: String,
    pub key: String,
    pub payload: Payload,
    /// Attempts already made.
    pub attempts: u32,
    pub due: Timestamp,
    pub duplicate: bool,
    pub created: Timestamp,
}

/// Queues an event for delivery now.
pub(crate) fn enqueue(
    world: &mut World,
    now: Timestamp,
    network: SimNetwork,
    account_id: &str,
    key: &str,
    payload: Payload,
) {
    world.pending.push(PendingDelivery {
        network,
        account_id: account_id.to_string(),
        key: key.to_string(),
        payload,
        attempts: 0,
        due: now,
        duplicate: false,
        created: now,
    });
}

/// One HTTP request to make.
#[derive(Clone)]
pub(crate) struct Outgoing {
    network: SimNetwork,
    account_id: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Duration,
    items: Vec<PendingDelivery>,
    /// Set for a VK confirmation request: the code the answer must equal.
    vk_confirmation: Option<String>,
}

/// A webhook request built and signed by the sandbox but sent by the
/// caller (a load generator that wants to send faster than the sandbox's
/// own delivery loop); report what came back with [`settle_prepared`].
#[derive(Clone)]
pub struct PreparedWebhook {
    pub network: SimNetwork,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub(crate) outgoing: Outgoing,
}

/// Takes the requests now due out of the queue, built and signed, without sending them.
pub(crate) fn prepare_due(world: &mut World, inner: &Inner, now: Timestamp) -> Vec<PreparedWebhook> {
    take_due(world, inner, now, false)
        .into_iter()
        .map(|o| PreparedWebhook {
            network: o.network,
            url: o.url.clone(),
            headers: o.headers.clone(),
            body: o.body.clone(),
            outgoing: o,
        })
        .collect()
}

/// Records the answer a prepared request got, as if the sandbox had sent it
/// (acknowledged or scheduled for the network's retries).
pub(crate) fn settle_prepared(
    world: &mut World,
    webhook: PreparedWebhook,
    status: Option<u16>,
    body: String,
    now: Timestamp,
) {
    let outcome = Outcome { status, body, error: status.is_none().then(|| "not answered".to_owned()) };
    settle(world, webhook.outgoing, outcome, now);
}

#[derive(Clone)]
struct Outcome {
    status: Option<u16>,
    body: String,
    error: Option<String>,
}

/// Sends what is due (everything when `force`), then whatever fell due
/// immediately as a consequence (instant retries, injected duplicates,
/// events released by a VK confirmation).
pub(crate) async fn flush(inner: &Arc<Inner>, force: bool) {
    let mut force = force;
    for _ in 0..8 {
        let now = inner.now();
        let outgoing = inner.with(|world| take_due(world, inner, now, force));
        if outgoing.is_empty() {
            return;
        }
        force = false;
        let concurrent = inner.with(|world| outgoing.iter().any(|o| world.faults(o.network).burst > 0));
        let results = send_all(inner, outgoing, concurrent).await;
        let now = inner.now();
        inner.with(|world| {
            for (request, outcome) in results {
                settle(world, request, outcome, now);
            }
        });
    }
}

async fn send_all(inner: &Arc<Inner>, outgoing: Vec<Outgoing>, concurrent: bool) -> Vec<(Outgoing, Outcome)> {
    if !concurrent {
        let mut results = Vec::with_capacity(outgoing.len());
        for request in outgoing {
            let outcome = send(&inner.http, &request).await;
            results.push((request, outcome));
        }
        return results;
    }
    let mut set = tokio::task::JoinSet::new();
    for request in outgoing {
        let http = inner.http.clone();
        set.spawn(async move {
            let outcome = send(&http, &request).await;
            (request, outcome)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(result) = joined {
            results.push(result);
        }
    }
    results
}

async fn send(http: &reqwest::Client, request: &Outgoing) -> Outcome {
    let mut builder = http.post(&request.url).timeout(request.timeout).body(request.body.clone());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    match builder.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            Outcome { status: Some(status), body, error: None }
        }
        Err(error) => {
            let reason = if error.is_timeout() { "timed out".to_string() } else { error.to_string() };
            Outcome { status: None, body: String::new(), error: Some(reason) }
        }
    }
}

/// Each network's definition of "acknowledged".
fn acknowledged(network: SimNetwork, outcome: &Outcome) -> bool {
    match (network, outcome.status) {
        (SimNetwork::Telegram, Some(status)) => (200..300).contains(&status),
        (SimNetwork::Vk, Some(200)) => outcome.body == "ok",
        (SimNetwork::Vk, _) => false,
        (_, Some(status)) => status == 200,
        (_, None) => false,
    }
}

/// Where a pending event goes right now.
enum Route {
    Send { url: String },
    Hold,
    Drop(String),
    VkConfirm { url: String, group_id: String, code: String },
}

fn route(world: &World, item: &PendingDelivery) -> Route {
    let Some(account) = world.account(item.network, &item.account_id) else {
        return Route::Drop("account removed".into());
    };
    match item.network {
        SimNetwork::X => match world.x.webhook_target(&item.account_id) {
            Some((url, true)) => Route::Send { url },
            Some((_, false)) => Route::Drop("webhook invalid (CRC failed): delivery stopped".into()),
            None => Route::Drop("no webhook subscribed for this user".into()),
        },
        SimNetwork::Facebook | SimNetwork::Instagram | SimNetwork::Whatsapp => {
            match (account.webhook_url.clone(), world.meta.subscription(&item.account_id)) {
                (None, _) => Route::Drop("no webhook configured".into()),
                (Some(_), meta::Subscription::Pending) => Route::Hold,
                (Some(_), meta::Subscription::Failed) => {
                    Route::Drop("webhook verification failed: subscription not saved".into())
                }
                (Some(url), meta::Subscription::Verified) => Route::Send { url },
            }
        }
        SimNetwork::Telegram => match world.tg.webhook(&item.account_id) {
            Some((url, _)) => Route::Send { url },
            None => Route::Drop("webhook removed".into()),
        },
        SimNetwork::Vk => match world.vk.callback(&item.account_id) {
            Some(vk::Callback { url, confirmed: true, .. }) => Route::Send { url },
            Some(vk::Callback { url, code, .. }) => Route::VkConfirm { url, group_id: item.account_id.clone(), code },
            None => Route::Drop("no callback server".into()),
        },
    }
}

fn take_due(world: &mut World, inner: &Inner, now: Timestamp, force: bool) -> Vec<Outgoing> {
    let retention = SignedDuration::from_hours(world.limits.telegram_update_retention_hours);
    world.pending.retain(|p| p.network != SimNetwork::Telegram || p.created + retention > now);
    let held_by_burst: Vec<SimNetwork> = SimNetwork::ALL
        .into_iter()
        .filter(|n| {
            let burst = world.faults(*n).burst as usize;
            burst > 0 && !force && world.pending.iter().filter(|p| p.network == *n).count() < burst
        })
        .collect();
    let (mut due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut world.pending)
        .into_iter()
        .partition(|p| (force || p.due <= now) && !held_by_burst.contains(&p.network));
    world.pending = rest;
    reorder_if_asked(world, &mut due);

    let mut outgoing: Vec<Outgoing> = Vec::new();
    let mut confirming: Vec<String> = Vec::new();
    for item in due {
        match route(world, &item) {
            Route::Hold => world.pending.push(item),
            Route::Drop(reason) => record(world, &item, "", None, false, 1, Some(reason), now),
            Route::VkConfirm { url, group_id, code } => {
                if !confirming.contains(&group_id) {
                    confirming.push(group_id.clone());
                    outgoing.push(vk_confirmation(inner, &url, &group_id, code));
                }
                world.pending.push(item);
            }
            Route::Send { url } => add_to_outgoing(world, inner, &mut outgoing, item, url),
        }
    }
    finalize_requests(world, &mut outgoing);
    outgoing
}

fn reorder_if_asked(world: &mut World, due: &mut [PendingDelivery]) {
    if due.iter().any(|p| world.faults(p.network).reorder) {
        world.rng.shuffle(due);
    }
}

/// Adds an event to the batch for its endpoint (Meta) or as its own request.
fn add_to_outgoing(world: &World, inner: &Inner, outgoing: &mut Vec<Outgoing>, item: PendingDelivery, url: String) {
    let batch_max = world.limits.meta_batch_max.max(1);
    // Meta batches several updates into one POST; the sandbox does so when the
    // network's `reorder` fault asks for the harder case.
    let batching = world.faults(item.network).reorder;
    if let (true, Payload::MetaEntry { object, .. }) = (batching, &item.payload) {
        let object = *object;
        let same_batch = outgoing.iter_mut().find(|o| {
            o.url == url
                && o.items.len() < batch_max
                && o.items.first().is_some_and(|first| {
                    matches!(&first.payload, Payload::MetaEntry { object: o2, .. } if *o2 == object)
                        && meta_secret(world, first) == meta_secret(world, &item)
                })
        });
        if let Some(batch) = same_batch {
            batch.items.push(item);
            return;
        }
    }
    let timeout = match item.network {
        SimNetwork::X => Duration::from_millis(world.limits.x_delivery_timeout_ms),
        _ => Duration::from_secs(inner.config.webhook_timeout_secs),
    };
    outgoing.push(Outgoing {
        network: item.network,
        account_id: item.account_id.clone(),
        url,
        headers: Vec::new(),
        body: Vec::new(),
        timeout,
        items: vec![item],
        vk_confirmation: None,
    });
}

fn meta_secret(world: &World, item: &PendingDelivery) -> String {
    world.account(item.network, &item.account_id).map(|a| a.credential_or_empty("app_secret")).unwrap_or_default()
}

fn vk_confirmation(inner: &Inner, url: &str, group_id: &str, code: String) -> Outgoing {
    let group: i64 = group_id.parse().unwrap_or_default();
    Outgoing {
        network: SimNetwork::Vk,
        account_id: group_id.to_string(),
        url: url.to_string(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&json!({"type": "confirmation", "group_id": group})).unwrap_or_default(),
        timeout: Duration::from_secs(inner.config.webhook_timeout_secs),
        items: Vec::new(),
        vk_confirmation: Some(code),
    }
}

/// Builds bodies and signatures just before sending, so a fault switched on
/// after an event was queued still applies.
fn finalize_requests(world: &World, outgoing: &mut [Outgoing]) {
    for request in outgoing.iter_mut().filter(|r| r.vk_confirmation.is_none()) {
        let faults = world.faults(request.network);
        let Some(account) = world.account(request.network, &request.account_id) else { continue };
        let (body, headers) = match request.network {
            SimNetwork::X => {
                let body = whole_body(&request.items);
                let secret = secret_for(&faults, account.credential_or_empty("consumer_secret"));
                let signature = signing::x_webhook_signature(&secret, &body);
                (body, vec![("x-twitter-webhooks-signature".to_string(), signature)])
            }
            SimNetwork::Telegram => {
                let body = whole_body(&request.items);
                let headers = world
                    .tg
                    .webhook(&request.account_id)
                    .and_then(|(_, secret)| secret)
                    .map(|secret| vec![("x-telegram-bot-api-secret-token".to_string(), secret_for(&faults, secret))])
                    .unwrap_or_default();
                (body, headers)
            }
            SimNetwork::Vk => {
                let secret = world.vk.callback(&request.account_id).map(|c| c.secret).unwrap_or_default();
                let secret = secret_for(&faults, secret);
                let mut event = match request.items.first().map(|i| &i.payload) {
                    Some(Payload::Vk(event)) => event.clone(),
                    _ => Value::Null,
                };
                if !secret.is_empty()
                    && let Some(object) = event.as_object_mut()
                {
                    object.insert("secret".into(), Value::String(secret));
                }
                (serde_json::to_vec(&event).unwrap_or_default(), Vec::new())
            }
            _ => {
                let body = meta_body(world, &request.items);
                let secret = secret_for(&faults, account.credential_or_empty("app_secret"));
                let headers = vec![
                    ("x-hub-signature-256".to_string(), signing::meta_signature_256(&secret, &body)),
                    ("x-hub-signature".to_string(), signing::meta_signature_sha1(&secret, &body)),
                    ("user-agent".to_string(), "facebookexternalua".to_string()),
                ];
                (body, headers)
            }
        };
        request.body = body;
        request.headers = headers;
        request.headers.push(("content-type".into(), "application/json".into()));
    }
}

fn secret_for(faults: &Faults, secret: String) -> String {
    if faults.webhook_bad_signature { format!("{secret}-not-the-right-secret") } else { secret }
}

fn whole_body(items: &[PendingDelivery]) -> Vec<u8> {
    match items.first().map(|i| &i.payload) {
        Some(Payload::Whole(value)) => serde_json::to_vec(value).unwrap_or_default(),
        _ => b"{}".to_vec(),
    }
}

/// `{"object":…,"entry":[…]}` with Meta's escaping rules.
fn meta_body(world: &World, items: &[PendingDelivery]) -> Vec<u8> {
    let mut object = "page";
    let mut entries = Vec::new();
    for item in items {
        if let Payload::MetaEntry { object: o, entry } = &item.payload {
            object = o;
            entries.push(entry.clone());
        }
    }
    let compact = serde_json::to_string(&json!({"object": object, "entry": entries})).unwrap_or_default();
    let limits = &world.limits;
    let mut text = compact;
    if limits.meta_escape_unicode {
        text = signing::escape_json_non_ascii(&text, false);
    }
    if limits.meta_escape_slashes {
        text = text.replace('/', "\\/");
    }
    text.into_bytes()
}

#[allow(clippy::too_many_arguments)]
fn record(
    world: &mut World,
    item: &PendingDelivery,
    url: &str,
    status: Option<u16>,
    acknowledged: bool,
    batch_size: usize,
    error: Option<String>,
    at: Timestamp,
) {
    world.deliveries.push(DeliveryRecord {
        network: item.network,
        account_id: item.account_id.clone(),
        event_key: item.key.clone(),
        attempt: item.attempts + 1,
        url: url.to_string(),
        status,
        acknowledged,
        duplicate: item.duplicate,
        batch_size,
        error,
        at,
    });
}

fn settle(world: &mut World, request: Outgoing, outcome: Outcome, now: Timestamp) {
    if let Some(expected) = &request.vk_confirmation {
        let ok = outcome.status == Some(200) && outcome.body == *expected;
        world.vk.set_confirmed(&request.account_id, ok);
        let detail = match (&outcome.status, &outcome.error) {
            (_, Some(error)) => error.clone(),
            (Some(status), None) => format!("HTTP {status}, body {:?}, expected {expected:?}", outcome.body),
            (None, None) => String::new(),
        };
        world.record_handshake(HandshakeRecord {
            network: SimNetwork::Vk,
            account_id: request.account_id.clone(),
            kind: "vk_confirmation".into(),
            url: request.url.clone(),
            ok,
            detail,
            at: now,
        });
        return;
    }
    let faults = world.faults(request.network);
    let acked = acknowledged(request.network, &outcome) && !faults.drop_ack_check;
    if request.network == SimNetwork::Telegram {
        world.tg.note_delivery(&request.account_id, acked, outcome.status, now);
    }
    let batch_size = request.items.len();
    for item in request.items {
        record(world, &item, &request.url, outcome.status, acked, batch_size, outcome.error.clone(), now);
        if acked {
            queue_duplicates(world, &item, &faults, now);
        } else {
            schedule_retry(world, item, now);
        }
    }
}

fn queue_duplicates(world: &mut World, item: &PendingDelivery, faults: &Faults, now: Timestamp) {
    if item.duplicate {
        return;
    }
    for n in 0..faults.redeliver_each {
        let mut copy = item.clone();
        copy.duplicate = true;
        copy.attempts = item.attempts + 1 + n;
        copy.due = now;
        world.pending.push(copy);
    }
}

fn retry_delays(world: &World, network: SimNetwork) -> Vec<u64> {
    let limits = &world.limits;
    match network {
        SimNetwork::X if limits.x_webhook_retries == XRetryPolicy::None => Vec::new(),
        SimNetwork::X => limits.x_retry_delays_secs.clone(),
        SimNetwork::Facebook | SimNetwork::Instagram => limits.meta_retry_delays_secs.clone(),
        SimNetwork::Whatsapp => limits.whatsapp_retry_delays_secs.clone(),
        SimNetwork::Telegram => limits.telegram_retry_delays_secs.clone(),
        SimNetwork::Vk => limits.vk_retry_delays_secs.clone(),
    }
}

fn schedule_retry(world: &mut World, mut item: PendingDelivery, now: Timestamp) {
    let delays = retry_delays(world, item.network);
    // The n-th failure waits delays[n-1]; past the schedule the network gives up.
    let Some(delay) = delays.get(item.attempts as usize).copied() else {
        tracing::debug!(key = %item.key, network = %item.network, "webhook retries exhausted");
        return;
    };
    item.attempts += 1;
    item.due = now + SignedDuration::from_secs(i64::try_from(delay).unwrap_or(i64::MAX / 2));
    world.pending.push(item);
}
