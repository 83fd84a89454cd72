//! What the use-case tests share: a workspace with one channel on a real
//! store, and inbound items as a network would hand them over.

// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use hark_app::*;
use hark_domain::*;
use serde_json::json;

/// A fresh workspace "Acme" with one channel on `network`.
pub async fn workspace_with_channel(
    store: std::sync::Arc<dyn hark_store::Store>,
    network: Network,
) -> (App, Actor, Channel) {
    let app = App::new(store, CredentialSealer::new(&[7u8; 32]));
    let ws = app.create_workspace("Acme", "UTC").await.unwrap_or_else(|e| panic!("{e}"));
    let system = Actor::system(&ws.id);
    let input = ChannelCreate {
        network,
        name: network.to_string(),
        handle: "acme".into(),
        external_id: "1".into(),
        credentials: None,
        settings: json!({}),
    };
    let channel = app.create_channel(&system, input).await.unwrap_or_else(|e| panic!("{e}"));
    (app, system, channel)
}

/// A person with `role` in the actor's workspace, signed in.
pub async fn person(app: &App, system: &Actor, email: &str, role: Role) -> Actor {
    let input = UserCreate {
        email: email.into(),
        name: email.into(),
        role,
        password: "long enough password".into(),
        locale: "en".into(),
    };
    Actor { user: app.create_user(system, input).await.unwrap_or_else(|e| panic!("{e}")), via: ActorVia::Session }
}

/// An item by `user`: a comment in `thread` when one is given, else a private message.
pub fn inbound(channel_id: &str, user: &str, platform_id: &str, thread: Option<&str>, text: &str) -> InboundItem {
    InboundItem {
        channel_id: channel_id.to_owned(),
        kind: if thread.is_some() { ConversationKind::Public } else { ConversationKind::Private },
        platform_message_id: platform_id.to_owned(),
        platform_thread_id: thread.map(str::to_owned),
        platform_parent_id: None,
        author: InboundAuthor { platform_user_id: user.to_owned(), handle: user.to_owned(), display_name: user.into() },
        text: text.to_owned(),
        attachments: vec![],
        created_at: jiff::Timestamp::now(),
        language: None,
        sentiment: None,
        intent: None,
        personal_data: vec![],
    }
}

/// The conversation an item opened or joined (it must not be a duplicate).
pub fn conversation_of(outcome: &IngestOutcome) -> (String, bool) {
    match outcome {
        IngestOutcome::Created { conversation_id, new_conversation, .. } => {
            (conversation_id.clone(), *new_conversation)
        }
        IngestOutcome::Duplicate { .. } => panic!("expected a new message, got {outcome:?}"),
    }
}
