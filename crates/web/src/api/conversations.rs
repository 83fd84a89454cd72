use axum::Json as JsonOut;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hark_app::{ConversationUpdate, NewMessage};
use hark_domain::*;
use hark_store::{AssigneeFilter, ConversationFilter, ConversationSort, Cursor};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{List, page};
use crate::WebState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};

/// Filters of the conversation list. Empty parameters do not filter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConversationQuery {
    /// Comma-separated statuses, e.g. `open,pending`.
    pub status: Option<String>,
    pub kind: Option<ConversationKind>,
    pub channel_id: Option<String>,
    pub network: Option<Network>,
    /// A user id, `me`, or `none` for unassigned.
    pub assignee: Option<String>,
    pub team_id: Option<String>,
    /// A label name.
    pub label: Option<String>,
    pub contact_id: Option<String>,
    pub language: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub intent: Option<String>,
    pub priority: Option<Priority>,
    /// Only conversations whose last customer message is unanswered.
    pub needs_reply: Option<bool>,
    /// Only conversations last active at or after this instant (RFC 3339).
    pub since: Option<String>,
    /// Only conversations last active before this instant (RFC 3339).
    pub until: Option<String>,
    /// `activity` (most recently active first, the default) or `waiting`
    /// (longest-waiting customer first).
    pub sort: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 200; default 50.
    pub limit: Option<u32>,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn instant(field: &str, text: Option<String>) -> ApiResult<Option<jiff::Timestamp>> {
    match non_empty(text) {
        Some(t) => t
            .parse::<jiff::Timestamp>()
            .map(Some)
            .map_err(|_| ApiError::invalid(field, "must be an instant like 2026-12-01T09:00:00Z")),
        None => Ok(None),
    }
}

/// Reads the `sort` parameter.
pub fn parse_sort(text: Option<&str>) -> ApiResult<ConversationSort> {
    match text.map(str::trim).unwrap_or("") {
        "" | "activity" => Ok(ConversationSort::Activity),
        "waiting" => Ok(ConversationSort::Waiting),
        _ => Err(ApiError::invalid("sort", "must be activity or waiting")),
    }
}

impl ConversationQuery {
    pub fn filter(self, me: &str) -> ApiResult<ConversationFilter> {
        let statuses = match non_empty(self.status) {
            Some(list) => list
                .split(',')
                .map(|s| s.trim().parse::<ConversationStatus>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ApiError::invalid("status", e.message))?,
            None => vec![],
        };
        let assignee = non_empty(self.assignee).map(|a| match a.as_str() {
            "none" => AssigneeFilter::Nobody,
            "me" => AssigneeFilter::User(me.to_owned()),
            _ => AssigneeFilter::User(a),
        });
        Ok(ConversationFilter {
            workspace_id: String::new(),
            statuses,
            kind: self.kind,
            channel_id: non_empty(self.channel_id),
            network: self.network,
            assignee,
            team_id: non_empty(self.team_id),
            label: non_empty(self.label),
            contact_id: non_empty(self.contact_id),
            platform_thread_id: None,
            language: non_empty(self.language),
            sentiment: self.sentiment,
            intent: non_empty(self.intent),
            priority: self.priority,
            needs_reply: self.needs_reply.unwrap_or(false),
            ids: None,
            active_since: instant("since", self.since)?,
            active_until: instant("until", self.until)?,
            include_merged: false,
            sla: None,
            sort: parse_sort(self.sort.as_deref())?,
        })
    }
}

/// Conversations, most recently active first.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", params(ConversationQuery),
    responses((status = 200, body = List<Conversation>), (status = 400, body = crate::ErrorBody), (status = 401, body = crate::ErrorBody)))]
pub async fn list(
    State(state): State<WebState>,
    auth: Authenticated,
    Query(q): Query<ConversationQuery>,
) -> ApiResult<JsonOut<List<Conversation>>> {
    let page = page(q.cursor.clone(), q.limit)?;
    let filter = q.filter(&auth.actor.user.id)?;
    let sort = filter.sort;
    let rows = state.app.conversations(&auth.actor, filter, &page).await?;
    Ok(JsonOut(List::page(rows, page.limit, |c| Cursor::of_conversation_in(c, sort).encode())))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, body = Conversation), (status = 404, body = crate::ErrorBody)))]
