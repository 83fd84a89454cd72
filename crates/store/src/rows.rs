//! Rows as the database returns them, and their conversion to domain records.
//! The derives are generic over the backend, so both share these structs.

use hark_domain::*;

use crate::time::{from_ms, opt_from_ms};
use crate::{ApiTokenRecord, BusinessHoursRecord, DeliveryAttempt, OutboxItem, RawEvent, SessionRecord, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

fn json_map(text: &str, what: &str) -> Result<CustomAttributes> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn json_value(text: &str, what: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn opt_parse<T: std::str::FromStr<Err = InvalidValue>>(text: Option<String>) -> Result<Option<T>> {
    Ok(text.map(|t| t.parse()).transpose()?)
}

#[derive(sqlx::FromRow)]
pub(crate) struct WorkspaceRow {
    id: String,
    name: String,
    time_zone: String,
    created_at: i64,
}

impl WorkspaceRow {
    pub(crate) fn into_domain(self) -> Result<Workspace> {
        Ok(Workspace { id: self.id, name: self.name, time_zone: self.time_zone, created_at: from_ms(self.created_at)? })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    workspace_id: String,
    email: String,
    name: String,
    role: String,
    locale: String,
    pub(crate) password_hash: String,
    active: bool,
    availability: String,
    created_at: i64,
    updated_at: i64,
}

impl UserRow {
    pub(crate) fn into_domain(self) -> Result<User> {
        Ok(User {
            id: self.id,
            workspace_id: self.workspace_id,
            email: self.email,
            name: self.name,
            role: self.role.parse()?,
            locale: self.locale,
            active: self.active,
            availability: self.availability.parse()?,
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms(self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TeamRow {
    pub(crate) id: String,
    workspace_id: String,
    name: String,
    description: String,
    created_at: i64,
}

impl TeamRow {
    pub(crate) fn into_domain(self, member_ids: Vec<String>) -> Result<Team> {
        Ok(Team {
            id: self.id,
            workspace_id: self.workspace_id,
            name: self.name,
            description: self.description,
            member_ids,
            created_at: from_ms(self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LabelRow {
    id: String,
    workspace_id: String,
    name: String,
    color: String,
    description: String,
}

impl LabelRow {
    pub(crate) fn into_domain(self) -> Label {
        Label {
            id: self.id,
            workspace_id: self.workspace_id,
            name: self.name,
            color: self.color,
            description: self.description,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ChannelRow {
    id: String,
    workspace_id: String,
    network: String,
    name: String,
    handle: String,
    external_id: String,
    has_credentials: bool,
    health: String,
    health_detail: String,
    failure_count: i64,
    health_changed_at: Option<i64>,
    enabled: bool,
    settings: String,
    created_at: i64,
    updated_at: i64,
}

impl ChannelRow {
    pub(crate) fn into_domain(self) -> Result<Channel> {
        Ok(Channel {
            id: self.id,
            workspace_id: self.workspace_id,
            network: self.network.parse()?,
            name: self.name,
            handle: self.handle,
            external_id: self.external_id,
            health: self.health.parse()?,
            health_detail: self.health_detail,
            failure_count: self.failure_count,
            health_changed_at: opt_from_ms(self.health_changed_at)?,
            enabled: self.enabled,
            has_credentials: self.has_credentials,
            settings: json_value(&self.settings, "channel settings")?,
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms(self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ContactRow {
    pub(crate) id: String,
    workspace_id: String,
    display_name: String,
    email: Option<String>,
    phone: Option<String>,
    notes: String,
    custom_attributes: String,
    merged_into_id: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl ContactRow {
    pub(crate) fn into_domain(self, identities: Vec<Identity>) -> Result<Contact> {
        Ok(Contact {
            custom_attributes: json_map(&self.custom_attributes, "contact attributes")?,
            id: self.id,
            workspace_id: self.workspace_id,
            display_name: self.display_name,
            email: self.email,
            phone: self.phone,
            notes: self.notes,
            merged_into_id: self.merged_into_id,
            identities,
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms(self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdentityRow {
    id: String,
    pub(crate) contact_id: String,
    network: String,
    platform_user_id: String,
    handle: String,
    display_name: String,
}

impl IdentityRow {
    pub(crate) fn into_domain(self) -> Result<Identity> {
        Ok(Identity {
            id: self.id,
            contact_id: self.contact_id,
            network: self.network.parse()?,
            platform_user_id: self.platform_user_id,
            handle: self.handle,
            display_name: self.display_name,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConversationRow {
    pub(crate) id: String,
    workspace_id: String,
    channel_id: String,
    contact_id: String,
    kind: String,
    status: String,
    priority: String,
    assignee_id: Option<String>,
    team_id: Option<String>,
    custom_attributes: String,
    platform_thread_id: Option<String>,
    subject: String,
    last_message_preview: String,
    language: Option<String>,
    sentiment: Option<String>,
    intent: Option<String>,
    snoozed_until: Option<i64>,
    first_inbound_at: Option<i64>,
    last_inbound_at: Option<i64>,
    last_outbound_at: Option<i64>,
    first_reply_at: Option<i64>,
    awaiting_reply_since: Option<i64>,
    resolved_at: Option<i64>,
    reopened_at: Option<i64>,
    paused_since: Option<i64>,
    paused_ms: i64,
    human_replies: i64,
    pub(crate) last_activity_at: i64,
    linked_conversation_id: Option<String>,
    merged_into_id: Option<String>,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl ConversationRow {
    pub(crate) fn into_domain(self, labels: Vec<String>) -> Result<Conversation> {
        Ok(Conversation {
            custom_attributes: json_map(&self.custom_attributes, "conversation attributes")?,
            id: self.id,
            workspace_id: self.workspace_id,
            channel_id: self.channel_id,
            contact_id: self.contact_id,
            kind: self.kind.parse()?,
            status: self.status.parse()?,
            priority: self.priority.parse()?,
            assignee_id: self.assignee_id,
            team_id: self.team_id,
            labels,
            platform_thread_id: self.platform_thread_id,
            subject: self.subject,
            last_message_preview: self.last_message_preview,
            language: self.language,
            sentiment: opt_parse(self.sentiment)?,
            intent: self.intent,
            snoozed_until: opt_from_ms(self.snoozed_until)?,
            timeline: ConversationTimeline {
                first_inbound_at: opt_from_ms(self.first_inbound_at)?,
                last_inbound_at: opt_from_ms(self.last_inbound_at)?,
                last_outbound_at: opt_from_ms(self.last_outbound_at)?,
                first_reply_at: opt_from_ms(self.first_reply_at)?,
                awaiting_reply_since: opt_from_ms(self.awaiting_reply_since)?,
                resolved_at: opt_from_ms(self.resolved_at)?,
                reopened_at: opt_from_ms(self.reopened_at)?,
                paused_since: opt_from_ms(self.paused_since)?,
                paused_ms: self.paused_ms,
                human_replies: self.human_replies,
                last_activity_at: from_ms(self.last_activity_at)?,
            },
            linked_conversation_id: self.linked_conversation_id,
            merged_into_id: self.merged_into_id,
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms(self.updated_at)?,
            version: self.version,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    id: String,
    workspace_id: String,
    conversation_id: String,
    channel_id: String,
    direction: String,
    visibility: String,
    author_kind: String,
    author_user_id: Option<String>,
    author_contact_id: Option<String>,
    text: String,
    attachments: String,
    platform_message_id: Option<String>,
    platform_parent_id: Option<String>,
    delivery_status: String,
    delivery_error: Option<String>,
    language: Option<String>,
    sentiment: Option<String>,
    intent: Option<String>,
    personal_data: String,
    created_at: i64,
    recorded_at: i64,
    edited_at: Option<i64>,
    deleted_at: Option<i64>,
}

impl MessageRow {
    pub(crate) fn into_domain(self) -> Result<Message> {
        let attachments = serde_json::from_str(&self.attachments)
            .map_err(|e| StoreError::Corrupt(format!("message attachments: {e}")))?;
        Ok(Message {
            id: self.id,
            workspace_id: self.workspace_id,
            conversation_id: self.conversation_id,
            channel_id: self.channel_id,
            direction: self.direction.parse()?,
            visibility: self.visibility.parse()?,
            author_kind: self.author_kind.parse()?,
            author_user_id: self.author_user_id,
            author_contact_id: self.author_contact_id,
            text: self.text,
            attachments,
            platform_message_id: self.platform_message_id,
            platform_parent_id: self.platform_parent_id,
            delivery_status: self.delivery_status.parse()?,
            delivery_error: self.delivery_error,
            language: self.language,
            sentiment: opt_parse(self.sentiment)?,
            intent: self.intent,
            personal_data: serde_json::from_str(&self.personal_data)
                .map_err(|e| StoreError::Corrupt(format!("message personal data: {e}")))?,
            created_at: from_ms(self.created_at)?,
            recorded_at: from_ms(self.recorded_at)?,
            edited_at: opt_from_ms(self.edited_at)?,
            deleted_at: opt_from_ms(self.deleted_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: String,
    user_id: String,
    csrf_token: String,
    user_agent: String,
    created_at: i64,
    expires_at: i64,
}

impl SessionRow {
    pub(crate) fn into_record(self) -> Result<SessionRecord> {
        Ok(SessionRecord {
            id: self.id,
            user_id: self.user_id,
            csrf_token: self.csrf_token,
            user_agent: self.user_agent,
            created_at: from_ms(self.created_at)?,
            expires_at: from_ms(self.expires_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ApiTokenRow {
    id: String,
    user_id: String,
    name: String,
    token_hash: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl ApiTokenRow {
    pub(crate) fn into_record(self) -> Result<ApiTokenRecord> {
        Ok(ApiTokenRecord {
            id: self.id,
            user_id: self.user_id,
            name: self.name,
            token_hash: self.token_hash,
            created_at: from_ms(self.created_at)?,
            last_used_at: opt_from_ms(self.last_used_at)?,
            revoked_at: opt_from_ms(self.revoked_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    workspace_id: String,
    at: i64,
    actor_kind: String,
    actor_id: Option<String>,
    action: String,
    subject_type: String,
    subject_id: String,
    detail: String,
}

impl AuditRow {
    pub(crate) fn into_domain(self) -> Result<AuditEntry> {
        Ok(AuditEntry {
            id: self.id.to_string(),
            workspace_id: self.workspace_id,
            at: from_ms(self.at)?,
            actor_kind: self.actor_kind,
            actor_id: self.actor_id,
            action: self.action,
            subject_type: self.subject_type,
            subject_id: self.subject_id,
            detail: json_value(&self.detail, "audit detail")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: i64,
    workspace_id: String,
    at: i64,
    kind: String,
    subject_id: String,
    payload: String,
}

impl EventRow {
    pub(crate) fn into_domain(self) -> Result<Event> {
        Ok(Event {
            id: self.id.to_string(),
            workspace_id: self.workspace_id,
            at: from_ms(self.at)?,
            kind: self.kind,
            subject_id: self.subject_id,
            payload: std::sync::Arc::new(json_value(&self.payload, "event payload")?),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RawEventRow {
    id: i64,
    channel_id: String,
    dedup_key: String,
    received_at: i64,
    payload: String,
    attempts: i64,
}

impl RawEventRow {
    pub(crate) fn into_record(self) -> Result<RawEvent> {
        Ok(RawEvent {
            id: self.id,
            channel_id: self.channel_id,
            dedup_key: self.dedup_key,
            received_at: from_ms(self.received_at)?,
            payload: json_value(&self.payload, "raw event")?,
            attempts: self.attempts,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OutboxRow {
    id: i64,
    workspace_id: String,
    kind: String,
    subject_id: String,
    payload: String,
    attempts: i64,
    created_at: i64,
}

impl OutboxRow {
    pub(crate) fn into_record(self) -> Result<OutboxItem> {
        Ok(OutboxItem {
            id: self.id,
            workspace_id: self.workspace_id,
            kind: self.kind,
            subject_id: self.subject_id,
            payload: json_value(&self.payload, "outbox payload")?,
            attempts: self.attempts,
            created_at: from_ms(self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryAttemptRow {
    outbox_id: i64,
    subject_id: String,
    at: i64,
    outcome: String,
    detail: String,
}

impl DeliveryAttemptRow {
    pub(crate) fn into_record(self) -> Result<DeliveryAttempt> {
        Ok(DeliveryAttempt {
            outbox_id: self.outbox_id,
            subject_id: self.subject_id,
            at: from_ms(self.at)?,
            outcome: self.outcome,
            detail: self.detail,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SnippetRow {
    id: String,
    workspace_id: String,
    name: String,
    text: String,
    created_by: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl SnippetRow {
    pub(crate) fn into_domain(self) -> Result<Snippet> {
        Ok(Snippet {
            id: self.id,
            workspace_id: self.workspace_id,
            name: self.name,
            text: self.text,
            created_by: self.created_by,
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms(self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SavedViewRow {
    id: String,
    workspace_id: String,
    user_id: Option<String>,
    name: String,
    filters: String,
    created_at: i64,
}

impl SavedViewRow {
    pub(crate) fn into_domain(self) -> Result<SavedView> {
        Ok(SavedView {
            filters: serde_json::from_str(&self.filters)
                .map_err(|e| StoreError::Corrupt(format!("saved view filters: {e}")))?,
            id: self.id,
            workspace_id: self.workspace_id,
            user_id: self.user_id,
            name: self.name,
            created_at: from_ms(self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct NotificationRow {
    id: String,
    workspace_id: String,
    user_id: String,
    kind: String,
    conversation_id: Option<String>,
    message_id: Option<String>,
    actor_id: Option<String>,
    text: String,
    created_at: i64,
    read_at: Option<i64>,
}

impl NotificationRow {
    pub(crate) fn into_domain(self) -> Result<Notification> {
        Ok(Notification {
            id: self.id,
            workspace_id: self.workspace_id,
            user_id: self.user_id,
            kind: self.kind,
            conversation_id: self.conversation_id,
            message_id: self.message_id,
            actor_id: self.actor_id,
            text: self.text,
            created_at: from_ms(self.created_at)?,
            read_at: opt_from_ms(self.read_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PresenceRow {
    conversation_id: String,
    user_id: String,
    user_name: String,
    state: String,
    expires_at: i64,
}

impl PresenceRow {
    pub(crate) fn into_domain(self) -> Result<Presence> {
        Ok(Presence {
            conversation_id: self.conversation_id,
            user_id: self.user_id,
            user_name: self.user_name,
            state: self.state.parse()?,
            expires_at: from_ms(self.expires_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AttributeDefinitionRow {
    id: String,
    workspace_id: String,
    scope: String,
    key: String,
    label: String,
    kind: String,
    options: String,
    created_at: i64,
}

impl AttributeDefinitionRow {
    pub(crate) fn into_domain(self) -> Result<AttributeDefinition> {
        Ok(AttributeDefinition {
            options: serde_json::from_str(&self.options)
                .map_err(|e| StoreError::Corrupt(format!("attribute options: {e}")))?,
            id: self.id,
            workspace_id: self.workspace_id,
            scope: self.scope.parse()?,
            key: self.key,
            label: self.label,
            kind: self.kind.parse()?,
            created_at: from_ms(self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct BusinessHoursRow {
    id: String,
    workspace_id: String,
    team_id: Option<String>,
    name: String,
    config: String,
    updated_at: i64,
}

impl BusinessHoursRow {
    pub(crate) fn into_record(self) -> Result<BusinessHoursRecord> {
        Ok(BusinessHoursRecord {
            config: json_value(&self.config, "business hours")?,
            id: self.id,
            workspace_id: self.workspace_id,
            team_id: self.team_id,
            name: self.name,
            updated_at: from_ms(self.updated_at)?,
        })
    }
}
