//! The storage contract: every test here runs against SQLite, and against
//! PostgreSQL when HARK_TEST_DATABASE_URL is set, and must behave the same.

use std::collections::HashSet;

use hark_domain::*;
use hark_store::testing::{self, TestStore};
use hark_store::*;
use jiff::Timestamp;
use serde_json::json;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Runs the body once per available backend.
macro_rules! contract {
    ($name:ident, |$t:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for $t in testing::all().await {
                eprintln!("-- {} on {}", stringify!($name), $t.name);
                $body
            }
        }
    };
}

struct Fixture {
    ws: String,
    user: String,
    channel: String,
    contact: String,
}

async fn seed(t: &TestStore) -> Fixture {
    let ws = Workspace { id: "ws_1".into(), name: "Acme".into(), time_zone: "Europe/Athens".into(), created_at: at(0) };
    let user = User {
        id: "usr_1".into(),
        workspace_id: ws.id.clone(),
        email: "Ada@Example.com".into(),
        name: "Ada".into(),
        role: Role::Agent,
        locale: "en".into(),
        active: true,
        availability: Availability::Online,
        created_at: at(0),
        updated_at: at(0),
    };
    let channel = Channel {
        id: "ch_x".into(),
        workspace_id: ws.id.clone(),
        network: Network::X,
        name: "Acme on X".into(),
        handle: "@acme".into(),
        external_id: "1850000000000000001".into(),
        health: ChannelHealth::Ok,
        health_detail: String::new(),
        failure_count: 0,
        health_changed_at: None,
        enabled: true,
        has_credentials: true,
        settings: json!({"poll": true}),
        created_at: at(0),
        updated_at: at(0),
    };
    let contact = contact("ct_1", &ws.id, "Maria", "x", "1850000000000000999", "@maria");
    let label = Label {
        id: "lb_1".into(),
        workspace_id: ws.id.clone(),
        name: "refund".into(),
        color: "#cc3300".into(),
        description: String::new(),
    };
    t.store
        .commit(vec![
            Write::InsertWorkspace(ws.clone()),
            Write::InsertUser { user: user.clone(), password_hash: "hash".into() },
            Write::InsertChannel { channel: channel.clone(), credentials: Some(vec![1, 2, 3]) },
            Write::InsertContact(contact.clone()),
            Write::InsertLabel(label),
        ])
        .await
        .unwrap_or_else(|e| panic!("seed: {e}"));
    Fixture { ws: ws.id, user: user.id, channel: channel.id, contact: contact.id }
}

fn contact(id: &str, ws: &str, name: &str, network: &str, platform_id: &str, handle: &str) -> Contact {
    Contact {
        id: id.into(),
        workspace_id: ws.into(),
        display_name: name.into(),
        email: None,
        phone: None,
        notes: String::new(),
        custom_attributes: Default::default(),
        merged_into_id: None,
        identities: vec![Identity {
            id: format!("id_{id}"),
            contact_id: id.into(),
            network: network.parse().unwrap_or(Network::X),
            platform_user_id: platform_id.into(),
            handle: handle.into(),
            display_name: name.into(),
        }],
        created_at: at(0),
        updated_at: at(0),
    }
}

fn conversation(f: &Fixture, id: &str, activity: i64) -> Conversation {
    Conversation {
        id: id.into(),
        workspace_id: f.ws.clone(),
        channel_id: f.channel.clone(),
        contact_id: f.contact.clone(),
        kind: ConversationKind::Public,
        status: ConversationStatus::Open,
        priority: Priority::Normal,
        assignee_id: None,
        team_id: None,
        labels: vec![],
        custom_attributes: Default::default(),
        platform_thread_id: Some("1850000000000000500".into()),
        subject: String::new(),
        last_message_preview: "hello".into(),
        language: Some("en".into()),
        sentiment: Some(Sentiment::Neutral),
        intent: None,
        snoozed_until: None,
        timeline: ConversationTimeline {
            first_inbound_at: Some(at(activity)),
            last_inbound_at: Some(at(activity)),
            awaiting_reply_since: Some(at(activity)),
            last_activity_at: at(activity),
            ..Default::default()
        },
        linked_conversation_id: None,
        merged_into_id: None,
        created_at: at(activity),
        updated_at: at(activity),
        version: 1,
    }
}

fn message(f: &Fixture, id: &str, conversation_id: &str, channel: &str, platform_id: Option<&str>) -> Message {
    Message {
        id: id.into(),
        conversation_id: conversation_id.into(),
        workspace_id: f.ws.clone(),
        channel_id: channel.into(),
        direction: Direction::Inbound,
        visibility: Visibility::Public,
        author_kind: AuthorKind::Contact,
        author_user_id: None,
        author_contact_id: Some(f.contact.clone()),
        text: "Где мой заказ? 我的订单在哪里".into(),
        attachments: vec![json!({"kind": "image", "url": "https://example.com/a.png"})],
        platform_message_id: platform_id.map(str::to_owned),
        platform_parent_id: None,
        delivery_status: DeliveryStatus::Received,
        delivery_error: None,
        language: Some("ru".into()),
        sentiment: Some(Sentiment::Negative),
        intent: Some("order_delivery".into()),
        personal_data: vec![PersonalDataSpan { kind: "phone".into(), start: 0, end: 5 }],
        created_at: at(10),
        recorded_at: at(11),
        edited_at: None,
        deleted_at: None,
    }
}

contract!(users_are_found_by_email_case_insensitively_and_emails_are_unique, |t| {
    let f = seed(&t).await;
    let login = t.store.user_login("  ada@EXAMPLE.com ").await.ok().flatten();
    assert_eq!(login.map(|l| (l.user.id, l.password_hash)), Some((f.user.clone(), "hash".to_owned())));
    let mut twin = t.store.user(&f.user).await.ok().flatten().unwrap_or_else(|| panic!("user"));
    twin.id = "usr_2".into();
    twin.email = "ADA@example.com".into();
    let err = t.store.commit(vec![Write::InsertUser { user: twin, password_hash: "h".into() }]).await;
    assert!(matches!(err, Err(StoreError::Duplicate { .. })), "{err:?}");
});

