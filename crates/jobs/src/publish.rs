//! Sends queued replies to the networks, exactly once.
//!
//! A reply is marked `sending` before the network is called. If a node dies
//! after the call but before recording the result, the lease runs out and
//! another node finds the reply still `sending`: the outcome is unknown, so
//! it reconciles first where the network allows (X: read back the account's
//! recent posts), resends only where the network deduplicates by itself (VK's
//! random_id), and otherwise marks the reply failed with an explanation rather
//! than risk sending it twice.

use hark_app::OutboundJob;
use hark_channels::{ConnectorError, OutboundAttachment, OutboundMessage, OutboundVisibility, connector};
use hark_domain::{ChannelHealth, ChannelNote, DeliveryNote, DeliveryStatus, Visibility};
use hark_store::OutboxItem;
use jiff::{SignedDuration, Timestamp};
use tokio_util::sync::CancellationToken;

use crate::{Workers, pause};

pub async fn run(workers: Workers, shutdown: CancellationToken) {
    loop {
        let busy = match publish_once(&workers).await {
            Ok(n) => n > 0,
            Err(err) => {
                tracing::warn!(%err, "publishing round failed");
                false
            }
        };
        if shutdown.is_cancelled() {
            return;
        }
        if !busy && !pause(workers.config.idle, None, &shutdown).await {
            return;
        }
    }
}

/// Claims due replies and sends them; returns how many it handled.
pub async fn publish_once(workers: &Workers) -> hark_app::AppResult<usize> {
    let lease = workers.config.lease.as_millis() as i64;
    let items = workers.app.store.claim_outbox("publish", Timestamp::now(), lease, workers.config.batch).await?;
    let count = items.len();
    for item in items {
        if let Err(err) = publish_item(workers, &item).await {
            // The lease will hand the item out again.
            tracing::warn!(outbox = item.id, %err, "publishing failed before reaching the network");
        }
    }
    Ok(count)
}

async fn publish_item(workers: &Workers, item: &OutboxItem) -> hark_app::AppResult<()> {
    let app = &workers.app;
    let job = match app.outbound_job(&item.subject_id).await {
        Ok(job) => job,
        Err(hark_app::AppError::NotFound(what)) => {
            return app.drop_outbox(item, &format!("{what} no longer exists")).await;
        }
        Err(e) => return Err(e),
    };
    let message = &job.message;
    match message.delivery_status {
        DeliveryStatus::Published | DeliveryStatus::Delivered | DeliveryStatus::Read => {
            return app.drop_outbox(item, "already published").await;
        }
        DeliveryStatus::Failed
        | DeliveryStatus::AwaitingApproval
        | DeliveryStatus::Internal
        | DeliveryStatus::Received => {
            return app.drop_outbox(item, "not waiting to be sent").await;
        }
        DeliveryStatus::Queued | DeliveryStatus::Sending => {}
    }
    if !job.channel.enabled {
        return app.mark_failed(item, message, &DeliveryNote::ChannelDisabled.to_string(), "failed").await;
    }
    let ctx = workers.context(&job.channel).await?;
    let outbound = outbound_message(&job, &workers.config.public_url);
    let now = Timestamp::now();

    if message.delivery_status == DeliveryStatus::Sending && !connector::resend_is_safe(ctx.network) {
        // A previous attempt may have reached the network.
        let unconfirmed = || DeliveryNote::Unconfirmed { network: job.channel.network.to_string() }.to_string();
        match connector::find_published(&workers.http, &ctx, &outbound, message.created_at).await {
            Ok(Some(found)) => {
                return app
                    .mark_published(
                        item,
                        message,
                        &found.platform_message_id,
                        found.private_thread_id.as_deref(),
                        "reconciled",
                    )
                    .await;
            }
            Ok(None) if connector::can_reconcile(ctx.network) => {
                // A request that timed out may still land: give it time before
                // concluding it did not.
                let attempts = app.store.delivery_attempts(&message.id).await?;
                let last = attempts.iter().filter(|a| a.outcome == "unknown").map(|a| a.at).max();
                let settled = last.is_none_or(|at| {
                    Timestamp::now().duration_since(at).as_millis() as u128 >= workers.config.unknown_settle.as_millis()
                });
                if !settled {
                    let due = Timestamp::now()
                        .checked_add(
                            SignedDuration::try_from(workers.config.unknown_settle).unwrap_or(SignedDuration::ZERO),
                        )
                        .unwrap_or_else(|_| Timestamp::now());
                    return app.reschedule_after_unknown(item, message, due, "waiting for the network to settle").await;
                }
            }
            Ok(None) => return app.mark_failed(item, message, &unconfirmed(), "unknown").await,
            Err(err @ (ConnectorError::Unauthorized(_) | ConnectorError::Misconfigured(_))) => {
                app.channel_failed(&job.channel.id, ChannelHealth::Failing, &err.to_string()).await?;
                return app.mark_failed(item, message, &unconfirmed(), "unknown").await;
            }
            Err(err) if item.attempts < workers.config.max_publish_attempts => {
                // Could not look yet: keep it `sending` and look again later.
                let due = retry_time(workers, item.attempts, None);
                return app.reschedule_after_unknown(item, message, due, &format!("reconciling: {err}")).await;
            }
            Err(_) => return app.mark_failed(item, message, &unconfirmed(), "unknown").await,
        }
    }

    app.mark_sending(message).await?;
    match connector::publish(&workers.http, &ctx, &outbound, now).await {
        Ok(published) => {
            app.mark_published(
                item,
                message,
                &published.platform_message_id,
                published.private_thread_id.as_deref(),
                "published",
            )
            .await?;
            if job.channel.health != ChannelHealth::Ok
                && matches!(ChannelNote::parse(&job.channel.health_detail), ChannelNote::DeliveryErrors { .. })
            {
                app.channel_ok(&job.channel.id).await?;
            }
        }
        Err(ConnectorError::Retryable { reason, retry_after_secs }) => {
            if item.attempts >= workers.config.max_publish_attempts {
                app.mark_failed(
                    item,
                    message,
                    &DeliveryNote::GaveUp { attempts: item.attempts, reason: reason.clone() }.to_string(),
                    "failed",
                )
                .await?;
            } else {
                let due = retry_time(workers, item.attempts, retry_after_secs);
                app.reschedule_publish(item, message, due, &reason).await?;
            }
            if job.channel.failure_count + 1 >= workers.config.degraded_after_failures {
                app.channel_failed(
                    &job.channel.id,
                    ChannelHealth::Degraded,
                    &ChannelNote::DeliveryErrors { reason: reason.clone() }.to_string(),
                )
                .await?;
            } else {
                app.count_channel_failure(&job.channel.id).await?;
            }
        }
        Err(ConnectorError::Unknown(reason)) => {
            // Leave it `sending`: the next attempt reconciles first.
            app.reschedule_after_unknown(item, message, retry_time(workers, item.attempts, None), &reason).await?;
        }
        Err(err @ (ConnectorError::Unauthorized(_) | ConnectorError::Misconfigured(_))) => {
            let reason = err.to_string();
            app.mark_failed(item, message, &reason, "failed").await?;
            app.channel_failed(&job.channel.id, ChannelHealth::Failing, &reason).await?;
        }
        Err(ConnectorError::Rejected(reason)) => {
            app.mark_failed(item, message, &reason, "failed").await?;
        }
        Err(ConnectorError::NotAllowed(refusal)) => {
            app.mark_failed(item, message, &DeliveryNote::from(refusal).to_string(), "failed").await?;
        }
    }
    Ok(())
}