pub async fn get(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<Conversation>> {
    Ok(JsonOut(state.app.conversation(&auth.actor, &id).await?))
}

/// Changes status, priority, snooze, assignment, labels or custom attributes.
#[utoipa::path(patch, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = String, Path)),
    request_body = ConversationUpdate,
    responses((status = 200, body = Conversation), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
        (status = 409, body = crate::ErrorBody)))]
pub async fn update(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<ConversationUpdate>,
) -> ApiResult<JsonOut<Conversation>> {
    Ok(JsonOut(state.app.update_conversation(&auth.actor, &id, body).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessagePageQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Messages of a conversation, oldest first, internal notes included.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = String, Path), MessagePageQuery),
    responses((status = 200, body = List<Message>), (status = 404, body = crate::ErrorBody)))]
pub async fn messages(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Query(q): Query<MessagePageQuery>,
) -> ApiResult<JsonOut<List<Message>>> {
    let page = page(q.cursor, q.limit)?;
    let rows = state.app.messages(&auth.actor, &id, &page).await?;
    Ok(JsonOut(List::page(rows, page.limit, |m| Cursor::of_message(m).encode())))
}

/// A reply or note, with the files uploaded for it beforehand.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    /// `public` or `private` for a reply, `note` for an internal note.
    pub visibility: Visibility,
    /// May be empty when a file is attached.
    #[serde(default)]
    pub text: String,
    /// WhatsApp only: send this approved template (the one kind of message
    /// WhatsApp allows outside its 24-hour window).
    #[serde(default)]
    pub template: Option<hark_app::TemplateInput>,
    /// Ids of files from `POST /api/v1/uploads`.
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// Writes a public or private reply (queued for publication, or for approval
/// when written by a trainee) or an internal note.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations", params(("id" = String, Path)),
    request_body = PostMessage,
    responses((status = 201, body = Message), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
        (status = 422, body = crate::ErrorBody)))]
pub async fn post_message(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<PostMessage>,
) -> ApiResult<(StatusCode, JsonOut<Message>)> {
    let files = state.app.attachments_of(&auth.actor, &body.attachments).await?;
    if body.visibility != Visibility::Note {
        // Refuse now what the network would refuse, so the agent learns why at once.
        let option =
            reply_option(&state, &auth, &id, body.visibility, &body.text, body.template.as_ref(), &files).await?;
        if let Some(refused) = option.refusal() {
            return Err(refused);
        }
    }
    let message = NewMessage { visibility: body.visibility, text: body.text, template: body.template };
    Ok((StatusCode::CREATED, JsonOut(state.app.post_message_with(&auth.actor, &id, message, &body.attachments).await?)))
}

/// Whether a reply of one visibility can go out now, and if not, why; and
/// how the network measures its length.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReplyOption {
    pub visibility: Visibility,
    pub allowed: bool,
    /// The network's rule that forbids it (a closed messaging window, one private reply per comment…), in English.
    pub reason: Option<String>,
    /// The same reason as a message id of the interface's locales
    /// (`js-refusal-{reason_key}`) and its arguments, to show it in the agent's language.
    pub reason_key: Option<&'static str>,
    pub reason_args: std::collections::BTreeMap<&'static str, String>,
    /// How the network counts: `chars`, `utf8_bytes`, `x_weighted`, `mastodon` or `graphemes`.
    pub measure: &'static str,
    /// The draft's length counted that way.
    pub length: usize,
    pub max: usize,
}

impl ReplyOption {
    /// The answer to a reply this option does not allow: its reason, readable in each language.
    fn refusal(self) -> Option<ApiError> {
        match (self.allowed, self.reason) {
            (false, Some(reason)) => Some(match self.reason_key {
                Some(key) => ApiError::refused(StatusCode::UNPROCESSABLE_ENTITY, key, self.reason_args, reason),
                None => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "not_allowed", reason),
            }),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReplyOptionsQuery {
    /// The draft, to check its length too.
    pub text: Option<String>,
    /// Comma-separated ids of uploaded files to send with it.
    pub attachments: Option<String>,
}

/// Which replies the network allows right now in this conversation: public,
/// private, both or neither, with the reason for each one that is not.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/reply-options", tag = "conversations",
    params(("id" = String, Path), ReplyOptionsQuery),
    responses((status = 200, body = Vec<ReplyOption>), (status = 404, body = crate::ErrorBody)))]
