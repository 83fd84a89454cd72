//! Meta Graph API (Facebook Page, Messenger, Instagram, WhatsApp Cloud),
//! served under `/meta/{version}/…`. Tokens are checked on every call
//! (`access_token` parameter or bearer), `appsecret_proof` when sent (or when
//! the account's `require_appsecret_proof` credential is true), and errors
//! use the Graph error body.

mod events;
mod feed;
mod mentions;
mod messaging;
mod whatsapp;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::config::ApiFault;
use crate::faults::{Gate, gate, label};
use crate::http::{ApiRequest, ApiResponse, Handled, param_str};
use crate::model::{Account, HandshakeRecord, SimNetwork};
use crate::signing;
use crate::state::{Inner, World};

pub(crate) use events::act;

/// State of the app's webhook subscription for one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Subscription {
    /// The hub.challenge handshake has not answered yet.
    Pending,
    Verified,
    /// Meta does not save a subscription whose verification failed.
    Failed,
}

#[derive(Clone, Debug)]
pub(crate) struct Post {
    pub account: String,
    pub id: String,
    /// None for the page's own posts and IG media.
    pub author: Option<(String, String)>,
    pub text: String,
    pub created: Timestamp,
    pub private_replied: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Comment {
    pub account: String,
    pub network: SimNetwork,
    pub id: String,
    pub post_id: String,
    /// Top-level comment this one answers (Facebook threads are two levels deep).
    pub parent_id: Option<String>,
    pub author_id: String,
    pub author_name: String,
    pub text: String,
    pub created: Timestamp,
    pub hidden: bool,
    pub deleted: bool,
    pub private_replied: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Message {
    pub account: String,
    pub network: SimNetwork,
    pub user: String,
    pub text: String,
    pub edits: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct WaContact {
    pub wa_id: String,
    pub bsuid: String,
    pub name: String,
    pub phone_hidden: bool,
    pub last_inbound: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub(crate) struct Media {
    pub account: String,
    pub mime_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
pub(crate) struct MetaWorld {
    pub subscriptions: BTreeMap<String, Subscription>,
    pub fields: BTreeMap<String, BTreeSet<String>>,
    /// Last inbound message per (account, user): the messaging window.
    pub last_inbound: BTreeMap<(String, String), Timestamp>,
    pub posts: BTreeMap<String, Post>,
    pub comments: BTreeMap<String, Comment>,
    pub messages: BTreeMap<String, Message>,
    /// (phone_number_id, wa_id or bsuid) → contact; both keys point to one contact.
    pub wa_contacts: BTreeMap<(String, String), WaContact>,
    pub wa_outbound: BTreeMap<String, String>,
    pub media: BTreeMap<String, Media>,
    pub likes: BTreeSet<(String, String)>,
    /// (app id, object) → (callback URL, fields) of saved app subscriptions.
    pub app_subscriptions: BTreeMap<(String, String), (String, Vec<String>)>,
    /// Media and comments that @mention a brand IG account, by their id.
    pub mentions: BTreeMap<String, mentions::Mention>,
    /// Fields of the app-level subscription (`POST /{app-id}/subscriptions`)
    /// per account; when set, only these fields are delivered.
    pub app_fields: BTreeMap<String, BTreeSet<String>>,
}

impl MetaWorld {
    pub(crate) fn subscription(&self, account: &str) -> Subscription {
        self.subscriptions.get(account).copied().unwrap_or(Subscription::Verified)
    }

    pub(crate) fn subscribed(&self, account: &str, field: &str) -> bool {
        self.fields.get(account).is_some_and(|f| f.contains(field))
            && self.app_fields.get(account).is_none_or(|f| f.contains(field))
    }
}

fn default_fields(network: SimNetwork) -> &'static [&'static str] {
    match network {
        SimNetwork::Facebook => &[
            "feed",
            "messages",
            "message_echoes",
            "message_edits",
            "messaging_postbacks",
            "message_reads",
            "message_deliveries",
            "message_reactions",
        ],
        SimNetwork::Instagram => &["comments", "messages", "message_echoes", "message_edits", "mentions"],
        _ => &["messages"],
    }
}

pub(crate) fn register(world: &mut World, account: &Account) {
    let fields: BTreeSet<String> = match account.credentials.get("subscribed_fields") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::String(list)) => list.split(',').map(|f| f.trim().to_string()).collect(),
        _ => default_fields(account.network).iter().map(|f| (*f).to_string()).collect(),
    };
    world.meta.fields.insert(account.external_id.clone(), fields);
    let state = if account.webhook_url.is_some() && account.credential("verify_token").is_some() {
        Subscription::Pending
    } else {
        Subscription::Verified
    };
    world.meta.subscriptions.insert(account.external_id.clone(), state);
}

/// The hub.challenge handshake Meta runs when a subscription is saved.
pub(crate) async fn verify_subscription(inner: &Arc<Inner>, account: &Account) {
    let (Some(url), Some(verify_token)) = (account.webhook_url.clone(), account.credential("verify_token")) else {
        return;
    };
    let (ok, detail) = hub_challenge(inner, &url, verify_token).await;
    let now = inner.now();
    inner.with(|world| {
        let state = if ok { Subscription::Verified } else { Subscription::Failed };
        world.meta.subscriptions.insert(account.external_id.clone(), state);
        world.record_handshake(HandshakeRecord {
            network: account.network,
            account_id: account.external_id.clone(),
            kind: "meta_hub_challenge".into(),
            url,
            ok,
            detail,
            at: now,
        });
    });
}

/// `GET callback?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…`:
/// whether the challenge came back, and what was seen.
async fn hub_challenge(inner: &Arc<Inner>, url: &str, verify_token: &str) -> (bool, String) {
    let challenge = inner.with(|world| (1_000_000_000 + world.rng.below(8_999_999_999)).to_string());
    let query = [("hub.mode", "subscribe"), ("hub.challenge", challenge.as_str()), ("hub.verify_token", verify_token)];
    let timeout = Duration::from_secs(inner.config.webhook_timeout_secs);
    let result = inner.http.get(url).query(&query).timeout(timeout).send().await;
    match result {
        Err(error) => (false, error.to_string()),
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            (status == 200 && body == challenge, format!("HTTP {status}, body {body:?}, expected {challenge:?}"))
        }
    }
}

/// Graph error body.
pub(crate) fn graph_error(
    world: &mut World,
    status: u16,
    message: &str,
    kind: &str,
    code: u64,
    subcode: Option<u64>,
) -> ApiResponse {
    let mut error = json!({"message": message, "type": kind, "code": code, "fbtrace_id": world.rng.alphanumeric(11)});
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    ApiResponse::json(status, &json!({ "error": error }))
}

pub(crate) fn invalid_param(world: &mut World, message: &str) -> ApiResponse {
    graph_error(world, 400, &format!("(#100) {message}"), "OAuthException", 100, None)
}

pub(crate) fn unknown_object(world: &mut World, id: &str, method: &str) -> ApiResponse {
    let message = format!(
        "Unsupported {} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        method.to_lowercase()
    );
    graph_error(world, 400, &message, "GraphMethodException", 100, Some(33))
}

/// The call after authentication: who, on what, with which parameters.
pub(crate) struct Call<'a> {
    pub account: Account,
    pub method: &'a str,
    pub segments: Vec<String>,
    pub params: Map<String, Value>,
    pub now: Timestamp,
}

