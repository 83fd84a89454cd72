//! Rules: *when* something happens to a conversation, *if* its conditions
//! hold, *then* run its actions. This module holds what a rule is, how it is
//! checked when an admin saves it, and how it is evaluated against the facts
//! of one conversation; running the actions is the `app` crate's job.
//!
//! Also the safety rules every automatic reply obeys, and the little bot
//! that answers common questions and hands over to a person.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::InvalidValue;
use crate::enums::*;
use crate::model::{Channel, Contact, Conversation, Message};

/// The longest regular expression a condition may hold, in characters.
pub const MAX_PATTERN_CHARS: usize = 500;
/// The most memory a compiled condition pattern may take (the `regex` crate's size limit).
pub const MAX_PATTERN_BYTES: usize = 256 * 1024;
/// The longest text an automatic reply or notification may carry.
pub const MAX_ACTION_TEXT_CHARS: usize = 5000;
/// An automatic reply is never sent twice with the same text to one customer within this window.
pub const REPEAT_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// A rule as an admin defines it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rule {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub enabled: bool,
    /// Rules run in ascending position; ties by id.
    pub position: i64,
    #[serde(flatten)]
    pub definition: RuleDefinition,
    pub created_by: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// What a rule does: its trigger, conditions and actions (stored as one JSON document).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDefinition {
    pub trigger: Trigger,
    #[serde(default)]
    pub conditions: Conditions,
    pub actions: Vec<RuleAction>,
    /// When this rule matched, no later rule runs on the same event.
    #[serde(default)]
    pub stop: bool,
    /// An explicit opt-in: this rule may reply publicly to a negative or complaint message.
    #[serde(default)]
    pub reply_to_negative: bool,
}

/// When a rule is considered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// A customer's message arrived.
    MessageReceived,
    /// A new conversation was opened by a customer's first message.
    ConversationCreated,
    /// The conversation's status changed (to any status; add a `status` condition to narrow it).
    StatusChanged,
    /// The conversation was given to a person.
    Assigned,
    /// An SLA target is at risk (`sla.warning`).
    SlaWarning,
    /// An SLA target was missed (`sla.breached`).
    SlaBreached,
    /// Nothing happened in an open or pending conversation for this long.
    Idle { minutes: u32 },
}

impl Trigger {
    pub fn name(&self) -> &'static str {
        match self {
            Trigger::MessageReceived => "message_received",
            Trigger::ConversationCreated => "conversation_created",
            Trigger::StatusChanged => "status_changed",
            Trigger::Assigned => "assigned",
            Trigger::SlaWarning => "sla_warning",
            Trigger::SlaBreached => "sla_breached",
            Trigger::Idle { .. } => "idle",
        }
    }

    /// Whether this trigger is the same kind as `other` (ignoring parameters).
    pub fn same_kind(&self, other: &Trigger) -> bool {
        self.name() == other.name()
    }
}

/// All or any of the conditions must hold; no conditions always hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    #[serde(default)]
    pub mode: MatchMode,
    #[serde(default)]
    pub items: Vec<Condition>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    #[default]
    All,
    Any,
}

/// One test on the conversation, its customer or the message: `field op value`.
/// Lists in `value` are comma-separated ("ru, uk"); `key` names the custom
/// attribute for the attribute fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: Field,
    pub op: Op,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// What a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Channel ids.
    Channel,
    Network,
    /// `public` or `private`.
    Kind,
    Status,
    Priority,
    /// The customer's message text.
    Text,
    /// ISO 639-1 codes of the message's language.
    Language,
    Sentiment,
    Intent,
    /// Whether the message holds personal data (card, IBAN, phone, email, order number).
    PersonalData,
    /// The customer is a VIP: the contact attribute `vip` is true, or the conversation has the label `vip`.
    ContactVip,
    /// The contact attribute `followers` (or `follower_count`), when known.
    ContactFollowers,
    /// Label names on the conversation.
    Label,
    /// How many open or pending conversations the customer has (this one included).
    OpenConversations,
    ContactAttribute,
    ConversationAttribute,
    /// Whether business hours are open now (the team's, else the workspace's; always open if none are set).
    BusinessHours,
    /// Whether someone is assigned.
    Assigned,
    /// Team ids.
    Team,
}

/// How a condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equals one of the listed values (or, for yes/no fields, `true`/`false`).
    Is,
    IsNot,
    /// The text holds this phrase (ignoring case).
    Contains,
    NotContains,
    /// The text matches this regular expression.
    Matches,
    /// The text holds any of the listed keywords (ignoring case).
    AnyKeyword,
    AtLeast,
    AtMost,
}

impl Field {
    pub const ALL: &'static [Field] = &[
        Field::Channel,
        Field::Network,
        Field::Kind,
        Field::Status,
        Field::Priority,
        Field::Text,
        Field::Language,
        Field::Sentiment,
        Field::Intent,
        Field::PersonalData,
        Field::ContactVip,
        Field::ContactFollowers,
        Field::Label,
        Field::OpenConversations,
        Field::ContactAttribute,
        Field::ConversationAttribute,
        Field::BusinessHours,
        Field::Assigned,
        Field::Team,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Channel => "channel",
            Field::Network => "network",
            Field::Kind => "kind",
            Field::Status => "status",
            Field::Priority => "priority",
            Field::Text => "text",
            Field::Language => "language",
            Field::Sentiment => "sentiment",
            Field::Intent => "intent",
            Field::PersonalData => "personal_data",
            Field::ContactVip => "contact_vip",
            Field::ContactFollowers => "contact_followers",
            Field::Label => "label",
            Field::OpenConversations => "open_conversations",
            Field::ContactAttribute => "contact_attribute",
            Field::ConversationAttribute => "conversation_attribute",
            Field::BusinessHours => "business_hours",
            Field::Assigned => "assigned",
            Field::Team => "team",
        }
    }

    /// The comparisons that make sense for this field.
    pub fn ops(self) -> &'static [Op] {
        use Op::*;
        match self {
            Field::Text => &[Contains, NotContains, Matches, AnyKeyword],
            Field::PersonalData | Field::ContactVip | Field::BusinessHours | Field::Assigned => &[Is],
            Field::ContactFollowers | Field::OpenConversations => &[AtLeast, AtMost],
            Field::ContactAttribute | Field::ConversationAttribute => &[Is, IsNot, Contains, AtLeast, AtMost],
            _ => &[Is, IsNot],
        }
    }
}

impl Op {
    pub const ALL: &'static [Op] =
        &[Op::Is, Op::IsNot, Op::Contains, Op::NotContains, Op::Matches, Op::AnyKeyword, Op::AtLeast, Op::AtMost];

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Is => "is",
            Op::IsNot => "is_not",
            Op::Contains => "contains",
            Op::NotContains => "not_contains",
            Op::Matches => "matches",
            Op::AnyKeyword => "any_keyword",
            Op::AtLeast => "at_least",
            Op::AtMost => "at_most",
        }
    }
}