contract!(a_failed_commit_writes_nothing, |t| {
    let f = seed(&t).await;
    let label = Label {
        id: "lb_2".into(),
        workspace_id: f.ws.clone(),
        name: "vip".into(),
        color: "#000000".into(),
        description: String::new(),
    };
    let same_name = Label { id: "lb_3".into(), ..label.clone() };
    let result = t
        .store
        .commit(vec![
            Write::InsertLabel(label),
            Write::Event(NewEvent {
                workspace_id: f.ws.clone(),
                at: at(1),
                kind: "label.created".into(),
                subject_id: "lb_2".into(),
                payload: json!({}),
            }),
            Write::InsertLabel(same_name),
        ])
        .await;
    assert!(matches!(result, Err(StoreError::Duplicate { .. })), "{result:?}");
    let names: Vec<String> = t.store.labels(&f.ws).await.unwrap_or_default().into_iter().map(|l| l.name).collect();
    assert_eq!(names, vec!["refund".to_owned()]);
    assert_eq!(t.store.last_event_id().await.ok(), Some(0));
});

contract!(conversations_filter_and_paginate_without_gaps_or_repeats, |t| {
    let f = seed(&t).await;
    let mut writes = vec![];
    for i in 0..25 {
        let mut c = conversation(&f, &format!("conv_{i:03}"), i / 2); // pairs share an instant
        if i % 5 == 0 {
            c.labels = vec!["refund".into()];
        }
        if i % 3 == 0 {
            c.assignee_id = Some(f.user.clone());
        }
        if i % 4 == 0 {
            c.status = ConversationStatus::Resolved;
            c.timeline.awaiting_reply_since = None;
        }
        writes.push(Write::InsertConversation(c));
    }
    t.store.commit(writes).await.unwrap_or_else(|e| panic!("{e}"));

    let mut seen = vec![];
    let mut page = Page::first(7);
    loop {
        let filter = ConversationFilter { workspace_id: f.ws.clone(), ..Default::default() };
        let mut rows = t.store.conversations(&filter, &page).await.unwrap_or_else(|e| panic!("{e}"));
        let more = rows.len() > 7;
        rows.truncate(7);
        page.after = rows.last().map(|c| Cursor::of_conversation(c).encode());
        seen.extend(rows.into_iter().map(|c| c.id));
        if !more {
            break;
        }
    }
    let mut expected: Vec<String> = (0..25).map(|i| format!("conv_{i:03}")).collect();
    expected.reverse();
    assert_eq!(seen, expected, "newest first, ties broken by id, every row exactly once");

    let base = ConversationFilter { workspace_id: f.ws.clone(), ..Default::default() };
    let count = |filter: ConversationFilter| {
        let store = t.store.clone();
        async move { store.conversations(&filter, &Page::first(200)).await.map(|v| v.len()).unwrap_or(999) }
    };
    assert_eq!(count(ConversationFilter { label: Some("refund".into()), ..base.clone() }).await, 5);
    assert_eq!(
        count(ConversationFilter { assignee: Some(AssigneeFilter::User(f.user.clone())), ..base.clone() }).await,
        9
    );
    assert_eq!(count(ConversationFilter { assignee: Some(AssigneeFilter::Nobody), ..base.clone() }).await, 16);
    assert_eq!(count(ConversationFilter { statuses: vec![ConversationStatus::Resolved], ..base.clone() }).await, 7);
    assert_eq!(count(ConversationFilter { needs_reply: true, ..base.clone() }).await, 18);
    assert_eq!(count(ConversationFilter { network: Some(Network::X), ..base.clone() }).await, 25);
    assert_eq!(count(ConversationFilter { network: Some(Network::Vk), ..base.clone() }).await, 0);
    let bad = t.store.conversations(&base, &Page { after: Some("garbage".into()), limit: 5 }).await;
    assert!(matches!(bad, Err(StoreError::BadCursor(_))));
});

contract!(stale_conversation_updates_are_refused, |t| {
    let f = seed(&t).await;
    let c = conversation(&f, "conv_1", 0);
    t.store.commit(vec![Write::InsertConversation(c.clone())]).await.unwrap_or_else(|e| panic!("{e}"));
    let mut first = c.clone();
    first.priority = Priority::High;
    first.version = 2;
    t.store
        .commit(vec![Write::UpdateConversation { conversation: first, expected_version: 1 }])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stale = c.clone();
    stale.priority = Priority::Low;
    stale.version = 2;
    let result = t.store.commit(vec![Write::UpdateConversation { conversation: stale, expected_version: 1 }]).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    let stored = t.store.conversation("conv_1").await.ok().flatten().unwrap_or_else(|| panic!("conversation"));
    assert_eq!((stored.priority, stored.version), (Priority::High, 2));
});