impl Call<'_> {
    pub(crate) fn param(&self, key: &str) -> Option<String> {
        param_str(&self.params, key)
    }
}

pub(crate) async fn handle(inner: &Arc<Inner>, request: &ApiRequest) -> Handled {
    let mut segments = request.segments("/meta");
    if segments.first().is_some_and(|s| is_version(s)) {
        segments.remove(0);
    }
    let params = request.params();
    let token = param_str(&params, "access_token").or_else(|| request.bearer().map(str::to_string));
    if let [app_id, edge] = segments.as_slice()
        && edge == "subscriptions"
        && inner.with(|world| is_app(world, app_id))
    {
        let (network, response) = app_subscription(inner, request, app_id, &params, token.as_deref()).await;
        return Handled { network, response, fault: None };
    }
    let resolved = inner.with(|world| resolve_account(world, &segments, token.as_deref()));
    let account = match resolved {
        Ok(account) => account,
        Err(response) => return Handled { network: SimNetwork::Facebook, response, fault: None },
    };
    let network = account.network;
    let fault = match gate(inner, network).await {
        Gate::Proceed(label) => label,
        Gate::Refuse(fault) => {
            let response = inner.with(|world| fault_response(world, network, &fault));
            return Handled {
                network,
                response: with_app_usage(inner, &account, response, true),
                fault: Some(label(&fault)),
            };
        }
    };
    if let Err(response) =
        inner.with(|world| check_proof(world, &account, &params, token.as_deref().unwrap_or_default()))
    {
        return Handled { network, response, fault };
    }
    let call = Call { account: account.clone(), method: request.method.as_str(), segments, params, now: inner.now() };
    let response = route(inner, call);
    Handled { network, response: with_app_usage(inner, &account, response, false), fault }
}