/// A snippet the bot may answer with, chosen by the message's intent or keywords.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotAnswer {
    pub snippet_id: String,
    #[serde(default)]
    pub intents: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// What a rule does. Replies go out as automatic replies (author `bot`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleAction {
    /// Puts the conversation in a team; with `round_robin`, also gives it to
    /// the team's next available agent with room (see `assignment`).
    AssignTeam {
        team_id: String,
        #[serde(default)]
        round_robin: bool,
    },
    AssignAgent {
        user_id: String,
    },
    AddLabel {
        label: String,
    },
    RemoveLabel {
        label: String,
    },
    SetPriority {
        priority: Priority,
    },
    /// A public reply (snippet variables such as `{{contact.first_name}}` are filled).
    ReplyPublic {
        text: String,
    },
    /// A private reply: a direct message, or the network's private reply to a comment.
    ReplyPrivate {
        text: String,
    },
    /// A snippet, its variables filled, as a public or private reply.
    SendSnippet {
        snippet_id: String,
        visibility: Visibility,
    },
    /// Answer publicly ("we have sent you a private message") and open the
    /// private conversation with a private reply (text, or a snippet when given).
    MoveToPrivate {
        public_text: String,
        #[serde(default)]
        private_text: String,
        #[serde(default)]
        snippet_id: Option<String>,
    },
    /// The bot: answers a common question from a snippet and says how to
    /// reach a person; hands over to a person (optionally a team) when asked,
    /// on negative sentiment, or on a second question.
    AutoAnswer {
        answers: Vec<BotAnswer>,
        #[serde(default)]
        handoff_team_id: Option<String>,
    },
    /// Hides the customer's comment where the network allows it.
    HideComment,
    Resolve,
    Snooze {
        minutes: u32,
    },
    /// Posts to a Slack (or compatible) incoming webhook.
    NotifySlack {
        url: String,
        #[serde(default)]
        text: String,
    },
    /// Calls an outgoing webhook with the conversation as JSON, signed
    /// (Standard Webhooks headers) with `secret` when given.
    Webhook {
        url: String,
        #[serde(default)]
        secret: String,
    },
    /// Escalates to another department by email.
    Email {
        to: String,
        #[serde(default)]
        subject: String,
    },
    /// Replies in this conversation wait for a supervisor's approval.
    RequireApproval,
}

impl RuleAction {
    pub fn name(&self) -> &'static str {
        match self {
            RuleAction::AssignTeam { .. } => "assign_team",
            RuleAction::AssignAgent { .. } => "assign_agent",
            RuleAction::AddLabel { .. } => "add_label",
            RuleAction::RemoveLabel { .. } => "remove_label",
            RuleAction::SetPriority { .. } => "set_priority",
            RuleAction::ReplyPublic { .. } => "reply_public",
            RuleAction::ReplyPrivate { .. } => "reply_private",
            RuleAction::SendSnippet { .. } => "send_snippet",
            RuleAction::MoveToPrivate { .. } => "move_to_private",
            RuleAction::AutoAnswer { .. } => "auto_answer",
            RuleAction::HideComment => "hide_comment",
            RuleAction::Resolve => "resolve",
            RuleAction::Snooze { .. } => "snooze",
            RuleAction::NotifySlack { .. } => "notify_slack",
            RuleAction::Webhook { .. } => "webhook",
            RuleAction::Email { .. } => "email",
            RuleAction::RequireApproval => "require_approval",
        }
    }

    /// Every action's name, for editors.
    pub const NAMES: &'static [&'static str] = &[
        "assign_team",
        "assign_agent",
        "add_label",
        "remove_label",
        "set_priority",
        "reply_public",
        "reply_private",
        "send_snippet",
        "move_to_private",
        "auto_answer",
        "hide_comment",
        "resolve",
        "snooze",
        "notify_slack",
        "webhook",
        "email",
        "require_approval",
    ];
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidValue {
    InvalidValue::new(field, message)
}