contract!(messages_dedup_on_platform_id_per_channel_and_keep_big_ids_exact, |t| {
    let f = seed(&t).await;
    let other = Channel {
        id: "ch_fb".into(),
        workspace_id: f.ws.clone(),
        network: Network::Facebook,
        name: "Acme".into(),
        handle: "Acme".into(),
        external_id: "123".into(),
        health: ChannelHealth::Ok,
        health_detail: String::new(),
        failure_count: 0,
        health_changed_at: None,
        enabled: true,
        has_credentials: false,
        settings: json!({}),
        created_at: at(0),
        updated_at: at(0),
    };
    t.store
        .commit(vec![
            Write::InsertChannel { channel: other, credentials: None },
            Write::InsertConversation(conversation(&f, "conv_1", 0)),
            Write::InsertMessage(message(&f, "msg_1", "conv_1", "ch_x", Some("1850000000000000777"))),
            Write::InsertMessage(message(&f, "msg_2", "conv_1", "ch_x", None)),
            Write::InsertMessage(message(&f, "msg_3", "conv_1", "ch_x", None)),
        ])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let again = t
        .store
        .commit(vec![Write::InsertMessage(message(&f, "msg_4", "conv_1", "ch_x", Some("1850000000000000777")))])
        .await;
    assert!(matches!(again, Err(StoreError::Duplicate { .. })), "{again:?}");
    t.store
        .commit(vec![Write::InsertMessage(message(&f, "msg_5", "conv_1", "ch_fb", Some("1850000000000000777")))])
        .await
        .unwrap_or_else(|e| panic!("same platform id on another channel is a different message: {e}"));
    let found = t.store.message_by_platform_id("ch_x", "1850000000000000777").await.ok().flatten();
    let found = found.unwrap_or_else(|| panic!("message"));
    assert_eq!(found.id, "msg_1");
    assert_eq!(found.text, "Где мой заказ? 我的订单在哪里");
    assert_eq!(found.sentiment, Some(Sentiment::Negative));
    assert_eq!(found.attachments, vec![json!({"kind": "image", "url": "https://example.com/a.png"})]);
    let all = t.store.messages("conv_1", &Page::first(2)).await.unwrap_or_default();
    assert_eq!(all.len(), 3, "limit + 1 rows tell the caller there is more");
});

contract!(events_are_numbered_in_order_and_the_head_follows_commits, |t| {
    let f = seed(&t).await;
    let mut head = t.store.event_head();
    let before = *head.borrow_and_update();
    let event = |n: i64| {
        Write::Event(NewEvent {
            workspace_id: f.ws.clone(),
            at: at(n),
            kind: "test".into(),
            subject_id: format!("s{n}"),
            payload: json!({"n": n}),
        })
    };
    let done = t.store.commit(vec![event(1), event(2)]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.event_ids.len(), 2);
    assert!(done.event_ids[0] < done.event_ids[1]);
    assert!(head.has_changed().unwrap_or(false));
    assert_eq!(*head.borrow_and_update(), done.event_ids[1]);
    let events = t.store.events_after(&f.ws, before, 100).await.unwrap_or_default();
    let subjects: Vec<String> = events.iter().map(|e| e.subject_id.clone()).collect();
    assert_eq!(subjects, vec!["s1", "s2"]);
    assert_eq!(*events[1].payload, json!({"n": 2}));
    let none = t.store.events_after("ws_other", 0, 100).await.unwrap_or_default();
    assert!(none.is_empty(), "events are per workspace");
});

contract!(concurrent_writers_never_leave_a_reader_behind_a_gap, |t| {
    let f = seed(&t).await;
    let writers = 6;
    let per_writer = 20;
    let mut tasks = vec![];
    for w in 0..writers {
        let store = t.store.clone();
        let ws = f.ws.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..per_writer {
                let e = NewEvent {
                    workspace_id: ws.clone(),
                    at: at(n),
                    kind: "test".into(),
                    subject_id: format!("{w}-{n}"),
                    payload: json!({}),
                };
                store.commit(vec![Write::Event(e)]).await.unwrap_or_else(|e| panic!("{e}"));
            }
        }));
    }
    // A reader that follows by cursor while writers race must see every event.
    let mut cursor = 0;
    let mut seen = HashSet::new();
    let mut rounds = 0;
    while seen.len() < writers * per_writer as usize && rounds < 100_000 {
        rounds += 1;
        for e in t.store.events_after(&f.ws, cursor, 50).await.unwrap_or_default() {
            cursor = e.id.parse().unwrap_or(cursor);
            assert!(seen.insert(e.subject_id.clone()), "event {} seen twice", e.subject_id);
        }
        tokio::task::yield_now().await;
    }
    for task in tasks {
        task.await.unwrap_or_else(|e| panic!("{e}"));
    }
    for e in t.store.events_after(&f.ws, cursor, 1000).await.unwrap_or_default() {
        assert!(seen.insert(e.subject_id.clone()), "event {} seen twice", e.subject_id);
    }
    let all = t.store.events_after(&f.ws, 0, 1000).await.unwrap_or_default();
    assert_eq!(all.len(), writers * per_writer as usize);
    // Whatever the reader saw while following must be exactly what exists.
    assert_eq!(seen.len(), all.len());
});

contract!(the_audit_log_refuses_edits_and_deletes, |t| {
    let f = seed(&t).await;
    t.store
        .commit(vec![Write::Audit(NewAuditEntry {
            workspace_id: f.ws.clone(),
            at: at(1),
            actor_kind: "user".into(),
            actor_id: Some(f.user.clone()),
            action: "conversation.assign".into(),
            subject_type: "conversation".into(),
            subject_id: "conv_1".into(),
            detail: json!({"to": "usr_1"}),
        })])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(t.execute_raw("UPDATE audit_log SET action = 'forged'").await.is_err());
    assert!(t.execute_raw("DELETE FROM audit_log").await.is_err());
    let log = t.store.audit_log(&f.ws, &Page::first(10)).await.unwrap_or_default();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, "conversation.assign");
    assert_eq!(log[0].detail, json!({"to": "usr_1"}));
});