fn is_version(segment: &str) -> bool {
    segment
        .strip_prefix('v')
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// Finds the account the call acts for: the path's object (account id, post,
/// comment, media) must belong to an account whose token was presented.
fn resolve_account(world: &mut World, segments: &[String], token: Option<&str>) -> Result<Account, ApiResponse> {
    let Some(token) = token else {
        return Err(graph_error(
            world,
            400,
            "An active access token must be used to query information about the current user.",
            "OAuthException",
            2500,
            None,
        ));
    };
    let candidates: Vec<Account> = world
        .accounts
        .iter()
        .filter(|a| a.network.is_meta() && a.credential("access_token") == Some(token))
        .cloned()
        .collect();
    if candidates.is_empty() {
        return Err(graph_error(
            world,
            400,
            "Invalid OAuth access token - Cannot parse access token",
            "OAuthException",
            190,
            None,
        ));
    }
    let object = segments.iter().find(|s| s.as_str() != "_media").cloned().unwrap_or_else(|| "me".into());
    let mut owner = owner_of(world, &object);
    // `POST /{waba-id}/subscribed_apps`: any WABA id, with a WhatsApp token.
    if owner.is_none() && segments.get(1).is_some_and(|s| s == "subscribed_apps") {
        let whatsapp: Vec<&Account> = candidates.iter().filter(|a| a.network == SimNetwork::Whatsapp).collect();
        owner = whatsapp
            .iter()
            .find(|a| whatsapp::waba_id(a) == object)
            .or_else(|| whatsapp.first())
            .map(|a| a.external_id.clone());
    }
    match owner {
        None if object == "me" => Ok(candidates[0].clone()),
        None => Err(unknown_object(world, &object, "get")),
        Some(owner) => candidates
            .iter()
            .find(|a| a.external_id == owner)
            .cloned()
            .ok_or_else(|| unknown_object(world, &object, "post")),
    }
}

/// Which account an object id belongs to.
fn owner_of(world: &World, object: &str) -> Option<String> {
    if world.accounts.iter().any(|a| a.network.is_meta() && a.external_id == object) {
        return Some(object.to_string());
    }
    let meta = &world.meta;
    meta.comments
        .get(object)
        .map(|c| c.account.clone())
        .or_else(|| meta.posts.get(object).map(|p| p.account.clone()))
        .or_else(|| meta.media.get(object).map(|m| m.account.clone()))
        .or_else(|| meta.messages.get(object).map(|m| m.account.clone()))
}

fn check_proof(
    world: &mut World,
    account: &Account,
    params: &Map<String, Value>,
    token: &str,
) -> Result<(), ApiResponse> {
    let secret = account.credential_or_empty("app_secret");
    match param_str(params, "appsecret_proof") {
        Some(proof) => {
            let expected = signing::appsecret_proof(&secret, token);
            if signing::constant_time_eq(proof.as_bytes(), expected.as_bytes()) {
                Ok(())
            } else {
                Err(graph_error(
                    world,
                    400,
                    "Invalid appsecret_proof provided in the API argument",
                    "GraphMethodException",
                    100,
                    None,
                ))
            }
        }
        None if account.credentials.get("require_appsecret_proof").and_then(Value::as_bool) == Some(true) => {
            Err(graph_error(
                world,
                400,
                "API calls from the server require an appsecret_proof argument",
                "GraphMethodException",
                100,
                None,
            ))
        }
        None => Ok(()),
    }
}

fn route(inner: &Arc<Inner>, call: Call<'_>) -> ApiResponse {
    let segments: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    let network = call.account.network;
    inner.with(|world| match (call.method, segments.as_slice(), network) {
        ("POST", [_, "messages"], SimNetwork::Whatsapp) => whatsapp::send(world, &call),
        ("POST", [_, "messages"], _) => messaging::send(world, &call),
        ("GET", ["_media", id], _) => whatsapp::download(world, &call, id),
        ("GET", [id], SimNetwork::Whatsapp) if world.meta.media.contains_key(*id) => {
            whatsapp::media_info(world, &inner.api_base(SimNetwork::Whatsapp), id)
        }
        ("POST", [id, "comments"], _) => feed::comment_on(world, &call, id),
        ("POST", [id, "replies"], SimNetwork::Instagram) => feed::ig_reply(world, &call, id),
        ("POST", [id, "likes"], _) => feed::like(world, &call, id, true),
        ("DELETE", [id, "likes"], _) => feed::like(world, &call, id, false),
        ("DELETE", [id], _) => feed::delete(world, &call, id),
        ("POST", [id], _) if call.params.contains_key("is_hidden") || call.params.contains_key("hide") => {
            feed::hide(world, &call, id)
        }
        ("POST", [id, "subscribed_apps"], SimNetwork::Whatsapp) => subscribe_waba(world, &call, id),
        ("POST", [id, "subscribed_apps"], _) => subscribe_fields(world, &call, id),
        ("GET", [id, "subscribed_apps"], _) => subscribed_fields(world, id),
        ("GET", [id, "comments"], _) => feed::list_comments(world, id),
        ("GET", [id], SimNetwork::Instagram) if *id == call.account.external_id && mentions::is_mention_read(&call) => {
            mentions::read(world, &call, id)
        }
        ("GET", [id], _) => describe(world, &call, id),
        (method, _, _) => unknown_object(world, segments.first().copied().unwrap_or_default(), method),
    })
}

fn subscribe_fields(world: &mut World, call: &Call<'_>, id: &str) -> ApiResponse {
    let fields: BTreeSet<String> = call
        .param("subscribed_fields")
        .unwrap_or_default()
        .split(',')
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
        .collect();
    if fields.is_empty() {
        return invalid_param(world, "The parameter subscribed_fields is required.");
    }
    let object = object_name(call.account.network);
    world.record_subscription(call.account.network, id, object, None, fields.iter().cloned().collect(), call.now);
    world.meta.fields.insert(id.to_string(), fields);
    ApiResponse::json(200, &json!({"success": true}))
}

/// `POST /{waba-id}/subscribed_apps`: the WABA's numbers deliver to the app.
fn subscribe_waba(world: &mut World, call: &Call<'_>, id: &str) -> ApiResponse {
    let fields: Vec<String> = call
        .param("subscribed_fields")
        .unwrap_or_default()
        .split(',')
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
        .collect();
    let callback = call.param("override_callback_uri");
    world.record_subscription(
        SimNetwork::Whatsapp,
        id,
        "whatsapp_business_account",
        callback.as_deref(),
        fields,
        call.now,
    );
    ApiResponse::json(200, &json!({"success": true}))
}

fn object_name(network: SimNetwork) -> &'static str {
    match network {
        SimNetwork::Instagram => "instagram",
        SimNetwork::Whatsapp => "whatsapp_business_account",
        _ => "page",
    }
}