/// When to try again: exponential backoff, or the network's own wait if longer
/// (capped by configuration).
fn retry_time(workers: &Workers, attempts: i64, retry_after_secs: Option<u64>) -> Timestamp {
    let base = workers.config.retry_base.as_millis() as i64;
    let backoff = base.saturating_mul(1i64 << attempts.clamp(0, 12));
    let asked = retry_after_secs.map_or(0, |s| (s as i64).saturating_mul(1000));
    let cap = workers.config.retry_after_cap.as_millis() as i64;
    let wait = backoff.max(asked).min(cap.max(base));
    Timestamp::now().checked_add(SignedDuration::from_millis(wait)).unwrap_or_else(|_| Timestamp::now())
}

/// The connector's view of a reply about to be sent.
/// The files of a message that go out with it: those uploaded to Hark, which
/// serves them itself at `public_url` for the networks to fetch by address.
pub fn outbound_attachments(attachments: &[serde_json::Value], public_url: &str) -> Vec<OutboundAttachment> {
    attachments
        .iter()
        .filter(|a| a.get("upload_id").is_some())
        .filter_map(|a| {
            let text = |key: &str| a.get(key).and_then(|v| v.as_str()).unwrap_or("").to_owned();
            let path = text("url");
            (!path.is_empty()).then(|| OutboundAttachment {
                image: text("type") == "image",
                url: if path.starts_with('/') { format!("{}{path}", public_url.trim_end_matches('/')) } else { path },
                name: text("name"),
                content_type: text("content_type"),
            })
        })
        .collect()
}

pub fn outbound_message(job: &OutboundJob, public_url: &str) -> OutboundMessage {
    let m = &job.message;
    let attachments = outbound_attachments(&m.attachments, public_url);
    OutboundMessage {
        message_id: m.id.clone(),
        text: m.text.clone(),
        visibility: if m.visibility == Visibility::Public {
            OutboundVisibility::Public
        } else {
            OutboundVisibility::Private
        },
        conversation_kind: job.conversation.kind,
        recipient_platform_user_id: job.recipient_platform_user_id.clone(),
        thread_id: job.conversation.platform_thread_id.clone(),
        reply_to_platform_message_id: job.reply_to.as_ref().and_then(|r| r.platform_message_id.clone()),
        last_inbound_at: job.conversation.timeline.last_inbound_at,
        reply_to_created_at: job.reply_to.as_ref().map(|r| r.created_at),
        private_reply_already_sent: job.private_reply_already_sent,
        by_person: m.author_user_id.is_some(),
        template: m
            .attachments
            .iter()
            .find(|a| a.get("type").and_then(|t| t.as_str()) == Some("whatsapp_template"))
            .and_then(|a| serde_json::from_value(a.clone()).ok()),
        attachments,
    }
}