contract!(merging_contacts_moves_identities_and_conversations, |t| {
    let f = seed(&t).await;
    let twin = contact("ct_2", &f.ws, "Maria K", "instagram", "178414", "maria.k");
    let mut conv = conversation(&f, "conv_ig", 0);
    conv.contact_id = "ct_2".into();
    t.store
        .commit(vec![Write::InsertContact(twin), Write::InsertConversation(conv)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let found = t.store.contacts(&f.ws, Some("MARIA.k"), &Page::first(10)).await.unwrap_or_default();
    assert_eq!(found.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), vec!["ct_2"]);
    let wildcard = t.store.contacts(&f.ws, Some("%"), &Page::first(10)).await.unwrap_or_default();
    assert!(wildcard.is_empty(), "LIKE wildcards in the query are literal");

    t.store
        .commit(vec![Write::MergeContacts { into_id: f.contact.clone(), from_id: "ct_2".into(), at: at(5) }])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let merged = t.store.contact(&f.contact).await.ok().flatten().unwrap_or_else(|| panic!("contact"));
    let networks: Vec<Network> = merged.identities.iter().map(|i| i.network).collect();
    assert_eq!(networks, vec![Network::Instagram, Network::X]);
    let moved = t.store.conversation("conv_ig").await.ok().flatten().map(|c| c.contact_id);
    assert_eq!(moved.as_deref(), Some(f.contact.as_str()));
    let listed = t.store.contacts(&f.ws, None, &Page::first(10)).await.unwrap_or_default();
    assert_eq!(listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), vec![f.contact.as_str()]);
    let gone = t.store.contact("ct_2").await.ok().flatten().and_then(|c| c.merged_into_id);
    assert_eq!(gone.as_deref(), Some(f.contact.as_str()));
    let by_platform = t.store.identity(&f.ws, Network::Instagram, "178414").await.ok().flatten().map(|i| i.contact_id);
    assert_eq!(by_platform.as_deref(), Some(f.contact.as_str()));
});

contract!(channel_credentials_stay_sealed_and_survive_updates, |t| {
    let f = seed(&t).await;
    let mut ch = t.store.channel(&f.channel).await.ok().flatten().unwrap_or_else(|| panic!("channel"));
    assert!(ch.has_credentials);
    assert_eq!(ch.external_id, "1850000000000000001");
    ch.health = ChannelHealth::Failing;
    ch.health_detail = "token expired".into();
    t.store
        .commit(vec![Write::UpdateChannel { channel: ch, credentials: None }])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.channel_credentials(&f.channel).await.ok().flatten(), Some(vec![1, 2, 3]));
    let ch = t.store.channel(&f.channel).await.ok().flatten().unwrap_or_else(|| panic!("channel"));
    assert_eq!((ch.health, ch.health_detail.as_str()), (ChannelHealth::Failing, "token expired"));
    assert_eq!(ch.settings, json!({"poll": true}));
});

contract!(teams_keep_members_and_deleting_one_unassigns_its_conversations, |t| {
    let f = seed(&t).await;
    let team = Team {
        id: "tm_1".into(),
        workspace_id: f.ws.clone(),
        name: "Billing".into(),
        description: String::new(),
        member_ids: vec![f.user.clone()],
        created_at: at(0),
    };
    let mut c = conversation(&f, "conv_1", 0);
    c.team_id = Some("tm_1".into());
    t.store.commit(vec![Write::InsertTeam(team), Write::InsertConversation(c)]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.team("tm_1").await.ok().flatten().map(|t| t.member_ids), Some(vec![f.user.clone()]));
    t.store.commit(vec![Write::DeleteTeam { id: "tm_1".into() }]).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(t.store.teams(&f.ws).await.unwrap_or_default().is_empty());
    assert_eq!(t.store.conversation("conv_1").await.ok().flatten().and_then(|c| c.team_id), None);
    let missing = t.store.commit(vec![Write::DeleteTeam { id: "tm_1".into() }]).await;
    assert!(matches!(missing, Err(StoreError::NotFound("team"))));
});

contract!(sessions_and_tokens_round_trip, |t| {
    let f = seed(&t).await;
    let session = SessionRecord {
        id: "hash1".into(),
        user_id: f.user.clone(),
        csrf_token: "csrf".into(),
        user_agent: "test".into(),
        created_at: at(0),
        expires_at: at(100),
    };
    let token = ApiTokenRecord {
        id: "tok_1".into(),
        user_id: f.user.clone(),
        name: "ci".into(),
        token_hash: "th".into(),
        created_at: at(0),
        last_used_at: None,
        revoked_at: None,
    };
    t.store
        .commit(vec![Write::InsertSession(session.clone()), Write::InsertApiToken(token.clone())])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.session("hash1").await.ok().flatten(), Some(session));
    assert_eq!(t.store.api_token_by_hash("th").await.ok().flatten(), Some(token));
    t.store.commit(vec![Write::DeleteExpiredSessions { now: at(100) }]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.session("hash1").await.ok().flatten(), None);
    let wrong_owner =
        t.store.commit(vec![Write::RevokeApiToken { id: "tok_1".into(), user_id: "usr_x".into(), at: at(5) }]).await;
    assert!(matches!(wrong_owner, Err(StoreError::NotFound(_))));
});

contract!(a_threads_root_post_is_kept_per_channel_and_replaced_when_read_again, |t| {
    let f = seed(&t).await;
    assert_eq!(t.store.thread_post(&f.channel, "1853").await.ok().flatten(), None);
    let post = RootPost {
        channel_id: f.channel.clone(),
        post_id: "1853".into(),
        text: "Our store is open <b>now</b>".into(),
        author: Some("@acme".into()),
        posted_at: Some(at(-60)),
        url: Some("https://x.com/acme/status/1853".into()),
        fetched_at: at(1),
    };
    t.store.commit(vec![Write::PutThreadPost(post.clone())]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.thread_post(&f.channel, "1853").await.ok().flatten(), Some(post.clone()));
    let bare = RootPost { text: String::new(), author: None, posted_at: None, url: None, fetched_at: at(2), ..post };
    t.store.commit(vec![Write::PutThreadPost(bare.clone())]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.thread_post(&f.channel, "1853").await.ok().flatten(), Some(bare));
    assert_eq!(t.store.thread_post(&f.channel, "1854").await.ok().flatten(), None);
});

