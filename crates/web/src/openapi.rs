//! The OpenAPI document, generated from the handlers' annotations and the
//! request and response types, so it cannot drift from the code.

use axum::Json;
use hark_app::{
    ChannelCreate, ChannelUpdate, ContactUpdate, ConversationUpdate, CreatedToken, LabelInput, NewMessage, TeamInput,
    TokenInfo, UserCreate, UserUpdate,
};
use hark_domain::*;
use utoipa::OpenApi;

use crate::api;
use crate::error::{ErrorBody, ErrorDetail};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hark API",
        description = "Social customer care: conversations, messages, contacts, people, channels, audit log and live events. \
        Authenticate with `Authorization: Bearer <token>` (see `hark token create`) or a session cookie from /api/v1/auth/login \
        plus `X-CSRF-Token` on writes."
    ),
    paths(
        api::health::healthz,
        api::auth::login,
        api::auth::logout,
        api::auth::me,
        api::conversations::list,
        api::conversations::get,
        api::conversations::update,
        api::conversations::messages,
        api::conversations::post_message,
        api::conversations::approve,
        api::conversations::reject,
        api::conversations::retry,
        api::conversations::engage,
        api::conversations::reply_options,
        api::conversations::bulk,
        api::conversations::merge,
        api::conversations::move_to_private,
        api::conversations::presence,
        api::conversations::set_presence,
        api::collaboration::list_snippets,
        api::collaboration::create_snippet,
        api::collaboration::update_snippet,
        api::collaboration::delete_snippet,
        api::collaboration::render_snippet,
        api::collaboration::list_views,
        api::collaboration::create_view,
        api::collaboration::update_view,
        api::collaboration::delete_view,
        api::collaboration::list_notifications,
        api::collaboration::read_notifications,
        api::collaboration::list_attributes,
        api::collaboration::create_attribute,
        api::collaboration::update_attribute,
        api::collaboration::delete_attribute,
        api::collaboration::update_me,
        api::collaboration::list_business_hours,
        api::collaboration::create_business_hours,
        api::collaboration::replace_business_hours,
        api::collaboration::delete_business_hours,
        api::channels::connect,
        crate::webhooks::api_channel_inbound,
        api::contacts::list,
        api::contacts::get,
        api::contacts::update,
        api::contacts::merge,
        api::directory::list_users,
        api::directory::create_user,
        api::directory::update_user,
        api::directory::list_teams,
        api::directory::create_team,
        api::directory::update_team,
        api::directory::delete_team,
        api::directory::list_labels,
        api::directory::create_label,
        api::directory::update_label,
        api::directory::delete_label,
        api::channels::list,
        api::channels::get,
        api::channels::create,
        api::channels::update,
        api::journal::audit_log,
        api::tokens::list,
        api::tokens::create,
        api::tokens::revoke,
        api::events::stream,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        Conversation,
        ConversationTimeline,
        Message,
        Contact,
        Identity,
        User,
        Team,
        Label,
        Channel,
        AuditEntry,
        Event,
        Workspace,
        ConversationUpdate,
        NewMessage,
        ContactUpdate,
        UserCreate,
        UserUpdate,
        TeamInput,
        LabelInput,
        ChannelCreate,
        ChannelUpdate,
        CreatedToken,
        TokenInfo,
        api::auth::LoginRequest,
        api::auth::Me,
        api::contacts::MergeRequest,
        api::tokens::TokenRequest,
        crate::webhooks::ApiChannelMessage,
        api::conversations::EngageRequest,
        api::conversations::ReplyOption,
        api::channels::Connection,
        hark_app::TemplateInput,
        hark_app::Engagement,
        crate::webhooks::ApiChannelAuthor,
        Snippet,
        SavedView,
        ViewFilters,
        Notification,
        Presence,
        AttributeDefinition,
        RenderedSnippet,
        hark_app::SnippetInput,
        hark_app::SavedViewInput,
        hark_app::AttributeInput,
        hark_app::ProfileUpdate,
        hark_app::MoveToPrivate,
        hark_app::MovedToPrivate,
        hark_app::BulkOutcome,
        hark_app::BusinessHoursInput,
        hark_app::BusinessHoursView,
        api::conversations::BulkRequest,
        api::conversations::MergeConversationsRequest,
        api::conversations::PresenceRequest,
        api::collaboration::ReadRequest,
    ))
)]
struct ApiDoc;

/// The document as JSON.
pub fn openapi_json() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}

pub async fn serve() -> Json<serde_json::Value> {
    Json(openapi_json())
}