fn check_text(field: &'static str, text: &str, required: bool) -> Result<(), InvalidValue> {
    if required && text.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if text.chars().count() > MAX_ACTION_TEXT_CHARS {
        return Err(invalid(field, format!("must be at most {MAX_ACTION_TEXT_CHARS} characters")));
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), InvalidValue> {
    let u = url.trim();
    if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000 || u.contains(char::is_whitespace) {
        return Err(invalid("actions", format!("{u:?} is not an http:// or https:// address")));
    }
    Ok(())
}

/// A comma-separated list, trimmed, without empty items.
pub fn split_list(value: &str) -> Vec<String> {
    value.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

impl RuleDefinition {
    /// Checks everything that can be checked without the database (the app
    /// checks that the teams, users, labels and snippets named exist).
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if let Trigger::Idle { minutes } = self.trigger
            && !(1..=30 * 24 * 60).contains(&minutes)
        {
            return Err(invalid("trigger", "idle minutes must be between 1 and 43200 (30 days)"));
        }
        if self.conditions.items.len() > 50 {
            return Err(invalid("conditions", "at most 50 conditions"));
        }
        for condition in &self.conditions.items {
            CompiledCondition::compile(condition)?;
        }
        if self.actions.is_empty() || self.actions.len() > 20 {
            return Err(invalid("actions", "a rule needs 1 to 20 actions"));
        }
        for action in &self.actions {
            match action {
                RuleAction::AssignTeam { team_id: id, .. } | RuleAction::AssignAgent { user_id: id }
                    if id.trim().is_empty() =>
                {
                    return Err(invalid("actions", format!("{} needs who to assign", action.name())));
                }
                RuleAction::AddLabel { label } | RuleAction::RemoveLabel { label } => {
                    check_text("actions", label, true)?;
                }
                RuleAction::ReplyPublic { text } | RuleAction::ReplyPrivate { text } => {
                    check_text("actions", text, true)?;
                }
                RuleAction::SendSnippet { snippet_id, visibility } => {
                    check_text("actions", snippet_id, true)?;
                    if *visibility == Visibility::Note {
                        return Err(invalid("actions", "a snippet is sent as a public or private reply"));
                    }
                }
                RuleAction::MoveToPrivate { public_text, private_text, snippet_id } => {
                    check_text("actions", public_text, true)?;
                    check_text("actions", private_text, snippet_id.is_none())?;
                }
                RuleAction::AutoAnswer { answers, .. } => {
                    if answers.is_empty() || answers.len() > 50 {
                        return Err(invalid("actions", "auto_answer needs 1 to 50 answers"));
                    }
                    for answer in answers {
                        check_text("actions", &answer.snippet_id, true)?;
                        if answer.intents.is_empty() && answer.keywords.iter().all(|k| k.trim().is_empty()) {
                            return Err(invalid("actions", "each answer needs intents or keywords"));
                        }
                    }
                }
                RuleAction::Snooze { minutes } if !(1..=365 * 24 * 60).contains(minutes) => {
                    return Err(invalid("actions", "snooze minutes must be between 1 and 525600 (a year)"));
                }
                RuleAction::NotifySlack { url, text } => {
                    check_url(url)?;
                    check_text("actions", text, false)?;
                }
                RuleAction::Webhook { url, secret } => {
                    check_url(url)?;
                    if !secret.is_empty() && !secret.starts_with("whsec_") {
                        return Err(invalid("actions", "a webhook secret looks like whsec_… (base64)"));
                    }
                }
                RuleAction::Email { to, subject } => {
                    let addresses = split_list(to);
                    if addresses.is_empty() || addresses.iter().any(|a| !looks_like_email(a)) {
                        return Err(invalid("actions", format!("{to:?} is not a list of email addresses")));
                    }
                    check_text("actions", subject, false)?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn looks_like_email(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !address.contains(char::is_whitespace) && address.len() <= 254
        }
        None => false,
    }
}

/// What a rule is evaluated against: one conversation, its customer and
/// channel, and the message the event is about (or the latest customer message).
pub struct Facts<'a> {
    pub conversation: &'a Conversation,
    pub channel: &'a Channel,
    pub contact: &'a Contact,
    pub message: Option<&'a Message>,
    /// The customer's open or pending conversations, this one included.
    pub open_conversations: i64,
    /// Whether business hours are open now; `None` when none are set (counts as open).
    pub business_open: Option<bool>,
}

/// A condition ready to test: lists split and lower-cased, patterns compiled.
#[derive(Debug, Clone)]
pub struct CompiledCondition {
    condition: Condition,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    OneOf(Vec<String>),
    Phrase(String),
    Pattern(regex::Regex),
    Keywords(Vec<String>),
    Number(f64),
    Flag(bool),
}

impl CompiledCondition {
    pub fn compile(c: &Condition) -> Result<Self, InvalidValue> {
        if !c.field.ops().contains(&c.op) {
            let allowed: Vec<&str> = c.field.ops().iter().map(|o| o.as_str()).collect();
            return Err(invalid(
                "conditions",
                format!("{} takes {}, not {}", c.field.as_str(), allowed.join(", "), c.op.as_str()),
            ));
        }
        let needs_key = matches!(c.field, Field::ContactAttribute | Field::ConversationAttribute);
        if needs_key && c.key.trim().is_empty() {
            return Err(invalid("conditions", format!("{} needs the attribute's key", c.field.as_str())));
        }
        let value = c.value.trim();
        let test = match c.op {
            Op::Matches => {
                if value.chars().count() > MAX_PATTERN_CHARS {
                    return Err(invalid("conditions", format!("a pattern has at most {MAX_PATTERN_CHARS} characters")));
                }
                let pattern = regex::RegexBuilder::new(value)
                    .size_limit(MAX_PATTERN_BYTES)
                    .dfa_size_limit(MAX_PATTERN_BYTES)
                    .build()
                    .map_err(|e| invalid("conditions", format!("not a usable regular expression: {e}")))?;
                Test::Pattern(pattern)
            }
            Op::AtLeast | Op::AtMost => Test::Number(
                value.parse::<f64>().map_err(|_| invalid("conditions", format!("{value:?} is not a number")))?,
            ),
            Op::AnyKeyword => {
                let words: Vec<String> = split_list(value).iter().map(|w| w.to_lowercase()).collect();
                if words.is_empty() {
                    return Err(invalid("conditions", "list at least one keyword"));
                }
                Test::Keywords(words)
            }
            Op::Contains | Op::NotContains => {
                if value.is_empty() {
                    return Err(invalid("conditions", "say what the text should contain"));
                }
                Test::Phrase(value.to_lowercase())
            }
            Op::Is | Op::IsNot => match c.field {
                Field::PersonalData | Field::ContactVip | Field::BusinessHours | Field::Assigned => {
                    Test::Flag(match value {
                        "true" | "yes" => true,
                        "false" | "no" => false,
                        _ => return Err(invalid("conditions", format!("{} is true or false", c.field.as_str()))),
                    })
                }
                _ => {
                    let values = split_list(value);
                    if values.is_empty() {
                        return Err(invalid("conditions", format!("{} needs a value", c.field.as_str())));
                    }
                    check_known(c.field, &values)?;
                    Test::OneOf(values.iter().map(|v| v.to_lowercase()).collect())
                }
            },
        };
        Ok(CompiledCondition { condition: c.clone(), test })
    }

    pub fn condition(&self) -> &Condition {
        &self.condition
    }

    /// Whether the condition holds for these facts. A value that is not
    /// known (no message, no follower count) never satisfies a condition.
    pub fn holds(&self, f: &Facts<'_>) -> bool {
        let c = &self.condition;
        let message_text = f.message.map(|m| m.text.as_str());
        match (c.field, &self.test) {
            (Field::Text, test) => match message_text {
                Some(text) => text_test(test, c.op, text),
                None => false,
            },
            (Field::PersonalData, Test::Flag(want)) => f.message.is_some_and(|m| m.personal_data.is_empty() != *want),
            (Field::ContactVip, Test::Flag(want)) => is_vip(f) == *want,
            (Field::BusinessHours, Test::Flag(want)) => f.business_open.unwrap_or(true) == *want,
            (Field::Assigned, Test::Flag(want)) => f.conversation.assignee_id.is_some() == *want,
            (Field::ContactFollowers, Test::Number(n)) => match followers(f.contact) {
                Some(count) => compare(count, c.op, *n),
                None => false,
            },
            (Field::OpenConversations, Test::Number(n)) => compare(f.open_conversations as f64, c.op, *n),
            (Field::ContactAttribute, test) => {
                attribute_test(f.contact.custom_attributes.get(c.key.trim()), c.op, test)
            }
            (Field::ConversationAttribute, test) => {
                attribute_test(f.conversation.custom_attributes.get(c.key.trim()), c.op, test)
            }
            (Field::Label, Test::OneOf(names)) => {
                let has = f.conversation.labels.iter().any(|l| names.contains(&l.to_lowercase()));
                has == (c.op == Op::Is)
            }
            (field, Test::OneOf(values)) => {
                let actual = scalar(field, f);
                let found = actual.is_some_and(|a| values.contains(&a.to_lowercase()));
                match c.op {
                    Op::Is => found,
                    // An unknown value is "not" any of them.
                    _ => !found,
                }
            }
            _ => false,
        }
    }
}

/// The values a field may take, where the set is closed, so a typo is caught when saving.
fn check_known(field: Field, values: &[String]) -> Result<(), InvalidValue> {
    let known: Vec<&str> = match field {
        Field::Network => Network::ALL.iter().map(|n| n.as_str()).collect(),
        Field::Kind => ConversationKind::ALL.iter().map(|n| n.as_str()).collect(),
        Field::Status => ConversationStatus::ALL.iter().map(|n| n.as_str()).collect(),
        Field::Priority => Priority::ALL.iter().map(|n| n.as_str()).collect(),
        Field::Sentiment => Sentiment::ALL.iter().map(|n| n.as_str()).collect(),
        _ => return Ok(()),
    };
    for v in values {
        if !known.contains(&v.to_lowercase().as_str()) {
            return Err(invalid(
                "conditions",
                format!("{} is not a {}; expected one of: {}", v, field.as_str(), known.join(", ")),
            ));
        }
    }
    Ok(())
}

fn scalar(field: Field, f: &Facts<'_>) -> Option<String> {
    let c = f.conversation;
    let m = f.message;
    match field {
        Field::Channel => Some(c.channel_id.clone()),
        Field::Network => Some(f.channel.network.as_str().to_owned()),
        Field::Kind => Some(c.kind.as_str().to_owned()),
        Field::Status => Some(c.status.as_str().to_owned()),
        Field::Priority => Some(c.priority.as_str().to_owned()),
        Field::Language => m.and_then(|m| m.language.clone()).or_else(|| c.language.clone()),
        Field::Sentiment => m.and_then(|m| m.sentiment).or(c.sentiment).map(|s| s.as_str().to_owned()),
        Field::Intent => m.and_then(|m| m.intent.clone()).or_else(|| c.intent.clone()),
        Field::Team => c.team_id.clone(),
        _ => None,
    }
}

fn text_test(test: &Test, op: Op, text: &str) -> bool {
    match test {
        Test::Phrase(p) => text.to_lowercase().contains(p) == (op == Op::Contains),
        Test::Pattern(re) => re.is_match(text),
        Test::Keywords(words) => {
            let lower = text.to_lowercase();
            words.iter().any(|w| lower.contains(w))
        }
        _ => false,
    }
}

fn compare(actual: f64, op: Op, wanted: f64) -> bool {
    match op {
        Op::AtLeast => actual >= wanted,
        Op::AtMost => actual <= wanted,
        _ => false,
    }
}

fn attribute_test(value: Option<&serde_json::Value>, op: Op, test: &Test) -> bool {
    use serde_json::Value;
    let text = match value {
        Some(Value::String(s)) => Some(s.to_lowercase()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    };
    match (test, op) {
        (Test::OneOf(values), Op::Is) => text.is_some_and(|t| values.contains(&t)),
        (Test::OneOf(values), _) => !text.is_some_and(|t| values.contains(&t)),
        (Test::Phrase(p), _) => text.is_some_and(|t| t.contains(p)),
        (Test::Number(n), op) => value.and_then(number_of).is_some_and(|v| compare(v, op, *n)),
        _ => false,
    }
}

fn number_of(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().replace([',', '_', ' '], "").parse().ok(),
        _ => None,
    }
}

fn is_vip(f: &Facts<'_>) -> bool {
    let attribute = match f.contact.custom_attributes.get("vip") {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => matches!(s.to_lowercase().as_str(), "true" | "yes"),
        _ => false,
    };
    attribute || f.conversation.labels.iter().any(|l| l.eq_ignore_ascii_case("vip"))
}

/// The customer's follower count, when a connector or an admin recorded it.
fn followers(contact: &Contact) -> Option<f64> {
    ["followers", "follower_count", "followers_count"]
        .iter()
        .find_map(|k| contact.custom_attributes.get(*k).and_then(number_of))
}

/// A rule with its conditions compiled, ready to evaluate many times.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub rule: Rule,
    conditions: Vec<CompiledCondition>,
}

/// Which conditions held, in order, and whether the rule matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Evaluation {
    pub matched: bool,
    pub checks: Vec<bool>,
}

impl CompiledRule {
    pub fn compile(rule: Rule) -> Result<Self, InvalidValue> {
        let conditions =
            rule.definition.conditions.items.iter().map(CompiledCondition::compile).collect::<Result<_, _>>()?;
        Ok(CompiledRule { rule, conditions })
    }

    /// Whether the rule is considered for `trigger` (enabled, same kind, same idle length).
    pub fn listens_to(&self, trigger: &Trigger) -> bool {
        self.rule.enabled && self.rule.definition.trigger == *trigger
    }

    pub fn evaluate(&self, facts: &Facts<'_>) -> Evaluation {
        let checks: Vec<bool> = self.conditions.iter().map(|c| c.holds(facts)).collect();
        let matched = match self.rule.definition.conditions.mode {
            MatchMode::All => checks.iter().all(|c| *c),
            MatchMode::Any => checks.is_empty() || checks.iter().any(|c| *c),
        };
        Evaluation { matched, checks }
    }
}

/// Rules in the order they run.
pub fn in_order(rules: &mut [CompiledRule]) {
    rules.sort_by(|a, b| a.rule.position.cmp(&b.rule.position).then_with(|| a.rule.id.cmp(&b.rule.id)));
}

// --- what happened -----------------------------------------------------------

/// One rule that matched one event, and what each of its actions did: the
/// answer to "why did this happen?" shown on the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuleRun {
    pub id: String,
    pub workspace_id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub conversation_id: String,
    /// The event it ran for (`evt:<id>`) or, for idle triggers, the quiet stretch.
    pub event_key: String,
    /// The trigger's name (`message_received`…).
    pub trigger: String,
    /// `running` while its actions run, `done` after.
    pub status: String,
    pub actions: Vec<ActionOutcome>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// What one action did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActionOutcome {
    /// The action's name (`assign_team`…).
    pub action: String,
    /// `done`, `skipped` or `failed`.
    pub result: String,
    /// What was done, or why not, in English words.
    pub detail: String,
    /// The same as one of the interface's messages (`rule-detail-{key}`) and
    /// its arguments, so each agent reads it in their own language; absent
    /// where the detail is a name (a team, a label) or an error's own words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub args: std::collections::BTreeMap<String, String>,
    /// Further sentences of the detail, after the one `key` names (a bot's
    /// hand-over: why, who got it, what the bot said), each read the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<DetailPart>,
}

