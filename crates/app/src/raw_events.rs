//! Applying the inbound events that are not new customer messages: echoes of
//! the brand's own sends, delivery statuses, edits and deletions. Each marks
//! its raw event done in the same transaction as its effect.

use hark_domain::*;
use hark_store::Write;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::change::Change;
use crate::{Actor, App, AppError, AppResult, new_id, now};

/// How long an event about a message Hark has not recorded yet (an echo or a
/// status racing the publisher's own commit) is retried before it is dropped.
const RACE_WINDOW: SignedDuration = SignedDuration::from_mins(2);
const RETRY_AFTER: SignedDuration = SignedDuration::from_secs(5);
/// Tries at importing a reply sent with the network's own tools, when its
/// conversation keeps changing underneath.
const IMPORT_ATTEMPTS: usize = 3;

/// A message sent from the brand's account that came back from the network.
#[derive(Debug, Clone)]
pub struct EchoItem {
    pub channel_id: String,
    pub platform_message_id: String,
    pub thread_id: String,
    pub recipient_platform_user_id: Option<String>,
    pub text: String,
    pub by_hark: bool,
    pub created_at: Timestamp,
}

/// Which of Hark's unmatched replies an echo is.
enum EchoMatch<'m> {
    One(&'m Message),
    None,
    /// Several fit equally well.
    Ambiguous,
    /// None has its text, but one of Hark's replies in the same place is
    /// still on its way; networks alter what they echo (an added @mention,
    /// shortened links), so the echo may be that reply.
    InFlight,
}

/// What became of a raw event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawOutcome {
    Applied,
    /// Nothing to do (already known, or about something Hark never stored).
    Skipped,
    /// Retried later: it probably raced a commit of Hark's own.
    Deferred,
}

impl App {
    pub async fn finish_raw(&self, raw_id: i64) -> AppResult<()> {
        self.store.commit(vec![Write::FinishRawEvent { id: raw_id, at: now() }]).await?;
        Ok(())
    }

    /// Leaves the event for a later attempt, or gives up on it when `retry_at` is `None`.
    pub async fn defer_raw(&self, raw_id: i64, error: &str, retry_at: Option<Timestamp>) -> AppResult<()> {
        self.store.commit(vec![Write::FailRawEvent { id: raw_id, error: error.to_owned(), retry_at }]).await?;
        Ok(())
    }

    /// Retries an event about a message not stored yet while it is young; drops it after.
    async fn defer_or_skip(&self, raw_id: i64, received_at: Timestamp, why: &str) -> AppResult<RawOutcome> {
        let at = now();
        if at.duration_since(received_at) < RACE_WINDOW {
            self.defer_raw(raw_id, why, at.checked_add(RETRY_AFTER).ok()).await?;
            Ok(RawOutcome::Deferred)
        } else {
            self.finish_raw(raw_id).await?;
            Ok(RawOutcome::Skipped)
        }
    }

