//! The storage contract of automation (rules, rule runs, assignment slots,
//! publish policies, corrections), on SQLite and, when
//! HARK_TEST_DATABASE_URL is set, PostgreSQL.

use std::sync::Arc;

use hark_domain::assignment::AgentProfile;
use hark_domain::permissions::PublishPolicy;
use hark_domain::rules::*;
use hark_domain::*;
use hark_store::testing::{self, TestStore};
use hark_store::*;
use jiff::Timestamp;
use serde_json::json;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn user(id: &str) -> User {
    User {
        id: id.into(),
        workspace_id: "ws_1".into(),
        email: format!("{id}@example.com"),
        name: id.into(),
        role: Role::Agent,
        locale: "en".into(),
        active: true,
        availability: Availability::Online,
        created_at: at(0),
        updated_at: at(0),
    }
}

fn conversation(id: &str) -> Conversation {
    Conversation {
        id: id.into(),
        workspace_id: "ws_1".into(),
        channel_id: "ch_x".into(),
        contact_id: "ct_1".into(),
        kind: ConversationKind::Public,
        status: ConversationStatus::Open,
        priority: Priority::Normal,
        assignee_id: None,
        team_id: None,
        labels: vec![],
        custom_attributes: Default::default(),
        platform_thread_id: None,
        subject: String::new(),
        last_message_preview: String::new(),
        language: None,
        sentiment: None,
        intent: None,
        snoozed_until: None,
        timeline: ConversationTimeline { last_activity_at: at(10), ..Default::default() },
        linked_conversation_id: None,
        merged_into_id: None,
        created_at: at(0),
        updated_at: at(0),
        version: 1,
    }
}

async fn seed(t: &TestStore, conversations: &[&str]) {
    let mut writes = vec![
        Write::InsertWorkspace(Workspace {
            id: "ws_1".into(),
            name: "Acme".into(),
            time_zone: "UTC".into(),
            created_at: at(0),
        }),
        Write::InsertUser { user: user("usr_a"), password_hash: "x".into() },
        Write::InsertUser { user: user("usr_b"), password_hash: "x".into() },
        Write::InsertChannel {
            channel: Channel {
                id: "ch_x".into(),
                workspace_id: "ws_1".into(),
                network: Network::X,
                name: "X".into(),
                handle: "@acme".into(),
                external_id: "1".into(),
                health: ChannelHealth::Ok,
                health_detail: String::new(),
                failure_count: 0,
                health_changed_at: None,
                enabled: true,
                has_credentials: false,
                settings: json!({}),
                created_at: at(0),
                updated_at: at(0),
            },
            credentials: None,
        },
        Write::InsertContact(Contact {
            id: "ct_1".into(),
            workspace_id: "ws_1".into(),
            display_name: "Dana".into(),
            email: None,
            phone: None,
            notes: String::new(),
            custom_attributes: Default::default(),
            merged_into_id: None,
            identities: vec![],
            created_at: at(0),
            updated_at: at(0),
        }),
    ];
    for id in conversations {
        writes.push(Write::InsertConversation(conversation(id)));
    }
    t.store.commit(writes).await.unwrap_or_else(|e| panic!("seed: {e}"));
}

fn rule(id: &str, position: i64) -> Rule {
    Rule {
        id: id.into(),
        workspace_id: "ws_1".into(),
        name: format!("rule {id}"),
        enabled: true,
        position,
        definition: RuleDefinition {
            trigger: Trigger::MessageReceived,
            conditions: Conditions::default(),
            actions: vec![RuleAction::SetPriority { priority: Priority::High }],
            stop: false,
            reply_to_negative: false,
        },
        created_by: None,
        created_at: at(1),
        updated_at: at(1),
    }
}

fn run(id: &str, rule_id: &str, key: &str) -> RuleRun {
    RuleRun {
        id: id.into(),
        workspace_id: "ws_1".into(),
        rule_id: rule_id.into(),
        rule_name: "r".into(),
        conversation_id: "conv_1".into(),
        event_key: key.into(),
        trigger: "message_received".into(),
        status: "running".into(),
        actions: vec![],
        at: at(20),
    }
}