/// One sentence of an action's detail: the interface's message and its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DetailPart {
    pub key: String,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub args: std::collections::BTreeMap<String, String>,
}

/// Every key an action's detail may name ([`ActionOutcome::said_as`]); the
/// interface has a message for each (a test there checks).
pub const RULE_DETAIL_KEYS: &[&str] = &[
    "already-private",
    "approval-required",
    "assigned-in-team",
    "assigned-to",
    "bot-answered",
    "bot-idle",
    "handed-over-asked",
    "handed-over-negative",
    "handed-over-no-answer",
    "handed-over-second-question",
    "no-message",
    "not-sent-negative",
    "not-sent-repeated",
    "nothing-to-hide",
    "nothing-to-say",
    "personal-data-posted",
    "private-no-public",
    "queued-email",
    "queued-hide",
    "queued-slack",
    "queued-webhook",
    "replied-private",
    "replied-public",
    "resolved",
    "until",
    "waiting-in-team",
];

impl ActionOutcome {
    fn new(action: &str, result: &str, detail: impl Into<String>) -> Self {
        ActionOutcome {
            action: action.into(),
            result: result.into(),
            detail: detail.into(),
            key: None,
            args: Default::default(),
            more: vec![],
        }
    }

    pub fn done(action: &str, detail: impl Into<String>) -> Self {
        Self::new(action, "done", detail)
    }