fn network_of_object(object: &str) -> Option<SimNetwork> {
    match object {
        "page" => Some(SimNetwork::Facebook),
        "instagram" => Some(SimNetwork::Instagram),
        "whatsapp_business_account" => Some(SimNetwork::Whatsapp),
        _ => None,
    }
}

/// Whether `id` is the `app_id` of a registered Meta account.
fn is_app(world: &World, id: &str) -> bool {
    world.accounts.iter().any(|a| a.network.is_meta() && a.credential("app_id") == Some(id))
}

/// `POST /{app-id}/subscriptions` with the app access token
/// (`{app-id}|{app-secret}`): runs the hub.challenge handshake against
/// `callback_url` and, when it succeeds, points the app's accounts of that
/// object at it. `GET` lists the app's subscriptions.
async fn app_subscription(
    inner: &Arc<Inner>,
    request: &ApiRequest,
    app_id: &str,
    params: &Map<String, Value>,
    token: Option<&str>,
) -> (SimNetwork, ApiResponse) {
    let object = param_str(params, "object").unwrap_or_default();
    let network = network_of_object(&object).unwrap_or(SimNetwork::Facebook);
    let checked = inner.with(|world| check_app_token(world, app_id, params, token));
    if let Err(response) = checked {
        return (network, response);
    }
    match request.method.as_str() {
        "POST" => {}
        "GET" => return (network, inner.with(|world| list_app_subscriptions(world, app_id))),
        method => return (network, inner.with(|world| unknown_object(world, app_id, method))),
    }
    let Some(network) = network_of_object(&object) else {
        let message =
            "(#100) Param object must be one of {page, instagram, whatsapp_business_account, user, permissions}";
        return (network, inner.with(|world| invalid_param_raw(world, message)));
    };
    let Some(callback_url) = param_str(params, "callback_url").filter(|u| !u.is_empty()) else {
        return (network, inner.with(|world| invalid_param(world, "The parameter callback_url is required")));
    };
    let fields: Vec<String> = match params.get("fields") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => param_str(params, "fields")
            .unwrap_or_default()
            .split(',')
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect(),
    };
    if fields.is_empty() {
        return (network, inner.with(|world| invalid_param(world, "The parameter fields is required")));
    }
    let verify_token = param_str(params, "verify_token").unwrap_or_default();
    let (ok, detail) = hub_challenge(inner, &callback_url, &verify_token).await;
    let now = inner.now();
    let response = inner.with(|world| {
        world.record_handshake(HandshakeRecord {
            network,
            account_id: app_id.to_string(),
            kind: "meta_hub_challenge".into(),
            url: callback_url.clone(),
            ok,
            detail: detail.clone(),
            at: now,
        });
        if !ok {
            let message = format!(
                "(#2200) Callback verification failed with the following errors: {detail}. The URL couldn't be validated. Callback verification failed."
            );
            return graph_error(world, 400, &message, "OAuthException", 2200, None);
        }
        let field_set: BTreeSet<String> = fields.iter().cloned().collect();
        for account in world
            .accounts
            .iter_mut()
            .filter(|a| a.network == network && a.credential("app_id") == Some(app_id))
        {
            account.webhook_url = Some(callback_url.clone());
            if !verify_token.is_empty() {
                account.credentials.insert("verify_token".into(), Value::String(verify_token.clone()));
            }
            world.meta.subscriptions.insert(account.external_id.clone(), Subscription::Verified);
            world.meta.app_fields.insert(account.external_id.clone(), field_set.clone());
        }
        world.meta.app_subscriptions.insert((app_id.to_string(), object.clone()), (callback_url.clone(), fields.clone()));
        world.record_subscription(network, app_id, &object, Some(&callback_url), fields.clone(), now);
        ApiResponse::json(200, &json!({"success": true}))
    });
    (network, response)
}

