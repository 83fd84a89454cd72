//! Checks channels' credentials with each network: unhealthy channels often,
//! so they turn green as soon as someone fixes them, and every channel now
//! and then, so a token that expires without traffic is noticed too.

use hark_channels::{ConnectorError, connector};
use hark_domain::{Channel, ChannelHealth, ChannelNote};
use tokio_util::sync::CancellationToken;

use crate::{Workers, pause};

pub async fn run(workers: Workers, shutdown: CancellationToken) {
    let mut rounds: u64 = 0;
    let every = (workers.config.health_interval.as_secs() / workers.config.poll_interval.as_secs().max(1)).max(1);
    loop {
        let full_round = rounds.is_multiple_of(every);
        check_once(&workers, full_round).await;
        if full_round {
            purge_old_events(&workers).await;
        }
        rounds += 1;
        if !pause(workers.config.poll_interval, None, &shutdown).await {
            return;
        }
    }
}

/// Forgets inbound events ingested longer ago than the retention.
pub async fn purge_old_events(workers: &Workers) {
    let keep = jiff::SignedDuration::try_from(workers.config.raw_event_retention).unwrap_or(jiff::SignedDuration::MAX);
    if let Ok(done_before) = jiff::Timestamp::now().checked_sub(keep)
        && let Err(err) = workers.app.store.commit(vec![hark_store::Write::PurgeRawEvents { done_before }]).await
    {
        tracing::warn!(%err, "could not purge old inbound events");
    }
}

/// Checks unhealthy channels (and all of them when `all`); returns how many were checked.
pub async fn check_once(workers: &Workers, all: bool) -> usize {
    let mut checked = 0;
    for ws in workers.app.store.workspaces().await.unwrap_or_default() {
        for channel in workers.app.store.channels(&ws.id).await.unwrap_or_default() {
            if channel.enabled && (all || channel.health != ChannelHealth::Ok) && connector::can_check(channel.network)
            {
                check_channel(workers, &channel).await;
                checked += 1;
            }
        }
    }
    checked
}

/// Checks one channel now (whether or not it is enabled).
pub async fn check_channel(workers: &Workers, channel: &Channel) {
    let Ok(ctx) = workers.context(channel).await else {
        let _ = workers
            .app
            .channel_failed(&channel.id, ChannelHealth::Failing, &ChannelNote::CredentialsUnreadable.to_string())
            .await;
        return;
    };
    match connector::check_credentials(&workers.http, &ctx).await {
        Ok(()) => match connector::check_webhooks(&workers.http, &ctx).await {
            Ok(Some(problem)) => {
                let _ = workers.app.channel_failed(&channel.id, ChannelHealth::Degraded, &problem).await;
            }
            Ok(None) => {
                // Trouble with webhooks Hark itself refused is cleared by the next
                // verified webhook, not by a token check.
                if ChannelNote::parse(&channel.health_detail) != ChannelNote::WebhooksFailVerification {
                    let _ = workers.app.channel_ok(&channel.id).await;
                }
            }
            Err(err) => tracing::debug!(channel = %channel.id, %err, "webhook check inconclusive"),
        },
        Err(err @ (ConnectorError::Unauthorized(_) | ConnectorError::Misconfigured(_))) => {
            let _ = workers.app.channel_failed(&channel.id, ChannelHealth::Failing, &err.to_string()).await;
        }
        Err(err) => tracing::debug!(channel = %channel.id, %err, "health check inconclusive"),
    }
}