    pub fn skipped(action: &str, detail: impl Into<String>) -> Self {
        Self::new(action, "skipped", detail)
    }

    pub fn failed(action: &str, detail: impl Into<String>) -> Self {
        Self::new(action, "failed", detail)
    }

    /// Names the interface's message for the detail, with its arguments.
    pub fn said_as(mut self, key: &str, args: &[(&str, &str)]) -> Self {
        debug_assert!(RULE_DETAIL_KEYS.contains(&key), "rule detail key {key} is not in RULE_DETAIL_KEYS");
        self.key = Some(key.to_owned());
        self.args = args_map(args);
        self
    }

    /// Adds a sentence to the detail, in English words and as a message.
    pub fn and_said(mut self, detail: &str, key: &str, args: &[(&str, &str)]) -> Self {
        debug_assert!(RULE_DETAIL_KEYS.contains(&key), "rule detail key {key} is not in RULE_DETAIL_KEYS");
        self.detail.push_str("; ");
        self.detail.push_str(detail);
        self.more.push(DetailPart { key: key.to_owned(), args: args_map(args) });
        self
    }

    /// Adds what another action said (a reply sent on the way) to the detail.
    /// Its words are kept even without a message, so nothing goes unsaid.
    pub fn and_then(mut self, other: &ActionOutcome) -> Self {
        self.detail.push_str("; ");
        self.detail.push_str(&other.detail);
        match &other.key {
            Some(key) => {
                self.more.push(DetailPart { key: key.clone(), args: other.args.clone() });
                self.more.extend(other.more.iter().cloned());
            }
            // An error's own words: the English detail is all there is, so
            // no sentence is read as a message.
            None => {
                self.key = None;
                self.args.clear();
                self.more.clear();
            }
        }
        self
    }
}

fn args_map(args: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    args.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// An agent's correction of the sentiment or intent Hark read in a message,
/// kept to retrain the workspace's models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Correction {
    pub message_id: String,
    pub workspace_id: String,
    /// `sentiment` or `intent`.
    pub field: String,
    /// The message's text when it was corrected.
    pub text: String,
    pub old_value: Option<String>,
    pub new_value: String,
    pub corrected_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub corrected_at: Timestamp,
}

// --- safety of automatic replies --------------------------------------------

/// Why an automatic reply was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutoReplyRefusal {
    /// A public automatic reply to a negative or complaint message, without the rule's opt-in.
    NegativeOrComplaint,
    /// The same automatic text went to this customer within the last day.
    RepeatedWithinDay,
}

impl AutoReplyRefusal {
    /// The interface's message for [`Self::explain`] (`rule-detail-{key}`).
    pub fn key(self) -> &'static str {
        match self {
            AutoReplyRefusal::NegativeOrComplaint => "not-sent-negative",
            AutoReplyRefusal::RepeatedWithinDay => "not-sent-repeated",
        }
    }

    pub fn explain(self) -> &'static str {
        match self {
            AutoReplyRefusal::NegativeOrComplaint => {
                "not sent: no automatic public reply to a negative or complaint message unless the rule opts in"
            }
            AutoReplyRefusal::RepeatedWithinDay => {
                "not sent: the same automatic text already went to this customer within a day"
            }
        }
    }
}

/// An automatic reply already sent to the customer, for the repeat check.
#[derive(Debug, Clone, PartialEq)]
pub struct SentAutoReply {
    pub text: String,
    pub at: Timestamp,
}

/// Whether the customer's message is negative or a complaint.
pub fn is_negative_or_complaint(message: Option<&Message>, conversation: &Conversation) -> bool {
    let sentiment = message.and_then(|m| m.sentiment).or(conversation.sentiment);
    let intent = message.and_then(|m| m.intent.as_deref()).or(conversation.intent.as_deref());
    sentiment == Some(Sentiment::Negative) || intent == Some("complaint")
}

/// The checks every automatic reply passes before it is written.
pub fn check_auto_reply(
    visibility: Visibility,
    text: &str,
    negative_or_complaint: bool,
    opted_in: bool,
    already_sent: &[SentAutoReply],
    now: Timestamp,
) -> Result<(), AutoReplyRefusal> {
    if visibility == Visibility::Public && negative_or_complaint && !opted_in {
        return Err(AutoReplyRefusal::NegativeOrComplaint);
    }
    let wanted = normalized(text);
    let since = now.as_millisecond() - REPEAT_WINDOW_MS;
    if already_sent.iter().any(|s| s.at.as_millisecond() > since && normalized(&s.text) == wanted) {
        return Err(AutoReplyRefusal::RepeatedWithinDay);
    }
    Ok(())
}

fn normalized(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

// --- the bot ----------------------------------------------------------------

/// What the customer is told by the bot, in their language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotPhrases {
    pub language: &'static str,
    /// The word that asks for a person.
    pub handoff_word: &'static str,
    /// Appended to every bot answer.
    pub reach_person: &'static str,
    /// Said when a person takes over.
    pub handing_over: &'static str,
}

