//! The durable front door for inbound events.
//!
//! Webhook handlers hand verified, normalised events to [`Intake::store`],
//! which returns once they are committed; only then does the handler answer
//! the network with 2xx. Concurrent requests are committed together (group
//! commit): a writer task takes everything queued while the previous commit
//! ran and stores it in one transaction, so throughput is not bounded by one
//! fsync per request. Redeliveries are absorbed by the unique
//! (channel, dedup key) rule.

use std::sync::Arc;

use hark_store::{NewRawEvent, Store};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::{AppError, AppResult};

/// Most events committed in one transaction.
const MAX_BATCH: usize = 2_000;

type Reply = oneshot::Sender<Result<u64, String>>;

#[derive(Clone)]
pub struct Intake {
    queue: mpsc::Sender<(Vec<NewRawEvent>, Reply)>,
    /// Woken after each commit so ingest workers start at once.
    pub stored: Arc<Notify>,
}

impl Intake {
    /// Starts the writer task.
    pub fn start(store: Arc<dyn Store>) -> Intake {
        let (queue, receiver) = mpsc::channel(1024);
        let stored = Arc::new(Notify::new());
        tokio::spawn(write_batches(store, receiver, stored.clone()));
        Intake { queue, stored }
    }

    /// Stores the events durably; returns how many were new (the rest were
    /// already stored). An error means nothing may be acknowledged.
    pub async fn store(&self, events: Vec<NewRawEvent>) -> AppResult<u64> {
        if events.is_empty() {
            return Ok(0);
        }
        let (reply, answer) = oneshot::channel();
        self.queue.send((events, reply)).await.map_err(|_| AppError::Unavailable("intake is shutting down".into()))?;
        match answer.await {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(err)) => Err(AppError::Unavailable(format!("could not store inbound events: {err}"))),
            Err(_) => Err(AppError::Unavailable("intake stopped".into())),
        }
    }
}

async fn write_batches(
    store: Arc<dyn Store>,
    mut receiver: mpsc::Receiver<(Vec<NewRawEvent>, Reply)>,
    stored: Arc<Notify>,
) {
    while let Some(first) = receiver.recv().await {
        let mut waiting = vec![first];
        let mut size = waiting[0].0.len();
        // Everything that queued up while the last commit ran goes in this one.
        while size < MAX_BATCH {
            match receiver.try_recv() {
                Ok(next) => {
                    size += next.0.len();
                    waiting.push(next);
                }
                Err(_) => break,
            }
        }
        let counts: Vec<usize> = waiting.iter().map(|(events, _)| events.len()).collect();
        let mut all = Vec::with_capacity(size);
        let mut replies = Vec::with_capacity(waiting.len());
        for (events, reply) in waiting {
            all.extend(events);
            replies.push(reply);
        }
        metrics_batch(all.len());
        match store.append_raw_events(all).await {
            Ok(inserted) => {
                stored.notify_waiters();
                stored.notify_one();
                // Hand each caller the count of its own events that were new.
                let mut flags = inserted.into_iter();
                for (reply, n) in replies.into_iter().zip(counts) {
                    let new = flags.by_ref().take(n).filter(|new| *new).count();
                    let _ = reply.send(Ok(new as u64));
                }
            }
            Err(err) => {
                tracing::error!(%err, "storing inbound events failed; the networks will redeliver");
                for reply in replies {
                    let _ = reply.send(Err(err.to_string()));
                }
            }
        }
    }
}

fn metrics_batch(size: usize) {
    tracing::trace!(size, "committing inbound events");
}