fn auto(w: AutomationWrite) -> Write {
    Write::Automation(w)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_come_back_in_order_and_each_runs_once_per_event() {
    for t in testing::all().await {
        seed(&t, &["conv_1"]).await;
        let s = &t.store;
        s.commit(vec![
            auto(AutomationWrite::InsertRule(rule("rule_b", 20))),
            auto(AutomationWrite::InsertRule(rule("rule_a", 10))),
        ])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<String> = s.rules("ws_1").await.unwrap_or_default().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["rule_a", "rule_b"], "{}", t.name);
        let mut changed = rule("rule_b", 5);
        changed.enabled = false;
        s.commit(vec![auto(AutomationWrite::UpdateRule(changed.clone()))]).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.rule("rule_b").await.ok().flatten(), Some(changed));

        s.commit(vec![auto(AutomationWrite::InsertRuleRun(run("run_1", "rule_a", "evt:7")))])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let again = s.commit(vec![auto(AutomationWrite::InsertRuleRun(run("run_2", "rule_a", "evt:7")))]).await;
        assert!(matches!(again, Err(StoreError::Duplicate { .. })), "{}: {again:?}", t.name);
        let outcome = vec![ActionOutcome::done("set_priority", "high")];
        s.commit(vec![auto(AutomationWrite::FinishRuleRun { id: "run_1".into(), actions: outcome.clone() })])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let runs = s.rule_runs("conv_1").await.unwrap_or_default();
        assert_eq!(runs.len(), 1);
        assert_eq!((runs[0].status.as_str(), runs[0].actions.clone()), ("done", outcome));
        let missing = s.commit(vec![auto(AutomationWrite::DeleteRule { id: "nope".into() })]).await;
        assert!(matches!(missing, Err(StoreError::NotFound(_))));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_commits_cannot_both_take_an_agents_last_slot() {
    for t in testing::all().await {
        seed(&t, &["conv_1", "conv_2", "conv_3"]).await;
        let store = t.store.clone();
        let assign = |store: Arc<dyn Store>, id: &'static str| async move {
            let mut c = conversation(id);
            c.assignee_id = Some("usr_a".into());
            c.version = 2;
            store
                .commit(vec![
                    auto(AutomationWrite::ReserveAgentSlot { user_id: "usr_a".into(), capacity: 2 }),
                    Write::UpdateConversation { conversation: c, expected_version: 1 },
                ])
                .await
        };
        assign(store.clone(), "conv_1").await.unwrap_or_else(|e| panic!("{e}"));
        // One slot left and two nodes asking for it at once.
        let (a, b) =
            tokio::join!(tokio::spawn(assign(store.clone(), "conv_2")), tokio::spawn(assign(store.clone(), "conv_3")));
        let outcomes = [a.ok().map(|r| r.is_ok()), b.ok().map(|r| r.is_ok())];
        assert_eq!(outcomes.iter().filter(|o| **o == Some(true)).count(), 1, "{}: {outcomes:?}", t.name);
        let load = store.assigned_load("ws_1").await.unwrap_or_default();
        assert_eq!(load, vec![("usr_a".to_owned(), 2)], "{}", t.name);
        assert_eq!(store.open_assigned("usr_a", 10).await.unwrap_or_default().len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_policies_holds_and_corrections_round_trip() {
    for t in testing::all().await {
        seed(&t, &["conv_1"]).await;
        let s = &t.store;
        let profile =
            AgentProfile { user_id: "usr_a".into(), languages: vec!["ru".into(), "en".into()], capacity: Some(4) };
        let policy = PublishPolicy { publish_roles: vec![Role::Owner, Role::Supervisor] };
        let correction = |value: &str, by: &str| Correction {
            message_id: "msg_1".into(),
            workspace_id: "ws_1".into(),
            field: "intent".into(),
            text: "where is my bag".into(),
            old_value: Some("other".into()),
            new_value: value.into(),
            corrected_by: by.into(),
            corrected_at: at(30),
        };
        s.commit(vec![
            auto(AutomationWrite::PutAgentProfile { workspace_id: "ws_1".into(), profile: profile.clone(), at: at(1) }),
            auto(AutomationWrite::SetAssignmentCursor {
                team_id: "team_1".into(),
                last_user_id: "usr_b".into(),
                at: at(1),
            }),
            auto(AutomationWrite::PutPublishPolicy {
                workspace_id: "ws_1".into(),
                channel_id: "ch_x".into(),
                policy: policy.clone(),
                at: at(1),
            }),
            auto(AutomationWrite::PutApprovalHold {
                workspace_id: "ws_1".into(),
                conversation_id: "conv_1".into(),
                reason: "rule: bank secrecy".into(),
                at: at(1),
            }),
            auto(AutomationWrite::PutCorrection(correction("question", "usr_a"))),
            auto(AutomationWrite::PutCorrection(correction("order_delivery", "usr_b"))),
            auto(AutomationWrite::PutRuleWatch(hark_store::NewRuleWatch {
                conversation_id: "conv_1".into(),
                status: ConversationStatus::Pending,
                assignee_id: Some("usr_a".into()),
                at: at(2),
            })),
        ])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.agent_profiles("ws_1").await.unwrap_or_default(), vec![profile]);
        assert_eq!(s.assignment_cursor("team_1").await.ok().flatten().as_deref(), Some("usr_b"));
        assert_eq!(s.publish_policy("ch_x").await.ok().flatten(), Some(policy));
        assert_eq!(s.approval_hold("conv_1").await.ok().flatten().as_deref(), Some("rule: bank secrecy"));
        let corrections = s.corrections("ws_1", "intent").await.unwrap_or_default();
        assert_eq!(corrections, vec![correction("order_delivery", "usr_b")], "the latest correction wins");
        let ids = ["conv_1".to_owned(), "conv_unwatched".to_owned()];
        let watches = s.rule_watches(&ids).await.unwrap_or_default();
        let expected = RuleWatch { status: ConversationStatus::Pending, assignee_id: Some("usr_a".into()) };
        assert_eq!(watches.get("conv_1"), Some(&expected));
        assert_eq!(watches.len(), 1, "a conversation never watched has no entry: {watches:?}");
        s.commit(vec![
            auto(AutomationWrite::DeleteApprovalHold { conversation_id: "conv_1".into() }),
            auto(AutomationWrite::DeletePublishPolicy { channel_id: "ch_x".into() }),
        ])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.approval_hold("conv_1").await.ok().flatten(), None);
        assert_eq!(s.publish_policy("ch_x").await.ok().flatten(), None);
        let quiet = s.quiet_conversations("ws_1", at(0), at(11), 10).await.unwrap_or_default();
        assert_eq!(quiet, vec!["conv_1".to_owned()]);
        assert!(s.quiet_conversations("ws_1", at(11), at(20), 10).await.unwrap_or_default().is_empty());
    }
}
