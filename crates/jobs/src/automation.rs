//! Delivers what rules leave in the `automation` outbox: hiding a comment on
//! its network, Slack-style notifications, signed outgoing webhooks and
//! escalation emails (SMTP). Each item is tried with backoff and every
//! attempt is kept in the delivery log.

use hark_app::automation::{AUTOMATION_OUTBOX, AutomationJob};
use hark_app::{Actor, Engagement};
use hark_channels::{ConnectorError, EngagementAction, connector};
use hark_store::{DeliveryAttempt, OutboxItem, Write};
use jiff::{SignedDuration, Timestamp};
use tokio_util::sync::CancellationToken;

use crate::{Workers, pause};
use serde::Deserialize;

/// Where escalation emails go out.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpConfig {
    /// `smtp://user:password@host:587?tls=required`, `smtps://…:465`, or `smtp://host:25` (no TLS).
    pub url: String,
    /// The sender, e.g. `Hark <care@example.com>`.
    pub from: String,
}

/// Attempts before an item is given up.
const MAX_ATTEMPTS: i64 = 8;

pub async fn run(workers: Workers, shutdown: CancellationToken) {
    loop {
        let busy = match deliver_once(&workers).await {
            Ok(n) => n > 0,
            Err(err) => {
                tracing::warn!(%err, "automation delivery round failed");
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

/// Claims due automation items and delivers them; returns how many it handled.
pub async fn deliver_once(workers: &Workers) -> hark_app::AppResult<usize> {
    let lease = workers.config.lease.as_millis() as i64;
    let items =
        workers.app.store.claim_outbox(AUTOMATION_OUTBOX, Timestamp::now(), lease, workers.config.batch).await?;
    let count = items.len();
    for item in items {
        let outcome = match AutomationJob::deserialize(&item.payload) {
            Ok(job) => deliver(workers, &item, &job).await,
            Err(err) => Err(ConnectorError::Misconfigured(format!("unreadable automation item: {err}"))),
        };
        let at = Timestamp::now();
        let (writes, outcome_name, detail) = match outcome {
            Ok(detail) => (vec![Write::FinishOutbox { id: item.id, at }], "delivered", detail),
            Err(ConnectorError::Retryable { reason, retry_after_secs }) if item.attempts < MAX_ATTEMPTS => {
                let base = workers.config.retry_base.as_millis() as i64;
                let wait = base
                    .saturating_mul(1 << item.attempts.clamp(0, 12))
                    .max(retry_after_secs.map_or(0, |s| (s as i64).saturating_mul(1000)));
                let wait = wait.min(workers.config.retry_after_cap.as_millis() as i64);
                let due = at.checked_add(SignedDuration::from_millis(wait)).unwrap_or(at);
                (vec![Write::RescheduleOutbox { id: item.id, due_at: due, error: reason.clone() }], "retry", reason)
            }
            Err(err) => (vec![Write::FinishOutbox { id: item.id, at }], "failed", err.to_string()),
        };
        let mut writes = writes;
        writes.push(Write::RecordDeliveryAttempt(DeliveryAttempt {
            outbox_id: item.id,
            subject_id: item.subject_id.clone(),
            at,
            outcome: outcome_name.to_owned(),
            detail: detail.chars().take(2000).collect(),
        }));
        if outcome_name == "failed" {
            tracing::warn!(outbox = item.id, detail, "an automation action could not be delivered");
        }
        workers.app.store.commit(writes).await?;
    }
    Ok(count)
}

async fn deliver(workers: &Workers, item: &OutboxItem, job: &AutomationJob) -> Result<String, ConnectorError> {
    match job {
        AutomationJob::Hide { message_id, rule_id } => hide(workers, item, message_id, rule_id).await,
        AutomationJob::Slack { url, text } => {
            post_json(workers, url, &serde_json::json!({ "text": text })).await.map(|()| "posted".into())
        }
        AutomationJob::Webhook { url, secret, body } if !secret.is_empty() => {
            let id = format!("msg_hark_{}", item.id);
            hark_channels::api_channel::deliver(&workers.http, url, secret, &id, body, Timestamp::now())
                .await
                .map(|()| "delivered, signed".into())
        }
        AutomationJob::Webhook { url, body, .. } => post_json(workers, url, body).await.map(|()| "delivered".into()),
        AutomationJob::Email { to, subject, body } => email(workers, to, subject, body).await,
    }
}

async fn hide(workers: &Workers, item: &OutboxItem, message_id: &str, rule_id: &str) -> Result<String, ConnectorError> {
    let app = &workers.app;
    let actor = Actor::rule(&item.workspace_id, rule_id);
    let (message, channel, credentials) =
        app.engagement_target(&actor, message_id, Engagement::Hide).await.map_err(|e| {
            ConnectorError::NotAllowed(
                hark_channels::Refusal::new("cannot-act", format!("Hark cannot act on this message: {e}"))
                    .with("detail", e),
            )
        })?;
    let ctx = hark_channels::ChannelContext {
        network: channel.network,
        external_id: channel.external_id.clone(),
        credentials,
        settings: channel.settings.clone(),
    };
    let action =
        EngagementAction::Hide { platform_message_id: message.platform_message_id.clone().unwrap_or_default() };
    connector::engage(&workers.http, &ctx, &action).await?;
    app.record_engagement(&actor, &message, Engagement::Hide)
        .await
        .map_err(|e| ConnectorError::Retryable { reason: e.to_string(), retry_after_secs: None })?;
    Ok(format!("hidden on {}", channel.network))
}

/// POSTs JSON: 2xx is done; 408, 429 and 5xx (and no answer) are tried again; other answers are final.
async fn post_json(workers: &Workers, url: &str, body: &serde_json::Value) -> Result<(), ConnectorError> {
    crate::hooks::check_url(url, workers.config.allow_private_hooks).map_err(ConnectorError::Rejected)?;
    let response = workers
        .hooks
        .post(url)
        .timeout(std::time::Duration::from_secs(15))
        .json(body)
        .send()
        .await
        .map_err(|e| ConnectorError::Retryable { reason: format!("{url}: {e}"), retry_after_secs: None })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let reason = format!("{url} answered {status}");
    if status.as_u16() == 408 || status.as_u16() == 429 || status.is_server_error() {
        let retry_after_secs = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        return Err(ConnectorError::Retryable { reason, retry_after_secs });
    }
    Err(ConnectorError::Rejected(reason))
}

async fn email(workers: &Workers, to: &[String], subject: &str, body: &str) -> Result<String, ConnectorError> {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let Some(smtp) = &workers.config.smtp else {
        return Err(ConnectorError::Misconfigured(
            "no SMTP server is configured (smtp_url and smtp_from in the configuration)".into(),
        ));
    };
    let from = smtp.from.parse().map_err(|e| ConnectorError::Misconfigured(format!("smtp_from: {e}")))?;
    let mut builder = Message::builder().from(from).subject(subject);
    for address in to {
        let mailbox = address.parse().map_err(|e| ConnectorError::Rejected(format!("{address}: {e}")))?;
        builder = builder.to(mailbox);
    }
    let message =
        builder.body(body.to_owned()).map_err(|e| ConnectorError::Rejected(format!("cannot build the email: {e}")))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp.url)
        .map_err(|e| ConnectorError::Misconfigured(format!("smtp_url: {e}")))?
        .timeout(Some(std::time::Duration::from_secs(30)))
        .build();
    match transport.send(message).await {
        Ok(response) => Ok(format!("sent to {}: {}", to.join(", "), response.code())),
        Err(err) if err.is_permanent() => Err(ConnectorError::Rejected(format!("the mail server refused: {err}"))),
        Err(err) => Err(ConnectorError::Retryable { reason: format!("mail server: {err}"), retry_after_secs: None }),
    }
}
