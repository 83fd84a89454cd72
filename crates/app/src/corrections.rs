//! Agents correct what Hark read in a message (its sentiment or intent); the
//! corrections are kept to retrain the workspace's models. And the "be
//! human, not a template" nudge: how close a draft public reply is to the
//! brand's recent public replies.

use hark_domain::rules::Correction;
use hark_domain::*;
use hark_store::{AutomationWrite, Write};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::change::Change;
use crate::{Actor, App, AppError, AppResult, now};

/// What the message really says; absent fields stay as read.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionInput {
    pub sentiment: Option<Sentiment>,
    pub intent: Option<String>,
}

/// How close a draft is to what the brand said publicly of late.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReplySimilarityReport {
    /// Similarity to the closest recent public reply, 0 to 1 (0 with none to compare).
    pub similarity: f32,
    /// That reply's message id.
    pub closest_message_id: Option<String>,
    /// How many recent replies are at least `threshold` similar.
    pub similar_count: usize,
    /// How many recent replies were compared.
    pub compared: usize,
    /// The similarity from which the composer warns.
    pub threshold: f32,
}

/// Recent public replies compared with a draft.
const SIMILARITY_WINDOW: u32 = 300;
/// From here a draft reads as a template.
pub const SIMILARITY_THRESHOLD: f32 = 0.7;

/// The intents corrections may use: the shipped taxonomy.
pub const INTENTS: &[&str] = &[
    "question",
    "complaint",
    "order_delivery",
    "billing_refund",
    "account_access",
    "technical_issue",
    "praise",
    "feedback",
    "sales_lead",
    "spam",
    "other",
];

impl App {
    /// Sets a customer message's sentiment and/or intent as an agent says it is.
    pub async fn correct_reading(&self, actor: &Actor, message_id: &str, input: CorrectionInput) -> AppResult<Message> {
        actor.require(Action::UpdateConversation)?;
        if let Some(intent) = &input.intent
            && !INTENTS.contains(&intent.as_str())
        {
            return Err(AppError::invalid("intent", format!("one of: {}", INTENTS.join(", "))));
        }
        for _ in 0..3 {
            let message = self
                .store
                .message(message_id)
                .await?
                .filter(|m| m.workspace_id == actor.workspace_id())
                .ok_or(AppError::NotFound("message"))?;
            if message.direction != Direction::Inbound {
                return Err(AppError::invalid("message", "only a customer's message can be corrected"));
            }
            let at = now();
            let mut corrected = message.clone();
            let mut change = Change::new(actor, at);
            let mut fields = serde_json::Map::new();
            let mut record = |field: &str, old: Option<String>, new: String, change: &mut Change<'_>| {
                fields.insert(field.into(), json!({ "from": old, "to": new }));
                change.push(Write::Automation(AutomationWrite::PutCorrection(Correction {
                    message_id: message.id.clone(),
                    workspace_id: message.workspace_id.clone(),
                    field: field.into(),
                    text: message.text.clone(),
                    old_value: old,
                    new_value: new,
                    corrected_by: actor.user.id.clone(),
                    corrected_at: at,
                })));
            };
            if let Some(s) = input.sentiment.filter(|s| Some(*s) != message.sentiment) {
                record("sentiment", message.sentiment.map(|s| s.to_string()), s.to_string(), &mut change);
                corrected.sentiment = Some(s);
            }
            if let Some(i) = input.intent.clone().filter(|i| Some(i) != message.intent.as_ref()) {
                record("intent", message.intent.clone(), i.clone(), &mut change);
                corrected.intent = Some(i);
            }
            if fields.is_empty() {
                return Ok(message);
            }
            change.push(Write::Automation(AutomationWrite::SetMessageReading {
                message_id: message.id.clone(),
                sentiment: corrected.sentiment,
                intent: corrected.intent.clone(),
            }));
            // The conversation shows what its newest customer message says.
            let conversation =
                self.store.conversation(&message.conversation_id).await?.ok_or(AppError::NotFound("conversation"))?;
            let latest = self.store.latest_inbound_message(&conversation.id).await?;
            if latest.is_some_and(|l| l.id == message.id) {
                let mut after = conversation.clone();
                after.sentiment = corrected.sentiment;
                after.intent = corrected.intent.clone();
                after.version = conversation.version + 1;
                after.updated_at = at;
                change = change
                    .write(Write::UpdateConversation {
                        conversation: after.clone(),
                        expected_version: conversation.version,
                    })
                    .event("conversation.updated", &conversation.id, &after);
            }
            let result = change
                .audit("message.correct", "message", &message.id, json!({ "changes": fields }))
                .event("message.updated", &message.conversation_id, &corrected)
                .commit(self)
                .await;
            match result {
                Ok(_) => return Ok(corrected),
                Err(AppError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AppError::Conflict("the conversation is being changed by others; try again".into()))
    }

    /// The corrections of `field` (`sentiment` or `intent`) made in the workspace.
    pub async fn corrections(&self, actor: &Actor, field: &str) -> AppResult<Vec<Correction>> {
        actor.require(Action::ManageWorkspace)?;
        if !matches!(field, "sentiment" | "intent") {
            return Err(AppError::invalid("field", "sentiment or intent"));
        }
        Ok(self.store.corrections(actor.workspace_id(), field).await?)
    }

    /// How close `draft` is to the brand's recent public replies.
    pub async fn reply_similarity(
        &self,
        actor: &Actor,
        conversation_id: &str,
        draft: &str,
    ) -> AppResult<ReplySimilarityReport> {
        actor.require(Action::ReadInbox)?;
        self.conversation(actor, conversation_id).await?;
        let recent = self.store.recent_public_replies(actor.workspace_id(), SIMILARITY_WINDOW).await?;
        let mut index = hark_nlp::ReplySimilarity::new(SIMILARITY_WINDOW as usize);
        // Oldest first, so the newest wins a tie.
        for (id, text) in recent.iter().rev() {
            index.add(id.clone(), text);
        }
        let closest = index.closest(draft);
        Ok(ReplySimilarityReport {
            similarity: closest.as_ref().map_or(0.0, |c| c.similarity),
            closest_message_id: closest.map(|c| c.id),
            similar_count: index.count_similar(draft, SIMILARITY_THRESHOLD),
            compared: index.len(),
            threshold: SIMILARITY_THRESHOLD,
        })
    }
}
