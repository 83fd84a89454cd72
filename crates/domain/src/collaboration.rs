//! What the team shares while working: snippets (canned responses), saved
//! inbox views, notifications, who is looking at a conversation, and the
//! custom attributes an admin defines. Also the two small text rules these
//! need: filling a snippet's variables and finding @mentions in a note.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::enums::*;
use crate::model::{Channel, Contact, Conversation, User};

/// A canned response. Its text may hold variables such as
/// `{{contact.first_name}}`, filled from the conversation when inserted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Snippet {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub text: String,
    pub created_by: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// The filters of an inbox view. Every field is optional; empty ones do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ViewFilters {
    pub statuses: Vec<ConversationStatus>,
    pub kind: Option<ConversationKind>,
    pub channel_id: Option<String>,
    pub network: Option<Network>,
    /// A user id, `me` or `none` (unassigned).
    pub assignee: Option<String>,
    pub team_id: Option<String>,
    pub label: Option<String>,
    pub language: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub intent: Option<String>,
    pub priority: Option<Priority>,
    /// Only conversations whose last customer message is unanswered.
    pub needs_reply: bool,
    /// Only conversations active at or after this instant.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    /// Only conversations active before this instant.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
}

/// A named set of filters in the inbox's navigation: a person's own, or
/// shared with the whole workspace when `user_id` is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SavedView {
    pub id: String,
    pub workspace_id: String,
    pub user_id: Option<String>,
    pub name: String,
    pub filters: ViewFilters,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// Something a person should look at: so far, being @mentioned in a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: String,
    pub workspace_id: String,
    /// Who is notified.
    pub user_id: String,
    /// `mention`.
    pub kind: String,
    pub conversation_id: Option<String>,
    pub message_id: Option<String>,
    /// Who caused it.
    pub actor_id: Option<String>,
    /// A short preview of what was said.
    pub text: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub read_at: Option<Timestamp>,
}

/// One person viewing or typing in a conversation, until `expires_at`
/// unless their screen says so again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Presence {
    pub conversation_id: String,
    pub user_id: String,
    pub user_name: String,
    pub state: PresenceState,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// A custom attribute an admin defines for contacts or conversations
/// (order number, plan, VIP…). Values live in the record's `custom_attributes` under `key`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttributeDefinition {
    pub id: String,
    pub workspace_id: String,
    pub scope: AttributeScope,
    /// `snake_case`, used in the API and in snippet variables (`{{contact.plan}}`).
    pub key: String,
    /// Shown to people.
    pub label: String,
    pub kind: AttributeKind,
    /// The allowed values of a `list` attribute.
    pub options: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl AttributeDefinition {
    /// Checks a value against the attribute's kind; `null` always clears.
    pub fn check(&self, value: &serde_json::Value) -> Result<(), crate::InvalidValue> {
        use serde_json::Value;
        let ok = match (self.kind, value) {
            (_, Value::Null) => true,
            (AttributeKind::Text, Value::String(s)) => s.chars().count() <= 2000,
            (AttributeKind::Link, Value::String(s)) => s.starts_with("https://") || s.starts_with("http://"),
            (AttributeKind::Number, Value::Number(_)) => true,
            (AttributeKind::Boolean, Value::Bool(_)) => true,
            (AttributeKind::Date, Value::String(s)) => s.parse::<jiff::civil::Date>().is_ok(),
            (AttributeKind::List, Value::String(s)) => self.options.iter().any(|o| o == s),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            let expected = match self.kind {
                AttributeKind::Text => "text of at most 2000 characters".to_owned(),
                AttributeKind::Link => "an http:// or https:// address".to_owned(),
                AttributeKind::Number => "a number".to_owned(),
                AttributeKind::Boolean => "true or false".to_owned(),
                AttributeKind::Date => "a date like 2026-12-31".to_owned(),
                AttributeKind::List => format!("one of: {}", self.options.join(", ")),
            };
            Err(crate::InvalidValue::new("custom_attributes", format!("{} must be {expected}", self.key)))
        }
    }
}

/// What a snippet's variables are filled from.
pub struct SnippetContext<'a> {
    pub contact: &'a Contact,
    pub conversation: &'a Conversation,
    pub agent: &'a User,
    pub channel: &'a Channel,
}

