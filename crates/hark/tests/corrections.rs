//! `hark nlp corrections export` prints agents' corrections as the CSV
//! `hark nlp train … --csv` reads.

use std::process::Command;

use hark_app::{
    Actor, App, ChannelCreate, CorrectionInput, CredentialSealer, InboundAuthor, InboundItem, IngestOutcome,
};
use hark_domain::*;
use hark_store::sqlite::SqliteStore;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_come_out_as_training_csv() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = SqliteStore::open(&dir.path().join("hark.db")).await.unwrap_or_else(|e| panic!("{e}"));
    let app = App::new(std::sync::Arc::new(store), CredentialSealer::new(&[1u8; 32]));
    let ws = app.create_workspace("Acme", "UTC").await.unwrap_or_else(|e| panic!("{e}"));
    let system = Actor::system(&ws.id);
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
    let mut ids = vec![];
    for (n, text) in ["my suitcase, is it lost, \"really\"?", "thanks, all good"].iter().enumerate() {
        let item = InboundItem {
            channel_id: channel.id.clone(),
            kind: ConversationKind::Public,
            platform_message_id: format!("p{n}"),
            platform_thread_id: Some(format!("t{n}")),
            platform_parent_id: None,
            author: InboundAuthor { platform_user_id: format!("u{n}"), handle: "c".into(), display_name: "C".into() },
            text: (*text).into(),
            attachments: vec![],
            created_at: jiff::Timestamp::now(),
            language: None,
            sentiment: None,
            intent: None,
            personal_data: vec![],
        };
        match app.ingest(item).await.unwrap_or_else(|e| panic!("{e}")) {
            IngestOutcome::Created { message_id, .. } => ids.push(message_id),
            other => panic!("{other:?}"),
        }
    }
    let correct = |intent: &str| CorrectionInput { sentiment: None, intent: Some(intent.into()) };
    app.correct_reading(&system, &ids[0], correct("account_access")).await.unwrap_or_else(|e| panic!("{e}"));
    app.correct_reading(&system, &ids[1], correct("spam")).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(app.correct_reading(&system, &ids[1], correct("not_an_intent")).await.is_err());
    let out = Command::new(env!("CARGO_BIN_EXE_hark"))
        .args(["nlp", "corrections", "export", "--field", "intent", "--data-dir"])
        .arg(dir.path())
        .env_remove("HARK_DATABASE_URL")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        csv,
        "text,label\n\"my suitcase, is it lost, \"\"really\"\"?\",account_access\n\"thanks, all good\",spam\n"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_hark"))
        .args(["nlp", "corrections", "export", "--field", "colour", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("intent or sentiment"));
}