const BOT_PHRASES: &[BotPhrases] = &[
    BotPhrases {
        language: "en",
        handoff_word: "agent",
        reach_person: "Type \"agent\" to reach a person.",
        handing_over: "Thanks! A person from our team will take it from here.",
    },
    BotPhrases {
        language: "ru",
        handoff_word: "оператор",
        reach_person: "Напишите «оператор», чтобы связаться с сотрудником.",
        handing_over: "Спасибо! Дальше вам ответит сотрудник нашей команды.",
    },
    BotPhrases {
        language: "uk",
        handoff_word: "оператор",
        reach_person: "Напишіть «оператор», щоб зв'язатися з працівником.",
        handing_over: "Дякуємо! Далі вам відповість працівник нашої команди.",
    },
    BotPhrases {
        language: "zh",
        handoff_word: "人工",
        reach_person: "回复“人工”即可联系客服人员。",
        handing_over: "谢谢！我们的客服人员将继续为您处理。",
    },
    BotPhrases {
        language: "el",
        handoff_word: "εκπρόσωπος",
        reach_person: "Γράψτε «εκπρόσωπος» για να μιλήσετε με άνθρωπο.",
        handing_over: "Ευχαριστούμε! Θα συνεχίσει ένας άνθρωπος της ομάδας μας.",
    },
    BotPhrases {
        language: "es",
        handoff_word: "agente",
        reach_person: "Escribe «agente» para hablar con una persona.",
        handing_over: "¡Gracias! Una persona de nuestro equipo seguirá contigo.",
    },
    BotPhrases {
        language: "pt",
        handoff_word: "atendente",
        reach_person: "Escreva «atendente» para falar com uma pessoa.",
        handing_over: "Obrigado! Uma pessoa da nossa equipe vai continuar o atendimento.",
    },
    BotPhrases {
        language: "fr",
        handoff_word: "conseiller",
        reach_person: "Écrivez « conseiller » pour parler à une personne.",
        handing_over: "Merci ! Une personne de notre équipe prend le relais.",
    },
    BotPhrases {
        language: "de",
        handoff_word: "mitarbeiter",
        reach_person: "Schreiben Sie „Mitarbeiter“, um mit einem Menschen zu sprechen.",
        handing_over: "Danke! Ein Mensch aus unserem Team übernimmt jetzt.",
    },
    BotPhrases {
        language: "it",
        handoff_word: "operatore",
        reach_person: "Scrivi «operatore» per parlare con una persona.",
        handing_over: "Grazie! Una persona del nostro team continuerà con te.",
    },
    BotPhrases {
        language: "ar",
        handoff_word: "موظف",
        reach_person: "اكتب «موظف» للتحدث مع شخص.",
        handing_over: "شكراً! سيتابع معك أحد أعضاء فريقنا.",
    },
    BotPhrases {
        language: "tr",
        handoff_word: "temsilci",
        reach_person: "Bir kişiye ulaşmak için «temsilci» yazın.",
        handing_over: "Teşekkürler! Ekibimizden biri devam edecek.",
    },
];

/// The bot's words in `language` (English for a language it does not speak).
pub fn bot_phrases(language: Option<&str>) -> &'static BotPhrases {
    let code = language.map(|l| l.split(['-', '_']).next().unwrap_or(l).to_lowercase());
    BOT_PHRASES.iter().find(|p| Some(p.language) == code.as_deref()).unwrap_or(&BOT_PHRASES[0])
}

/// Whether the customer asks for a person: the word in their language, or
/// in English (which customers everywhere type), alone or nearly alone.
pub fn asks_for_person(text: &str, language: Option<&str>) -> bool {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let wanted = [bot_phrases(language).handoff_word, "agent", "human", "person"];
    // "人工" has no spaces around it in Chinese text.
    let cjk = wanted.iter().any(|w| !w.is_ascii() && w.chars().all(|c| c as u32 >= 0x2E80) && lower.contains(*w));
    cjk || (words.len() <= 4 && words.iter().any(|w| wanted.contains(w)))
}

/// Why the bot handed a conversation to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandoffReason {
    /// The customer typed the handoff word.
    Asked,
    /// The customer's message is negative.
    Negative,
    /// A second question after the bot's answer.
    SecondQuestion,
    /// No answer fits the question.
    NoAnswer,
}

/// What the bot does with a customer's message.
#[derive(Debug, Clone, PartialEq)]
pub enum BotStep<'a> {
    Answer(&'a BotAnswer),
    Handoff(HandoffReason),
    /// Nothing to do (already handed over, or a "thanks" after an answer).
    Nothing,
}

/// Decides the bot's next step. `answered` is how many answers it already
/// gave in this conversation; `handed_off` whether a person already took over.
pub fn bot_step<'a>(answers: &'a [BotAnswer], message: &Message, answered: usize, handed_off: bool) -> BotStep<'a> {
    if handed_off {
        return BotStep::Nothing;
    }
    if asks_for_person(&message.text, message.language.as_deref()) {
        return BotStep::Handoff(HandoffReason::Asked);
    }
    if message.sentiment == Some(Sentiment::Negative) || message.intent.as_deref() == Some("complaint") {
        return BotStep::Handoff(HandoffReason::Negative);
    }
    if answered > 0 {
        return if is_question(message) { BotStep::Handoff(HandoffReason::SecondQuestion) } else { BotStep::Nothing };
    }
    match choose_answer(answers, &message.text, message.intent.as_deref()) {
        Some(answer) => BotStep::Answer(answer),
        None => BotStep::Handoff(HandoffReason::NoAnswer),
    }
}

/// The answer whose keywords the text holds, else the first whose intent it has.
pub fn choose_answer<'a>(answers: &'a [BotAnswer], text: &str, intent: Option<&str>) -> Option<&'a BotAnswer> {
    let lower = text.to_lowercase();
    answers
        .iter()
        .find(|a| a.keywords.iter().map(|k| k.trim().to_lowercase()).any(|k| !k.is_empty() && lower.contains(&k)))
        .or_else(|| intent.and_then(|i| answers.iter().find(|a| a.intents.iter().any(|x| x == i))))
}