pub async fn reply_options(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Query(q): Query<ReplyOptionsQuery>,
) -> ApiResult<JsonOut<Vec<ReplyOption>>> {
    let text = q.text.unwrap_or_else(|| ".".into());
    let ids: Vec<String> = q
        .attachments
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let files = state.app.attachments_of(&auth.actor, &ids).await?;
    Ok(JsonOut(reply_choices(&state, &auth.actor, &id, &text, None, &files).await?))
}

/// Public and private reply options for a draft, checked the way the
/// network would (windows, private-reply rules, length) without calling it.
pub async fn reply_choices(
    state: &WebState,
    actor: &hark_app::Actor,
    conversation_id: &str,
    text: &str,
    template: Option<&hark_app::TemplateInput>,
    files: &[serde_json::Value],
) -> ApiResult<Vec<ReplyOption>> {
    let job = state.app.draft_outbound(actor, conversation_id, Visibility::Public, text).await?;
    let ctx = hark_channels::ChannelContext {
        network: job.channel.network,
        external_id: job.channel.external_id.clone(),
        credentials: job.credentials.clone(),
        settings: job.channel.settings.clone(),
    };
    let now = jiff::Timestamp::now();
    let mut options = vec![];
    for visibility in [Visibility::Public, Visibility::Private] {
        let mut draft = job.clone();
        draft.message.visibility = visibility;
        let mut outbound = hark_jobs::publish::outbound_message(&draft, &state.config.public_url);
        outbound.template = template.map(|t| hark_channels::MessageTemplate {
            name: t.name.clone(),
            language: t.language.clone(),
            parameters: t.parameters.clone(),
        });
        outbound.attachments = hark_jobs::publish::outbound_attachments(files, &state.config.public_url);
        let (measure, length, max) = hark_channels::text::counter(ctx.network, outbound.visibility, text);
        let refusal = if job.conversation.kind == ConversationKind::Private && visibility == Visibility::Public {
            Some(hark_channels::Refusal::new(
                "private-conversation",
                "a private conversation can only get private replies",
            ))
        } else {
            match hark_channels::connector::check_outbound(&ctx, &outbound, now) {
                Err(hark_channels::ConnectorError::NotAllowed(refusal)) => Some(refusal),
                _ => None,
            }
        };
        options.push(ReplyOption {
            visibility,
            allowed: refusal.is_none(),
            reason_key: refusal.as_ref().map(|r| r.key),
            reason_args: refusal.as_ref().map(|r| r.args.iter().cloned().collect()).unwrap_or_default(),
            reason: refusal.map(String::from),
            measure,
            length,
            max,
        });
    }
    Ok(options)
}

async fn reply_option(
    state: &WebState,
    auth: &Authenticated,
    conversation_id: &str,
    visibility: Visibility,
    text: &str,
    template: Option<&hark_app::TemplateInput>,
    files: &[serde_json::Value],
) -> ApiResult<ReplyOption> {
    let options = reply_choices(state, &auth.actor, conversation_id, text, template, files).await?;
    options
        .into_iter()
        .find(|o| o.visibility == visibility)
        .ok_or_else(|| ApiError::invalid("visibility", "notes are not sent to a network"))
}

/// Approves a reply waiting for approval; it is queued for publication.
#[utoipa::path(post, path = "/api/v1/messages/{id}/approve", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, body = Message), (status = 403, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub async fn approve(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<Message>> {
    Ok(JsonOut(state.app.review_message(&auth.actor, &id, true).await?))
}

/// Rejects a reply waiting for approval; it is never published.
#[utoipa::path(post, path = "/api/v1/messages/{id}/reject", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, body = Message), (status = 403, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub async fn reject(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<Message>> {
    Ok(JsonOut(state.app.review_message(&auth.actor, &id, false).await?))
}

