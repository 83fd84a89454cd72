//! Automation end to end: the platform sandbox plays the customers over real
//! HTTP against a Hark server in this process; ingestion, the rules
//! follower, the automation outbox and publishing are driven one step at a
//! time. Rules as an admin writes them, approvals, and round-robin
//! assignment, checked by what the networks received and what Hark stored.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use hark_app::intake::Intake;
use hark_app::{
    Actor, ActorVia, AgentProfileInput, App, ChannelCreate, CredentialSealer, NewMessage, ReviewInput, RuleInput,
    SnippetInput, TeamInput, UserCreate,
};
use hark_domain::*;
use hark_jobs::follow::{EventHandler, follow_once};
use hark_jobs::rules::RulesFollower;
use hark_jobs::{WorkerConfig, Workers};
use hark_sandbox::{Account, Customer, CustomerAction, PublishedKind, Sandbox, SandboxConfig, SimNetwork};
use hark_store::Page;
use hark_store::testing::{self, TestStore};
use hark_web::{WebConfig, WebState};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

struct Rig {
    sandbox: Sandbox,
    app: App,
    workers: Workers,
    admin: Actor,
    channels: BTreeMap<SimNetwork, Channel>,
    _store: TestStore,
    shutdown: CancellationToken,
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.sandbox.stop();
    }
}

fn credentials(network: SimNetwork) -> Map<String, Value> {
    let value = match network {
        SimNetwork::X => json!({
            "consumer_key": "simConsumerKey", "consumer_secret": "sim_consumer_secret_0123456789",
            "access_token": "1580000000000000001-simAccessToken", "access_token_secret": "simAccessTokenSecret",
            "bearer_token": "sim-bearer"
        }),
        _ => json!({
            "app_id": "555000111", "app_secret": "sim_app_secret_abcdef", "verify_token": "sim-verify", "access_token": "EAAsimtoken"
        }),
    };
    value.as_object().cloned().unwrap_or_default()
}

fn external_id(network: SimNetwork) -> &'static str {
    match network {
        SimNetwork::X => "1580000000000000001",
        SimNetwork::Facebook => "104000000000001",
        _ => "17841400000000001",
    }
}

fn network_of(network: SimNetwork) -> Network {
    match network {
        SimNetwork::X => Network::X,
        SimNetwork::Facebook => Network::Facebook,
        _ => Network::Instagram,
    }
}

