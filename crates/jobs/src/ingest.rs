//! Turns stored inbound events into conversations. Each event is applied and
//! marked done in one transaction; a failure leaves it for a later attempt
//! with backoff, and after many attempts it is set aside as failed (visible
//! in the counts) rather than blocking the queue.

use hark_app::{EchoItem, InboundAuthor, InboundItem};
use hark_channels::{DeliveryUpdate, InboundEvent, InboundKind};
use hark_domain::DeliveryStatus;
use hark_store::RawEvent;
use jiff::{SignedDuration, Timestamp};
use tokio_util::sync::CancellationToken;

use crate::{Workers, pause};
use serde::Deserialize;

/// Attempts before an event that keeps failing is set aside.
const MAX_ATTEMPTS: i64 = 10;

pub async fn run(workers: Workers, shutdown: CancellationToken) {
    let wake = workers.intake.stored.clone();
    loop {
        let busy = match ingest_once(&workers).await {
            Ok(n) => n > 0,
            Err(err) => {
                tracing::warn!(%err, "ingest round failed");
                false
            }
        };
        if shutdown.is_cancelled() {
            return;
        }
        if !busy && !pause(workers.config.idle, Some(&wake), &shutdown).await {
            return;
        }
    }
}

/// Claims and applies one batch; returns how many events it handled.
/// Customer messages are ingested together in one transaction; the other
/// events (echoes, statuses, edits) one by one after them.
pub async fn ingest_once(workers: &Workers) -> hark_app::AppResult<usize> {
    let lease = workers.config.lease.as_millis() as i64;
    let events = workers.app.store.claim_raw_events(Timestamp::now(), lease, workers.config.batch).await?;
    let count = events.len();
    let mut messages = vec![];
    let mut others = vec![];
    for raw in events {
        match decode(workers, &raw).await {
            Ok(Decoded::Message(item)) => messages.push((raw, item)),
            Ok(Decoded::Other(event)) => others.push((raw, event)),
            Ok(Decoded::SetAside) => {}
            Err(err) => give_up_or_retry(workers, &raw, &err).await?,
        }
    }
    if !messages.is_empty() {
        let batch: Vec<(Option<i64>, InboundItem)> =
            messages.iter().map(|(raw, item)| (Some(raw.id), item.clone())).collect();
        if let Err(err) = workers.app.ingest_batch(batch).await {
            // Find the item at fault: apply them one by one.
            tracing::debug!(%err, "batch ingestion failed; applying its items one by one");
            for (raw, item) in messages {
                if let Err(err) = workers.app.ingest_raw(Some(raw.id), item).await {
                    give_up_or_retry(workers, &raw, &err).await?;
                }
            }
        }
    }
    for (raw, event) in others {
        if let Err(err) = apply_other(workers, &raw, event).await {
            give_up_or_retry(workers, &raw, &err).await?;
        }
    }
    Ok(count)
}

/// Leaves a failed event for a later attempt with backoff, or sets it aside after many.
async fn give_up_or_retry(workers: &Workers, raw: &RawEvent, err: &hark_app::AppError) -> hark_app::AppResult<()> {
    let retry_at = (raw.attempts < MAX_ATTEMPTS)
        .then(|| {
            Timestamp::now().checked_add(SignedDuration::from_secs(2i64.pow(raw.attempts.clamp(1, 10) as u32))).ok()
        })
        .flatten();
    tracing::warn!(raw_event = raw.id, dedup_key = %raw.dedup_key, %err, "could not ingest an event");
    workers.app.defer_raw(raw.id, &err.to_string(), retry_at).await
}

enum Decoded {
    Message(InboundItem),
    Other(InboundEvent),
    /// Unreadable: set aside at once, since it will never become readable.
    SetAside,
}

/// Reads a stored event (completing an Instagram mention from the Graph API).
async fn decode(workers: &Workers, raw: &RawEvent) -> hark_app::AppResult<Decoded> {
    let app = &workers.app;
    let event = match InboundEvent::deserialize(&raw.payload) {
        Ok(e) => e,
        Err(err) => {
            app.defer_raw(raw.id, &format!("unreadable event: {err}"), None).await?;
            return Ok(Decoded::SetAside);
        }
    };
    let InboundKind::Message(mut m) = event.kind else { return Ok(Decoded::Other(event)) };
    if needs_completion(&m) {
        let channel = app.store.channel(&raw.channel_id).await?.ok_or(hark_app::AppError::NotFound("channel"))?;
        let ctx = workers.context(&channel).await?;
        hark_channels::connector::complete(&workers.http, &ctx, &mut m)
            .await
            .map_err(|e| hark_app::AppError::Unavailable(format!("could not complete the message: {e}")))?;
    }
    Ok(Decoded::Message(InboundItem {
        channel_id: raw.channel_id.clone(),
        kind: m.conversation_kind,
        platform_message_id: m.platform_message_id,
        platform_thread_id: Some(m.thread_id),
        platform_parent_id: m.parent_id,
        author: InboundAuthor {
            platform_user_id: m.author.platform_user_id,
            handle: m.author.handle,
            display_name: m.author.display_name,
        },
        text: m.text,
        attachments: m.attachments,
        created_at: event.occurred_at,
        language: m.language,
        sentiment: None,
        intent: None,
        personal_data: vec![],
    }))
}

async fn apply_other(workers: &Workers, raw: &RawEvent, event: InboundEvent) -> hark_app::AppResult<()> {
    let app = &workers.app;
    match event.kind {
        InboundKind::Message(_) => {}
        InboundKind::Echo(e) => {
            let echo = EchoItem {
                channel_id: raw.channel_id.clone(),
                platform_message_id: e.platform_message_id,
                thread_id: e.thread_id,
                recipient_platform_user_id: e.recipient_platform_user_id,
                text: e.text,
                by_hark: e.by_hark,
                created_at: event.occurred_at,
            };
            app.apply_echo(raw.id, raw.received_at, echo).await?;
        }
        InboundKind::Status { platform_message_id, status, error } => {
            let status = match status {
                DeliveryUpdate::Sent => DeliveryStatus::Published,
                DeliveryUpdate::Delivered => DeliveryStatus::Delivered,
                DeliveryUpdate::Read => DeliveryStatus::Read,
                DeliveryUpdate::Failed => DeliveryStatus::Failed,
            };
            app.apply_delivery_status(raw.id, raw.received_at, &raw.channel_id, &platform_message_id, status, error)
                .await?;
        }
        InboundKind::Edited { platform_message_id, text } => {
            app.apply_edit_or_delete(raw.id, &raw.channel_id, &platform_message_id, Some(text)).await?;
        }
        InboundKind::Deleted { platform_message_id } => {
            app.apply_edit_or_delete(raw.id, &raw.channel_id, &platform_message_id, None).await?;
        }
        InboundKind::MessagingPermission { .. } | InboundKind::Ignored { .. } => app.finish_raw(raw.id).await?,
    }
    Ok(())
}

/// Whether the webhook left out what the message says (Instagram mentions).
fn needs_completion(message: &hark_channels::InboundMessage) -> bool {
    message.text.is_empty()
        && message.attachments.iter().any(|a| a.get("type").and_then(|t| t.as_str()) == Some("instagram_mention"))
}