/// Sends a failed reply again.
#[utoipa::path(post, path = "/api/v1/messages/{id}/retry", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, body = Message), (status = 403, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub async fn retry(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<Message>> {
    Ok(JsonOut(state.app.retry_message(&auth.actor, &id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EngageRequest {
    /// `like`, `repost` (X) or `hide` (Facebook and Instagram comments, X replies).
    pub action: hark_app::Engagement,
}

/// Likes, reposts or hides a customer's message on its network.
#[utoipa::path(post, path = "/api/v1/messages/{id}/engage", tag = "conversations", params(("id" = String, Path)),
    request_body = EngageRequest,
    responses((status = 204), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
        (status = 502, body = crate::ErrorBody), (status = 503, body = crate::ErrorBody)))]
pub async fn engage(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<EngageRequest>,
) -> ApiResult<StatusCode> {
    use hark_channels::{ConnectorError, EngagementAction};
    let (message, channel, credentials) = state.app.engagement_target(&auth.actor, &id, body.action).await?;
    let ctx = hark_channels::ChannelContext {
        network: channel.network,
        external_id: channel.external_id.clone(),
        credentials,
        settings: channel.settings.clone(),
    };
    let platform_message_id = message.platform_message_id.clone().unwrap_or_default();
    let action = match body.action {
        hark_app::Engagement::Like => EngagementAction::Like { platform_message_id },
        hark_app::Engagement::Repost => EngagementAction::Repost { platform_message_id },
        hark_app::Engagement::Hide => EngagementAction::Hide { platform_message_id },
    };
    match hark_channels::connector::engage(&state.http, &ctx, &action).await {
        Ok(()) => {
            state.app.record_engagement(&auth.actor, &message, body.action).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        Err(ConnectorError::NotAllowed(refusal)) => Err(ApiError::of_refusal(StatusCode::BAD_REQUEST, refusal)),
        Err(err @ (ConnectorError::Unauthorized(_) | ConnectorError::Misconfigured(_))) => {
            let _ = state.app.channel_failed(&channel.id, hark_domain::ChannelHealth::Failing, &err.to_string()).await;
            Err(ApiError::new(StatusCode::BAD_GATEWAY, "network_refused", err.to_string()))
        }
        Err(ConnectorError::Rejected(reason)) => Err(ApiError::new(StatusCode::BAD_GATEWAY, "network_refused", reason)),
        Err(err) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", err.to_string())),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// Up to 200 conversations.
    pub conversation_ids: Vec<String>,
    /// The change to apply to each (as in PATCH /conversations/{id}).
    pub update: ConversationUpdate,
}

/// Applies one change (assign, label, resolve…) to many conversations; each
/// succeeds or fails on its own, with its reason.
#[utoipa::path(post, path = "/api/v1/conversations/bulk", tag = "conversations", request_body = BulkRequest,
    responses((status = 200, body = Vec<hark_app::BulkOutcome>), (status = 400, body = crate::ErrorBody),
        (status = 403, body = crate::ErrorBody)))]
pub async fn bulk(
    State(state): State<WebState>,
    auth: Authenticated,
    Json(body): Json<BulkRequest>,
) -> ApiResult<JsonOut<Vec<hark_app::BulkOutcome>>> {
    Ok(JsonOut(state.app.bulk_update(&auth.actor, &body.conversation_ids, body.update).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeConversationsRequest {
    /// Merged into this conversation and closed.
    pub from_conversation_id: String,
}

/// Merges another conversation of the same customer into this one.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/merge", tag = "conversations", params(("id" = String, Path)),
    request_body = MergeConversationsRequest,
    responses((status = 200, body = Conversation), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
        (status = 409, body = crate::ErrorBody)))]
pub async fn merge(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<MergeConversationsRequest>,
) -> ApiResult<JsonOut<Conversation>> {
    Ok(JsonOut(state.app.merge_conversations(&auth.actor, &id, &body.from_conversation_id).await?))
}

/// Answers a public thread privately (the network's private reply or a
/// direct message), optionally with a public reply first; the private
/// conversation it opens is linked to this one.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/move-to-private", tag = "conversations",
    params(("id" = String, Path)), request_body = hark_app::MoveToPrivate,
    responses((status = 201, body = hark_app::MovedToPrivate), (status = 400, body = crate::ErrorBody),
        (status = 403, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub async fn move_to_private(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<hark_app::MoveToPrivate>,
) -> ApiResult<(StatusCode, JsonOut<hark_app::MovedToPrivate>)> {
    for (visibility, text) in
        [(Visibility::Private, Some(body.text.as_str())), (Visibility::Public, body.public_reply.as_deref())]
    {
        if let Some(text) = text.filter(|t| !t.trim().is_empty())
            && let Some(refused) = reply_option(&state, &auth, &id, visibility, text, None, &[]).await?.refusal()
        {
            return Err(refused);
        }
    }
    Ok((StatusCode::CREATED, JsonOut(state.app.move_to_private(&auth.actor, &id, body).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceRequest {
    /// `viewing`, `typing`, or `null` when leaving the conversation.
    pub state: Option<PresenceState>,
}

/// Who else is viewing or typing in this conversation.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/presence", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Presence>), (status = 404, body = crate::ErrorBody)))]
pub async fn presence(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<JsonOut<Vec<Presence>>> {
    Ok(JsonOut(state.app.presence(&auth.actor, &id).await?))
}

/// Says that the caller is viewing or typing in the conversation (repeat
/// every ~15 s while it lasts), or has left it. Answers who is there now.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/presence", tag = "conversations", params(("id" = String, Path)),
    request_body = PresenceRequest,
    responses((status = 200, body = Vec<Presence>), (status = 404, body = crate::ErrorBody)))]
pub async fn set_presence(
    State(state): State<WebState>,
    auth: Authenticated,
    Path(id): Path<String>,
    Json(body): Json<PresenceRequest>,
) -> ApiResult<JsonOut<Vec<Presence>>> {
    Ok(JsonOut(state.app.set_presence(&auth.actor, &id, body.state).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words (all must match), "quoted phrases", a prefix on the last word;
    /// any script (Chinese is matched by character pairs).
    pub q: String,
    /// 1 to 200; default 50.
    pub limit: Option<u32>,
}

/// Conversations whose messages (customers', replies and notes) match the
/// words, most recently active first.
#[utoipa::path(get, path = "/api/v1/search", tag = "conversations", params(SearchQuery),
    responses((status = 200, body = List<Conversation>), (status = 400, body = crate::ErrorBody),
        (status = 503, body = crate::ErrorBody)))]
pub async fn search(
    State(state): State<WebState>,
    auth: Authenticated,
    Query(q): Query<SearchQuery>,
) -> ApiResult<JsonOut<List<Conversation>>> {
    let page = page(None, q.limit)?;
    let text = q.q.trim();
    if text.is_empty() {
        return Err(ApiError::invalid("q", "give at least one word"));
    }
    let index = state
        .search
        .as_ref()
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "search is not available"))?;
    // The index ranks conversations by their newest matching message; a
    // little more than a page covers those the agent may not see.
    let wanted = (page.limit as usize * 2).min(200);
    let ids = index
        .conversation_ids(auth.actor.workspace_id(), text, wanted)
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e))?;
    let filter = ConversationFilter { ids: Some(ids), ..Default::default() };
    let mut rows = state.app.conversations(&auth.actor, filter, &page).await?;
    rows.truncate(page.limit as usize);
    Ok(JsonOut(List::all(rows)))
}

#[cfg(test)]
mod tests {
    /// Every reason a channel can give for refusing a reply has a message
    /// in the interface (the locale files' own test keeps the languages alike).
    #[test]
    fn every_refusal_has_a_message() {
        let english = hark_ui::Strings::get("en");
        for key in hark_channels::REFUSAL_KEYS {
            let id = format!("js-refusal-{key}");
            assert!(!english.t(&id).starts_with('⟦'), "{id} is missing from en.ftl");
        }
    }

    /// So has every detail a rule's action may report in the rule log.
    #[test]
    fn every_rule_detail_has_a_message() {
        let english = hark_ui::Strings::get("en");
        for key in hark_domain::rules::RULE_DETAIL_KEYS {
            let id = format!("rule-detail-{key}");
            assert!(!english.t(&id).starts_with('⟦'), "{id} is missing from en.ftl");
        }
    }
}