/// X, Facebook and Instagram connected to the sandbox; an owner as admin.
async fn rig(store: TestStore) -> Rig {
    hark_channels::http::install_crypto_provider();
    let sandbox = Sandbox::start(SandboxConfig { auto_redeliver: false, ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("sandbox: {e}"));
    let app = App::new(store.store.clone(), CredentialSealer::new(&[9u8; 32]));
    let intake = Intake::start(app.store.clone());
    let http =
        reqwest::Client::builder().timeout(Duration::from_millis(3000)).build().unwrap_or_else(|e| panic!("{e}"));
    let config = WorkerConfig {
        retry_base: Duration::ZERO,
        retry_after_cap: Duration::ZERO,
        lease: Duration::from_secs(30),
        // The test's Slack and webhook receivers listen on loopback.
        allow_private_hooks: true,
        ..Default::default()
    };
    let workers = Workers::new(app.clone(), http, intake.clone(), config);
    let shutdown = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let web = WebConfig { public_url: format!("http://{address}"), ..WebConfig::default() };
    let router = hark_web::router(WebState::new(app.clone(), intake, web, shutdown.clone()));
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
    });
    let ws = app.create_workspace("Acme", "UTC").await.unwrap_or_else(|e| panic!("{e}"));
    let system = Actor::system(&ws.id);
    let owner = person(&app, &system, "admin@acme.test", "Ada Admin", Role::Owner).await;
    let mut channels = BTreeMap::new();
    for network in [SimNetwork::X, SimNetwork::Facebook, SimNetwork::Instagram] {
        let channel = app
            .create_channel(
                &system,
                ChannelCreate {
                    network: network_of(network),
                    name: format!("Acme on {network}"),
                    handle: format!("acme_{network}"),
                    external_id: external_id(network).into(),
                    credentials: Some(credentials(network)),
                    settings: json!({ "api_base_url": sandbox.api_base_url(network) }),
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        sandbox.add_account(Account {
            network,
            external_id: external_id(network).into(),
            handle: format!("acme_{network}"),
            webhook_url: Some(format!("http://{address}/webhooks/{}", channel.id)),
            credentials: credentials(network),
        });
        channels.insert(network, channel);
    }
    sandbox.settle().await;
    let rig = Rig { sandbox, app, workers, admin: owner, channels, _store: store, shutdown };
    // The rules follower starts at the head of the events table: place it there now.
    follow_once(&rig.workers, &RulesFollower).await.unwrap_or_else(|e| panic!("{e}"));
    rig
}

async fn person(app: &App, system: &Actor, email: &str, name: &str, role: Role) -> Actor {
    let input = UserCreate {
        email: email.into(),
        name: name.into(),
        role,
        password: "long enough password".into(),
        locale: "en".into(),
    };
    Actor { user: app.create_user(system, input).await.unwrap_or_else(|e| panic!("{e}")), via: ActorVia::Session }
}

impl Rig {
    /// Runs ingestion, rules, the automation outbox and publishing until all are idle (bounded).
    async fn drain(&self) {
        let follower: &dyn EventHandler = &RulesFollower;
        for _ in 0..200 {
            self.sandbox.settle().await;
            let w = &self.workers;
            let ingested = hark_jobs::ingest::ingest_once(w).await.unwrap_or_else(|e| panic!("ingest: {e}"));
            let ruled = follow_once(w, follower).await.unwrap_or_else(|e| panic!("rules: {e}"));
            let delivered = hark_jobs::automation::deliver_once(w).await.unwrap_or_else(|e| panic!("automation: {e}"));
            let published = hark_jobs::publish::publish_once(w).await.unwrap_or_else(|e| panic!("publish: {e}"));
            let pending = self.app.store.raw_event_counts().await.map(|c| c.pending).unwrap_or(0);
            let outbox = self.app.store.open_outbox_count("publish").await.unwrap_or(0)
                + self.app.store.open_outbox_count("automation").await.unwrap_or(0);
            if ingested + ruled + delivered + published == 0 && pending == 0 && outbox == 0 {
                return;
            }
            if ingested + ruled + delivered + published == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        panic!("queues did not drain");
    }

    async fn act(&self, action: CustomerAction) -> hark_sandbox::ActionReport {
        self.sandbox.act(action).await.unwrap_or_else(|e| panic!("sandbox action: {e}"))
    }

    fn system(&self) -> Actor {
        Actor::system(self.admin.workspace_id())
    }

    async fn conversations(&self) -> Vec<Conversation> {
        let filter = hark_store::ConversationFilter {
            workspace_id: self.admin.workspace_id().to_owned(),
            include_merged: true,
            ..Default::default()
        };
        self.app.store.conversations(&filter, &Page::first(200)).await.unwrap_or_default()
    }

    async fn conversation_of(&self, channel: SimNetwork, kind: ConversationKind) -> Conversation {
        let id = &self.channels[&channel].id;
        let found: Vec<Conversation> =
            self.conversations().await.into_iter().filter(|c| &c.channel_id == id && c.kind == kind).collect();
        assert_eq!(found.len(), 1, "one {kind} conversation on {channel}: {found:?}");
        found.into_iter().next().unwrap_or_else(|| unreachable!())
    }

    async fn messages(&self, conversation_id: &str) -> Vec<Message> {
        self.app.store.messages(conversation_id, &Page::first(100)).await.unwrap_or_default()
    }

    async fn rule(&self, definition: Value) -> hark_domain::rules::Rule {
        let input: RuleInput = serde_json::from_value(definition).unwrap_or_else(|e| panic!("rule json: {e}"));
        self.app.create_rule(&self.admin, input).await.unwrap_or_else(|e| panic!("create rule: {e}"))
    }

    async fn team(&self, name: &str, members: Vec<String>) -> Team {
        let input = TeamInput { name: name.into(), description: String::new(), member_ids: members };
        self.app.create_team(&self.admin, input).await.unwrap_or_else(|e| panic!("{e}"))
    }
}

fn customer(n: usize) -> Customer {
    Customer::new(format!("{}", 912_345_000 + n), format!("customer_{n}"), format!("Customer {n}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_set_routes_a_russian_complaint_and_answers_a_delivery_question_publicly_then_privately() {
    let rig = rig(testing::sqlite().await).await;
    let escalations = rig.team("Escalations", vec![rig.admin.user.id.clone()]).await;
    let snippet = rig
        .app
        .create_snippet(
            &rig.admin,
            SnippetInput {
                name: "Delivery times".into(),
                text: "Hi {{contact.first_name}}! Deliveries take 3 to 5 working days. Send us your order number here and we will track it.".into(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let complaints = rig
        .rule(json!({
            "name": "Negative complaint in Russian on X",
            "trigger": { "kind": "message_received" },
            "conditions": { "mode": "all", "items": [
                { "field": "network", "op": "is", "value": "x" },
                { "field": "language", "op": "is", "value": "ru" },
                { "field": "sentiment", "op": "is", "value": "negative" },
                { "field": "intent", "op": "is", "value": "complaint" },
            ]},
            "actions": [
                { "type": "assign_team", "team_id": escalations.id },
                { "type": "set_priority", "priority": "high" },
            ],
            "stop": true,
        }))
        .await;
    let delivery = rig
        .rule(json!({
            "name": "Delivery question on an Instagram comment",
            "trigger": { "kind": "message_received" },
            "conditions": { "mode": "all", "items": [
                { "field": "network", "op": "is", "value": "instagram" },
                { "field": "kind", "op": "is", "value": "public" },
                { "field": "text", "op": "any_keyword", "value": "deliver, shipping, доставк" },
            ]},
            "actions": [{ "type": "move_to_private", "public_text": "We have sent you a private message.",
                          "snippet_id": snippet.id }],
        }))
        .await;
    // A thank-you for everything on X after them: the first rule stops it for the complaint.
    rig.rule(json!({
        "name": "Thank everyone on X",
        "trigger": { "kind": "message_received" },
        "conditions": { "items": [{ "field": "network", "op": "is", "value": "x" }] },
        "actions": [{ "type": "reply_public", "text": "Thanks for writing to us!" }],
    }))
    .await;

    rig.act(CustomerAction::XMention {
        account: None,
        customer: customer(1),
        text: "@acme_x Ужасный сервис! Посылка потерялась, никто не отвечает. Это отвратительно".into(),
    })
    .await;
    let comment = rig
        .act(CustomerAction::InstagramComment {
            account: None,
            customer: customer(2),
            media_id: None,
            parent_comment_id: None,
            text: "When will you deliver to Canada? How long does shipping take?".into(),
        })
        .await;
    rig.drain().await;

    // The complaint: routed, prioritised, and no automatic reply at all.
    let x = rig.conversation_of(SimNetwork::X, ConversationKind::Public).await;
    assert_eq!(x.team_id.as_deref(), Some(escalations.id.as_str()));
    assert_eq!(x.priority, Priority::High);
    assert!(rig.messages(&x.id).await.iter().all(|m| m.direction == Direction::Inbound), "no reply to the complaint");
    let log = rig.app.rule_log(&rig.admin, &x.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log.len(), 1, "only the complaint rule ran (it stops the others): {log:?}");
    assert_eq!(log[0].rule_id, complaints.id);
    let results: Vec<(&str, &str)> = log[0].actions.iter().map(|a| (a.action.as_str(), a.result.as_str())).collect();
    assert_eq!(results, [("assign_team", "done"), ("set_priority", "done")]);

    // The delivery question: a public acknowledgement and a private reply with the snippet.
    let published = rig.sandbox.published();
    let instagram: Vec<_> = published.iter().filter(|p| p.network == SimNetwork::Instagram).collect();
    let public: Vec<_> =
        instagram.iter().filter(|p| matches!(p.kind, PublishedKind::Reply | PublishedKind::Comment)).collect();
    let private: Vec<_> = instagram.iter().filter(|p| p.kind == PublishedKind::PrivateReply).collect();
    assert_eq!(public.len(), 1, "{published:?}");
    assert_eq!(public[0].text, "We have sent you a private message.");
    assert_eq!(public[0].in_reply_to.as_deref(), Some(comment.item_id.as_str()));
    assert_eq!(private.len(), 1, "{published:?}");
    assert!(private[0].text.starts_with("Hi customer_2! Deliveries take 3 to 5 working days."), "{}", private[0].text);
    assert_eq!(
        private[0].in_reply_to.as_deref(),
        Some(comment.item_id.as_str()),
        "the private reply targets the comment"
    );
    let ig = rig.conversation_of(SimNetwork::Instagram, ConversationKind::Public).await;
    let bot: Vec<Message> =
        rig.messages(&ig.id).await.into_iter().filter(|m| m.direction == Direction::Outbound).collect();
    assert_eq!(bot.len(), 2);
    assert!(bot.iter().all(|m| m.author_kind == AuthorKind::Bot && m.author_user_id.is_none()), "{bot:?}");
    assert!(bot.iter().all(|m| m.delivery_status == DeliveryStatus::Published));
    assert_eq!(ig.timeline.first_reply_at, None, "automatic replies are no first response");
    assert!(ig.timeline.awaiting_reply_since.is_some(), "the customer still waits for a person");
    assert!(ig.linked_conversation_id.is_some(), "the private conversation is linked to the public one");
    let log = rig.app.rule_log(&rig.admin, &ig.id).await.unwrap_or_else(|e| panic!("{e}"));
    let ran: Vec<&str> = log.iter().map(|r| r.rule_id.as_str()).collect();
    assert_eq!(ran, [delivery.id.as_str()]);
    assert_eq!((log[0].actions[0].action.as_str(), log[0].actions[0].result.as_str()), ("move_to_private", "done"));
    let audit = rig.app.audit_log(&rig.system(), &Page::first(200)).await.unwrap_or_default();
    assert!(
        audit.iter().any(|a| a.actor_kind == "rule" && a.detail["rule_id"] == json!(complaints.id)),
        "rule actions are audited as the rule"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_replies_skip_negative_messages_and_never_repeat_within_a_day() {
    let rig = rig(testing::sqlite().await).await;
    let rule = rig
        .rule(json!({
            "name": "Acknowledge",
            "trigger": { "kind": "message_received" },
            "actions": [{ "type": "reply_public", "text": "Thanks {{contact.first_name}}, we are on it." }],
        }))
        .await;
    let c = customer(5);
    rig.act(CustomerAction::XMention {
        account: None,
        customer: c.clone(),
        text: "@acme_x Worst airline ever, you lost my bag and nobody answers. Disgusting".into(),
    })
    .await;
    rig.act(CustomerAction::XMention {
        account: None,
        customer: c.clone(),
        text: "@acme_x what time does check-in open?".into(),
    })
    .await;
    rig.act(CustomerAction::XMention {
        account: None,
        customer: c,
        text: "@acme_x and is there wifi on board?".into(),
    })
    .await;
    rig.drain().await;
    let runs: Vec<hark_domain::rules::RuleRun> = {
        let mut all = vec![];
        for conversation in rig.conversations().await {
            all.extend(rig.app.rule_log(&rig.admin, &conversation.id).await.unwrap_or_default());
        }
        all.sort_by_key(|r| r.at);
        all
    };
    let results: Vec<(&str, &str)> = runs
        .iter()
        .filter(|r| r.rule_id == rule.id)
        .map(|r| (r.actions[0].result.as_str(), r.actions[0].detail.as_str()))
        .collect();
    assert_eq!(results.len(), 3, "{results:?}");
    assert_eq!(results[0].0, "skipped", "negative: {results:?}");
    assert!(results[0].1.contains("negative"));
    assert_eq!(results[1].0, "done");
    assert_eq!(results[2].0, "skipped", "same text to the same customer: {results:?}");
    assert!(results[2].1.contains("within a day"));
    let replies: Vec<_> = rig.sandbox.published().into_iter().filter(|p| p.kind == PublishedKind::Reply).collect();
    assert_eq!(replies.len(), 1, "{replies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainees_reply_waits_for_approval_and_the_audit_log_shows_both_people() {
    let rig = rig(testing::sqlite().await).await;
    let system = rig.system();
    let trainee = person(&rig.app, &system, "tom@acme.test", "Tom Trainee", Role::Trainee).await;
    let supervisor = person(&rig.app, &system, "sofia@acme.test", "Sofia Supervisor", Role::Supervisor).await;
    rig.act(CustomerAction::XMention {
        account: None,
        customer: customer(3),
        text: "@acme_x can I bring my guitar as cabin baggage?".into(),
    })
    .await;
    rig.drain().await;
    let conversation = rig.conversation_of(SimNetwork::X, ConversationKind::Public).await;
    let post = |text: &str| NewMessage { visibility: Visibility::Public, text: text.into(), template: None };
    let draft =
        rig.app.post_message(&trainee, &conversation.id, post("yes u can lol")).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(draft.delivery_status, DeliveryStatus::AwaitingApproval);
    rig.drain().await;
    assert!(rig.sandbox.published().is_empty(), "nothing is published before approval");
    let queue = rig.app.approval_queue(&supervisor).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(queue.iter().map(|p| p.message.id.as_str()).collect::<Vec<_>>(), [draft.id.as_str()]);
    assert!(queue[0].may_approve);
    assert!(rig.app.approval_queue(&trainee).await.is_err(), "trainees do not review");

    let edited = "Yes! A guitar fits as cabin baggage if it goes in the overhead bin. Safe travels!";
    let review =
        ReviewInput { approve: true, text: Some(edited.into()), comment: Some("Friendlier, and say how".into()) };
    let approved = rig.app.review_reply(&supervisor, &draft.id, review).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(approved.delivery_status, DeliveryStatus::Queued);
    rig.drain().await;
    let published = rig.sandbox.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].text, edited, "the reviewer's edit is what goes out");
    // The customer got the reply at its approval: that is its first response.
    assert!(approved.created_at > draft.created_at, "{} then {}", draft.created_at, approved.created_at);
    let history = rig.app.history(&conversation.id).await.ok().flatten().unwrap_or_else(|| panic!("no history"));
    let stored = history.messages.iter().find(|m| m.id == draft.id).unwrap_or_else(|| panic!("no reply"));
    assert_eq!(stored.created_at, approved.created_at, "stored as queued at the approval");
    assert_eq!(stored.recorded_at, draft.recorded_at, "and still known as written before");
    let metrics = history.metrics(None);
    let first = metrics.cycles[0].first_response.unwrap_or_else(|| panic!("no first response: {metrics:?}"));
    assert_eq!(first.to, approved.created_at, "the first response ends at the approval, not at the writing");

    let second = rig
        .app
        .post_message(&trainee, &conversation.id, post("also we r the best"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let no_comment = ReviewInput { approve: false, text: None, comment: None };
    assert!(rig.app.review_reply(&supervisor, &second.id, no_comment).await.is_err(), "a rejection needs a comment");
    let reject = ReviewInput { approve: false, text: None, comment: Some("Never brag in public replies.".into()) };
    let rejected = rig.app.review_reply(&supervisor, &second.id, reject).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rejected.delivery_status, DeliveryStatus::Failed);
    rig.drain().await;
    assert_eq!(rig.sandbox.published().len(), 1, "a rejected reply is never published");
    let told = rig.app.notifications(&trainee, false, &Page::first(10)).await.unwrap_or_default();
    assert!(told.iter().any(|n| n.kind == "reply_rejected" && n.text.contains("Never brag")), "{told:?}");

    let audit = rig.app.audit_log(&system, &Page::first(200)).await.unwrap_or_default();
    let about = |id: &str, action: &str| audit.iter().find(|a| a.subject_id == id && a.action == action).cloned();
    let submitted =
        about(&draft.id, "message.submit_for_approval").unwrap_or_else(|| panic!("no submission: {audit:?}"));
    assert_eq!(submitted.actor_id.as_deref(), Some(trainee.user.id.as_str()));
    let publish = about(&draft.id, "message.publish").unwrap_or_else(|| panic!("no publication: {audit:?}"));
    assert_eq!(publish.actor_id.as_deref(), Some(supervisor.user.id.as_str()));
    assert_eq!(publish.detail["approved_by"], json!(supervisor.user.id));
    assert_eq!(publish.detail["written_by"], json!(trainee.user.id));
    assert_eq!(publish.detail["original_text"], json!("yes u can lol"));
    assert!(about(&draft.id, "message.published").is_some(), "and the network's confirmation");
    let rejection = about(&second.id, "message.reject").unwrap_or_else(|| panic!("no rejection"));
    assert_eq!(rejection.detail["comment"], json!("Never brag in public replies."));

    // A channel whose policy leaves agents out: their replies wait too.
    let agent = person(&rig.app, &system, "ana@acme.test", "Ana Agent", Role::Agent).await;
    let policy = permissions::PublishPolicy { publish_roles: vec![Role::Owner, Role::Admin, Role::Supervisor] };
    rig.app
        .put_publish_policy(&rig.admin, &rig.channels[&SimNetwork::X].id, policy)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let waiting = rig
        .app
        .post_message(&agent, &conversation.id, post("Enjoy the flight!"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(waiting.delivery_status, DeliveryStatus::AwaitingApproval);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_with_capacity_two_over_three_agents_and_ten_conversations() {
    for store in testing::all().await {
        let rig = rig(store).await;
        let system = rig.system();
        let mut agents = vec![];
        for name in ["Agent A", "Agent B", "Agent C"] {
            let email = format!("{}@acme.test", name.replace(' ', ".").to_lowercase());
            agents.push(person(&rig.app, &system, &email, name, Role::Agent).await);
        }
        agents.sort_by(|a, b| a.user.id.cmp(&b.user.id));
        for a in &agents {
            let input = AgentProfileInput { languages: vec![], capacity: Some(2) };
            rig.app.put_agent_profile(&rig.admin, &a.user.id, input).await.unwrap_or_else(|e| panic!("{e}"));
        }
        let team = rig.team("Care", agents.iter().map(|a| a.user.id.clone()).collect()).await;
        rig.rule(json!({
            "name": "Share new mentions",
            "trigger": { "kind": "conversation_created" },
            "actions": [{ "type": "assign_team", "team_id": team.id, "round_robin": true }],
        }))
        .await;
        for n in 0..10 {
            rig.act(CustomerAction::XMention {
                account: None,
                customer: customer(100 + n),
                text: format!("@acme_x question number {n}: is my flight on time?"),
            })
            .await;
            rig.drain().await;
        }
        let mut conversations = rig.conversations().await;
        conversations.sort_by_key(|c| c.created_at);
        assert_eq!(conversations.len(), 10);
        let order: Vec<String> = conversations
            .iter()
            .map(|c| {
                c.assignee_id
                    .as_ref()
                    .and_then(|id| agents.iter().position(|a| &a.user.id == id))
                    .map_or("-".to_owned(), |i| ["a", "b", "c"][i].to_owned())
            })
            .collect();
        assert_eq!(order, ["a", "b", "c", "a", "b", "c", "-", "-", "-", "-"], "{}", rig._store.name);
        assert!(
            conversations.iter().all(|c| c.team_id.as_deref() == Some(team.id.as_str())),
            "the rest wait in the team"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_agent_receives_none_and_an_agent_going_offline_hands_work_on() {
    let rig = rig(testing::sqlite().await).await;
    let system = rig.system();
    let mut agents = vec![];
    for name in ["Agent A", "Agent B", "Agent C"] {
        let email = format!("{}@acme.test", name.replace(' ', ".").to_lowercase());
        agents.push(person(&rig.app, &system, &email, name, Role::Agent).await);
    }
    agents.sort_by(|a, b| a.user.id.cmp(&b.user.id));
    let offline = hark_app::ProfileUpdate { availability: Some(Availability::Offline), ..Default::default() };
    rig.app.update_profile(&agents[1], offline.clone()).await.unwrap_or_else(|e| panic!("{e}"));
    let team = rig.team("Care", agents.iter().map(|a| a.user.id.clone()).collect()).await;
    rig.rule(json!({
        "name": "Share new mentions",
        "trigger": { "kind": "conversation_created" },
        "actions": [{ "type": "assign_team", "team_id": team.id, "round_robin": true }],
    }))
    .await;
    for n in 0..4 {
        rig.act(CustomerAction::XMention {
            account: None,
            customer: customer(200 + n),
            text: format!("@acme_x hello {n}, can I change my seat?"),
        })
        .await;
        rig.drain().await;
    }
    let count = |convs: &[Conversation], a: &Actor| {
        convs.iter().filter(|c| c.assignee_id.as_deref() == Some(a.user.id.as_str())).count()
    };
    let now = rig.conversations().await;
    assert_eq!((count(&now, &agents[0]), count(&now, &agents[1]), count(&now, &agents[2])), (2, 0, 2));
    // Agent A goes offline: their open conversations go to whoever is online in the team.
    rig.app.update_profile(&agents[0], offline).await.unwrap_or_else(|e| panic!("{e}"));
    rig.drain().await;
    let after = rig.conversations().await;
    assert_eq!((count(&after, &agents[0]), count(&after, &agents[1]), count(&after, &agents[2])), (0, 0, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_answers_once_and_hands_over_to_a_person_when_asked() {
    let rig = rig(testing::sqlite().await).await;
    let team = rig.team("Care", vec![rig.admin.user.id.clone()]).await;
    let snippet = rig
        .app
        .create_snippet(
            &rig.admin,
            SnippetInput { name: "Baggage".into(), text: "One cabin bag of 8 kg is included.".into() },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bot = rig
        .rule(json!({
            "name": "Baggage bot",
            "trigger": { "kind": "message_received" },
            "conditions": { "items": [{ "field": "kind", "op": "is", "value": "private" }] },
            "actions": [{ "type": "auto_answer", "handoff_team_id": team.id,
                          "answers": [{ "snippet_id": snippet.id, "keywords": ["bag", "багаж"] }] }],
        }))
        .await;
    let c = customer(9);
    rig.act(CustomerAction::XDirectMessage {
        account: None,
        customer: c.clone(),
        text: "How heavy can my cabin bag be?".into(),
    })
    .await;
    rig.drain().await;
    rig.act(CustomerAction::XDirectMessage { account: None, customer: c, text: "agent".into() }).await;
    rig.drain().await;
    let dm = rig.conversation_of(SimNetwork::X, ConversationKind::Private).await;
    let texts: Vec<(AuthorKind, String)> =
        rig.messages(&dm.id).await.into_iter().map(|m| (m.author_kind, m.text)).collect();
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert_eq!(texts[1].0, AuthorKind::Bot);
    assert!(
        texts[1].1.starts_with("One cabin bag of 8 kg is included.") && texts[1].1.contains("Type \"agent\""),
        "{texts:?}"
    );
    assert_eq!(texts[3], (AuthorKind::Bot, "Thanks! A person from our team will take it from here.".to_owned()));
    assert_eq!(dm.assignee_id.as_deref(), Some(rig.admin.user.id.as_str()), "handed to the team's person");
    let log = rig.app.rule_log(&rig.admin, &dm.id).await.unwrap_or_default();
    let details: Vec<&str> = log.iter().filter(|r| r.rule_id == bot.id).map(|r| r.actions[0].detail.as_str()).collect();
    assert!(details[0].starts_with("answered with") && details[1].starts_with("handed over"), "{details:?}");
    // Each sentence of the log names its message, so every agent reads it in their language.
    let sentences: Vec<Vec<&str>> = log
        .iter()
        .filter(|r| r.rule_id == bot.id)
        .map(|r| {
            let first = r.actions[0].key.as_deref().into_iter();
            first.chain(r.actions[0].more.iter().map(|p| p.key.as_str())).collect()
        })
        .collect();
    assert_eq!(sentences[0], ["bot-answered", "replied-private"], "{sentences:?}");
    assert_eq!(sentences[1], ["handed-over-asked", "assigned-to", "replied-private"], "{sentences:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_rules_fire_once_per_quiet_stretch_and_personal_data_in_public_is_flagged() {
    let rig = rig(testing::sqlite().await).await;
    rig.app
        .create_label(
            &rig.admin,
            hark_app::LabelInput { name: "stale".into(), color: "#999999".into(), description: String::new() },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    rig.rule(json!({
        "name": "Quiet for an hour",
        "trigger": { "kind": "idle", "minutes": 60 },
        "actions": [{ "type": "add_label", "label": "stale" }],
    }))
    .await;
    rig.act(CustomerAction::FacebookComment {
        account: None,
        customer: customer(4),
        post_id: None,
        parent_comment_id: None,
        text: "My card 4111 1111 1111 1111 was charged twice!".into(),
    })
    .await;
    rig.drain().await;
    let c = rig.conversation_of(SimNetwork::Facebook, ConversationKind::Public).await;
    assert!(c.labels.contains(&"personal-data".to_owned()), "{:?}", c.labels);
    let views = rig.app.saved_views(&rig.admin).await.unwrap_or_default();
    assert!(views.iter().any(|v| v.filters.label.as_deref() == Some("personal-data")), "a view lists them");
    assert_eq!(rig.app.automate_idle(jiff::Timestamp::now()).await.ok(), Some(0), "not quiet yet");
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(90);
    assert_eq!(rig.app.automate_idle(later).await.ok(), Some(1));
    assert_eq!(rig.app.automate_idle(later).await.ok(), Some(1), "looked at again…");
    // The scanner that keeps its progress looks at a quiet stretch once.
    let mut progress = hark_app::automation::IdleProgress::default();
    assert_eq!(rig.app.automate_idle_since(later, &mut progress).await.ok(), Some(1));
    assert_eq!(rig.app.automate_idle_since(later, &mut progress).await.ok(), Some(0), "not again");
    let much_later = later + jiff::SignedDuration::from_mins(30);
    assert_eq!(rig.app.automate_idle_since(much_later, &mut progress).await.ok(), Some(0), "nor later");
    let c = rig.conversation_of(SimNetwork::Facebook, ConversationKind::Public).await;
    assert!(c.labels.contains(&"stale".to_owned()));
    let log = rig.app.rule_log(&rig.admin, &c.id).await.unwrap_or_default();
    assert_eq!(log.iter().filter(|r| r.trigger == "idle").count(), 1, "…but ran once: {log:?}");
    assert!(log.iter().any(|r| r.rule_id == "builtin:personal_data"));
}

/// Everything the local receivers got: (path, headers, body).
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, axum::http::HeaderMap, String)>>>;

/// An HTTP server on a free port recording every POST.
async fn receiver() -> (String, Received) {
    let got: Received = Default::default();
    let keep = got.clone();
    let app =
        axum::Router::new().fallback(move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: String| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap_or_else(|e| e.into_inner()).push((uri.path().to_owned(), headers, body));
                "ok"
            }
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}"), got)
}

/// A minimal SMTP server on a free port that accepts one message per
/// connection and records what it was given.
async fn smtp_server() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mails: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
    let keep = mails.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 test ESMTP\r\n").await;
                let mut transcript = String::new();
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    transcript.push_str(&line);
                    transcript.push('\n');
                    let reply: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        keep.lock().unwrap_or_else(|e| e.into_inner()).push(transcript.clone());
                        b"250 queued\r\n"
                    } else {
                        match line.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
                            "EHLO" | "HELO" => b"250 test\r\n",
                            "DATA" => {
                                in_data = true;
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                break;
                            }
                            _ => b"250 ok\r\n",
                        }
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (port, mails)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_notify_slack_call_a_signed_webhook_email_a_department_and_hide_a_comment() {
    let rig = rig(testing::sqlite().await).await;
    let (base, received) = receiver().await;
    let (smtp_port, mails) = smtp_server().await;
    let secret = "whsec_c2ltLWdlbmVyaWMtd2ViaG9vay1rZXktMzJieXRlcyE=";
    rig.rule(json!({
        "name": "Card numbers in public",
        "trigger": { "kind": "message_received" },
        "conditions": { "mode": "all", "items": [
            { "field": "personal_data", "op": "is", "value": "true" },
            { "field": "kind", "op": "is", "value": "public" },
        ]},
        "actions": [
            { "type": "hide_comment" },
            { "type": "notify_slack", "url": format!("{base}/slack") },
            { "type": "webhook", "url": format!("{base}/hook"), "secret": secret },
            { "type": "email", "to": "security@acme.test", "subject": "Card posted publicly" },
            { "type": "require_approval" },
        ],
    }))
    .await;
    let comment = rig
        .act(CustomerAction::FacebookComment {
            account: None,
            customer: customer(6),
            post_id: None,
            parent_comment_id: None,
            text: "Charged twice on 4111 1111 1111 1111, fix it".into(),
        })
        .await;
    // The workers with a mail server configured.
    let config = WorkerConfig {
        retry_base: Duration::ZERO,
        retry_after_cap: Duration::ZERO,
        smtp: Some(hark_jobs::automation::SmtpConfig {
            url: format!("smtp://127.0.0.1:{smtp_port}"),
            from: "Hark <hark@acme.test>".into(),
        }),
        allow_private_hooks: true,
        ..Default::default()
    };
    let mut workers = Workers::new(rig.app.clone(), reqwest::Client::new(), rig.workers.intake.clone(), config);
    // The same node as the rig's workers, which hold the rules follower's lease.
    workers.node_id = rig.workers.node_id.clone();
    rig.drain().await;
    let conversation = rig.conversation_of(SimNetwork::Facebook, ConversationKind::Public).await;
    // The rig's workers have no mail server: the email failed, with the reason.
    // A second rule emails through workers that have one.
    let attempts = rig.app.store.delivery_attempts(&conversation.id).await.unwrap_or_default();
    let email = attempts.iter().find(|a| a.detail.contains("SMTP")).map(|a| a.outcome.clone());
    assert_eq!(email.as_deref(), Some("failed"), "{attempts:?}");
    rig.rule(json!({
        "name": "Escalate every Facebook comment",
        "trigger": { "kind": "message_received" },
        "conditions": { "items": [{ "field": "network", "op": "is", "value": "facebook" }] },
        "actions": [{ "type": "email", "to": "logistics@acme.test, security@acme.test" }],
    }))
    .await;
    rig.act(CustomerAction::FacebookComment {
        account: None,
        customer: customer(6),
        post_id: None,
        parent_comment_id: None,
        text: "Anyone there?".into(),
    })
    .await;
    for _ in 0..50 {
        rig.sandbox.settle().await;
        hark_jobs::ingest::ingest_once(&workers).await.unwrap_or_else(|e| panic!("{e}"));
        follow_once(&workers, &RulesFollower).await.unwrap_or_else(|e| panic!("{e}"));
        hark_jobs::automation::deliver_once(&workers).await.unwrap_or_else(|e| panic!("{e}"));
        if rig.app.store.open_outbox_count("automation").await.unwrap_or(0) == 0
            && !mails.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let published = rig.sandbox.published();
    assert!(
        published.iter().any(|p| p.kind == PublishedKind::Hide && p.id == comment.item_id),
        "the comment is hidden: {published:?}"
    );
    let got = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let slack = got.iter().find(|(path, _, _)| path == "/slack").unwrap_or_else(|| panic!("no Slack post: {got:?}"));
    let text: Value = serde_json::from_str(&slack.2).unwrap_or_default();
    assert!(text["text"].as_str().unwrap_or("").contains("Card numbers in public"), "{}", slack.2);
    let hook = got.iter().find(|(path, _, _)| path == "/hook").unwrap_or_else(|| panic!("no webhook call"));
    let header = |name: &str| hook.1.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap_or(0);
    assert!(hark_channels::api_channel::verify(
        secret,
        &header("webhook-id"),
        timestamp,
        hook.2.as_bytes(),
        &header("webhook-signature"),
        jiff::Timestamp::now(),
    ));
    let body: Value = serde_json::from_str(&hook.2).unwrap_or_default();
    assert_eq!(body["conversation"]["id"], json!(conversation.id));
    let mails = mails.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let attempts = rig.app.store.delivery_attempts(&conversation.id).await.unwrap_or_default();
    assert_eq!(mails.len(), 1, "{mails:?} {attempts:?}");
    assert!(mails[0].contains("RCPT TO:<logistics@acme.test>") && mails[0].contains("RCPT TO:<security@acme.test>"));
    assert!(mails[0].contains("Escalate every Facebook comment"), "{}", mails[0]);
    // The rule also put the conversation's replies under approval, even an agent's.
    let agent = person(&rig.app, &rig.system(), "ana@acme.test", "Ana Agent", Role::Agent).await;
    let reply = NewMessage { visibility: Visibility::Public, text: "Please DM us".into(), template: None };
    let reply = rig.app.post_message(&agent, &conversation.id, reply).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.delivery_status, DeliveryStatus::AwaitingApproval);
}
