//! The "be human, not a template" nudge: a draft public reply is compared
//! with the brand's recent public replies by people.

mod common;

use common::{inbound, person, workspace_with_channel};
use hark_app::*;
use hark_domain::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_like_recent_public_replies_is_reported_similar() {
    let db = hark_store::testing::sqlite().await;
    let (app, system, channel) = workspace_with_channel(db.store.clone(), Network::X).await;
    let agent = person(&app, &system, "ana@acme.test", Role::Agent).await;
    let mut conversations = vec![];
    for n in 0..3 {
        let mut item =
            inbound(&channel.id, &format!("u{n}"), &format!("p{n}"), Some(&format!("t{n}")), "my bag did not arrive");
        item.author.handle = format!("c{n}");
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
