//! Polls the networks that offer it: X mentions (a fallback for missed
//! webhooks) and recent search (keyword and hashtag monitoring), Telegram
//! getUpdates (bots without a webhook). Events go through the same durable
//! intake as webhooks, and a cursor advances only after they are stored.

use futures_util::future::join_all;
use hark_channels::{ChannelContext, ConnectorError, connector};
use hark_domain::{Channel, ChannelHealth, ChannelNote};
use hark_store::{NewRawEvent, Write};
use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::{Workers, pause};

/// The source name cursors are stored under.
const SOURCE: &str = "poll";

pub async fn run(workers: Workers, shutdown: CancellationToken) {
    loop {
        poll_once(&workers).await;
        if !pause(workers.config.poll_interval, None, &shutdown).await {
            return;
        }
    }
}

/// Polls every channel that polls, concurrently; returns how many new events were stored.
pub async fn poll_once(workers: &Workers) -> u64 {
    let mut channels = vec![];
    for ws in workers.app.store.workspaces().await.unwrap_or_default() {
        channels.extend(workers.app.store.channels(&ws.id).await.unwrap_or_default());
    }
    let polls = channels
        .into_iter()
        .filter(|c| c.enabled && connector::polls(c.network, &c.settings))
        .map(|c| poll_channel(workers, c));
    join_all(polls).await.into_iter().sum()
}

async fn poll_channel(workers: &Workers, channel: Channel) -> u64 {
    match try_poll(workers, &channel).await {
        Ok(n) => n,
        Err(err) => {
            tracing::warn!(channel = %channel.id, %err, "polling failed");
            let health = match err {
                ConnectorError::Unauthorized(_) | ConnectorError::Misconfigured(_) => Some(ChannelHealth::Failing),
                ConnectorError::Rejected(_) => Some(ChannelHealth::Degraded),
                _ => None,
            };
            if let Some(health) = health {
                let _ = workers
                    .app
                    .channel_failed(&channel.id, health, &ChannelNote::Polling { words: err.to_string() }.to_string())
                    .await;
            }
            0
        }
    }
}

async fn try_poll(workers: &Workers, channel: &Channel) -> Result<u64, ConnectorError> {
    let ctx: ChannelContext =
        workers.context(channel).await.map_err(|e| ConnectorError::Misconfigured(e.to_string()))?;
    let cursor = workers
        .app
        .store
        .poll_cursor(&channel.id, SOURCE)
        .await
        .map_err(|e| ConnectorError::Retryable { reason: e.to_string(), retry_after_secs: None })?;
    let Some(result) = connector::poll(&workers.http, &ctx, cursor.as_deref()).await else {
        return Ok(0);
    };
    let result = result?;
    let received_at = Timestamp::now();
    let events: Vec<NewRawEvent> = result
        .events
        .iter()
        .map(|e| NewRawEvent {
            channel_id: channel.id.clone(),
            dedup_key: e.dedup_key.clone(),
            received_at,
            payload: serde_json::to_value(e).unwrap_or_default(),
        })
        .collect();
    let stored = workers
        .intake
        .store(events)
        .await
        .map_err(|e| ConnectorError::Retryable { reason: e.to_string(), retry_after_secs: None })?;
    if let Some(next) = result.cursor.filter(|c| Some(c) != cursor.as_ref()) {
        let write = Write::SetPollCursor {
            channel_id: channel.id.clone(),
            source: SOURCE.into(),
            cursor: next,
            at: received_at,
        };
        workers
            .app
            .store
            .commit(vec![write])
            .await
            .map_err(|e| ConnectorError::Retryable { reason: e.to_string(), retry_after_secs: None })?;
    }
    if channel.health != ChannelHealth::Ok
        && matches!(ChannelNote::parse(&channel.health_detail), ChannelNote::Polling { .. })
    {
        let _ = workers.app.channel_ok(&channel.id).await;
    }
    Ok(stored)
}