#[tokio::test]
async fn both_schemas_have_the_same_tables_and_columns() {
    let Some(pg) = testing::postgres().await else {
        eprintln!("HARK_TEST_DATABASE_URL not set: schema parity checked only when PostgreSQL is available");
        return;
    };
    let lite = testing::sqlite().await;
    let lite_store = hark_store::sqlite::SqliteStore::open_url(&lite.url).await.unwrap_or_else(|e| panic!("{e}"));
    let pg_store = hark_store::postgres::PgStore::connect(&pg.url, 2).await.unwrap_or_else(|e| panic!("{e}"));
    // Declared types differ by dialect; compare what they mean.
    fn class(declared: &str) -> &'static str {
        match declared.to_ascii_lowercase().as_str() {
            "text" => "text",
            "bigint" | "integer" => "integer",
            "boolean" => "boolean",
            "blob" | "bytea" => "bytes",
            _ => "other",
        }
    }
    let norm = |cols: Vec<(String, String, String)>| -> Vec<(String, String, &'static str)> {
        let mut v: Vec<_> = cols.into_iter().map(|(t, c, ty)| (t, c, class(&ty))).collect();
        v.sort();
        v
    };
    let lite_cols = norm(lite_store.columns().await.unwrap_or_default());
    let pg_cols = norm(pg_store.columns().await.unwrap_or_default());
    assert!(lite_cols.len() > 100, "introspection found too little: {}", lite_cols.len());
    assert!(!lite_cols.iter().any(|c| c.2 == "other"), "unmapped SQLite type in {lite_cols:?}");
    assert_eq!(lite_cols, pg_cols);
    assert_eq!(
        hark_store::sqlite::SqliteStore::migrations().iter().map(|m| m.0).collect::<Vec<_>>(),
        hark_store::postgres::PgStore::migrations().iter().map(|m| m.0).collect::<Vec<_>>(),
        "both backends have the same migration versions"
    );
}

fn raw(channel: &str, key: &str) -> NewRawEvent {
    NewRawEvent { channel_id: channel.into(), dedup_key: key.into(), received_at: at(1), payload: json!({"key": key}) }
}

contract!(raw_events_are_stored_once_per_channel_and_key, |t| {
    let f = seed(&t).await;
    let n = t
        .store
        .append_raw_events(vec![raw(&f.channel, "tweet:1"), raw(&f.channel, "tweet:2"), raw(&f.channel, "tweet:1")])
        .await;
    assert_eq!(n.ok(), Some(vec![true, true, false]));
    let again = t.store.append_raw_events(vec![raw(&f.channel, "tweet:2"), raw(&f.channel, "tweet:3")]).await;
    assert_eq!(again.ok(), Some(vec![false, true]), "a redelivery adds nothing");
    let counts = t.store.raw_event_counts().await.unwrap_or_default();
    assert_eq!(counts, RawEventCounts { pending: 3, done: 0, failed: 0 });
});

contract!(claims_lease_events_until_finished_or_expired, |t| {
    let f = seed(&t).await;
    t.store
        .append_raw_events((0..5).map(|i| raw(&f.channel, &format!("k{i}"))).collect())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let first = t.store.claim_raw_events(at(10), 30_000, 3).await.unwrap_or_default();
    assert_eq!(first.iter().map(|e| e.dedup_key.as_str()).collect::<Vec<_>>(), vec!["k0", "k1", "k2"]);
    assert_eq!(first[0].payload, json!({"key": "k0"}));
    assert_eq!(first[0].attempts, 1);
    let second = t.store.claim_raw_events(at(11), 30_000, 10).await.unwrap_or_default();
    assert_eq!(
        second.iter().map(|e| e.dedup_key.as_str()).collect::<Vec<_>>(),
        vec!["k3", "k4"],
        "leased rows are not claimed twice"
    );
    t.store.commit(vec![Write::FinishRawEvent { id: first[0].id, at: at(12) }]).await.unwrap_or_else(|e| panic!("{e}"));
    t.store
        .commit(vec![Write::FailRawEvent { id: first[1].id, error: "boom".into(), retry_at: None }])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // After the lease runs out, unfinished work is handed out again.
    let later = t.store.claim_raw_events(at(100), 30_000, 10).await.unwrap_or_default();
    let keys: Vec<&str> = later.iter().map(|e| e.dedup_key.as_str()).collect();
    assert_eq!(keys, vec!["k2", "k3", "k4"]);
    assert_eq!(later[0].attempts, 2);
    assert_eq!(t.store.raw_event_counts().await.ok(), Some(RawEventCounts { pending: 3, done: 1, failed: 1 }));
});

contract!(an_event_is_marked_done_only_with_what_it_became, |t| {
    let f = seed(&t).await;
    t.store.append_raw_events(vec![raw(&f.channel, "m:1")]).await.unwrap_or_else(|e| panic!("{e}"));
    let claimed = t.store.claim_raw_events(at(10), 1000, 10).await.unwrap_or_default();
    let label = |id: &str, name: &str| Label {
        id: id.into(),
        workspace_id: f.ws.clone(),
        name: name.into(),
        color: "#000000".into(),
        description: String::new(),
    };
    // What the event became cannot be stored: the event stays pending.
    let failed = t
        .store
        .commit(vec![
            Write::InsertLabel(label("lb_9", "refund")),
            Write::FinishRawEvent { id: claimed[0].id, at: at(11) },
        ])
        .await;
    assert!(matches!(failed, Err(StoreError::Duplicate { .. })), "{failed:?}");
    assert_eq!(t.store.raw_event_counts().await.ok(), Some(RawEventCounts { pending: 1, done: 0, failed: 0 }));
    t.store
        .commit(vec![
            Write::InsertLabel(label("lb_9", "billing")),
            Write::FinishRawEvent { id: claimed[0].id, at: at(12) },
        ])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.raw_event_counts().await.ok(), Some(RawEventCounts { pending: 0, done: 1, failed: 0 }));
    assert_eq!(t.store.labels(&f.ws).await.unwrap_or_default().len(), 2);
});

