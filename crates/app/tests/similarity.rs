//! The "be human, not a template" nudge: a draft public reply is compared
//! with the brand's recent public replies by people.

use std::sync::Arc;

use hark_app::*;
use hark_domain::*;
use hark_store::sqlite::SqliteStore;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_like_recent_public_replies_is_reported_similar() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = SqliteStore::open(&dir.path().join("hark.db")).await.unwrap_or_else(|e| panic!("{e}"));
    let app = App::new(Arc::new(store), CredentialSealer::new(&[3u8; 32]));
    let ws = app.create_workspace("Acme", "UTC").await.unwrap_or_else(|e| panic!("{e}"));
    let system = Actor::system(&ws.id);
    let input = UserCreate {
        email: "ana@acme.test".into(),
        name: "Ana".into(),
        role: Role::Agent,
        password: "long enough password".into(),
        locale: "en".into(),
    };
    let agent =
        Actor { user: app.create_user(&system, input).await.unwrap_or_else(|e| panic!("{e}")), via: ActorVia::Session };
    let channel = app
        .create_channel(
            &system,
            ChannelCreate {
                network: Network::X,
                name: "X".into(),
                handle: "@acme".into(),
                external_id: "1".into(),
                credentials: None,
                settings: json!({}),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut conversations = vec![];
    for n in 0..3 {
        let item = InboundItem {
            channel_id: channel.id.clone(),
            kind: ConversationKind::Public,
            platform_message_id: format!("p{n}"),
            platform_thread_id: Some(format!("t{n}")),
            platform_parent_id: None,
            author: InboundAuthor {
                platform_user_id: format!("u{n}"),
                handle: format!("c{n}"),
                display_name: "C".into(),
            },
            text: "my bag did not arrive".into(),
            attachments: vec![],
            created_at: jiff::Timestamp::now(),
            language: None,
            sentiment: None,
            intent: None,
            personal_data: vec![],
        };
        if let IngestOutcome::Created { conversation_id, .. } = app.ingest(item).await.unwrap_or_else(|e| panic!("{e}"))
        {
            conversations.push(conversation_id);
        }
    }
    for (n, name) in ["@anna", "@ben"].iter().enumerate() {
        let text =
            format!("{name} Sorry to hear that! Please DM us your booking reference and we will track your bag.");
        let reply = NewMessage { visibility: Visibility::Public, text, template: None };
        app.post_message(&agent, &conversations[n], reply).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let template = "@carla sorry to hear that, please DM us your booking reference and we will track your bag";
    let report = app.reply_similarity(&agent, &conversations[2], template).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.compared, 2);
    assert!(report.similarity >= report.threshold, "{report:?}");
    assert_eq!(report.similar_count, 2);
    let personal = "Carla, your suitcase is on the 14:10 from Lyon; the courier brings it home tonight.";
    let report = app.reply_similarity(&agent, &conversations[2], personal).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(report.similarity < report.threshold, "{report:?}");
    assert_eq!(report.similar_count, 0);
    let other = Actor::system("another workspace");
    assert!(app.reply_similarity(&other, &conversations[2], template).await.is_err(), "other workspaces see nothing");
}
