//! The role matrix: every API write (and the protected reads) tried by every
//! role. Allowed calls must succeed; refused ones must get 403 with the error
//! shape and no data. A second test proves the matrix covers every write the
//! OpenAPI document lists, so a new endpoint cannot slip past it.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use hark_app::{ContactUpdate, NewMessage};
use hark_domain::*;
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy)]
enum Case {
    ConversationStatus,
    ConversationAssign,
    ConversationLabels,
    Note,
    Reply,
    Approve,
    Reject,
    Retry,
    Engage,
    Connect,
    ContactEdit,
    ContactMerge,
    UserCreate,
    UserUpdate,
    TeamCreate,
    TeamUpdate,
    TeamDelete,
    LabelCreate,
    LabelUpdate,
    LabelDelete,
    ChannelCreate,
    ChannelUpdate,
    TokenCreate,
    TokenRevoke,
    AuditRead,
    Bulk,
    ConversationMerge,
    MoveToPrivate,
    Presence,
    SnippetCreate,
    SnippetUpdate,
    SnippetDelete,
    ViewCreate,
    ViewUpdate,
    ViewDelete,
    SharedViewCreate,
    NotificationsRead,
    AttributeCreate,
    AttributeUpdate,
    AttributeDelete,
    ProfileUpdate,
    HoursCreate,
    HoursReplace,
    HoursDelete,
    ServiceLevelsPut,
    KnownIssueCreate,
    KnownIssueReplace,
    KnownIssueDelete,
    KnownIssueAnswer,
    RuleCreate,
    RuleUpdate,
    RuleDelete,
    RuleOrder,
    Review,
    Correction,
    AgentProfile,
    RoundRobin,
    PublishPolicy,
    Upload,
}

const CASES: &[Case] = &[
    Case::ConversationStatus,
    Case::ConversationAssign,
    Case::ConversationLabels,
    Case::Note,
    Case::Reply,
    Case::Approve,
    Case::Reject,
    Case::Retry,
    Case::Engage,
    Case::Connect,
    Case::ContactEdit,
    Case::ContactMerge,
    Case::UserCreate,
    Case::UserUpdate,
    Case::TeamCreate,
    Case::TeamUpdate,
    Case::TeamDelete,
    Case::LabelCreate,
    Case::LabelUpdate,
    Case::LabelDelete,
    Case::ChannelCreate,
    Case::ChannelUpdate,
    Case::TokenCreate,
    Case::TokenRevoke,
    Case::AuditRead,
    Case::Bulk,
    Case::ConversationMerge,
    Case::MoveToPrivate,
    Case::Presence,
    Case::SnippetCreate,
    Case::SnippetUpdate,
    Case::SnippetDelete,
    Case::ViewCreate,
    Case::ViewUpdate,
    Case::ViewDelete,
    Case::SharedViewCreate,
    Case::NotificationsRead,
    Case::AttributeCreate,
    Case::AttributeUpdate,
    Case::AttributeDelete,
    Case::ProfileUpdate,
    Case::HoursCreate,
    Case::HoursReplace,
    Case::HoursDelete,
    Case::ServiceLevelsPut,
    Case::KnownIssueCreate,
    Case::KnownIssueReplace,
    Case::KnownIssueDelete,
    Case::KnownIssueAnswer,
    Case::RuleCreate,
    Case::RuleUpdate,
    Case::RuleDelete,
    Case::RuleOrder,
    Case::Review,
    Case::Correction,
    Case::AgentProfile,
    Case::RoundRobin,
    Case::PublishPolicy,
    Case::Upload,
];

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