fn list_app_subscriptions(world: &World, app_id: &str) -> ApiResponse {
    let data: Vec<Value> = world
        .meta
        .app_subscriptions
        .iter()
        .filter(|((app, _), _)| app == app_id)
        .map(|((_, object), (url, fields))| {
            let fields: Vec<Value> = fields.iter().map(|f| json!({"name": f, "version": "v25.0"})).collect();
            json!({"object": object, "callback_url": url, "active": true, "fields": fields})
        })
        .collect();
    ApiResponse::json(200, &json!({ "data": data }))
}

fn invalid_param_raw(world: &mut World, message: &str) -> ApiResponse {
    graph_error(world, 400, message, "OAuthException", 100, None)
}

/// The app access token `{app-id}|{app-secret}` (and `appsecret_proof`, when sent).
fn check_app_token(
    world: &mut World,
    app_id: &str,
    params: &Map<String, Value>,
    token: Option<&str>,
) -> Result<(), ApiResponse> {
    let Some(token) = token else {
        return Err(graph_error(
            world,
            400,
            "(#15) This method must be called with an app access_token.",
            "OAuthException",
            15,
            None,
        ));
    };
    let account = world
        .accounts
        .iter()
        .find(|a| {
            a.network.is_meta()
                && a.credential("app_id") == Some(app_id)
                && format!("{app_id}|{}", a.credential_or_empty("app_secret")) == token
        })
        .cloned();
    let Some(account) = account else {
        let own_app_user_token =
            world.accounts.iter().any(|a| a.network.is_meta() && a.credential("access_token") == Some(token));
        return Err(if own_app_user_token {
            graph_error(
                world,
                400,
                "(#15) This method must be called with an app access_token.",
                "OAuthException",
                15,
                None,
            )
        } else {
            graph_error(world, 400, "Invalid OAuth access token signature.", "OAuthException", 190, None)
        });
    };
    match param_str(params, "appsecret_proof") {
        Some(_) => check_proof(world, &account, params, token),
        None => Ok(()),
    }
}