contract!(purging_forgets_only_old_ingested_events, |t| {
    let f = seed(&t).await;
    t.store
        .append_raw_events(vec![raw(&f.channel, "old"), raw(&f.channel, "new"), raw(&f.channel, "waiting")])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let claimed = t.store.claim_raw_events(at(10), 1000, 10).await.unwrap_or_default();
    t.store
        .commit(vec![
            Write::FinishRawEvent { id: claimed[0].id, at: at(20) },
            Write::FinishRawEvent { id: claimed[1].id, at: at(200) },
        ])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    t.store.commit(vec![Write::PurgeRawEvents { done_before: at(100) }]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.raw_event_counts().await.ok(), Some(RawEventCounts { pending: 1, done: 1, failed: 0 }));
    // A purged key is new again: purge only past every network's redelivery window.
    assert_eq!(t.store.append_raw_events(vec![raw(&f.channel, "old")]).await.ok(), Some(vec![true]));
});

contract!(concurrent_claimers_never_share_an_event, |t| {
    let f = seed(&t).await;
    t.store
        .append_raw_events((0..60).map(|i| raw(&f.channel, &format!("c{i}"))).collect())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tasks = vec![];
    for _ in 0..4 {
        let store = t.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = vec![];
            loop {
                let batch = store.claim_raw_events(at(10), 60_000, 7).await.unwrap_or_else(|e| panic!("{e}"));
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|e| e.id));
            }
        }));
    }
    let mut all = vec![];
    for task in tasks {
        all.extend(task.await.unwrap_or_default());
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 60);
    assert_eq!(distinct.len(), 60, "an event was claimed twice");
});

contract!(outbox_items_are_claimed_when_due_and_rescheduled, |t| {
    let f = seed(&t).await;
    let item = |kind: &str, due: i64| {
        Write::Outbox(NewOutboxItem {
            workspace_id: f.ws.clone(),
            kind: kind.into(),
            subject_id: format!("msg_{kind}_{due}"),
            payload: json!({}),
            due_at: at(due),
        })
    };
    t.store
        .commit(vec![item("publish", 0), item("publish", 50), item("webhook", 0)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let now = t.store.claim_outbox("publish", at(10), 60_000, 10).await.unwrap_or_default();
    assert_eq!(now.iter().map(|i| i.subject_id.as_str()).collect::<Vec<_>>(), vec!["msg_publish_0"]);
    t.store
        .commit(vec![
            Write::RescheduleOutbox { id: now[0].id, due_at: at(40), error: "429".into() },
            Write::RecordDeliveryAttempt(DeliveryAttempt {
                outbox_id: now[0].id,
                subject_id: "msg_publish_0".into(),
                at: at(10),
                outcome: "retry".into(),
                detail: "429".into(),
            }),
        ])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(t.store.claim_outbox("publish", at(20), 60_000, 10).await.unwrap_or_default().is_empty());
    let due = t.store.claim_outbox("publish", at(60), 60_000, 10).await.unwrap_or_default();
    assert_eq!(due.len(), 2);
    assert_eq!(due[0].attempts, 2);
    for i in &due {
        t.store.commit(vec![Write::FinishOutbox { id: i.id, at: at(61) }]).await.unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(t.store.open_outbox_count("publish").await.ok(), Some(0));
    assert_eq!(t.store.open_outbox_count("webhook").await.ok(), Some(1));
    let attempts = t.store.delivery_attempts("msg_publish_0").await.unwrap_or_default();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, "retry");
});

contract!(poll_cursors_and_channel_health_are_kept, |t| {
    let f = seed(&t).await;
    assert_eq!(t.store.poll_cursor(&f.channel, "mentions").await.ok(), Some(None));
    for cursor in ["100", "200"] {
        let w = Write::SetPollCursor {
            channel_id: f.channel.clone(),
            source: "mentions".into(),
            cursor: cursor.into(),
            at: at(1),
        };
        t.store.commit(vec![w]).await.unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(t.store.poll_cursor(&f.channel, "mentions").await.ok().flatten().as_deref(), Some("200"));
    let w = Write::UpdateChannelHealth {
        channel_id: f.channel.clone(),
        health: ChannelHealth::Failing,
        detail: "token expired".into(),
        failure_count: 1,
        at: at(5),
    };
    t.store.commit(vec![w]).await.unwrap_or_else(|e| panic!("{e}"));
    let ch = t.store.channel(&f.channel).await.ok().flatten().unwrap_or_else(|| panic!("channel"));
    assert_eq!((ch.health, ch.failure_count, ch.health_changed_at), (ChannelHealth::Failing, 1, Some(at(5))));
    let w = Write::UpdateChannelHealth {
        channel_id: f.channel.clone(),
        health: ChannelHealth::Failing,
        detail: "token expired".into(),
        failure_count: 2,
        at: at(9),
    };
    t.store.commit(vec![w]).await.unwrap_or_else(|e| panic!("{e}"));
    let ch = t.store.channel(&f.channel).await.ok().flatten().unwrap_or_else(|| panic!("channel"));
    assert_eq!(ch.health_changed_at, Some(at(5)), "the health did not change, so neither does its time");
});

contract!(inbox_lists_count_sort_by_waiting_and_hide_merged_conversations, |t| {
    let f = seed(&t).await;
    let mut writes = vec![];
    for (n, waiting) in [(1, Some(50)), (2, None), (3, Some(20)), (4, Some(80))] {
        let mut c = conversation(&f, &format!("conv_w{n}"), 100 + n);
        c.timeline.awaiting_reply_since = waiting.map(at);
        writes.push(Write::InsertConversation(c));
    }
    let mut merged = conversation(&f, "conv_w5", 200);
    merged.merged_into_id = Some("conv_w1".into());
    writes.push(Write::InsertConversation(merged));
    t.store.commit(writes).await.unwrap_or_else(|e| panic!("{e}"));
    let all = ConversationFilter { workspace_id: f.ws.clone(), ..Default::default() };
    let ids = |list: Vec<Conversation>| list.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let by_activity = t.store.conversations(&all, &Page::first(10)).await.unwrap_or_default();
    assert_eq!(ids(by_activity), vec!["conv_w4", "conv_w3", "conv_w2", "conv_w1"], "merged ones are hidden");
    let waiting = ConversationFilter { sort: ConversationSort::Waiting, ..all.clone() };
    let first = t.store.conversations(&waiting, &Page::first(2)).await.unwrap_or_default();
    assert_eq!(ids(first.clone()), vec!["conv_w3", "conv_w1", "conv_w4"], "longest wait first (limit + 1 rows)");
    let cursor = Cursor::of_conversation_in(&first[1], ConversationSort::Waiting).encode();
    let next = t.store.conversations(&waiting, &Page { after: Some(cursor), limit: 2 }).await.unwrap_or_default();
    assert_eq!(ids(next), vec!["conv_w4", "conv_w2"], "not waiting comes last");
    assert_eq!(t.store.count_conversations(&all, 100).await.ok(), Some(4));
    assert_eq!(t.store.count_conversations(&all, 2).await.ok(), Some(2), "counting stops at the cap");
    let with_merged = ConversationFilter { include_merged: true, ..all.clone() };
    assert_eq!(t.store.count_conversations(&with_merged, 100).await.ok(), Some(5));
    let picked = ConversationFilter { ids: Some(vec!["conv_w2".into(), "conv_w4".into()]), ..all.clone() };
    assert_eq!(
        ids(t.store.conversations(&picked, &Page::first(10)).await.unwrap_or_default()),
        vec!["conv_w4", "conv_w2"]
    );
    let none = ConversationFilter { ids: Some(vec![]), ..all.clone() };
    assert!(t.store.conversations(&none, &Page::first(10)).await.unwrap_or_default().is_empty());
    let recent = ConversationFilter { active_since: Some(at(103)), ..all };
    assert_eq!(
        ids(t.store.conversations(&recent, &Page::first(10)).await.unwrap_or_default()),
        vec!["conv_w4", "conv_w3"]
    );
});

contract!(merging_moves_messages_and_recent_messages_come_oldest_first, |t| {
    let f = seed(&t).await;
    let mut writes = vec![
        Write::InsertConversation(conversation(&f, "conv_a", 10)),
        Write::InsertConversation(conversation(&f, "conv_b", 20)),
    ];
    for n in 0..5 {
        let mut m = message(&f, &format!("msg_b{n}"), "conv_b", &f.channel, Some(&format!("p{n}")));
        m.created_at = at(n);
        writes.push(Write::InsertMessage(m));
    }
    t.store.commit(writes).await.unwrap_or_else(|e| panic!("{e}"));
    let recent = t.store.recent_messages("conv_b", 3).await.unwrap_or_default();
    assert_eq!(recent.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), vec!["msg_b2", "msg_b3", "msg_b4"]);
    t.store
        .commit(vec![Write::MoveMessages { from_id: "conv_b".into(), into_id: "conv_a".into() }])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.recent_messages("conv_a", 10).await.unwrap_or_default().len(), 5);
    assert!(t.store.recent_messages("conv_b", 10).await.unwrap_or_default().is_empty());
    let mut linked = t.store.conversation("conv_a").await.ok().flatten().unwrap_or_else(|| panic!("conv_a"));
    linked.linked_conversation_id = Some("conv_b".into());
    linked.version += 1;
    t.store
        .commit(vec![Write::UpdateConversation { conversation: linked.clone(), expected_version: 1 }])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let read = t.store.conversation("conv_a").await.ok().flatten();
    assert_eq!(read.and_then(|c| c.linked_conversation_id).as_deref(), Some("conv_b"));
    let contacts = t.store.contacts_by_ids(&[f.contact.clone(), "ct_missing".into()]).await.unwrap_or_default();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].identities.len(), 1);
});

