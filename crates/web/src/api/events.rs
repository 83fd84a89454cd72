//! Live events over Server-Sent Events.
//!
//! Each event carries its durable id. A client that reconnects sends the last
//! id it saw (`Last-Event-ID`, which browsers' EventSource does by itself, or
//! `?after=`) and receives everything after it from the events table, so no
//! event is lost across a dropped connection or a different node. Without
//! either, the stream starts at the present.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use hark_app::{Actor, App};
use hark_domain::Event;
use serde::Deserialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use utoipa::IntoParams;

use crate::WebState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;

const BATCH: u32 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Resume after this event id (the `Last-Event-ID` header wins if both are sent).
    pub after: Option<i64>,
}

/// A stream of `text/event-stream` events: `conversation.created`,
/// `conversation.updated`, `message.created`, `message.updated`, … Each
/// event's `data` is the event as JSON, its `id` the durable event id.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventsQuery),
    responses((status = 200, description = "text/event-stream of events", content_type = "text/event-stream"),
        (status = 401, body = crate::ErrorBody)))]
pub async fn stream(
    State(state): State<WebState>,
    auth: Authenticated,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let last_seen = match headers.get("last-event-id").map(|v| v.to_str().map(str::trim)) {
        Some(Ok(text)) => {
            Some(text.parse::<i64>().map_err(|_| ApiError::invalid("Last-Event-ID", "must be an event id"))?)
        }
        Some(Err(_)) => return Err(ApiError::invalid("Last-Event-ID", "must be an event id")),
        None => q.after,
    };
    // Check permission now, so an unauthorised caller gets 403 rather than an empty stream.
    state.app.events_after(&auth.actor, i64::MAX, 1).await?;
    let cursor = match last_seen {
        Some(id) => id.max(0),
        None => state.app.store.last_event_id().await.map_err(hark_app::AppError::from)?,
    };
    let follower = Follower {
        app: state.app.clone(),
        actor: auth.actor,
        cursor,
        pending: VecDeque::new(),
        head: state.app.store.event_head(),
        shutdown: state.shutdown.clone(),
    };
    let stream = futures_util::stream::unfold(follower, |mut f| async move {
        let event = f.next().await?;
        let sse = SseEvent::default().id(event.id.clone()).event(event.kind.clone()).json_data(&event).ok()?;
        Some((Ok(sse), f))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Follows the events table for one subscriber.
struct Follower {
    app: App,
    actor: Actor,
    cursor: i64,
    pending: VecDeque<Event>,
    head: watch::Receiver<i64>,
    shutdown: CancellationToken,
}

impl Follower {
    /// The next event, waiting for one if needed; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            // Mark the head as seen before reading, so a commit that lands
            // during the read still wakes the wait below.
            self.head.borrow_and_update();
            match self.app.events_after(&self.actor, self.cursor, BATCH).await {
                Ok(events) if !events.is_empty() => {
                    if let Some(last) = events.last().and_then(|e| e.id.parse().ok()) {
                        self.cursor = last;
                    }
                    self.pending.extend(events);
                    continue;
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "reading events failed; retrying");
                    tokio::select! {
                        _ = self.shutdown.cancelled() => return None,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return None,
                changed = self.head.changed() => if changed.is_err() { return None },
            }
        }
    }
}