/// A snippet with its variables filled. Variables that have no value stay in
/// the text as written and are listed, so the agent sees what to fill in.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RenderedSnippet {
    pub text: String,
    pub missing: Vec<String>,
}

/// Fills `{{scope.name}}` variables: `contact.name`, `contact.first_name`,
/// `contact.email`, `contact.phone`, `agent.name`, `agent.first_name`,
/// `channel.name`, `channel.handle`, `conversation.id`, and any custom
/// attribute as `contact.<key>` or `conversation.<key>`.
pub fn render_snippet(text: &str, ctx: &SnippetContext<'_>) -> RenderedSnippet {
    let mut out = String::with_capacity(text.len());
    let mut missing = vec![];
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = after[..end].trim();
        match variable(name, ctx) {
            Some(value) => out.push_str(&value),
            None => {
                out.push_str(&rest[start..start + 2 + end + 2]);
                if !missing.iter().any(|m| m == name) {
                    missing.push(name.to_owned());
                }
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    RenderedSnippet { text: out, missing }
}

fn variable(name: &str, ctx: &SnippetContext<'_>) -> Option<String> {
    let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let (scope, field) = name.split_once('.')?;
    match (scope, field) {
        ("contact", "name") => non_empty(&ctx.contact.display_name),
        ("contact", "first_name") => first_name(&ctx.contact.display_name),
        ("contact", "email") => ctx.contact.email.as_deref().and_then(non_empty),
        ("contact", "phone") => ctx.contact.phone.as_deref().and_then(non_empty),
        ("contact", key) => attribute_text(ctx.contact.custom_attributes.get(key)?),
        ("agent", "name") => non_empty(&ctx.agent.name),
        ("agent", "first_name") => first_name(&ctx.agent.name),
        ("channel", "name") => non_empty(&ctx.channel.name),
        ("channel", "handle") => non_empty(&ctx.channel.handle),
        ("conversation", "id") => Some(ctx.conversation.id.clone()),
        ("conversation", key) => attribute_text(ctx.conversation.custom_attributes.get(key)?),
        _ => None,
    }
}

fn first_name(name: &str) -> Option<String> {
    // Handles are shown as names for many social customers: "@jane_doe" → "jane_doe".
    name.split_whitespace().next().map(|w| w.trim_start_matches('@').to_owned()).filter(|w| !w.is_empty())
}

fn attribute_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The users an internal note @mentions. `@word` matches a user whose first
/// name, full name without spaces, or email name is that word (ignoring
/// case); a name two people share notifies both.
pub fn mentioned_users<'u>(text: &str, users: &'u [User]) -> Vec<&'u User> {
    let words: Vec<String> = text
        .split('@')
        .skip(1)
        .filter_map(|after| {
            let word: String =
                after.chars().take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-')).collect();
            let word = word.trim_end_matches(['.', '-', '_']).to_lowercase();
            (!word.is_empty()).then_some(word)
        })
        .collect();
    let mut found: Vec<&User> = vec![];
    for user in users.iter().filter(|u| u.active) {
        let first = user.name.split_whitespace().next().unwrap_or("").to_lowercase();
        let joined: String = user.name.split_whitespace().collect::<String>().to_lowercase();
        let local = user.email.split('@').next().unwrap_or("").to_lowercase();
        if words.iter().any(|w| *w == first || *w == joined || *w == local) && !found.iter().any(|f| f.id == user.id) {
            found.push(user);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use serde_json::json;

    fn at() -> Timestamp {
        Timestamp::UNIX_EPOCH
    }

    fn user(name: &str, email: &str) -> User {
        User {
            id: format!("usr_{email}"),
            workspace_id: "ws".into(),
            email: email.into(),
            name: name.into(),
            role: Role::Agent,
            locale: "en".into(),
            active: true,
            availability: Availability::Online,
            created_at: at(),
            updated_at: at(),
        }
    }

    fn contact() -> Contact {
        let mut attrs = CustomAttributes::new();
        attrs.insert("plan".into(), json!("Gold"));
        Contact {
            id: "ct".into(),
            workspace_id: "ws".into(),
            display_name: "María José Pérez".into(),
            email: Some("mj@example.com".into()),
            phone: None,
            notes: String::new(),
            custom_attributes: attrs,
            merged_into_id: None,
            identities: vec![],
            created_at: at(),
            updated_at: at(),
        }
    }

    fn conversation() -> Conversation {
        let mut attrs = CustomAttributes::new();
        attrs.insert("order_number".into(), json!("NW-48213"));
        Conversation {
            id: "conv_1".into(),
            workspace_id: "ws".into(),
            channel_id: "ch".into(),
            contact_id: "ct".into(),
            kind: ConversationKind::Public,
            status: ConversationStatus::Open,
            priority: Priority::Normal,
            assignee_id: None,
            team_id: None,
            labels: vec![],
            custom_attributes: attrs,
            platform_thread_id: None,
            subject: String::new(),
            last_message_preview: String::new(),
            language: None,
            sentiment: None,
            intent: None,
            snoozed_until: None,
            timeline: ConversationTimeline { last_activity_at: at(), ..Default::default() },
            linked_conversation_id: None,
            merged_into_id: None,
            created_at: at(),
            updated_at: at(),
            version: 1,
        }
    }

    fn channel() -> Channel {
        Channel {
            id: "ch".into(),
            workspace_id: "ws".into(),
            network: Network::X,
            name: "Northwind on X".into(),
            handle: "northwind_help".into(),
            external_id: "1".into(),
            health: ChannelHealth::Ok,
            health_detail: String::new(),
            failure_count: 0,
            health_changed_at: None,
            enabled: true,
            has_credentials: true,
            settings: json!({}),
            created_at: at(),
            updated_at: at(),
        }
    }

    #[test]
    fn snippet_variables_are_filled_from_contact_agent_and_conversation() {
        let (contact, conversation, agent, channel) =
            (contact(), conversation(), user("Lucía García", "lucia@x"), channel());
        let ctx = SnippetContext { contact: &contact, conversation: &conversation, agent: &agent, channel: &channel };
        let out = render_snippet(
            "Hi {{contact.first_name}}, {{ agent.first_name }} here from {{channel.handle}}. Order {{conversation.order_number}} ({{contact.plan}}).",
            &ctx,
        );
        assert_eq!(out.text, "Hi María, Lucía here from northwind_help. Order NW-48213 (Gold).");
        assert!(out.missing.is_empty());
    }

    #[test]
    fn unknown_or_empty_variables_stay_visible_and_are_listed() {
        let (contact, conversation, agent, channel) = (contact(), conversation(), user("Omar", "omar@x"), channel());
        let ctx = SnippetContext { contact: &contact, conversation: &conversation, agent: &agent, channel: &channel };
        let out = render_snippet("Call {{contact.phone}} or {{nonsense}} {{contact.phone}} {{unclosed", &ctx);
        assert_eq!(out.text, "Call {{contact.phone}} or {{nonsense}} {{contact.phone}} {{unclosed");
        assert_eq!(out.missing, vec!["contact.phone".to_owned(), "nonsense".to_owned()]);
    }

    #[test]
    fn mentions_match_first_names_full_names_and_email_names() {
        let users = vec![
            user("Sofia Papadopoulou", "sofia@demo"),
            user("Dmitri Volkov", "dv@demo"),
            user("Mei Lin", "mei@demo"),
        ];
        let found: Vec<&str> = mentioned_users("@Sofia can you check? cc @dv, @MeiLin.", &users)
            .into_iter()
            .map(|u| u.name.as_str())
            .collect();
        assert_eq!(found, vec!["Sofia Papadopoulou", "Dmitri Volkov", "Mei Lin"]);
        assert!(mentioned_users("mail me at someone@example.com", &users).is_empty());
        assert!(mentioned_users("no mentions here", &users).is_empty());
    }

    #[test]
    fn attribute_values_are_checked_against_their_kind() {
        let mut def = AttributeDefinition {
            id: "a".into(),
            workspace_id: "ws".into(),
            scope: AttributeScope::Contact,
            key: "plan".into(),
            label: "Plan".into(),
            kind: AttributeKind::List,
            options: vec!["Gold".into(), "Silver".into()],
            created_at: at(),
        };
        assert!(def.check(&json!("Gold")).is_ok());
        assert!(def.check(&json!("Bronze")).is_err());
        assert!(def.check(&json!(null)).is_ok());
        def.kind = AttributeKind::Date;
        assert!(def.check(&json!("2026-02-30")).is_err());
        assert!(def.check(&json!("2026-02-28")).is_ok());
        def.kind = AttributeKind::Link;
        assert!(def.check(&json!("javascript:alert(1)")).is_err());
    }
}