contract!(snippets_views_and_attributes_are_kept_per_workspace, |t| {
    let f = seed(&t).await;
    let snippet = Snippet {
        id: "snp_1".into(),
        workspace_id: f.ws.clone(),
        name: "Refund status".into(),
        text: "Hi {{contact.first_name}}".into(),
        created_by: Some(f.user.clone()),
        created_at: at(1),
        updated_at: at(1),
    };
    let mine = SavedView {
        id: "view_1".into(),
        workspace_id: f.ws.clone(),
        user_id: Some(f.user.clone()),
        name: "My negatives".into(),
        filters: ViewFilters { sentiment: Some(Sentiment::Negative), needs_reply: true, ..Default::default() },
        created_at: at(1),
    };
    let shared = SavedView { id: "view_2".into(), user_id: None, name: "All X".into(), ..mine.clone() };
    let attr = AttributeDefinition {
        id: "attr_1".into(),
        workspace_id: f.ws.clone(),
        scope: AttributeScope::Contact,
        key: "plan".into(),
        label: "Plan".into(),
        kind: AttributeKind::List,
        options: vec!["Gold".into(), "Silver".into()],
        created_at: at(1),
    };
    t.store
        .commit(vec![
            Write::InsertSnippet(snippet.clone()),
            Write::InsertSavedView(mine.clone()),
            Write::InsertSavedView(shared.clone()),
            Write::InsertAttributeDefinition(attr.clone()),
        ])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.snippets(&f.ws).await.unwrap_or_default(), vec![snippet.clone()]);
    let dup = Snippet { id: "snp_2".into(), ..snippet.clone() };
    assert!(matches!(t.store.commit(vec![Write::InsertSnippet(dup)]).await, Err(StoreError::Duplicate { .. })));
    let views = t.store.saved_views(&f.ws, &f.user).await.unwrap_or_default();
    assert_eq!(views.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), vec!["All X", "My negatives"]);
    assert_eq!(views[1].filters, mine.filters);
    assert_eq!(t.store.saved_views(&f.ws, "usr_other").await.unwrap_or_default().len(), 1, "only the shared one");
    assert_eq!(t.store.attribute_definitions(&f.ws).await.unwrap_or_default(), vec![attr]);
    let edited = Snippet { text: "Hello".into(), updated_at: at(2), ..snippet };
    t.store
        .commit(vec![Write::UpdateSnippet(edited.clone()), Write::DeleteSavedView { id: "view_2".into() }])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.snippet("snp_1").await.ok().flatten(), Some(edited));
    assert_eq!(t.store.saved_views(&f.ws, &f.user).await.unwrap_or_default().len(), 1);
    assert!(matches!(
        t.store.commit(vec![Write::DeleteSnippet { id: "snp_missing".into() }]).await,
        Err(StoreError::NotFound(_))
    ));
    let hours = BusinessHoursRecord {
        id: "bh_1".into(),
        workspace_id: f.ws.clone(),
        team_id: None,
        name: "Office".into(),
        config: json!({"time_zone": "Europe/Athens"}),
        updated_at: at(3),
    };
    t.store.commit(vec![Write::PutBusinessHours(hours.clone())]).await.unwrap_or_else(|e| panic!("{e}"));
    let renamed = BusinessHoursRecord { name: "Head office".into(), ..hours };
    t.store.commit(vec![Write::PutBusinessHours(renamed.clone())]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.business_hours(&f.ws).await.unwrap_or_default(), vec![renamed]);
});