impl Case {
    fn action(self) -> Action {
        match self {
            Case::ConversationStatus => Action::UpdateConversation,
            Case::ConversationAssign => Action::AssignConversation,
            Case::ConversationLabels => Action::LabelConversation,
            Case::Note => Action::WriteNote,
            Case::Reply | Case::Retry | Case::Engage => Action::Reply,
            Case::Approve | Case::Reject => Action::ApproveReply,
            Case::ContactEdit => Action::EditContact,
            Case::ContactMerge => Action::MergeContacts,
            Case::UserCreate | Case::UserUpdate => Action::ManageUsers,
            Case::TeamCreate | Case::TeamUpdate | Case::TeamDelete => Action::ManageTeams,
            Case::LabelCreate | Case::LabelUpdate | Case::LabelDelete => Action::ManageLabels,
            Case::ChannelCreate | Case::ChannelUpdate | Case::Connect => Action::ManageChannels,
            Case::TokenCreate | Case::TokenRevoke => Action::ManageOwnTokens,
            Case::AuditRead => Action::ReadAuditLog,
            Case::Bulk | Case::ConversationMerge => Action::UpdateConversation,
            Case::MoveToPrivate => Action::Reply,
            Case::Presence | Case::ViewCreate | Case::ViewUpdate | Case::ViewDelete => Action::ReadInbox,
            Case::NotificationsRead | Case::ProfileUpdate => Action::ReadInbox,
            Case::SnippetCreate | Case::SnippetUpdate | Case::SnippetDelete => Action::ManageSnippets,
            Case::SharedViewCreate => Action::ManageSharedViews,
            Case::AttributeCreate | Case::AttributeUpdate | Case::AttributeDelete => Action::ManageWorkspace,
            Case::HoursCreate | Case::HoursReplace | Case::HoursDelete => Action::ManageWorkspace,
            Case::ServiceLevelsPut => Action::ManageServiceLevels,
            Case::KnownIssueCreate | Case::KnownIssueReplace | Case::KnownIssueDelete | Case::KnownIssueAnswer => {
                Action::ManageKnownIssues
            }
            Case::RuleCreate | Case::RuleUpdate | Case::RuleDelete | Case::RuleOrder => Action::ManageWorkspace,
            Case::Review => Action::ApproveReply,
            Case::Correction => Action::UpdateConversation,
            Case::AgentProfile => Action::ManageUsers,
            Case::RoundRobin => Action::AssignConversation,
            Case::PublishPolicy => Action::ManageChannels,
            Case::Upload => Action::WriteNote,
        }
    }

    fn reaches_a_network(self) -> bool {
        // Moving to private asks the connector whether the network allows it.
        matches!(self, Case::Engage | Case::Connect | Case::MoveToPrivate)
    }

    /// The documented route this case exercises.
    fn route(self) -> (&'static str, &'static str) {
        match self {
            Case::ConversationStatus | Case::ConversationAssign | Case::ConversationLabels => {
                ("patch", "/api/v1/conversations/{id}")
            }
            Case::Note | Case::Reply => ("post", "/api/v1/conversations/{id}/messages"),
            Case::Approve => ("post", "/api/v1/messages/{id}/approve"),
            Case::Reject => ("post", "/api/v1/messages/{id}/reject"),
            Case::Retry => ("post", "/api/v1/messages/{id}/retry"),
            Case::Engage => ("post", "/api/v1/messages/{id}/engage"),
            Case::Connect => ("post", "/api/v1/channels/{id}/connect"),
            Case::ContactEdit => ("patch", "/api/v1/contacts/{id}"),
            Case::ContactMerge => ("post", "/api/v1/contacts/{id}/merge"),
            Case::UserCreate => ("post", "/api/v1/users"),
            Case::UserUpdate => ("patch", "/api/v1/users/{id}"),
            Case::TeamCreate => ("post", "/api/v1/teams"),
            Case::TeamUpdate => ("patch", "/api/v1/teams/{id}"),
            Case::TeamDelete => ("delete", "/api/v1/teams/{id}"),
            Case::LabelCreate => ("post", "/api/v1/labels"),
            Case::LabelUpdate => ("patch", "/api/v1/labels/{id}"),
            Case::LabelDelete => ("delete", "/api/v1/labels/{id}"),
            Case::ChannelCreate => ("post", "/api/v1/channels"),
            Case::ChannelUpdate => ("patch", "/api/v1/channels/{id}"),
            Case::TokenCreate => ("post", "/api/v1/tokens"),
            Case::TokenRevoke => ("delete", "/api/v1/tokens/{id}"),
            Case::AuditRead => ("get", "/api/v1/audit"),
            Case::Bulk => ("post", "/api/v1/conversations/bulk"),
            Case::ConversationMerge => ("post", "/api/v1/conversations/{id}/merge"),
            Case::MoveToPrivate => ("post", "/api/v1/conversations/{id}/move-to-private"),
            Case::Presence => ("post", "/api/v1/conversations/{id}/presence"),
            Case::SnippetCreate => ("post", "/api/v1/snippets"),
            Case::SnippetUpdate => ("patch", "/api/v1/snippets/{id}"),
            Case::SnippetDelete => ("delete", "/api/v1/snippets/{id}"),
            Case::ViewCreate | Case::SharedViewCreate => ("post", "/api/v1/views"),
            Case::ViewUpdate => ("patch", "/api/v1/views/{id}"),
            Case::ViewDelete => ("delete", "/api/v1/views/{id}"),
            Case::NotificationsRead => ("post", "/api/v1/notifications/read"),
            Case::AttributeCreate => ("post", "/api/v1/attributes"),
            Case::AttributeUpdate => ("patch", "/api/v1/attributes/{id}"),
            Case::AttributeDelete => ("delete", "/api/v1/attributes/{id}"),
            Case::ProfileUpdate => ("patch", "/api/v1/me"),
            Case::HoursCreate => ("post", "/api/v1/business-hours"),
            Case::HoursReplace => ("put", "/api/v1/business-hours/{id}"),
            Case::HoursDelete => ("delete", "/api/v1/business-hours/{id}"),
            Case::ServiceLevelsPut => ("put", "/api/v1/service-levels"),
            Case::KnownIssueCreate => ("post", "/api/v1/known-issues"),
            Case::KnownIssueReplace => ("put", "/api/v1/known-issues/{id}"),
            Case::KnownIssueDelete => ("delete", "/api/v1/known-issues/{id}"),
            Case::KnownIssueAnswer => ("post", "/api/v1/known-issues/{id}/answer"),
            Case::RuleCreate => ("post", "/api/v1/rules"),
            Case::RuleUpdate => ("patch", "/api/v1/rules/{id}"),
            Case::RuleDelete => ("delete", "/api/v1/rules/{id}"),
            Case::RuleOrder => ("put", "/api/v1/rules/order"),
            Case::Review => ("post", "/api/v1/messages/{id}/review"),
            Case::Correction => ("post", "/api/v1/messages/{id}/correction"),
            Case::AgentProfile => ("put", "/api/v1/users/{id}/assignment"),
            Case::RoundRobin => ("post", "/api/v1/conversations/{id}/round-robin"),
            Case::PublishPolicy => ("put", "/api/v1/channels/{id}/publish-policy"),
            Case::Upload => ("post", "/api/v1/uploads"),
        }
    }