fn subscribed_fields(world: &World, id: &str) -> ApiResponse {
    let fields: Vec<&String> = world.meta.fields.get(id).map(|f| f.iter().collect()).unwrap_or_default();
    ApiResponse::json(200, &json!({"data": [{"name": "Hark", "id": "1", "subscribed_fields": fields}]}))
}

fn describe(world: &mut World, call: &Call<'_>, id: &str) -> ApiResponse {
    if id == "me" || id == call.account.external_id {
        let account = &call.account;
        return ApiResponse::json(200, &json!({"id": account.external_id, "name": account.handle}));
    }
    if let Some(comment) = world.meta.comments.get(id).filter(|c| !c.deleted) {
        return ApiResponse::json(200, &feed::comment_json(comment));
    }
    if let Some(post) = world.meta.posts.get(id).cloned() {
        let instagram = call.account.network == SimNetwork::Instagram;
        return post_fields(world, call, &post, instagram);
    }
    unknown_object(world, id, "get")
}

/// A Page post (`message`, `created_time`, `from`, `permalink_url`; by default
/// `id,message,created_time`) or an Instagram media (`caption`, `timestamp`,
/// `username`, `permalink`, `media_type`; by default only `id`), with the
/// `fields` asked for. A field the node does not have is Graph's error #100.
fn post_fields(world: &mut World, call: &Call<'_>, post: &Post, instagram: bool) -> ApiResponse {
    let account = &call.account;
    let local = post.id.rsplit('_').next().unwrap_or(&post.id);
    let (default, node) = if instagram { ("id", "IGMedia") } else { ("id,message,created_time", "Post") };
    let asked = call.param("fields").filter(|f| !f.trim().is_empty()).unwrap_or_else(|| default.to_string());
    let mut object = Map::new();
    object.insert("id".into(), json!(post.id));
    for field in asked.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let value = match (instagram, field) {
            (_, "id") => json!(post.id),
            (false, "message") => json!(post.text),
            (false, "created_time") => json!(feed::graph_time(post.created)),
            (false, "from") => match &post.author {
                Some((id, name)) => json!({"id": id, "name": name}),
                None => json!({"id": account.external_id, "name": account.handle}),
            },
            (false, "permalink_url") => json!(format!("https://www.facebook.com/{}/posts/{local}", post.account)),
            (true, "caption") => json!(post.text),
            (true, "timestamp") => json!(feed::graph_time(post.created)),
            (true, "username") => json!(account.handle),
            (true, "permalink") => json!(format!("https://www.instagram.com/p/{local}/")),
            (true, "media_type") => json!("IMAGE"),
            (_, other) => {
                let message = format!("(#100) Tried accessing nonexisting field ({other}) on node type ({node})");
                return graph_error(world, 400, &message, "OAuthException", 100, None);
            }
        };
        object.insert(field.to_string(), value);
    }
    ApiResponse::json(200, &Value::Object(object))
}