    /// An echo of the brand's own message: Hark's own sends are matched to
    /// their message (recording the platform id if the publisher has not yet);
    /// messages sent with the network's own tools are imported so the thread
    /// stays complete.
    pub async fn apply_echo(&self, raw_id: i64, received_at: Timestamp, echo: EchoItem) -> AppResult<RawOutcome> {
        let channel = self.store.channel(&echo.channel_id).await?.ok_or(AppError::NotFound("channel"))?;
        if self.store.message_by_platform_id(&channel.id, &echo.platform_message_id).await?.is_some() {
            self.finish_raw(raw_id).await?;
            return Ok(RawOutcome::Skipped);
        }
        let pending = self.store.unmatched_outbound(&channel.id, 50).await?;
        let ours = match self.echoed_message(&channel, &echo, &pending).await? {
            EchoMatch::One(ours) => Some(ours),
            EchoMatch::None => None,
            // Once the publishers record their ids, the echo is found by its own.
            EchoMatch::Ambiguous => {
                return self
                    .defer_or_skip(raw_id, received_at, "echo of one of several replies of the same text")
                    .await;
            }
            // Once that reply's publisher records its id, the echo is either
            // found by it or is a message of its own; past the race window it
            // is imported rather than dropped.
            EchoMatch::InFlight if !echo.by_hark && now().duration_since(received_at) < RACE_WINDOW => {
                self.defer_raw(
                    raw_id,
                    "echo next to a reply still being published",
                    now().checked_add(RETRY_AFTER).ok(),
                )
                .await?;
                return Ok(RawOutcome::Deferred);
            }
            EchoMatch::InFlight => None,
        };
        if let Some(ours) = ours {
            let at = now();
            let recorded = self
                .store
                .commit(vec![
                    Write::SetMessagePlatformId {
                        message_id: ours.id.clone(),
                        platform_message_id: echo.platform_message_id.clone(),
                    },
                    Write::FinishRawEvent { id: raw_id, at },
                ])
                .await;
            return match recorded {
                Ok(_) => Ok(RawOutcome::Applied),
                // The publisher recorded this platform id a moment ago.
                Err(hark_store::StoreError::Duplicate { .. }) => {
                    self.finish_raw(raw_id).await?;
                    Ok(RawOutcome::Skipped)
                }
                Err(e) => Err(e.into()),
            };
        }
        if echo.by_hark {
            return self.defer_or_skip(raw_id, received_at, "echo of a send not recorded yet").await;
        }
        self.import_unless_published(raw_id, &channel, &echo).await
    }

    /// Networks that do not mark the app's own sends leave a race: the
    /// publisher may record this platform id between the reads in
    /// `apply_echo` and the import. The id's uniqueness settles it: the echo
    /// was of Hark's own reply, and there is nothing to import.
    async fn import_unless_published(&self, raw_id: i64, channel: &Channel, echo: &EchoItem) -> AppResult<RawOutcome> {
        let mut attempts = 1;
        loop {
            match self.import_outside_reply(raw_id, channel, echo).await {
                Err(AppError::Duplicate(_)) => {
                    self.finish_raw(raw_id).await?;
                    return Ok(RawOutcome::Skipped);
                }
                // A customer message landed in the conversation meanwhile.
                Err(AppError::Conflict(_)) if attempts < IMPORT_ATTEMPTS => attempts += 1,
                other => return other,
            }
        }
    }

