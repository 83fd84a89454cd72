//! The post a public thread hangs from, read once from its network: a
//! follower of the events table sees each new public conversation and, when
//! the channel's post is not stored yet, asks the network for it and keeps
//! it, so agents see what the customer is commenting on.
//!
//! Ingestion never waits for this and never fails because of it: a network
//! that does not answer is logged and skipped, and the next conversation on
//! the same post tries again.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hark_app::AppResult;
use hark_domain::{Conversation, ConversationKind, Event, RootPost};
use hark_store::Write;
use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::Workers;
use crate::follow::EventHandler;
use serde::Deserialize;

/// The follower's name (its position is stored under it).
pub const FOLLOWER: &str = "thread-posts";

/// Reads and stores the root post of every new public conversation.
pub struct ThreadPostsFollower;

impl EventHandler for ThreadPostsFollower {
    fn name(&self) -> &'static str {
        FOLLOWER
    }

    fn handle<'a>(
        &'a self,
        workers: &'a Workers,
        events: &'a [Event],
    ) -> Pin<Box<dyn Future<Output = AppResult<Vec<Write>>> + Send + 'a>> {
        Box::pin(handle_events(workers, events))
    }

    /// Conversations from before Hark read posts keep today's header rather
    /// than set off a burst of calls to the networks.
    fn starts_at_head(&self) -> bool {
        true
    }
}

async fn handle_events(workers: &Workers, events: &[Event]) -> AppResult<Vec<Write>> {
    let mut seen = HashSet::new();
    for event in events.iter().filter(|e| e.kind == "conversation.created") {
        let Ok(conversation) = Conversation::deserialize(&*event.payload) else { continue };
        if conversation.kind != ConversationKind::Public {
            continue;
        }
        let Some(post_id) = conversation.platform_thread_id.clone().filter(|t| !t.is_empty()) else { continue };
        if !seen.insert((conversation.channel_id.clone(), post_id.clone())) {
            continue;
        }
        if let Err(err) = fetch_and_store(workers, &conversation.channel_id, &post_id).await {
            tracing::warn!(channel = %conversation.channel_id, post = %post_id, %err, "could not read the thread's post");
        }
    }
    // Each post is committed as it is read, so a lost lease repeats no call.
    Ok(vec![])
}

/// Why a post was not read: the network's or Hark's own reason.
#[derive(Debug)]
pub enum PostError {
    Network(hark_channels::ConnectorError),
    Hark(hark_app::AppError),
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::Network(e) => e.fmt(f),
            PostError::Hark(e) => e.fmt(f),
        }
    }
}

impl From<hark_app::AppError> for PostError {
    fn from(err: hark_app::AppError) -> Self {
        PostError::Hark(err)
    }
}

impl From<hark_store::StoreError> for PostError {
    fn from(err: hark_store::StoreError) -> Self {
        PostError::Hark(err.into())
    }
}

/// Reads one post from the network and stores it, unless it is stored
/// already; `true` when it stored one.
pub async fn fetch_and_store(workers: &Workers, channel_id: &str, post_id: &str) -> Result<bool, PostError> {
    let store = &workers.app.store;
    if store.thread_post(channel_id, post_id).await?.is_some() {
        return Ok(false);
    }
    // The thread starts with a post Hark already holds as a message (an X
    // mention, a customer's own wall post): nothing to read, no call spent.
    if store.message_by_platform_id(channel_id, post_id).await?.is_some() {
        return Ok(false);
    }
    let Some(channel) = store.channel(channel_id).await? else { return Ok(false) };
    let ctx = workers.context(&channel).await?;
    let found = hark_channels::connector::fetch_post(&workers.http, &ctx, post_id).await.map_err(PostError::Network)?;
    let Some(post) = found else { return Ok(false) };
    let record = RootPost {
        channel_id: channel_id.to_owned(),
        post_id: post_id.to_owned(),
        text: post.text,
        author: post.author,
        posted_at: post.posted_at,
        url: post.url,
        fetched_at: Timestamp::now(),
    };
    store.commit(vec![Write::PutThreadPost(record)]).await?;
    Ok(true)
}

/// Follows the events table until `shutdown`.
pub async fn run(workers: Workers, shutdown: CancellationToken) {
    crate::follow::run(workers, Arc::new(ThreadPostsFollower), shutdown).await
}

/// Handles the next batch of events (tests drive the follower with this).
pub async fn follow_once(workers: &Workers) -> AppResult<usize> {
    crate::follow::follow_once(workers, &ThreadPostsFollower).await
}
