//! Ingestion in batches: a batch reads what the database knows of its
//! customers in a few queries, and each item still lands where it would
//! alone: a returning customer in their conversation, a public thread in its
//! own, a merged customer in the contact they were merged into, a
//! redelivered item nowhere.

mod common;

use common::{conversation_of as created, inbound, workspace_with_channel};
use hark_app::*;
use hark_domain::*;

fn item(channel_id: &str, user: &str, platform_id: &str, thread: Option<&str>) -> (Option<i64>, InboundItem) {
    (None, inbound(channel_id, user, platform_id, thread, &format!("message {platform_id}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_puts_each_item_where_it_would_go_alone() {
    for db in hark_store::testing::all().await {
        let (app, system, channel) = workspace_with_channel(db.store.clone(), Network::Facebook).await;
        let ch = channel.id.as_str();

        // First contact: a private message, and comments in two threads.
        let first = app
            .ingest_batch(vec![
                item(ch, "ana", "m1", None),
                item(ch, "ben", "c1", Some("post-1")),
                item(ch, "ben", "c2", Some("post-2")),
                item(ch, "ben", "c3", Some("post-1")),
            ])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", db.name));
        let (ana_private, new) = created(&first[0]);
        assert!(new, "{}", db.name);
        let (ben_post1, _) = created(&first[1]);
        let (ben_post2, _) = created(&first[2]);
        assert_ne!(ben_post1, ben_post2, "{}: each public thread is its own conversation", db.name);
        assert_eq!(created(&first[3]), (ben_post1.clone(), true), "{}: the batch finds what it opened", db.name);

        // A later batch finds them in the database.
        let again = app
            .ingest_batch(vec![
                item(ch, "ben", "c4", Some("post-2")),
                item(ch, "ana", "m2", None),
                item(ch, "ana", "m1", None),
                item(ch, "ben", "c5", Some("post-1")),
                item(ch, "ben", "c6", Some("post-3")),
                item(ch, "cleo", "m3", None),
            ])
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", db.name));
        assert_eq!(created(&again[0]), (ben_post2.clone(), false), "{}", db.name);
        assert_eq!(created(&again[1]), (ana_private.clone(), false), "{}", db.name);
        assert!(matches!(again[2], IngestOutcome::Duplicate { .. }), "{}: {:?}", db.name, again[2]);
        assert_eq!(created(&again[3]), (ben_post1.clone(), false), "{}", db.name);
        let (post3, new) = created(&again[4]);
        assert!(new && post3 != ben_post1 && post3 != ben_post2, "{}: a new thread opens its own", db.name);
        assert!(created(&again[5]).1, "{}: a new customer opens a conversation", db.name);

        // A customer merged into another writes as that one.
        let contact_of = |id: &str| {
            let app = app.clone();
            let id = id.to_owned();
            async move { app.store.conversation(&id).await.ok().flatten().map(|c| c.contact_id).unwrap_or_default() }
        };
        let dora = app.ingest_batch(vec![item(ch, "dora", "m4", None)]).await.unwrap_or_else(|e| panic!("{e}"));
        let (dora_private, _) = created(&dora[0]);
        let ana_contact = contact_of(&ana_private).await;
        let dora_contact = contact_of(&dora_private).await;
        app.merge_contacts(&system, &ana_contact, &dora_contact).await.unwrap_or_else(|e| panic!("{}: {e}", db.name));
        let merged = app.ingest_batch(vec![item(ch, "dora", "m5", None)]).await.unwrap_or_else(|e| panic!("{e}"));
        let (landed, _) = created(&merged[0]);
        assert_eq!(contact_of(&landed).await, ana_contact, "{}: the merged customer writes as the kept one", db.name);

        // More returning customers than one statement reads.
        let many: Vec<_> = (0..450).map(|n| item(ch, &format!("u{n}"), &format!("x{n}"), None)).collect();
        let opened = app.ingest_batch(many).await.unwrap_or_else(|e| panic!("{e}"));
        let back: Vec<_> = (0..450).map(|n| item(ch, &format!("u{n}"), &format!("y{n}"), None)).collect();
        let returned = app.ingest_batch(back).await.unwrap_or_else(|e| panic!("{e}"));
        for (n, (a, b)) in opened.iter().zip(&returned).enumerate() {
            assert_eq!(created(b), (created(a).0, false), "{}: customer {n} returns to their conversation", db.name);
        }
    }
}