    /// Creates what the call needs (as Hark itself) and returns the request.
    async fn prepare(self, t: &TestApp, role: Role) -> (Method, String, Option<Value>) {
        let system = t.system();
        let app = &t.app;
        match self {
            Case::ConversationStatus => {
                let id = t.inbound(&unique("p"), &unique("u"), "help").await;
                (Method::PATCH, format!("/api/v1/conversations/{id}"), Some(json!({ "status": "resolved" })))
            }
            Case::ConversationAssign => {
                let id = t.inbound(&unique("p"), &unique("u"), "help").await;
                let agent = &t.users[&Role::Agent].id;
                (Method::PATCH, format!("/api/v1/conversations/{id}"), Some(json!({ "assignee_id": agent })))
            }
            Case::ConversationLabels => {
                let id = t.inbound(&unique("p"), &unique("u"), "help").await;
                ensure_label(t, "vip").await;
                (Method::PATCH, format!("/api/v1/conversations/{id}"), Some(json!({ "labels": ["vip"] })))
            }
            Case::Note => {
                let id = t.inbound(&unique("p"), &unique("u"), "help").await;
                (
                    Method::POST,
                    format!("/api/v1/conversations/{id}/messages"),
                    Some(json!({ "visibility": "note", "text": "checking" })),
                )
            }
            Case::Reply => {
                let id = t.inbound(&unique("p"), &unique("u"), "help").await;
                (
                    Method::POST,
                    format!("/api/v1/conversations/{id}/messages"),
                    Some(json!({ "visibility": "public", "text": "On it!" })),
                )
            }
            Case::Approve | Case::Reject => {
                let id = t.inbound(&unique("p"), &unique("u"), "help").await;
                let trainee =
                    hark_app::Actor { user: t.users[&Role::Trainee].clone(), via: hark_app::ActorVia::Session };
                let m = app
                    .post_message(
                        &trainee,
                        &id,
                        NewMessage { visibility: Visibility::Public, text: "Sorry!".into(), template: None },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(m.delivery_status, DeliveryStatus::AwaitingApproval);
                let verb = if matches!(self, Case::Approve) { "approve" } else { "reject" };
                (Method::POST, format!("/api/v1/messages/{}/{verb}", m.id), None)
            }
            Case::Retry => {
                let id = t.inbound(&unique("p"), &unique("u"), "help").await;
                let agent = hark_app::Actor { user: t.users[&Role::Agent].clone(), via: hark_app::ActorVia::Session };
                let m = app
                    .post_message(
                        &agent,
                        &id,
                        NewMessage { visibility: Visibility::Public, text: "Sorry!".into(), template: None },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let failed = hark_store::Write::UpdateMessageDelivery {
                    message_id: m.id.clone(),
                    status: DeliveryStatus::Failed,
                    error: Some("X said no".into()),
                };
                t.app.store.commit(vec![failed]).await.unwrap_or_else(|e| panic!("{e}"));
                (Method::POST, format!("/api/v1/messages/{}/retry", m.id), None)
            }
            Case::Engage => {
                let conv = t.inbound(&unique("p"), &unique("u"), "love you!").await;
                let messages = app.messages(&system, &conv, &hark_store::Page::first(5)).await.unwrap_or_default();
                (Method::POST, format!("/api/v1/messages/{}/engage", messages[0].id), Some(json!({ "action": "like" })))
            }
            Case::Connect => (Method::POST, format!("/api/v1/channels/{}/connect", t.channel_id), None),
            Case::ContactEdit => {
                let conv = t.inbound(&unique("p"), &unique("u"), "help").await;
                let contact = app.conversation(&system, &conv).await.unwrap_or_else(|e| panic!("{e}")).contact_id;
                (Method::PATCH, format!("/api/v1/contacts/{contact}"), Some(json!({ "notes": "prefers DMs" })))
            }
            Case::ContactMerge => {
                let a = t.inbound(&unique("p"), &unique("u"), "help").await;
                let b = t.inbound(&unique("p"), &unique("u"), "help").await;
                let a = app.conversation(&system, &a).await.unwrap_or_else(|e| panic!("{e}")).contact_id;
                let b = app.conversation(&system, &b).await.unwrap_or_else(|e| panic!("{e}")).contact_id;
                (Method::POST, format!("/api/v1/contacts/{a}/merge"), Some(json!({ "from_contact_id": b })))
            }
            Case::UserCreate => (
                Method::POST,
                "/api/v1/users".into(),
                Some(
                    json!({ "email": format!("{}@acme.test", unique("new")), "name": "New", "role": "agent", "password": PASSWORD }),
                ),
            ),
            Case::UserUpdate => {
                let input = hark_app::UserCreate {
                    email: format!("{}@acme.test", unique("target")),
                    name: "T".into(),
                    role: Role::Agent,
                    password: PASSWORD.into(),
                    locale: "en".into(),
                };
                let user = app.create_user(&system, input).await.unwrap_or_else(|e| panic!("{e}"));
                (Method::PATCH, format!("/api/v1/users/{}", user.id), Some(json!({ "name": "Renamed" })))
            }
            Case::TeamCreate => (Method::POST, "/api/v1/teams".into(), Some(json!({ "name": unique("team") }))),
            Case::TeamUpdate | Case::TeamDelete => {
                let team = app
                    .create_team(
                        &system,
                        hark_app::TeamInput { name: unique("team"), description: String::new(), member_ids: vec![] },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                if matches!(self, Case::TeamDelete) {
                    (Method::DELETE, format!("/api/v1/teams/{}", team.id), None)
                } else {
                    (Method::PATCH, format!("/api/v1/teams/{}", team.id), Some(json!({ "name": unique("team") })))
                }
            }
            Case::LabelCreate => (Method::POST, "/api/v1/labels".into(), Some(json!({ "name": unique("label") }))),
            Case::LabelUpdate | Case::LabelDelete => {
                let label = app
                    .create_label(
                        &system,
                        hark_app::LabelInput {
                            name: unique("label"),
                            color: "#112233".into(),
                            description: String::new(),
                        },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                if matches!(self, Case::LabelDelete) {
                    (Method::DELETE, format!("/api/v1/labels/{}", label.id), None)
                } else {
                    (
                        Method::PATCH,
                        format!("/api/v1/labels/{}", label.id),
                        Some(json!({ "name": unique("label"), "color": "#445566" })),
                    )
                }
            }
            Case::ChannelCreate => (
                Method::POST,
                "/api/v1/channels".into(),
                Some(
                    json!({ "network": "telegram", "name": "Bot", "handle": "@acme_bot", "external_id": unique("bot"), "credentials": { "bot_token": "123:abc" } }),
                ),
            ),
            Case::ChannelUpdate => {
                (Method::PATCH, format!("/api/v1/channels/{}", t.channel_id), Some(json!({ "name": unique("Acme ") })))
            }
            Case::TokenCreate => (Method::POST, "/api/v1/tokens".into(), Some(json!({ "name": "integration" }))),
            Case::TokenRevoke => {
                let token = app
                    .create_token_for_email(&t.users[&role].email, "to revoke")
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                (Method::DELETE, format!("/api/v1/tokens/{}", token.id), None)
            }
            Case::AuditRead => (Method::GET, "/api/v1/audit".into(), None),
            Case::Bulk => {
                let a = t.inbound(&unique("p"), &unique("u"), "help").await;
                let b = t.inbound(&unique("p"), &unique("u"), "help").await;
                let body = json!({ "conversation_ids": [a, b], "update": { "status": "resolved" } });
                (Method::POST, "/api/v1/conversations/bulk".into(), Some(body))
            }
            Case::ConversationMerge => {
                // Two threads of the same customer.
                let author = unique("u");
                let a = t.inbound(&unique("p"), &author, "help").await;
                let b = t.inbound_in_thread(&unique("p"), &author, &unique("thread"), "still waiting").await;
                (Method::POST, format!("/api/v1/conversations/{a}/merge"), Some(json!({ "from_conversation_id": b })))
            }
            Case::MoveToPrivate => {
                let id = t.inbound(&unique("p"), &unique("u"), "my order number is lost").await;
                let body =
                    json!({ "text": "Could you DM us your order number?", "public_reply": "We've sent you a DM." });
                (Method::POST, format!("/api/v1/conversations/{id}/move-to-private"), Some(body))
            }
            Case::Presence => {
                let id = t.inbound(&unique("p"), &unique("u"), "help").await;
                (Method::POST, format!("/api/v1/conversations/{id}/presence"), Some(json!({ "state": "typing" })))
            }
            Case::SnippetCreate => (
                Method::POST,
                "/api/v1/snippets".into(),
                Some(json!({ "name": unique("snippet"), "text": "Hi {{contact.first_name}}!" })),
            ),
            Case::SnippetUpdate | Case::SnippetDelete => {
                let input = hark_app::SnippetInput { name: unique("snippet"), text: "Thanks!".into() };
                let snippet = app.create_snippet(&system, input).await.unwrap_or_else(|e| panic!("{e}"));
                if matches!(self, Case::SnippetDelete) {
                    (Method::DELETE, format!("/api/v1/snippets/{}", snippet.id), None)
                } else {
                    let body = json!({ "name": unique("snippet"), "text": "Thank you!" });
                    (Method::PATCH, format!("/api/v1/snippets/{}", snippet.id), Some(body))
                }
            }
            Case::ViewCreate => (
                Method::POST,
                "/api/v1/views".into(),
                Some(json!({ "name": "My negatives", "filters": { "sentiment": "negative" } })),
            ),
            Case::SharedViewCreate => (
                Method::POST,
                "/api/v1/views".into(),
                Some(json!({ "name": "All of X", "filters": { "network": "x" }, "shared": true })),
            ),
            Case::ViewUpdate | Case::ViewDelete => {
                let owner = hark_app::Actor { user: t.users[&role].clone(), via: hark_app::ActorVia::Session };
                let input =
                    hark_app::SavedViewInput { name: unique("view"), filters: Default::default(), shared: false };
                let view = app.create_saved_view(&owner, input).await.unwrap_or_else(|e| panic!("{e}"));
                if matches!(self, Case::ViewDelete) {
                    (Method::DELETE, format!("/api/v1/views/{}", view.id), None)
                } else {
                    let body = json!({ "name": unique("view"), "filters": { "needs_reply": true } });
                    (Method::PATCH, format!("/api/v1/views/{}", view.id), Some(body))
                }
            }
            Case::NotificationsRead => (Method::POST, "/api/v1/notifications/read".into(), Some(json!({}))),
            Case::AttributeCreate => (
                Method::POST,
                "/api/v1/attributes".into(),
                Some(json!({ "scope": "contact", "key": unique("plan_"), "label": "Plan", "kind": "text" })),
            ),
            Case::AttributeUpdate | Case::AttributeDelete => {
                let input = hark_app::AttributeInput {
                    scope: AttributeScope::Conversation,
                    key: unique("order_"),
                    label: "Order".into(),
                    kind: AttributeKind::Text,
                    options: vec![],
                };
                let attr = app.create_attribute(&system, input.clone()).await.unwrap_or_else(|e| panic!("{e}"));
                if matches!(self, Case::AttributeDelete) {
                    (Method::DELETE, format!("/api/v1/attributes/{}", attr.id), None)
                } else {
                    let body =
                        json!({ "scope": "conversation", "key": attr.key, "label": "Order number", "kind": "text" });
                    (Method::PATCH, format!("/api/v1/attributes/{}", attr.id), Some(body))
                }
            }
            Case::ProfileUpdate => (Method::PATCH, "/api/v1/me".into(), Some(json!({ "availability": "away" }))),
            Case::HoursCreate | Case::HoursReplace | Case::HoursDelete => {
                // One set per team: a fresh team each time keeps the cases independent.
                let team = app
                    .create_team(
                        &system,
                        hark_app::TeamInput { name: unique("team"), description: String::new(), member_ids: vec![] },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let body = json!({
                    "name": "Office hours", "team_id": team.id,
                    "config": { "time_zone": "Europe/Athens", "week": { "monday": [{ "start": "09:00", "end": "18:00" }] } },
                });
                if matches!(self, Case::HoursCreate) {
                    (Method::POST, "/api/v1/business-hours".into(), Some(body))
                } else {
                    let input: hark_app::BusinessHoursInput =
                        serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{e}"));
                    let hours = app.put_business_hours(&system, None, input).await.unwrap_or_else(|e| panic!("{e}"));
                    if matches!(self, Case::HoursDelete) {
                        (Method::DELETE, format!("/api/v1/business-hours/{}", hours.id), None)
                    } else {
                        (Method::PUT, format!("/api/v1/business-hours/{}", hours.id), Some(body))
                    }
                }
            }
            Case::ServiceLevelsPut => {
                let body = json!({
                    "policies": { "default": { "id": "std", "name": "Standard", "first_response_seconds": 3600 } },
                    "csat": { "enabled": true },
                });
                (Method::PUT, "/api/v1/service-levels".into(), Some(body))
            }
            Case::KnownIssueCreate | Case::KnownIssueReplace | Case::KnownIssueDelete | Case::KnownIssueAnswer => {
                let body = json!({
                    "kind": "outage", "title": unique("Login outage "), "keywords": ["login", "сбо*"],
                    "starts_at": "2026-01-01T00:00:00Z", "prepared_reply": "We are on it; sorry for the trouble.",
                });
                if matches!(self, Case::KnownIssueCreate) {
                    (Method::POST, "/api/v1/known-issues".into(), Some(body))
                } else {
                    let mut stored = body.clone();
                    stored["id"] = json!("");
                    stored["workspace_id"] = json!("");
                    stored["body"] = json!("");
                    let input: hark_domain::known_issues::KnownIssue =
                        serde_json::from_value(stored).unwrap_or_else(|e| panic!("{e}"));
                    let issue = app.put_known_issue(&system, None, input).await.unwrap_or_else(|e| panic!("{e}"));
                    let path = format!("/api/v1/known-issues/{}", issue.issue.id);
                    match self {
                        Case::KnownIssueDelete => (Method::DELETE, path, None),
                        Case::KnownIssueAnswer => (Method::POST, format!("{path}/answer"), None),
                        _ => (Method::PUT, path, Some(body)),
                    }
                }
            }
            Case::RuleCreate => (
                Method::POST,
                "/api/v1/rules".into(),
                Some(json!({
                    "name": unique("rule "), "trigger": { "kind": "message_received" },
                    "conditions": { "mode": "all", "items": [{ "field": "sentiment", "op": "is", "value": "negative" }] },
                    "actions": [{ "type": "set_priority", "priority": "high" }],
                })),
            ),
            Case::RuleUpdate | Case::RuleDelete => {
                let input: hark_app::RuleInput = serde_json::from_value(json!({
                    "name": unique("rule "), "trigger": { "kind": "message_received" },
                    "actions": [{ "type": "set_priority", "priority": "high" }],
                }))
                .unwrap_or_else(|e| panic!("{e}"));
                let rule = app.create_rule(&system, input).await.unwrap_or_else(|e| panic!("{e}"));
                if matches!(self, Case::RuleDelete) {
                    (Method::DELETE, format!("/api/v1/rules/{}", rule.id), None)
                } else {
                    (Method::PATCH, format!("/api/v1/rules/{}", rule.id), Some(json!({ "enabled": false })))
                }
            }
            Case::RuleOrder => {
                let mut ids: Vec<String> =
                    app.rules(&system).await.unwrap_or_default().into_iter().map(|r| r.id).collect();
                ids.reverse();
                (Method::PUT, "/api/v1/rules/order".into(), Some(json!({ "rule_ids": ids })))
            }
            Case::Review => {
                let id = t.inbound(&unique("p"), &unique("u"), "help").await;
                let trainee =
                    hark_app::Actor { user: t.users[&Role::Trainee].clone(), via: hark_app::ActorVia::Session };
                let m = app
                    .post_message(
                        &trainee,
                        &id,
                        NewMessage { visibility: Visibility::Public, text: "Sorry!!".into(), template: None },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let body = json!({ "approve": false, "comment": "Too casual: say what happens next." });
                (Method::POST, format!("/api/v1/messages/{}/review", m.id), Some(body))
            }
            Case::Correction => {
                let conv = t.inbound(&unique("p"), &unique("u"), "where is my bag").await;
                let messages = app.messages(&system, &conv, &hark_store::Page::first(5)).await.unwrap_or_default();
                let body = json!({ "intent": "order_delivery", "sentiment": "negative" });
                (Method::POST, format!("/api/v1/messages/{}/correction", messages[0].id), Some(body))
            }
            Case::AgentProfile => {
                let agent = &t.users[&Role::Agent].id;
                let body = json!({ "languages": ["ru", "en"], "capacity": 5 });
                (Method::PUT, format!("/api/v1/users/{agent}/assignment"), Some(body))
            }
            Case::RoundRobin => {
                let members = vec![t.users[&Role::Agent].id.clone()];
                let team = app
                    .create_team(
                        &system,
                        hark_app::TeamInput { name: unique("team"), description: String::new(), member_ids: members },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let id = t.inbound(&unique("p"), &unique("u"), "help").await;
                (Method::POST, format!("/api/v1/conversations/{id}/round-robin"), Some(json!({ "team_id": team.id })))
            }
            Case::PublishPolicy => {
                let body = json!({ "publish_roles": ["owner", "admin", "supervisor", "agent"] });
                (Method::PUT, format!("/api/v1/channels/{}/publish-policy", t.channel_id), Some(body))
            }
            // The body is the file itself, sent raw by the loop below.
            Case::Upload => (Method::POST, "/api/v1/uploads?name=notes.txt".into(), None),
        }
    }
}

async fn ensure_label(t: &TestApp, name: &str) {
    let labels = t.app.labels(&t.system()).await.unwrap_or_default();
    if !labels.iter().any(|l| l.name == name) {
        let input = hark_app::LabelInput { name: name.into(), color: "#000000".into(), description: String::new() };
        t.app.create_label(&t.system(), input).await.unwrap_or_else(|e| panic!("{e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_gets_exactly_what_the_matrix_allows() {
    let t = spawn(hark_store::testing::sqlite().await).await;
    let mut checked = 0;
    for case in CASES {
        for role in Role::ALL {
            let (method, path, body) = case.prepare(&t, *role).await;
            let (status, response) = if matches!(case, Case::Upload) {
                t.call_raw(*role, method.clone(), &path, "text/plain", b"order NW-12345".to_vec()).await
            } else {
                t.call(*role, method.clone(), &path, body).await
            };
            let allowed = permits(*role, case.action());
            if allowed && case.reaches_a_network() {
                // The test channel reaches no network: the call may fail there, but not on permissions.
                assert!(
                    ![401, 403].contains(&status.as_u16()),
                    "{role} {method} {path} ({case:?}) was refused: {response}"
                );
            } else if allowed {
                assert!(
                    status.is_success(),
                    "{role} {method} {path} ({case:?}) should succeed, got {status}: {response}"
                );
            } else {
                assert_eq!(
                    status, 403,
                    "{role} {method} {path} ({case:?}) should be refused, got {status}: {response}"
                );
                assert_eq!(error_code(&response), "forbidden");
                assert_eq!(response.as_object().map(|o| o.len()), Some(1), "a refusal carries no data: {response}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, CASES.len() * Role::ALL.len());
    // Hark's own rule on top of the matrix: nobody grants a role above their own.
    let (status, body) = t
        .call(
            Role::Admin,
            Method::POST,
            "/api/v1/users",
            Some(json!({ "email": "o2@acme.test", "name": "O", "role": "owner", "password": PASSWORD })),
        )
        .await;
    assert_eq!((status.as_u16(), error_code(&body)), (403, "forbidden".to_owned()));
}

#[tokio::test]
async fn the_matrix_covers_every_documented_write() {
    let doc = hark_web::openapi_json();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap_or_else(|| panic!("no paths")) {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.insert((method.to_owned(), path.clone()));
            }
        }
    }
    // Signing in and out is open to everyone by design; the API channel's
    // inbound endpoint is authenticated by the channel's own token, not a role.
    documented.remove(&("post".to_owned(), "/api/v1/auth/login".to_owned()));
    documented.remove(&("post".to_owned(), "/api/v1/auth/logout".to_owned()));
    documented.remove(&("post".to_owned(), "/api/v1/channels/{id}/messages".to_owned()));
    let covered: BTreeSet<(String, String)> = CASES
        .iter()
        .map(|c| c.route())
        .filter(|(m, _)| *m != "get")
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    assert_eq!(documented, covered, "every write endpoint needs a row in the role matrix");
}

#[tokio::test]
async fn without_credentials_every_endpoint_answers_401_and_no_data() {
    let t = spawn(hark_store::testing::sqlite().await).await;
    let doc = hark_web::openapi_json();
    let mut tried = 0;
    for (path, item) in doc["paths"].as_object().unwrap_or_else(|| panic!("no paths")) {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() || path == "/healthz" || path == "/api/v1/auth/login" {
                continue;
            }
            let concrete = path.replace("{id}", "anything");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap_or(Method::GET);
            for auth in [None, Some("Bearer hark_not_a_real_token"), Some("Basic dXNlcjpwYXNz")] {
                let mut req = t.client.request(m.clone(), t.url(&concrete)).json(&json!({}));
                if let Some(a) = auth {
                    req = req.header("authorization", a);
                }
                let (status, body) = read(req.send().await.unwrap_or_else(|e| panic!("{e}"))).await;
                assert_eq!(status, 401, "{method} {concrete} with {auth:?}: {body}");
                assert_eq!(error_code(&body), "unauthenticated");
                tried += 1;
            }
        }
    }
    assert!(tried > 60, "only {tried} requests tried");
}

#[tokio::test]
async fn a_revoked_token_or_deactivated_user_is_locked_out() {
    let t = spawn(hark_store::testing::sqlite().await).await;
    let (status, _) = t.get(Role::Agent, "/api/v1/me").await;
    assert_eq!(status, 200);
    let admin_actor = hark_app::Actor { user: t.users[&Role::Admin].clone(), via: hark_app::ActorVia::Session };
    t.app
        .update_user(
            &admin_actor,
            &t.users[&Role::Agent].id,
            hark_app::UserUpdate { active: Some(false), ..Default::default() },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, body) = t.get(Role::Agent, "/api/v1/conversations").await;
    assert_eq!((status.as_u16(), error_code(&body)), (401, "unauthenticated".to_owned()));

    let (_, created) = t.call(Role::Supervisor, Method::POST, "/api/v1/tokens", Some(json!({ "name": "temp" }))).await;
    let token = created["token"].as_str().unwrap_or_default().to_owned();
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let with = |tok: String| t.client.get(t.url("/api/v1/me")).bearer_auth(tok).send();
    assert_eq!(with(token.clone()).await.map(|r| r.status().as_u16()).ok(), Some(200));
    let (status, _) = t.call(Role::Supervisor, Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(with(token).await.map(|r| r.status().as_u16()).ok(), Some(401));
    let _ = ContactUpdate::default();
}