/// Each network's throttling/permission/expiry answer.
fn fault_response(world: &mut World, network: SimNetwork, fault: &ApiFault) -> ApiResponse {
    let whatsapp = network == SimNetwork::Whatsapp;
    match fault {
        ApiFault::RateLimited if whatsapp => {
            graph_error(world, 400, "(#130429) Rate limit hit", "OAuthException", 130_429, None)
        }
        ApiFault::RateLimited => graph_error(
            world,
            400,
            "(#613) Calls to this api have exceeded the rate limit.",
            "OAuthException",
            613,
            None,
        ),
        ApiFault::ServerError(code) => {
            let error = json!({"message": "An unexpected error has occurred. Please retry your request later.",
                               "type": "OAuthException", "is_transient": true, "code": 2,
                               "fbtrace_id": world.rng.alphanumeric(11)});
            ApiResponse::json(*code, &json!({ "error": error }))
        }
        ApiFault::ExpiredToken | ApiFault::Timeout { .. } => graph_error(
            world,
            400,
            "Error validating access token: Session has expired on Tuesday, 03-Nov-26 01:00:00 PST. The current time is Tuesday, 03-Nov-26 02:12:45 PST.",
            "OAuthException",
            190,
            Some(463),
        ),
        ApiFault::MissingPermission if whatsapp => graph_error(
            world,
            403,
            "(#10) Application does not have permission for this action",
            "OAuthException",
            10,
            None,
        ),
        ApiFault::MissingPermission => graph_error(
            world,
            403,
            "(#200) Requires pages_messaging permission to manage the object",
            "OAuthException",
            200,
            None,
        ),
    }
}

/// `X-App-Usage`: share of the hourly call budget used by this app.
fn with_app_usage(inner: &Inner, account: &Account, response: ApiResponse, exhausted: bool) -> ApiResponse {
    let key = format!("meta-app:{}", account.credential_or_empty("app_id"));
    let now = inner.rate_now();
    let hour = Duration::from_secs(3600);
    let percent = inner.with(|world| {
        world.rates.hit(&key, hour, 0, now);
        let used = world.rates.count(&key, hour, now) as u64;
        let budget = u64::from(world.limits.meta_app_calls_per_hour.max(1));
        (used * 100 / budget).min(100)
    });
    let percent = if exhausted { 100 } else { percent };
    let usage = json!({"call_count": percent, "total_cputime": percent / 2, "total_time": percent / 2});
    response.header("x-app-usage", usage.to_string())
}