fn is_question(message: &Message) -> bool {
    let asks = message.text.contains(['?', '？', ';', '؟']);
    let intent = message.intent.as_deref().unwrap_or("other");
    asks || !matches!(intent, "praise" | "feedback" | "other" | "spam")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_names_its_message_and_older_runs_read_without_one() {
        let outcome = ActionOutcome::done("assign_team", "Escalations: assigned to Dmitri")
            .said_as("assigned-in-team", &[("team", "Escalations"), ("agent", "Dmitri")]);
        let json = serde_json::to_value(&outcome).unwrap_or_default();
        assert_eq!(json["key"], "assigned-in-team");
        assert_eq!(json["args"], serde_json::json!({ "team": "Escalations", "agent": "Dmitri" }));
        let back: ActionOutcome = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, outcome);
        // A run logged before details had messages still reads, as its English words.
        let old: ActionOutcome =
            serde_json::from_value(serde_json::json!({ "action": "resolve", "result": "done", "detail": "resolved" }))
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((old.key, old.args.len(), old.detail.as_str()), (None, 0, "resolved"));
        // A name is not a sentence: it carries no message.
        assert!(serde_json::to_value(ActionOutcome::done("add_label", "vip")).unwrap_or_default().get("key").is_none());
    }

    #[test]
    fn a_detail_of_several_sentences_keeps_each_one_and_its_english_words() {
        let said =
            ActionOutcome::done("reply_public", "public reply: hello").said_as("replied-public", &[("text", "hello")]);
        let outcome = ActionOutcome::done("auto_answer", "handed over to a person (a second question)")
            .said_as("handed-over-second-question", &[])
            .and_said("assigned to Ana", "assigned-to", &[("agent", "Ana")])
            .and_then(&said);
        assert_eq!(outcome.detail, "handed over to a person (a second question); assigned to Ana; public reply: hello");
        let keys: Vec<&str> = outcome.more.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            (outcome.key.as_deref(), keys),
            (Some("handed-over-second-question"), vec!["assigned-to", "replied-public"])
        );
        let back: ActionOutcome = serde_json::from_value(serde_json::to_value(&outcome).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, outcome);
        // An error's own words have no message: the whole detail is read as words.
        let failed = outcome.and_then(&ActionOutcome::failed("assign_team", "team not found"));
        assert_eq!(failed.key, None);
        assert!(failed.more.is_empty());
        assert!(failed.detail.ends_with("; team not found"));
    }
    use crate::model::*;
    use serde_json::json;

    fn at() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn conversation() -> Conversation {
        Conversation {
            id: "conv_1".into(),
            workspace_id: "ws".into(),
            channel_id: "ch_x".into(),
            contact_id: "ct".into(),
            kind: ConversationKind::Public,
            status: ConversationStatus::Open,
            priority: Priority::Normal,
            assignee_id: None,
            team_id: None,
            labels: vec!["delay".into()],
            custom_attributes: Default::default(),
            platform_thread_id: None,
            subject: String::new(),
            last_message_preview: String::new(),
            language: Some("ru".into()),
            sentiment: Some(Sentiment::Negative),
            intent: Some("complaint".into()),
            snoozed_until: None,
            timeline: ConversationTimeline { last_activity_at: at(), ..Default::default() },
            linked_conversation_id: None,
            merged_into_id: None,
            created_at: at(),
            updated_at: at(),
            version: 1,
        }
    }

    fn channel(network: Network) -> Channel {
        Channel {
            id: "ch_x".into(),
            workspace_id: "ws".into(),
            network,
            name: "X".into(),
            handle: "acme".into(),
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

    fn contact() -> Contact {
        let mut attrs = CustomAttributes::new();
        attrs.insert("followers".into(), json!("12,500"));
        attrs.insert("plan".into(), json!("Gold"));
        Contact {
            id: "ct".into(),
            workspace_id: "ws".into(),
            display_name: "Ivan".into(),
            email: None,
            phone: None,
            notes: String::new(),
            custom_attributes: attrs,
            merged_into_id: None,
            identities: vec![],
            created_at: at(),
            updated_at: at(),
        }
    }

    fn message(text: &str, language: &str, sentiment: Sentiment, intent: &str) -> Message {
        Message {
            id: "msg".into(),
            conversation_id: "conv_1".into(),
            workspace_id: "ws".into(),
            channel_id: "ch_x".into(),
            direction: Direction::Inbound,
            visibility: Visibility::Public,
            author_kind: AuthorKind::Contact,
            author_user_id: None,
            author_contact_id: Some("ct".into()),
            text: text.into(),
            attachments: vec![],
            platform_message_id: Some("p1".into()),
            platform_parent_id: None,
            delivery_status: DeliveryStatus::Received,
            delivery_error: None,
            language: Some(language.into()),
            sentiment: Some(sentiment),
            intent: Some(intent.into()),
            personal_data: vec![],
            created_at: at(),
            recorded_at: at(),
            edited_at: None,
            deleted_at: None,
        }
    }

    fn cond(field: Field, op: Op, value: &str) -> Condition {
        Condition { field, op, key: String::new(), value: value.into() }
    }

    fn rule(mode: MatchMode, items: Vec<Condition>) -> CompiledRule {
        let rule = Rule {
            id: "rule_1".into(),
            workspace_id: "ws".into(),
            name: "Russian complaints on X".into(),
            enabled: true,
            position: 1,
            definition: RuleDefinition {
                trigger: Trigger::MessageReceived,
                conditions: Conditions { mode, items },
                actions: vec![RuleAction::SetPriority { priority: Priority::High }],
                stop: false,
                reply_to_negative: false,
            },
            created_by: None,
            created_at: at(),
            updated_at: at(),
        };
        CompiledRule::compile(rule).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_negative_russian_complaint_on_x_matches_all_conditions() {
        let (c, ch, ct) = (conversation(), channel(Network::X), contact());
        let m = message("Ужасный сервис, верните деньги", "ru", Sentiment::Negative, "complaint");
        let facts = Facts {
            conversation: &c,
            channel: &ch,
            contact: &ct,
            message: Some(&m),
            open_conversations: 1,
            business_open: None,
        };
        let r = rule(
            MatchMode::All,
            vec![
                cond(Field::Network, Op::Is, "x"),
                cond(Field::Language, Op::Is, "ru, uk"),
                cond(Field::Sentiment, Op::Is, "negative"),
                cond(Field::Intent, Op::Is, "complaint"),
                cond(Field::Text, Op::AnyKeyword, "деньги, refund"),
                cond(Field::ContactFollowers, Op::AtLeast, "10000"),
                cond(Field::Label, Op::Is, "delay"),
                cond(Field::BusinessHours, Op::Is, "true"),
            ],
        );
        let e = r.evaluate(&facts);
        assert!(e.matched, "{:?}", e.checks);
        let other = channel(Network::Instagram);
        let facts = Facts { channel: &other, ..facts };
        let e = r.evaluate(&facts);
        assert!(!e.checks[0]);
        assert!(!e.matched);
        let any = rule(MatchMode::Any, vec![cond(Field::Network, Op::Is, "x"), cond(Field::Language, Op::Is, "ru")]);
        assert!(any.evaluate(&facts).matched, "any: the language still holds");
    }

    #[test]
    fn text_patterns_attributes_and_unknown_values() {
        let (c, ch, ct) = (conversation(), channel(Network::X), contact());
        let m = message("Order NW-48213 is late", "en", Sentiment::Neutral, "order_delivery");
        let facts = Facts {
            conversation: &c,
            channel: &ch,
            contact: &ct,
            message: Some(&m),
            open_conversations: 3,
            business_open: Some(false),
        };
        let check = |c: Condition, facts: &Facts<'_>| {
            CompiledCondition::compile(&c).unwrap_or_else(|e| panic!("{e}")).holds(facts)
        };
        assert!(check(cond(Field::Text, Op::Matches, r"NW-\d{5}"), &facts));
        assert!(check(cond(Field::Text, Op::Contains, "IS LATE"), &facts));
        assert!(!check(cond(Field::Text, Op::NotContains, "late"), &facts));
        assert!(check(cond(Field::OpenConversations, Op::AtLeast, "3"), &facts));
        assert!(!check(cond(Field::BusinessHours, Op::Is, "true"), &facts));
        let plan = Condition { field: Field::ContactAttribute, op: Op::Is, key: "plan".into(), value: "gold".into() };
        assert!(check(plan, &facts));
        assert!(!check(cond(Field::ContactVip, Op::Is, "true"), &facts));
        let mut vip = ct.clone();
        vip.custom_attributes.insert("vip".into(), json!(true));
        vip.custom_attributes.remove("followers");
        let facts = Facts { contact: &vip, ..facts };
        assert!(check(cond(Field::ContactVip, Op::Is, "true"), &facts));
        assert!(!check(cond(Field::ContactFollowers, Op::AtMost, "1000000"), &facts), "unknown count never matches");
        let no_message = Facts { message: None, ..facts };
        assert!(!check(cond(Field::Text, Op::NotContains, "x"), &no_message));
    }

    #[test]
    fn bad_conditions_are_refused_with_a_reason() {
        let err = |c: Condition| CompiledCondition::compile(&c).err().map(|e| e.message).unwrap_or_default();
        assert!(err(cond(Field::Text, Op::Is, "x")).contains("takes contains"));
        assert!(err(cond(Field::Network, Op::Is, "myspace")).contains("not a network"));
        assert!(err(cond(Field::Text, Op::Matches, "(unclosed")).contains("regular expression"));
        assert!(err(cond(Field::Text, Op::Matches, &"a".repeat(MAX_PATTERN_CHARS + 1))).contains("at most"));
        // A pattern that compiles to more than the size limit is refused, not run.
        assert!(err(cond(Field::Text, Op::Matches, r"\w{1000}\w{1000}")).contains("regular expression"));
        assert!(err(cond(Field::OpenConversations, Op::AtLeast, "many")).contains("not a number"));
        assert!(err(cond(Field::PersonalData, Op::Is, "maybe")).contains("true or false"));
        let no_key = Condition { field: Field::ContactAttribute, op: Op::Is, key: " ".into(), value: "1".into() };
        assert!(err(no_key).contains("key"));
    }

    #[test]
    fn definitions_are_checked_before_saving() {
        let mut d = RuleDefinition {
            trigger: Trigger::Idle { minutes: 0 },
            conditions: Conditions::default(),
            actions: vec![RuleAction::Resolve],
            stop: false,
            reply_to_negative: false,
        };
        assert!(d.validate().is_err());
        d.trigger = Trigger::Idle { minutes: 60 };
        assert!(d.validate().is_ok());
        d.actions =
            vec![RuleAction::Email { to: "logistics@example.com, not an address".into(), subject: String::new() }];
        assert!(d.validate().is_err());
        d.actions = vec![RuleAction::Webhook { url: "ftp://example.com".into(), secret: String::new() }];
        assert!(d.validate().is_err());
        d.actions = vec![];
        assert!(d.validate().is_err());
        let parsed: RuleDefinition = serde_json::from_value(json!({
            "trigger": {"kind": "message_received"},
            "conditions": {"mode": "any", "items": [{"field": "intent", "op": "is", "value": "order_delivery"}]},
            "actions": [{"type": "assign_team", "team_id": "team_1", "round_robin": true}, {"type": "hide_comment"}],
            "stop": true
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(parsed.validate().is_ok());
        assert!(parsed.stop && !parsed.reply_to_negative);
    }

    #[test]
    fn automatic_replies_never_answer_negatives_publicly_nor_repeat_within_a_day() {
        let now = at();
        let hour = |h: i64| Timestamp::from_millisecond(now.as_millisecond() - h * 3_600_000).unwrap_or(now);
        let sent = vec![SentAutoReply { text: "Thanks  for writing!".into(), at: hour(3) }];
        assert_eq!(
            check_auto_reply(Visibility::Public, "We are on it", true, false, &[], now),
            Err(AutoReplyRefusal::NegativeOrComplaint)
        );
        assert_eq!(check_auto_reply(Visibility::Public, "We are on it", true, true, &[], now), Ok(()));
        assert_eq!(check_auto_reply(Visibility::Private, "We are on it", true, false, &[], now), Ok(()));
        assert_eq!(
            check_auto_reply(Visibility::Private, "thanks for writing!", false, false, &sent, now),
            Err(AutoReplyRefusal::RepeatedWithinDay)
        );
        let old = vec![SentAutoReply { text: "Thanks for writing!".into(), at: hour(25) }];
        assert_eq!(check_auto_reply(Visibility::Private, "Thanks for writing!", false, false, &old, now), Ok(()));
    }

    #[test]
    fn the_bot_answers_once_and_hands_over_when_asked_upset_or_asked_again() {
        let answers = vec![
            BotAnswer {
                snippet_id: "snp_bag".into(),
                intents: vec![],
                keywords: vec!["baggage".into(), "багаж".into()],
            },
            BotAnswer { snippet_id: "snp_delivery".into(), intents: vec!["order_delivery".into()], keywords: vec![] },
        ];
        let q = message("Where is my parcel?", "en", Sentiment::Neutral, "order_delivery");
        assert_eq!(bot_step(&answers, &q, 0, false), BotStep::Answer(&answers[1]));
        let bag = message("Сколько стоит багаж?", "ru", Sentiment::Neutral, "question");
        assert_eq!(bot_step(&answers, &bag, 0, false), BotStep::Answer(&answers[0]));
        let asks = message("оператор", "ru", Sentiment::Neutral, "other");
        assert_eq!(bot_step(&answers, &asks, 1, false), BotStep::Handoff(HandoffReason::Asked));
        let zh = message("我要人工", "zh", Sentiment::Neutral, "other");
        assert_eq!(bot_step(&answers, &zh, 1, false), BotStep::Handoff(HandoffReason::Asked));
        let upset = message("This is useless", "en", Sentiment::Negative, "complaint");
        assert_eq!(bot_step(&answers, &upset, 1, false), BotStep::Handoff(HandoffReason::Negative));
        let again = message("And can I change the address?", "en", Sentiment::Neutral, "question");
        assert_eq!(bot_step(&answers, &again, 1, false), BotStep::Handoff(HandoffReason::SecondQuestion));
        let thanks = message("thanks", "en", Sentiment::Positive, "praise");
        assert_eq!(bot_step(&answers, &thanks, 1, false), BotStep::Nothing);
        let unknown = message("Do you sell gift cards", "en", Sentiment::Neutral, "sales_lead");
        assert_eq!(bot_step(&answers, &unknown, 0, false), BotStep::Handoff(HandoffReason::NoAnswer));
        assert_eq!(bot_step(&answers, &q, 0, true), BotStep::Nothing);
        assert!(!asks_for_person("My travel agent booked the wrong date, can you change it please", Some("en")));
        assert_eq!(bot_phrases(Some("el")).handoff_word, "εκπρόσωπος");
        assert_eq!(bot_phrases(Some("xx")).language, "en");
    }
}