    /// Which of Hark's replies waiting for their platform id an echo is. The
    /// same text often goes to several customers (a greeting, a snippet), so
    /// when the network says who received it, only a reply to that customer
    /// (or in that thread) matches; without that, only an unambiguous text
    /// does. Two replies that both fit (one text to two customers in one
    /// public thread) are not guessed between. When no text matches but a
    /// reply in the same place is still being published, the echo may be it
    /// with its text altered by the network, and is not taken for a message
    /// sent with the network's own tools yet.
    async fn echoed_message<'m>(
        &self,
        channel: &Channel,
        echo: &EchoItem,
        pending: &'m [Message],
    ) -> AppResult<EchoMatch<'m>> {
        let same_text: Vec<&Message> = pending.iter().filter(|m| m.text.trim() == echo.text.trim()).collect();
        if same_text.len() == 1 && echo.recipient_platform_user_id.is_none() {
            return Ok(EchoMatch::One(same_text[0]));
        }
        let in_flight: Vec<&Message> = pending
            .iter()
            .filter(|m| matches!(m.delivery_status, DeliveryStatus::Queued | DeliveryStatus::Sending))
            .collect();
        if same_text.is_empty() && in_flight.is_empty() {
            return Ok(EchoMatch::None);
        }
        let recipient = match &echo.recipient_platform_user_id {
            Some(user) => self.store.identity(&channel.workspace_id, channel.network, user).await?,
            None => None,
        };
        // The candidates' conversations, read once for all of them.
        let mut ids: Vec<String> = same_text.iter().chain(&in_flight).map(|m| m.conversation_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let conversations: std::collections::HashMap<String, Conversation> =
            self.store.conversations_by_ids(&ids).await?.into_iter().map(|c| (c.id.clone(), c)).collect();
        // A public reply's echo comes back in its thread; a private one names its recipient.
        let fits_place = |candidate: &Message| {
            conversations.get(&candidate.conversation_id).is_some_and(|conversation| {
                conversation.platform_thread_id.as_deref() == Some(echo.thread_id.as_str())
                    || (candidate.visibility == Visibility::Private
                        && recipient.as_ref().is_some_and(|i| i.contact_id == conversation.contact_id))
            })
        };
        let fitting: Vec<&Message> = same_text.into_iter().filter(|m| fits_place(m)).collect();
        Ok(match fitting.as_slice() {
            [one] => EchoMatch::One(one),
            [_, _, ..] => EchoMatch::Ambiguous,
            [] if in_flight.into_iter().any(fits_place) => EchoMatch::InFlight,
            [] => EchoMatch::None,
        })
    }

    async fn import_outside_reply(&self, raw_id: i64, channel: &Channel, echo: &EchoItem) -> AppResult<RawOutcome> {
        let contact_id = match &echo.recipient_platform_user_id {
            Some(user) => {
                self.store.identity(&channel.workspace_id, channel.network, user).await?.map(|i| i.contact_id)
            }
            None => None,
        };
        let filter = hark_store::ConversationFilter {
            workspace_id: channel.workspace_id.clone(),
            channel_id: Some(channel.id.clone()),
            contact_id: contact_id.clone(),
            platform_thread_id: if contact_id.is_none() { Some(echo.thread_id.clone()) } else { None },
            ..Default::default()
        };
        let Some(before) = self.store.conversations(&filter, &hark_store::Page::first(1)).await?.into_iter().next()
        else {
            // A post of the brand's own that starts no customer conversation.
            self.finish_raw(raw_id).await?;
            return Ok(RawOutcome::Skipped);
        };
        let at = now();
        let message = Message {
            id: new_id("msg"),
            conversation_id: before.id.clone(),
            workspace_id: before.workspace_id.clone(),
            channel_id: channel.id.clone(),
            direction: Direction::Outbound,
            visibility: if before.kind == ConversationKind::Public { Visibility::Public } else { Visibility::Private },
            author_kind: AuthorKind::User,
            author_user_id: None,
            author_contact_id: None,
            text: echo.text.clone(),
            attachments: vec![],
            platform_message_id: Some(echo.platform_message_id.clone()),
            platform_parent_id: None,
            delivery_status: DeliveryStatus::Published,
            delivery_error: None,
            language: None,
            sentiment: None,
            intent: None,
            personal_data: vec![],
            created_at: echo.created_at,
            recorded_at: at,
            edited_at: None,
            deleted_at: None,
        };
        let mut after = before.clone();
        after.record_outbound(echo.created_at, true);
        after.version = before.version + 1;
        after.updated_at = at;
        let actor = Actor::system(&channel.workspace_id);
        Change::new(&actor, at)
            .write(Write::InsertMessage(message.clone()))
            .write(Write::UpdateConversation { conversation: after.clone(), expected_version: before.version })
            .write(Write::FinishRawEvent { id: raw_id, at })
            .audit(
                "message.publish",
                "message",
                &message.id,
                json!({ "via": "network's own tools", "channel_id": channel.id }),
            )
            .event("message.created", &before.id, &message)
            .event("conversation.updated", &before.id, &after)
            .commit(self)
            .await?;
        Ok(RawOutcome::Applied)
    }

    /// Delivery news for a message Hark sent; statuses only move forward.
    pub async fn apply_delivery_status(
        &self,
        raw_id: i64,
        received_at: Timestamp,
        channel_id: &str,
        platform_message_id: &str,
        status: DeliveryStatus,
        error: Option<String>,
    ) -> AppResult<RawOutcome> {
        let Some(message) = self.store.message_by_platform_id(channel_id, platform_message_id).await? else {
            return self.defer_or_skip(raw_id, received_at, "status for a message not recorded yet").await;
        };
        if message.delivery_status.progress() >= status.progress() {
            self.finish_raw(raw_id).await?;
            return Ok(RawOutcome::Skipped);
        }
        let at = now();
        let mut updated = message.clone();
        updated.delivery_status = status;
        updated.delivery_error = error.clone();
        let actor = Actor::system(&message.workspace_id);
        Change::new(&actor, at)
            .write(Write::UpdateMessageDelivery { message_id: message.id.clone(), status, error })
            .write(Write::FinishRawEvent { id: raw_id, at })
            .event("message.updated", &message.conversation_id, &updated)
            .commit(self)
            .await?;
        Ok(RawOutcome::Applied)
    }

    /// The customer edited (`Some(text)`) or deleted (`None`) a message.
    pub async fn apply_edit_or_delete(
        &self,
        raw_id: i64,
        channel_id: &str,
        platform_message_id: &str,
        new_text: Option<String>,
    ) -> AppResult<RawOutcome> {
        let Some(message) = self.store.message_by_platform_id(channel_id, platform_message_id).await? else {
            self.finish_raw(raw_id).await?;
            return Ok(RawOutcome::Skipped);
        };
        let at = now();
        let mut updated = message.clone();
        let (write, action) = match new_text {
            Some(text) => {
                updated.text = text.clone();
                updated.edited_at = Some(at);
                (Write::EditMessage { message_id: message.id.clone(), text, at }, "message.edited_by_author")
            }
            None => {
                updated.text.clear();
                updated.attachments.clear();
                updated.deleted_at = Some(at);
                (Write::RedactMessage { message_id: message.id.clone(), at }, "message.deleted_by_author")
            }
        };
        let actor = Actor::system(&message.workspace_id);
        Change::new(&actor, at)
            .write(write)
            .write(Write::FinishRawEvent { id: raw_id, at })
            .audit(action, "message", &message.id, json!({ "platform_message_id": platform_message_id }))
            .event("message.updated", &message.conversation_id, &updated)
            .commit(self)
            .await?;
        Ok(RawOutcome::Applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CredentialSealer, InboundAuthor, InboundItem, IngestOutcome};

    async fn facebook(store: std::sync::Arc<dyn hark_store::Store>) -> (App, Channel) {
        let app = App::new(store, CredentialSealer::new(&[7u8; 32]));
        let ws = app.create_workspace("Acme", "UTC").await.unwrap_or_else(|e| panic!("{e}"));
        let input = crate::ChannelCreate {
            network: Network::Facebook,
            name: "Facebook".into(),
            handle: "acme".into(),
            external_id: "1".into(),
            credentials: None,
            settings: json!({}),
        };
        let channel = app.create_channel(&Actor::system(&ws.id), input).await.unwrap_or_else(|e| panic!("{e}"));
        (app, channel)
    }

    /// A customer's message (a comment in `thread`, else private); returns its conversation.
    async fn customer_writes(app: &App, channel: &Channel, user: &str, id: &str, thread: Option<&str>) -> Conversation {
        let item = InboundItem {
            channel_id: channel.id.clone(),
            kind: if thread.is_some() { ConversationKind::Public } else { ConversationKind::Private },
            platform_message_id: id.into(),
            platform_thread_id: thread.map(str::to_owned),
            platform_parent_id: None,
            author: InboundAuthor { platform_user_id: user.into(), handle: user.into(), display_name: user.into() },
            text: "where is my order?".into(),
            attachments: vec![],
            created_at: now(),
            language: None,
            sentiment: None,
            intent: None,
            personal_data: vec![],
        };
        let outcomes = app.ingest_batch(vec![(None, item)]).await.unwrap_or_else(|e| panic!("{e}"));
        let IngestOutcome::Created { conversation_id, .. } = &outcomes[0] else { panic!("{:?}", outcomes[0]) };
        app.store.conversation(conversation_id).await.ok().flatten().unwrap_or_else(|| panic!("the conversation"))
    }

    /// Hark's reply in the conversation, with the platform id the publisher recorded (if any).
    async fn brand_replies(app: &App, conversation: &Conversation, text: &str, platform_id: Option<&str>) -> Message {
        let mut reply = app
            .store
            .recent_messages(&conversation.id, 10)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .pop()
            .unwrap_or_else(|| panic!("the customer's message"));
        reply.id = new_id("msg");
        reply.direction = Direction::Outbound;
        reply.visibility =
            if conversation.kind == ConversationKind::Public { Visibility::Public } else { Visibility::Private };
        reply.author_kind = AuthorKind::User;
        reply.author_contact_id = None;
        reply.text = text.into();
        reply.platform_message_id = platform_id.map(str::to_owned);
        reply.delivery_status = DeliveryStatus::Sending;
        app.store.commit(vec![Write::InsertMessage(reply.clone())]).await.unwrap_or_else(|e| panic!("{e}"));
        reply
    }

    fn echo_of(channel: &Channel, platform_id: &str, thread: &str, recipient: Option<&str>, text: &str) -> EchoItem {
        EchoItem {
            channel_id: channel.id.clone(),
            platform_message_id: platform_id.into(),
            thread_id: thread.into(),
            recipient_platform_user_id: recipient.map(str::to_owned),
            text: text.into(),
            by_hark: false,
            created_at: now(),
        }
    }

    /// The publisher recorded the reply's platform id after `apply_echo`
    /// looked for it: the import collides with it and the echo is done.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_echo_racing_its_publication_is_not_imported_twice() {
        for db in hark_store::testing::all().await {
            let (app, channel) = facebook(db.store.clone()).await;
            let conversation = customer_writes(&app, &channel, "ana", "m1", None).await;
            let reply = brand_replies(&app, &conversation, "It left our warehouse today.", Some("m-reply")).await;
            let thread = conversation.platform_thread_id.clone().unwrap_or_default();
            let echo = echo_of(&channel, "m-reply", &thread, Some("ana"), &reply.text);
            let outcome = app.import_unless_published(0, &channel, &echo).await;
            assert_eq!(outcome.ok(), Some(RawOutcome::Skipped), "{}", db.name);
            let messages = app.store.recent_messages(&conversation.id, 10).await.unwrap_or_else(|e| panic!("{e}"));
            let copies = messages.iter().filter(|m| m.platform_message_id.as_deref() == Some("m-reply")).count();
            assert_eq!(copies, 1, "{}: the reply is stored once", db.name);
        }
    }

    /// One text to two customers in one public thread, both still being
    /// published: the echo fits either, so it waits for the publishers
    /// instead of giving one reply the other's platform id.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_echo_that_fits_two_replies_waits_for_their_publishers() {
        for db in hark_store::testing::all().await {
            let (app, channel) = facebook(db.store.clone()).await;
            let ana = customer_writes(&app, &channel, "ana", "c1", Some("post-1")).await;
            let ben = customer_writes(&app, &channel, "ben", "c2", Some("post-1")).await;
            assert_ne!(ana.id, ben.id, "{}", db.name);
            let text = "Sorry about that! We have sent you a private message.";
            let to_ana = brand_replies(&app, &ana, text, None).await;
            let to_ben = brand_replies(&app, &ben, text, None).await;

            let echo = echo_of(&channel, "r-ben", "post-1", None, text);
            let outcome = app.apply_echo(0, now(), echo.clone()).await.unwrap_or_else(|e| panic!("{}: {e}", db.name));
            assert_eq!(outcome, RawOutcome::Deferred, "{}", db.name);
            for reply in [&to_ana, &to_ben] {
                let stored = app.store.message(&reply.id).await.ok().flatten().unwrap_or_else(|| panic!());
                assert_eq!(stored.platform_message_id, None, "{}: no reply took the echo's id", db.name);
            }

            // Ben's publisher records its id; the echo, taken again, is found by it.
            app.store
                .commit(vec![Write::SetMessagePlatformId {
                    message_id: to_ben.id.clone(),
                    platform_message_id: "r-ben".into(),
                }])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let again = app.apply_echo(0, now(), echo).await.unwrap_or_else(|e| panic!("{}: {e}", db.name));
            assert_eq!(again, RawOutcome::Skipped, "{}", db.name);
            let stored = app.store.message(&to_ana.id).await.ok().flatten().unwrap_or_else(|| panic!());
            assert_eq!(stored.platform_message_id, None, "{}: Ana's reply waits for its own id", db.name);
        }
    }

    /// The network echoes Hark's reply with its text altered (a name tag
    /// added in front) before the publisher has recorded the reply's id: the
    /// echo waits for the publisher instead of being imported as a second
    /// copy of the reply, then is found by its id.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_altered_echo_of_a_reply_in_flight_waits_for_its_publisher() {
        for db in hark_store::testing::all().await {
            let (app, channel) = facebook(db.store.clone()).await;
            let ana = customer_writes(&app, &channel, "ana", "c1", Some("post-1")).await;
            let reply = brand_replies(&app, &ana, "It left our warehouse today.", None).await;

            let echo = echo_of(&channel, "r-ana", "post-1", None, "Ana Smith It left our warehouse today.");
            let outcome = app.apply_echo(0, now(), echo.clone()).await.unwrap_or_else(|e| panic!("{}: {e}", db.name));
            assert_eq!(outcome, RawOutcome::Deferred, "{}", db.name);
            let messages = app.store.recent_messages(&ana.id, 10).await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(messages.len(), 2, "{}: nothing imported while the reply is on its way", db.name);

            app.store
                .commit(vec![Write::SetMessagePlatformId {
                    message_id: reply.id.clone(),
                    platform_message_id: "r-ana".into(),
                }])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let again = app.apply_echo(0, now(), echo).await.unwrap_or_else(|e| panic!("{}: {e}", db.name));
            assert_eq!(again, RawOutcome::Skipped, "{}", db.name);
            let messages = app.store.recent_messages(&ana.id, 10).await.unwrap_or_else(|e| panic!("{e}"));
            let copies = messages.iter().filter(|m| m.platform_message_id.as_deref() == Some("r-ana")).count();
            assert_eq!((messages.len(), copies), (2, 1), "{}: the reply is stored once", db.name);
        }
    }

    /// A message sent with the network's own tools next to a reply of
    /// Hark's that stays unpublished is imported once the race window has
    /// passed, not dropped; elsewhere it is imported at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_outside_reply_next_to_a_stuck_one_is_imported_after_the_window() {
        for db in hark_store::testing::all().await {
            let (app, channel) = facebook(db.store.clone()).await;
            let ana = customer_writes(&app, &channel, "ana", "c1", Some("post-1")).await;
            let ben = customer_writes(&app, &channel, "ben", "c2", Some("post-2")).await;
            brand_replies(&app, &ana, "It left our warehouse today.", None).await;

            let long_ago =
                now().checked_sub(RACE_WINDOW + SignedDuration::from_secs(1)).unwrap_or_else(|e| panic!("{e}"));
            let next_to_it = echo_of(&channel, "o-1", "post-1", None, "Sent from the page itself.");
            let outcome = app.apply_echo(0, long_ago, next_to_it).await.unwrap_or_else(|e| panic!("{}: {e}", db.name));
            assert_eq!(outcome, RawOutcome::Applied, "{}", db.name);

            let elsewhere = echo_of(&channel, "o-2", "post-2", None, "Also sent from the page.");
            let outcome = app.apply_echo(0, now(), elsewhere).await.unwrap_or_else(|e| panic!("{}: {e}", db.name));
            assert_eq!(outcome, RawOutcome::Applied, "{}", db.name);
            for (conversation, id) in [(&ana, "o-1"), (&ben, "o-2")] {
                let messages = app.store.recent_messages(&conversation.id, 10).await.unwrap_or_else(|e| panic!("{e}"));
                let imported = messages.iter().filter(|m| m.platform_message_id.as_deref() == Some(id)).count();
                assert_eq!(imported, 1, "{}: {id} imported into its conversation", db.name);
            }
        }
    }
}