contract!(notifications_and_presence_follow_their_people, |t| {
    let f = seed(&t).await;
    t.store
        .commit(vec![Write::InsertConversation(conversation(&f, "conv_p", 1))])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let note = |id: &str, s: i64| Notification {
        id: id.into(),
        workspace_id: f.ws.clone(),
        user_id: f.user.clone(),
        kind: "mention".into(),
        conversation_id: Some("conv_p".into()),
        message_id: None,
        actor_id: None,
        text: "Ada, look".into(),
        created_at: at(s),
        read_at: None,
    };
    t.store
        .commit(vec![Write::InsertNotification(note("ntf_1", 1)), Write::InsertNotification(note("ntf_2", 2))])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.unread_notification_count(&f.user).await.ok(), Some(2));
    let listed = t.store.notifications(&f.user, true, &Page::first(10)).await.unwrap_or_default();
    assert_eq!(listed.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), vec!["ntf_2", "ntf_1"]);
    let read = Write::MarkNotificationsRead { user_id: f.user.clone(), ids: Some(vec!["ntf_1".into()]), at: at(5) };
    t.store.commit(vec![read]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.unread_notification_count(&f.user).await.ok(), Some(1));
    let stranger = Write::MarkNotificationsRead { user_id: "usr_other".into(), ids: None, at: at(6) };
    t.store.commit(vec![stranger]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.store.unread_notification_count(&f.user).await.ok(), Some(1), "only one's own are marked");

    let put = |state: PresenceState, s: i64| Write::PutPresence {
        conversation_id: "conv_p".into(),
        user_id: f.user.clone(),
        state,
        at: at(s),
        expires_at: at(s + 30),
    };
    t.store.commit(vec![put(PresenceState::Viewing, 10)]).await.unwrap_or_else(|e| panic!("{e}"));
    t.store.commit(vec![put(PresenceState::Typing, 12)]).await.unwrap_or_else(|e| panic!("{e}"));
    let here = t.store.presence("conv_p", at(20)).await.unwrap_or_default();
    assert_eq!(here.len(), 1);
    assert_eq!((here[0].state, here[0].user_name.as_str()), (PresenceState::Typing, "Ada"));
    assert!(t.store.presence("conv_p", at(42)).await.unwrap_or_default().is_empty(), "expired");
    t.store.commit(vec![Write::DeleteExpiredPresence { now: at(50) }]).await.unwrap_or_else(|e| panic!("{e}"));
    t.store.commit(vec![put(PresenceState::Viewing, 60)]).await.unwrap_or_else(|e| panic!("{e}"));
    let gone = Write::DeletePresence { conversation_id: "conv_p".into(), user_id: f.user.clone() };
    t.store.commit(vec![gone]).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(t.store.presence("conv_p", at(61)).await.unwrap_or_default().is_empty());
    let away = Write::SetUserAvailability { user_id: f.user.clone(), availability: Availability::Away, at: at(70) };
    t.store.commit(vec![away]).await.unwrap_or_else(|e| panic!("{e}"));
    let user = t.store.user(&f.user).await.ok().flatten().unwrap_or_else(|| panic!("user"));
    assert_eq!(user.availability, Availability::Away);
});

contract!(a_follower_is_held_by_one_node_and_moves_only_with_its_lease, |t| {
    let f = seed(&t).await;
    assert_eq!(t.store.claim_follower("sla", "node-a", at(0), 30_000, 0).await.ok(), Some(Some(0)));
    assert_eq!(t.store.claim_follower("sla", "node-b", at(10), 30_000, 0).await.ok(), Some(None), "a's lease runs");
    let advance = |holder: &str, position: i64| Write::AdvanceFollower {
        name: "sla".into(),
        holder: holder.into(),
        position,
        at: at(11),
    };
    // Effects and position commit together: a stale holder's batch is refused whole.
    let label = Label {
        id: "lbl_f".into(),
        workspace_id: f.ws.clone(),
        name: "f".into(),
        color: "#000000".into(),
        description: String::new(),
    };
    let refused = t.store.commit(vec![Write::InsertLabel(label.clone()), advance("node-b", 5)]).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))));
    assert!(t.store.label("lbl_f").await.ok().flatten().is_none(), "nothing of the refused batch was kept");
    t.store.commit(vec![Write::InsertLabel(label), advance("node-a", 5)]).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(t.store.commit(vec![advance("node-a", 5)]).await, Err(StoreError::Conflict(_))), "no going back");
    // When a's lease has run out, b takes over where a stopped.
    assert_eq!(t.store.claim_follower("sla", "node-b", at(31), 30_000, 0).await.ok(), Some(Some(5)));
    assert!(matches!(t.store.commit(vec![advance("node-a", 9)]).await, Err(StoreError::Conflict(_))));
    assert_eq!(t.store.claim_follower("reports", "node-b", at(31), 30_000, 42).await.ok(), Some(Some(42)));
});
