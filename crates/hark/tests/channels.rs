//! Channels end to end: the platform sandbox plays each network over real
//! HTTP against a Hark server (in this process), whose workers are driven one
//! step at a time. Runs on SQLite and, when HARK_TEST_DATABASE_URL is set,
//! on PostgreSQL.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use hark_app::intake::Intake;
use hark_app::{Actor, ActorVia, App, ChannelCreate, CredentialSealer, NewMessage, UserCreate};
use hark_domain::*;
use hark_jobs::{WorkerConfig, Workers};
use hark_sandbox::{
    Account, ApiFault, Customer, CustomerAction, Faults, PublishedKind, Sandbox, SandboxConfig, SimNetwork,
};
use hark_store::Page;
use hark_store::testing::{self, TestStore};
use hark_web::{WebConfig, WebState};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

struct Rig {
    sandbox: Sandbox,
    app: App,
    workers: Workers,
    agent: Actor,
    channels: BTreeMap<SimNetwork, Channel>,
    /// Where Hark's HTTP server listens.
    base: String,
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
        SimNetwork::Facebook | SimNetwork::Instagram | SimNetwork::Whatsapp => json!({
            "app_id": "555000111", "app_secret": "sim_app_secret_abcdef", "verify_token": "sim-verify", "access_token": "EAAsimtoken"
        }),
        SimNetwork::Telegram => json!({ "bot_token": "7000000001:AAsimtoken", "secret_token": "sim_secret_token" }),
        SimNetwork::Vk => {
            json!({ "access_token": "vk1.a.simtoken", "secret": "sim-vk-secret-9f8e7d", "confirmation_code": "5a1b2c3d" })
        }
    };
    value.as_object().cloned().unwrap_or_default()
}

fn external_id(network: SimNetwork) -> &'static str {
    match network {
        SimNetwork::X => "1580000000000000001",
        SimNetwork::Facebook => "104000000000001",
        SimNetwork::Instagram => "17841400000000001",
        SimNetwork::Whatsapp => "106000000000001",
        SimNetwork::Telegram => "7000000001",
        SimNetwork::Vk => "229000001",
    }
}

fn domain_network(network: SimNetwork) -> Network {
    match network {
        SimNetwork::X => Network::X,
        SimNetwork::Facebook => Network::Facebook,
        SimNetwork::Instagram => Network::Instagram,
        SimNetwork::Whatsapp => Network::Whatsapp,
        SimNetwork::Telegram => Network::Telegram,
        SimNetwork::Vk => Network::Vk,
    }
}

async fn rig(store: TestStore) -> Rig {
    rig_with(store, Mode::Webhooks).await
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// The networks deliver to Hark's webhooks, set up beforehand.
    Webhooks,
    /// X and Telegram deliver nothing: Hark polls them.
    Polling,
    /// Nothing is set up: Hark must register its webhooks itself.
    Unconnected,
}

async fn rig_with(store: TestStore, mode: Mode) -> Rig {
    let polling = mode == Mode::Polling;
    hark_channels::http::install_crypto_provider();
    let sandbox = Sandbox::start(SandboxConfig { auto_redeliver: false, ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("sandbox: {e}"));
    let app = App::new(store.store.clone(), CredentialSealer::new(&[9u8; 32]));
    let intake = Intake::start(app.store.clone());
    // Short client timeout so the sandbox's held requests time out quickly.
    let _ = hark_channels::http::client();
    let http =
        reqwest::Client::builder().timeout(Duration::from_millis(1500)).build().unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let config = WorkerConfig {
        retry_base: Duration::ZERO,
        retry_after_cap: Duration::ZERO,
        lease: Duration::from_secs(30),
        unknown_settle: Duration::from_secs(4),
        public_url: format!("http://{address}"),
        ..Default::default()
    };
    let workers = Workers::new(app.clone(), http, intake.clone(), config);
    let shutdown = CancellationToken::new();
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
    let input = UserCreate {
        email: "agent@acme.test".into(),
        name: "Ana".into(),
        role: Role::Agent,
        password: "long enough password".into(),
        locale: "en".into(),
    };
    let agent =
        Actor { user: app.create_user(&system, input).await.unwrap_or_else(|e| panic!("{e}")), via: ActorVia::Session };
    let mut channels = BTreeMap::new();
    let base = format!("http://{address}");
    for network in SimNetwork::ALL {
        let polled = polling && matches!(network, SimNetwork::X | SimNetwork::Telegram);
        let mut settings = json!({ "api_base_url": sandbox.api_base_url(network) });
        if network == SimNetwork::Whatsapp {
            settings["waba_id"] = json!("210000000000001");
        }
        if polled {
            settings["poll"] = json!(true);
            settings["monitor_query"] = json!("acme -is:retweet");
            settings["mode"] = json!("polling");
            settings["long_poll_secs"] = json!(0);
        }
        let channel = app
            .create_channel(
                &system,
                ChannelCreate {
                    network: domain_network(network),
                    name: format!("Acme on {network}"),
                    handle: format!("acme_{network}"),
                    external_id: external_id(network).into(),
                    credentials: Some(credentials(network)),
                    settings,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        sandbox.add_account(Account {
            network,
            external_id: external_id(network).into(),
            handle: format!("acme_{network}"),
            webhook_url: (!polled && mode != Mode::Unconnected)
                .then(|| format!("http://{address}/webhooks/{}", channel.id)),
            credentials: credentials(network),
        });
        channels.insert(network, channel);
    }
    sandbox.settle().await;
    Rig { sandbox, app, workers, agent, channels, base, _store: store, shutdown }
}

impl Rig {
    /// Runs ingestion and publishing until both queues are empty (bounded).
    async fn drain(&self) {
        for _ in 0..200 {
            self.sandbox.settle().await;
            let ingested = hark_jobs::ingest::ingest_once(&self.workers).await.unwrap_or_else(|e| panic!("{e}"));
            let published = hark_jobs::publish::publish_once(&self.workers).await.unwrap_or_else(|e| panic!("{e}"));
            let pending = self.app.store.raw_event_counts().await.map(|c| c.pending).unwrap_or(0);
            let outbox = self.app.store.open_outbox_count("publish").await.unwrap_or(0);
            if ingested == 0 && published == 0 && pending == 0 && outbox == 0 {
                return;
            }
            if ingested == 0 && published == 0 {
                // Deferred work (echo races, rescheduled replies) falls due shortly.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        panic!("queues did not drain");
    }

    async fn act(&self, action: CustomerAction) -> hark_sandbox::ActionReport {
        self.sandbox.act(action).await.unwrap_or_else(|e| panic!("sandbox action: {e}"))
    }

    async fn all_messages(&self) -> Vec<Message> {
        let ws = self.agent.workspace_id().to_owned();
        let filter = hark_store::ConversationFilter { workspace_id: ws, ..Default::default() };
        let mut out = vec![];
        for c in self.app.store.conversations(&filter, &Page::first(200)).await.unwrap_or_default() {
            out.extend(self.app.store.messages(&c.id, &Page::first(200)).await.unwrap_or_default());
        }
        out
    }

    async fn only_conversation(&self) -> Conversation {
        let filter =
            hark_store::ConversationFilter { workspace_id: self.agent.workspace_id().to_owned(), ..Default::default() };
        let list = self.app.store.conversations(&filter, &Page::first(10)).await.unwrap_or_default();
        assert_eq!(list.len(), 1, "expected one conversation, found {}", list.len());
        list.into_iter().next().unwrap_or_else(|| unreachable!())
    }

    async fn reply(&self, conversation_id: &str, visibility: Visibility, text: &str) -> Message {
        self.app
            .post_message(&self.agent, conversation_id, NewMessage { visibility, text: text.into(), template: None })
            .await
            .unwrap_or_else(|e| panic!("reply: {e}"))
    }
}

fn customer(n: usize) -> Customer {
    Customer::new(format!("{}", 912_345_000 + n), format!("customer_{n}"), format!("Customer {n}"))
}

/// One action of every kind, customer `n`.
fn mixed_actions(n: usize) -> Vec<CustomerAction> {
    let c = customer(n);
    vec![
        CustomerAction::XMention {
            account: None,
            customer: c.clone(),
            text: format!("@acme_x my order #{n} never arrived"),
        },
        CustomerAction::XDirectMessage {
            account: None,
            customer: c.clone(),
            text: format!("Order {n}, shipped to Lyon"),
        },
        CustomerAction::FacebookComment {
            account: None,
            customer: c.clone(),
            post_id: None,
            parent_comment_id: None,
            text: format!("Still no refund for {n}?!"),
        },
        CustomerAction::MessengerMessage {
            account: None,
            customer: c.clone(),
            text: format!("Привет, заказ {n} где?"),
            reply_to_mid: None,
        },
        CustomerAction::InstagramComment {
            account: None,
            customer: c.clone(),
            media_id: None,
            parent_comment_id: None,
            text: format!("Does {n} ship to Canada?"),
        },
        CustomerAction::InstagramMessage {
            account: None, customer: c.clone(), text: format!("我的订单 {n} 在哪里")
        },
        CustomerAction::WhatsappMessage {
            account: None,
            customer: Customer::new(format!("44770090{n:04}"), "", format!("WA {n}")),
            text: format!("Is the store open? {n}"),
            bsuid: None,
            hide_phone: false,
            context_message_id: None,
            with_image: false,
        },
        CustomerAction::TelegramPrivateMessage {
            account: None,
            customer: c.clone(),
            text: format!("Hallo {n}, Bestellung fehlt 📦"),
            reply_to_message_id: None,
        },
        CustomerAction::VkMessage {
            account: None,
            customer: c.clone(),
            text: format!("Здравствуйте, где мой заказ {n}?"),
        },
        CustomerAction::VkWallComment {
            account: None,
            customer: c,
            post_id: None,
            reply_to_comment: None,
            text: format!("Доставка в Казань есть? {n}"),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_distinct_event_becomes_exactly_one_message_despite_redelivery_reordering_and_bursts() {
    for store in testing::all().await {
        let backend = store.name;
        let rig = rig(store).await;
        for network in SimNetwork::ALL {
            rig.sandbox.set_faults(network, Faults::none().redeliver_each(2).reorder().burst(4));
        }
        let mut actions = 0;
        for n in 0..4 {
            for action in mixed_actions(n) {
                rig.act(action).await;
                actions += 1;
            }
        }
        // Whatever is still held by the burst or reorder faults goes out now, twice more.
        rig.sandbox.redeliver_pending().await;
        rig.drain().await;
        let inbound: Vec<Message> =
            rig.all_messages().await.into_iter().filter(|m| m.direction == Direction::Inbound).collect();
        let ids: HashSet<(String, Option<String>)> =
            inbound.iter().map(|m| (m.channel_id.clone(), m.platform_message_id.clone())).collect();
        assert_eq!(ids.len(), inbound.len(), "{backend}: a platform message was stored twice");
        assert_eq!(inbound.len(), actions, "{backend}: every customer action is exactly one message");
        let duplicates = rig.sandbox.deliveries().iter().filter(|d| d.duplicate).count();
        assert!(
            duplicates >= actions,
            "{backend}: the redelivery fault should have duplicated deliveries ({duplicates})"
        );
        // Public threads group by post and customer; DMs by participant.
        let x = &rig.channels[&SimNetwork::X];
        let filter = hark_store::ConversationFilter {
            workspace_id: x.workspace_id.clone(),
            channel_id: Some(x.id.clone()),
            ..Default::default()
        };
        let x_conversations = rig.app.store.conversations(&filter, &Page::first(100)).await.unwrap_or_default();
        assert_eq!(x_conversations.len(), 8, "{backend}: 4 mention threads and 4 DM threads on X");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_signature_or_secret_is_refused_and_nothing_is_stored() {
    let rig = rig(testing::sqlite().await).await;
    for network in SimNetwork::ALL {
        rig.sandbox.set_faults(network, Faults::none().bad_signature());
    }
    for action in mixed_actions(1) {
        rig.act(action).await;
    }
    rig.sandbox.settle().await;
    let answered: Vec<u16> = rig.sandbox.deliveries().iter().filter_map(|d| d.status).collect();
    assert!(!answered.is_empty());
    assert!(answered.iter().all(|s| *s == 401), "every forged delivery must get 401: {answered:?}");
    assert_eq!(rig.app.store.raw_event_counts().await.ok(), Some(Default::default()), "nothing is stored");
    // Repeated refusals surface on the channel.
    let x = rig
        .app
        .store
        .channel(&rig.channels[&SimNetwork::X].id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("channel"));
    assert_eq!(x.health, ChannelHealth::Ok, "two refusals are not yet a pattern");
    for n in 2..4 {
        rig.act(CustomerAction::XMention { account: None, customer: customer(n), text: "@acme_x hi".into() }).await;
    }
    let x = rig
        .app
        .store
        .channel(&rig.channels[&SimNetwork::X].id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("channel"));
    assert_eq!(x.health, ChannelHealth::Degraded, "{}", x.health_detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_is_published_exactly_once_through_429_5xx_and_a_timeout() {
    for store in testing::all().await {
        let backend = store.name;
        let rig = rig(store).await;
        rig.act(CustomerAction::XMention {
            account: None,
            customer: customer(1),
            text: "@acme_x my order never arrived".into(),
        })
        .await;
        rig.drain().await;
        let conversation = rig.only_conversation().await;
        rig.sandbox.set_faults(
            SimNetwork::X,
            Faults::none()
                .fail_next(ApiFault::Timeout { secs: 3 })
                .fail_next(ApiFault::RateLimited)
                .fail_next(ApiFault::ServerError(503)),
        );
        let reply = rig.reply(&conversation.id, Visibility::Public, "Sorry about that! Looking into it now.").await;
        for _ in 0..120 {
            rig.drain().await;
            let m = rig.app.store.message(&reply.id).await.ok().flatten().unwrap_or_else(|| panic!("message"));
            if m.delivery_status == DeliveryStatus::Published {
                break;
            }
            // The timed-out request is still being held by the sandbox; let it land.
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let published: Vec<_> = rig.sandbox.published().into_iter().filter(|p| p.text == reply.text).collect();
        let trail = rig.app.store.delivery_attempts(&reply.id).await.unwrap_or_default();
        let calls: Vec<String> =
            rig.sandbox.calls().iter().map(|c| format!("{} {} {} {:?}", c.method, c.path, c.status, c.fault)).collect();
        assert_eq!(
            published.len(),
            1,
            "{backend}: published {} times; attempts {trail:?}; calls {calls:?}",
            published.len()
        );
        let stored = rig.app.store.message(&reply.id).await.ok().flatten().unwrap_or_else(|| panic!("message"));
        assert_eq!(stored.delivery_status, DeliveryStatus::Published, "{backend}: {:?}", stored.delivery_error);
        assert_eq!(stored.platform_message_id.as_deref(), Some(published[0].id.as_str()));
        let attempts = rig.app.store.delivery_attempts(&reply.id).await.unwrap_or_default();
        let outcomes: Vec<&str> = attempts.iter().map(|a| a.outcome.as_str()).collect();
        assert!(outcomes.len() >= 3, "{backend}: every attempt is logged: {outcomes:?}");

        // A reply the network refuses for good shows the network's reason.
        let again = rig.reply(&conversation.id, Visibility::Public, "Sorry about that! Looking into it now.").await;
        rig.drain().await;
        let failed = rig.app.store.message(&again.id).await.ok().flatten().unwrap_or_else(|| panic!("message"));
        assert_eq!(failed.delivery_status, DeliveryStatus::Failed, "{backend}");
        assert!(
            failed.delivery_error.as_deref().unwrap_or("").to_lowercase().contains("duplicate"),
            "{backend}: {:?}",
            failed.delivery_error
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_turns_the_channel_unhealthy_with_an_alert_and_it_recovers() {
    let rig = rig(testing::sqlite().await).await;
    rig.act(CustomerAction::MessengerMessage {
        account: None,
        customer: customer(1),
        text: "Hi, the app keeps logging me out".into(),
        reply_to_mid: None,
    })
    .await;
    rig.drain().await;
    let conversation = rig.only_conversation().await;
    let before = rig.app.store.last_event_id().await.unwrap_or(0);
    rig.sandbox.set_faults(SimNetwork::Facebook, Faults::none().expired_token());
    let reply = rig.reply(&conversation.id, Visibility::Private, "Sorry! Which phone do you use?").await;
    rig.drain().await;
    let fb = &rig.channels[&SimNetwork::Facebook];
    let channel = rig.app.store.channel(&fb.id).await.ok().flatten().unwrap_or_else(|| panic!("channel"));
    assert_eq!(channel.health, ChannelHealth::Failing, "{}", channel.health_detail);
    let message = rig.app.store.message(&reply.id).await.ok().flatten().unwrap_or_else(|| panic!("message"));
    assert_eq!(message.delivery_status, DeliveryStatus::Failed);
    let events = rig.app.store.events_after(&fb.workspace_id, before, 500).await.unwrap_or_default();
    let alert = events.iter().find(|e| e.kind == "alert.raised" && e.subject_id == fb.id);
    let alert = alert.unwrap_or_else(|| panic!("an alert is raised"));
    // The alert carries what each agent's screen needs to say it in their language.
    assert_eq!(alert.payload["health"], "failing", "{}", alert.payload);
    assert_eq!(alert.payload["detail_note"]["key"], "credentials-rejected", "{}", alert.payload);
    assert_eq!(
        message.delivery_error.as_deref().map(hark_domain::DeliveryNote::parse).and_then(|n| n.message()).map(|m| m.0),
        Some("credentials-rejected"),
        "the reply's reason reads as Hark's sentence: {:?}",
        message.delivery_error
    );

    rig.sandbox.set_faults(SimNetwork::Facebook, Faults::none());
    hark_jobs::health::check_once(&rig.workers, false).await;
    let channel = rig.app.store.channel(&fb.id).await.ok().flatten().unwrap_or_else(|| panic!("channel"));
    assert_eq!(channel.health, ChannelHealth::Ok);
    // The agent retries and it goes out once.
    rig.app.retry_message(&rig.agent, &reply.id).await.unwrap_or_else(|e| panic!("{e}"));
    rig.drain().await;
    let sent: Vec<_> = rig.sandbox.published().into_iter().filter(|p| p.text == reply.text).collect();
    assert_eq!(sent.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x_complaint_is_answered_publicly_then_privately() {
    let rig = rig(testing::sqlite().await).await;
    let c = customer(7);
    let mention = rig
        .act(CustomerAction::XMention {
            account: None,
            customer: c.clone(),
            text: "@acme_x my order #4471 never arrived, can you check?".into(),
        })
        .await;
    rig.drain().await;
    let conversation = rig.only_conversation().await;
    assert_eq!(conversation.kind, ConversationKind::Public);
    rig.reply(&conversation.id, Visibility::Public, "So sorry, Dana! We've sent you a DM to sort this out.").await;
    rig.reply(&conversation.id, Visibility::Private, "Hi Dana, could you share your order number and postcode?").await;
    rig.drain().await;
    let published = rig.sandbox.published();
    let public: Vec<_> = published.iter().filter(|p| p.kind == PublishedKind::Reply).collect();
    let private: Vec<_> = published.iter().filter(|p| p.kind == PublishedKind::DirectMessage).collect();
    assert_eq!(public.len(), 1);
    assert_eq!(
        public[0].in_reply_to.as_deref(),
        Some(mention.item_id.as_str()),
        "the public reply answers the mention"
    );
    assert_eq!(private.len(), 1);
    assert_eq!(private[0].recipient.as_deref(), Some(c.id.as_str()), "the DM goes to the customer");
    // X echoes the DM back to the webhook; it must not become a second message.
    rig.sandbox.settle().await;
    rig.drain().await;
    let messages = rig.all_messages().await;
    let outbound: Vec<_> = messages.iter().filter(|m| m.direction == Direction::Outbound).collect();
    assert_eq!(outbound.len(), 2, "{:?}", outbound.iter().map(|m| &m.text).collect::<Vec<_>>());
    assert!(outbound.iter().all(|m| m.delivery_status == DeliveryStatus::Published && m.platform_message_id.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facebook_comment_gets_one_private_reply() {
    let rig = rig(testing::sqlite().await).await;
    let comment = rig
        .act(CustomerAction::FacebookComment {
            account: None,
            customer: customer(3),
            post_id: None,
            parent_comment_id: None,
            text: "Still no refund after 3 weeks?!".into(),
        })
        .await;
    rig.drain().await;
    let conversation = rig.only_conversation().await;
    assert_eq!(conversation.kind, ConversationKind::Public);
    rig.reply(&conversation.id, Visibility::Public, "We're sorry! We've sent you a private message.").await;
    rig.reply(&conversation.id, Visibility::Private, "Hi! Could you send us your booking reference?").await;
    rig.drain().await;
    let published = rig.sandbox.published();
    let private: Vec<_> = published.iter().filter(|p| p.kind == PublishedKind::PrivateReply).collect();
    assert_eq!(private.len(), 1, "{published:?}");
    assert_eq!(private[0].in_reply_to.as_deref(), Some(comment.item_id.as_str()));
    assert_eq!(
        published.iter().filter(|p| p.kind == PublishedKind::Comment || p.kind == PublishedKind::Reply).count(),
        1
    );
    // Meta allows one private reply per comment: Hark refuses a second before calling the API.
    let second = rig.reply(&conversation.id, Visibility::Private, "Any news?").await;
    let calls_before = rig.sandbox.calls().len();
    rig.drain().await;
    let second = rig.app.store.message(&second.id).await.ok().flatten().unwrap_or_else(|| panic!("message"));
    assert_eq!(second.delivery_status, DeliveryStatus::Failed);
    assert!(second.delivery_error.as_deref().unwrap_or("").contains("private reply"), "{:?}", second.delivery_error);
    // The stored reason names the rule, so the agent's screen words it as the composer does.
    let note = hark_domain::DeliveryNote::parse(second.delivery_error.as_deref().unwrap_or(""));
    let (key, args) = note.refusal().unwrap_or_else(|| panic!("a refusal: {:?}", second.delivery_error));
    assert_eq!(key, "private-reply-used");
    assert!(args.iter().any(|(name, value)| name == "network" && value == "Facebook"), "{args:?}");
    assert_eq!(rig.sandbox.calls().len(), calls_before, "refused before calling the network");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_channel_takes_messages_in_and_sends_signed_replies_out() {
    use std::sync::{Arc, Mutex};
    let rig = rig(testing::sqlite().await).await;
    // The partner's receiver checks every delivery's signature.
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let secret = "whsec_c2ltLWdlbmVyaWMtd2ViaG9vay1rZXktMzJieXRlcyE=";
    let sink = received.clone();
    let receiver = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let ts: i64 = h("webhook-timestamp").parse().unwrap_or(0);
                let ok = hark_channels::api_channel::verify(
                    secret,
                    &h("webhook-id"),
                    ts,
                    &body,
                    &h("webhook-signature"),
                    jiff::Timestamp::now(),
                );
                if !ok {
                    return axum::http::StatusCode::UNAUTHORIZED;
                }
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(serde_json::from_slice(&body).unwrap_or_default());
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let hook = format!("http://{}/hooks", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let system = Actor::system(rig.agent.workspace_id());
    let channel = rig
        .app
        .create_channel(
            &system,
            ChannelCreate {
                network: Network::Api,
                name: "Shop chat".into(),
                handle: "shop".into(),
                external_id: "shop-1".into(),
                credentials: json!({ "inbound_token": "partner-token-123", "webhook_secret": secret })
                    .as_object()
                    .cloned(),
                settings: json!({ "webhook_url": hook }),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let base = rig.sandbox.accounts()[0].webhook_url.clone().unwrap_or_default();
    let base = base.split("/webhooks/").next().unwrap_or_default().to_owned();
    let client = reqwest::Client::new();
    let post = |token: &'static str| {
        client
            .post(format!("{base}/api/v1/channels/{}/messages", channel.id))
            .bearer_auth(token)
            .json(&json!({
                "id": "ext-123", "thread_id": "ext-thread-9", "visibility": "private",
                "author": { "id": "u-77", "name": "Kim", "handle": "@kim" }, "text": "Where is my parcel?"
            }))
            .send()
    };
    assert_eq!(post("wrong").await.map(|r| r.status().as_u16()).ok(), Some(401));
    assert_eq!(post("partner-token-123").await.map(|r| r.status().as_u16()).ok(), Some(202));
    assert_eq!(post("partner-token-123").await.map(|r| r.status().as_u16()).ok(), Some(200), "a repeat is idempotent");
    rig.drain().await;
    let conversation = rig.only_conversation().await;
    assert_eq!(conversation.channel_id, channel.id);
    rig.reply(&conversation.id, Visibility::Private, "It left our warehouse this morning.").await;
    rig.drain().await;
    let got = received.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(got.len(), 1, "one signed delivery: {got:?}");
    assert_eq!(got[0]["data"]["text"], "It left our warehouse this morning.");
    assert_eq!(got[0]["data"]["recipient"]["id"], "u-77");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_picks_up_mentions_keyword_hits_and_bot_messages_without_webhooks() {
    let rig = rig_with(testing::sqlite().await, Mode::Polling).await;
    rig.act(CustomerAction::XMention {
        account: None,
        customer: customer(1),
        text: "@acme_x where is my refund?".into(),
    })
    .await;
    rig.act(CustomerAction::TelegramPrivateMessage {
        account: None,
        customer: customer(2),
        text: "Hallo, Bestellung fehlt".into(),
        reply_to_message_id: None,
    })
    .await;
    rig.sandbox.settle().await;
    assert_eq!(rig.app.store.raw_event_counts().await.ok(), Some(Default::default()), "no webhooks: nothing yet");
    let stored = hark_jobs::poll::poll_once(&rig.workers).await;
    let calls: Vec<String> =
        rig.sandbox.calls().iter().map(|c| format!("{} {} {}", c.method, c.path, c.status)).collect();
    let health: Vec<String> = rig.channels.values().map(|c| c.id.clone()).collect();
    let mut states = vec![];
    for id in health {
        if let Ok(Some(c)) = rig.app.store.channel(&id).await {
            states.push(format!("{} {} {}", c.network, c.health, c.health_detail));
        }
    }
    assert!(stored >= 2, "polling stored {stored} events; calls {calls:?}; channels {states:?}");
    // Polling again finds nothing new: cursors moved only after storing.
    assert_eq!(hark_jobs::poll::poll_once(&rig.workers).await, 0);
    rig.drain().await;
    let messages = rig.all_messages().await;
    assert_eq!(
        messages.len(),
        2,
        "the mention found by both the mentions timeline and the keyword search is one message"
    );
    let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
    assert!(texts.iter().any(|t| t.contains("refund")) && texts.iter().any(|t| t.contains("Bestellung")), "{texts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_like_a_mention_and_hide_a_comment_from_the_api() {
    let rig = rig(testing::sqlite().await).await;
    let mention = rig
        .act(CustomerAction::XMention {
            account: None,
            customer: customer(1),
            text: "@acme_x best airline ever!".into(),
        })
        .await;
    let comment = rig
        .act(CustomerAction::FacebookComment {
            account: None,
            customer: customer(2),
            post_id: None,
            parent_comment_id: None,
            text: "Spam spam spam".into(),
        })
        .await;
    rig.drain().await;
    let token =
        rig.app.create_token_for_email("agent@acme.test", "tests").await.unwrap_or_else(|e| panic!("{e}")).token;
    let client = reqwest::Client::new();
    let mut ids = BTreeMap::new();
    for m in rig.all_messages().await {
        ids.insert(m.platform_message_id.clone().unwrap_or_default(), m.id.clone());
    }
    let engage = |message_id: String, action: &'static str| {
        client
            .post(format!("{}/api/v1/messages/{message_id}/engage", rig.base))
            .bearer_auth(&token)
            .json(&json!({ "action": action }))
            .send()
    };
    let liked = engage(ids[&mention.item_id].clone(), "like").await.map(|r| r.status().as_u16()).ok();
    assert_eq!(liked, Some(204));
    let hidden = engage(ids[&comment.item_id].clone(), "hide").await.map(|r| r.status().as_u16()).ok();
    assert_eq!(hidden, Some(204));
    let refused = engage(ids[&comment.item_id].clone(), "repost").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused.status().as_u16(), 400, "Facebook has no repost");
    let published = rig.sandbox.published();
    assert!(published.iter().any(|p| p.kind == PublishedKind::Like && p.id == mention.item_id), "{published:?}");
    assert!(published.iter().any(|p| p.kind == PublishedKind::Hide && p.id == comment.item_id), "{published:?}");
    let log = rig.app.audit_log(&Actor::system(rig.agent.workspace_id()), &Page::first(100)).await.unwrap_or_default();
    assert!(log.iter().any(|a| a.action == "message.like") && log.iter().any(|a| a.action == "message.hide"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_outside_the_whatsapp_window_is_refused_with_the_reason_before_any_call() {
    let rig = rig(testing::sqlite().await).await;
    // The customer wrote 30 hours ago.
    rig.sandbox.advance(jiff::SignedDuration::from_hours(-30));
    let wa = Customer::new("447700900123", "", "Aisha K");
    rig.act(CustomerAction::WhatsappMessage {
        account: None,
        customer: wa,
        text: "Is the store open on Sunday?".into(),
        bsuid: None,
        hide_phone: false,
        context_message_id: None,
        with_image: false,
    })
    .await;
    rig.sandbox.advance(jiff::SignedDuration::from_hours(30));
    rig.drain().await;
    let conversation = rig.only_conversation().await;
    let token =
        rig.app.create_token_for_email("agent@acme.test", "tests").await.unwrap_or_else(|e| panic!("{e}")).token;
    let client = reqwest::Client::new();
    let options: Value = client
        .get(format!("{}/api/v1/conversations/{}/reply-options", rig.base, conversation.id))
        .bearer_auth(&token)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let private =
        options.as_array().and_then(|a| a.iter().find(|o| o["visibility"] == "private")).cloned().unwrap_or_default();
    assert_eq!(private["allowed"], false, "{options}");
    assert!(private["reason"].as_str().unwrap_or("").contains("24"), "{options}");
    let calls_before = rig.sandbox.calls().len();
    let refused = client
        .post(format!("{}/api/v1/conversations/{}/messages", rig.base, conversation.id))
        .bearer_auth(&token)
        .json(&json!({ "visibility": "private", "text": "Yes, 10:00-16:00." }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused.status().as_u16(), 422);
    let body: Value = refused.json().await.unwrap_or_default();
    assert_eq!(body["error"]["code"], "not_allowed");
    assert_eq!(rig.sandbox.calls().len(), calls_before, "nothing reached WhatsApp");
    assert!(rig.all_messages().await.iter().all(|m| m.direction == Direction::Inbound), "nothing was queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x_webhook_that_failed_its_crc_turns_the_channel_unhealthy_until_it_passes_again() {
    let rig = rig(testing::sqlite().await).await;
    let x = rig.channels[&SimNetwork::X].clone();
    let system = Actor::system(rig.agent.workspace_id());
    let enable = |on: bool| hark_app::ChannelUpdate { enabled: Some(on), ..Default::default() };
    // While Hark's endpoint does not answer (here: the channel is switched
    // off), X's periodic CRC fails: X marks the webhook invalid and stops
    // delivering, without telling anyone.
    rig.app.update_channel(&system, &x.id, enable(false)).await.unwrap_or_else(|e| panic!("{e}"));
    rig.sandbox.recheck_x_webhooks().await;
    let failed = rig.sandbox.handshakes().into_iter().rev().find(|h| h.network == SimNetwork::X).map(|h| h.ok);
    assert_eq!(failed, Some(false));
    let off = rig.app.store.channel(&x.id).await.ok().flatten().unwrap_or_else(|| panic!("channel"));
    hark_jobs::health::check_channel(&rig.workers, &off).await;
    let channel = rig.app.store.channel(&x.id).await.ok().flatten().unwrap_or_else(|| panic!("channel"));
    assert_eq!(channel.health, ChannelHealth::Degraded, "{}", channel.health_detail);
    assert!(channel.health_detail.contains("CRC"), "{}", channel.health_detail);
    assert!(
        matches!(ChannelNote::parse(&channel.health_detail), ChannelNote::WebhookMarkedInvalid { ref url } if url.contains(&x.id)),
        "the settings page words it in the admin's language: {}",
        channel.health_detail
    );
    // Back on: X still sends nothing until the webhook is re-validated.
    rig.app.update_channel(&system, &x.id, enable(true)).await.unwrap_or_else(|e| panic!("{e}"));
    let lost =
        rig.act(CustomerAction::XMention { account: None, customer: customer(5), text: "@acme_x hello?".into() }).await;
    rig.drain().await;
    assert!(rig.all_messages().await.is_empty(), "X does not deliver to an invalid webhook: {lost:?}");
    // The watchdog has X re-run the check; the channel turns green and deliveries flow.
    hark_jobs::health::check_once(&rig.workers, true).await;
    let channel = rig.app.store.channel(&x.id).await.ok().flatten().unwrap_or_else(|| panic!("channel"));
    assert_eq!(channel.health, ChannelHealth::Ok, "{}", channel.health_detail);
    rig.act(CustomerAction::XMention { account: None, customer: customer(6), text: "@acme_x are you there?".into() })
        .await;
    rig.drain().await;
    assert_eq!(rig.all_messages().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_the_whatsapp_window_an_approved_template_goes_out() {
    let rig = rig(testing::sqlite().await).await;
    rig.sandbox.advance(jiff::SignedDuration::from_hours(-30));
    let wa = Customer::new("447700900124", "", "Aisha K");
    rig.act(CustomerAction::WhatsappMessage {
        account: None,
        customer: wa.clone(),
        text: "Any news on ticket 4471?".into(),
        bsuid: None,
        hide_phone: false,
        context_message_id: None,
        with_image: false,
    })
    .await;
    rig.sandbox.advance(jiff::SignedDuration::from_hours(30));
    rig.drain().await;
    let conversation = rig.only_conversation().await;
    let token =
        rig.app.create_token_for_email("agent@acme.test", "tests").await.unwrap_or_else(|e| panic!("{e}")).token;
    let sent = reqwest::Client::new()
        .post(format!("{}/api/v1/conversations/{}/messages", rig.base, conversation.id))
        .bearer_auth(&token)
        .json(&json!({
            "visibility": "private", "text": "Template ticket_update: your ticket #4471 was updated",
            "template": { "name": "ticket_update", "language": "en_GB", "parameters": ["#4471"] }
        }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent.status().as_u16(), 201, "{:?}", sent.text().await);
    rig.drain().await;
    let published = rig.sandbox.published();
    let templates: Vec<_> = published.iter().filter(|p| p.kind == PublishedKind::Template).collect();
    let debug: Vec<String> = rig
        .all_messages()
        .await
        .iter()
        .map(|m| format!("{:?} {:?} {:?}", m.direction, m.delivery_status, m.delivery_error))
        .collect();
    let calls: Vec<String> =
        rig.sandbox.calls().iter().map(|c| format!("{} {} {} {}", c.method, c.path, c.status, c.body)).collect();
    assert_eq!(templates.len(), 1, "{published:?} {debug:?} {calls:?}");
    // Hark addresses WhatsApp users by their business-scoped id when they have one, else by phone.
    let to = templates[0].recipient.clone().unwrap_or_default();
    assert!(to == wa.id || to.starts_with("user."), "{to}");
    let outbound: Vec<_> =
        rig.all_messages().await.into_iter().filter(|m| m.direction == Direction::Outbound).collect();
    assert!(
        matches!(
            outbound[0].delivery_status,
            DeliveryStatus::Published | DeliveryStatus::Delivered | DeliveryStatus::Read
        ),
        "{:?}",
        outbound[0].delivery_error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_a_channel_registers_hark_with_the_network() {
    let rig = rig_with(testing::sqlite().await, Mode::Unconnected).await;
    let token =
        rig.app.create_token_for_email("agent@acme.test", "tests").await.unwrap_or_else(|e| panic!("{e}")).token;
    // Agents may not connect channels; an admin may.
    let admin = UserCreate {
        email: "admin@acme.test".into(),
        name: "Ad".into(),
        role: Role::Admin,
        password: "long enough password".into(),
        locale: "en".into(),
    };
    rig.app.create_user(&Actor::system(rig.agent.workspace_id()), admin).await.unwrap_or_else(|e| panic!("{e}"));
    let admin_token =
        rig.app.create_token_for_email("admin@acme.test", "tests").await.unwrap_or_else(|e| panic!("{e}")).token;
    let client = reqwest::Client::new();
    let connect = |network: SimNetwork, token: String| {
        let url = format!("{}/api/v1/channels/{}/connect", rig.base, rig.channels[&network].id);
        let client = client.clone();
        async move { client.post(url).bearer_auth(token).send().await.unwrap_or_else(|e| panic!("{e}")) }
    };
    assert_eq!(connect(SimNetwork::X, token.clone()).await.status().as_u16(), 403);
    for network in CONNECTABLE {
        let answer = connect(network, admin_token.clone()).await;
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap_or_default();
        assert_eq!(status, 200, "{network}: {body}");
        assert!(body["webhook_url"].as_str().unwrap_or("").ends_with(&rig.channels[&network].id), "{body}");
    }
    // VK asks Hark to confirm the new server with the code Hark just stored.
    rig.sandbox.rerun_handshakes().await;
    rig.act(CustomerAction::XMention { account: None, customer: customer(1), text: "@acme_x hello".into() }).await;
    rig.act(CustomerAction::TelegramPrivateMessage {
        account: None,
        customer: customer(2),
        text: "Hallo".into(),
        reply_to_message_id: None,
    })
    .await;
    rig.act(CustomerAction::VkMessage { account: None, customer: customer(3), text: "Привет".into() }).await;
    rig.act(CustomerAction::MessengerMessage {
        account: None,
        customer: customer(4),
        text: "Hi".into(),
        reply_to_mid: None,
    })
    .await;
    rig.act(CustomerAction::InstagramMessage { account: None, customer: customer(5), text: "Hola".into() }).await;
    let wa = Customer::new("447700900125", "", "Aisha");
    rig.act(CustomerAction::WhatsappMessage {
        account: None,
        customer: wa,
        text: "Open today?".into(),
        bsuid: None,
        hide_phone: false,
        context_message_id: None,
        with_image: false,
    })
    .await;
    rig.drain().await;
    let subscribed: Vec<String> = rig.sandbox.subscriptions().iter().map(|s| s.object.clone()).collect();
    for object in [
        "x_webhook",
        "x_subscription",
        "telegram_webhook",
        "vk_callback_server",
        "page",
        "instagram",
        "whatsapp_business_account",
    ] {
        assert!(subscribed.iter().any(|s| s == object), "{object} not registered: {subscribed:?}");
    }
    let networks: std::collections::BTreeSet<String> = rig
        .all_messages()
        .await
        .iter()
        .filter_map(|m| rig.channels.iter().find(|(_, c)| c.id == m.channel_id).map(|(n, _)| n.to_string()))
        .collect();
    let expected: std::collections::BTreeSet<String> = CONNECTABLE.iter().map(|n| n.to_string()).collect();
    assert_eq!(networks, expected, "every connected network delivers");
    let log = rig.app.audit_log(&Actor::system(rig.agent.workspace_id()), &Page::first(200)).await.unwrap_or_default();
    assert_eq!(log.iter().filter(|a| a.action == "channel.connect").count(), CONNECTABLE.len());
}

const CONNECTABLE: [SimNetwork; 6] = SimNetwork::ALL;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instagram_mention_arrives_with_its_text_and_author() {
    let rig = rig(testing::sqlite().await).await;
    let c = Customer::new("1790000000000000099", "lina.travels", "Lina");
    rig.act(CustomerAction::InstagramMention {
        account: None,
        customer: c.clone(),
        text: "@acme_instagram best trip ever!".into(),
        in_comment: true,
    })
    .await;
    rig.act(CustomerAction::InstagramMention {
        account: None,
        customer: c,
        text: "Sunset with @acme_instagram".into(),
        in_comment: false,
    })
    .await;
    rig.drain().await;
    let mut texts: Vec<(String, String)> = vec![];
    for m in rig.all_messages().await {
        let contact = rig.app.store.contact(m.author_contact_id.as_deref().unwrap_or_default()).await.ok().flatten();
        texts.push((m.text.clone(), contact.map(|c| c.display_name).unwrap_or_default()));
    }
    texts.sort();
    assert_eq!(
        texts,
        vec![
            ("@acme_instagram best trip ever!".to_owned(), "lina.travels".to_owned()),
            ("Sunset with @acme_instagram".to_owned(), "lina.travels".to_owned()),
        ]
    );
}

/// After resolution a survey goes out in the same channel and the customer's
/// language; answers written as a digit, stars or words in Russian and
/// Chinese are recorded with the right score, and the conversation stays resolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survey_answers_are_recorded_with_the_right_score_end_to_end() {
    use hark_jobs::follow::follow_once;
    use hark_jobs::timers::{ServiceLevelsFollower, send_scheduled_once};
    let rig = rig(testing::sqlite().await).await;
    let ws = rig.agent.workspace_id().to_owned();
    let system = Actor::system(&ws);
    let mut config = rig.app.service_level_config(&ws).await.unwrap_or_else(|e| panic!("{e}"));
    config.csat.enabled = true;
    rig.app.put_service_levels(&system, config).await.unwrap_or_else(|e| panic!("{e}"));
    let follow = || async {
        while follow_once(&rig.workers, &ServiceLevelsFollower).await.unwrap_or_else(|e| panic!("{e}")) > 0 {}
    };
    let cases = [
        (81, "Hello, where is my refund for order 5512? It has been two weeks.", "5", 5, "How would you rate"),
        (82, "Здравствуйте, мой заказ до сих пор не доставлен, помогите пожалуйста", "отлично", 5, "оценили"),
        (83, "你好，我的订单还没有到，请帮我查一下", "很好", 5, "您对我们的服务满意吗"),
        (84, "Hi, the app keeps logging me out every few minutes", "⭐⭐⭐⭐", 4, "How would you rate"),
    ];
    for (n, first, answer, score, question) in cases {
        let c = customer(n);
        rig.act(CustomerAction::XDirectMessage { account: None, customer: c.clone(), text: first.into() }).await;
        rig.drain().await;
        let conversation = rig
            .app
            .store
            .message_by_platform_id(&rig.channels[&SimNetwork::X].id, &{
                let all = rig.all_messages().await;
                all.iter().find(|m| m.text == first).and_then(|m| m.platform_message_id.clone()).unwrap_or_default()
            })
            .await
            .ok()
            .flatten()
            .map(|m| m.conversation_id)
            .unwrap_or_else(|| panic!("no conversation for {first}"));
        rig.reply(&conversation, Visibility::Private, "Sorted, thank you for your patience!").await;
        let resolve = hark_app::ConversationUpdate { status: Some(ConversationStatus::Resolved), ..Default::default() };
        rig.app.update_conversation(&rig.agent, &conversation, resolve).await.unwrap_or_else(|e| panic!("{e}"));
        rig.drain().await;
        follow().await;
        let sent = send_scheduled_once(&rig.workers, jiff::Timestamp::now()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sent, 1, "one survey for {first}");
        rig.drain().await;
        let survey = rig
            .sandbox
            .published()
            .into_iter()
            .rfind(|p| p.recipient.as_deref() == Some(c.id.as_str()))
            .unwrap_or_else(|| panic!("no survey published to {}", c.id));
        assert!(survey.text.contains(question), "survey in the customer's language: {:?}", survey.text);
        rig.act(CustomerAction::XDirectMessage { account: None, customer: c.clone(), text: answer.into() }).await;
        rig.drain().await;
        follow().await;
        let ratings = rig.app.store.csat_of_conversation(&conversation).await.unwrap_or_default();
        assert_eq!(ratings.len(), 1, "{answer:?} is one answer");
        assert_eq!(ratings[0].rating, score, "{answer:?}");
        assert_eq!(
            ratings[0].agent_id.as_deref(),
            Some(rig.agent.user.id.as_str()),
            "credited to the agent who replied"
        );
        let after = rig.app.store.conversation(&conversation).await.ok().flatten().unwrap_or_else(|| panic!("gone"));
        assert_eq!(after.status, ConversationStatus::Resolved, "an answer does not reopen the conversation");
        let history = rig.app.history(&conversation).await.ok().flatten().unwrap_or_else(|| panic!("no history"));
        assert_eq!(history.metrics(None).cycles.len(), 1, "the answer is a rating, not a new cycle");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_out_where_each_network_takes_them_and_are_refused_where_it_does_not() {
    let rig = rig(testing::sqlite().await).await;
    let token =
        rig.app.create_token_for_email("agent@acme.test", "tests").await.unwrap_or_else(|e| panic!("{e}")).token;
    let client = reqwest::Client::new();
    let png: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
    let upload = |name: &'static str, content_type: &'static str, bytes: Vec<u8>| {
        let request = client
            .post(format!("{}/api/v1/uploads?name={name}", rig.base))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(bytes);
        async move {
            let file: Value = request
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .unwrap_or_else(|e| panic!("{e}"))
                .json()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            file["id"].as_str().unwrap_or_default().to_owned()
        }
    };
    let post = |conversation: String, body: Value| {
        let request = client
            .post(format!("{}/api/v1/conversations/{conversation}/messages", rig.base))
            .bearer_auth(&token)
            .json(&body);
        async move {
            let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or_default())
        }
    };
    rig.act(CustomerAction::TelegramPrivateMessage {
        account: None,
        customer: customer(1),
        text: "Can you send me the receipt?".into(),
        reply_to_message_id: None,
    })
    .await;
    rig.act(CustomerAction::WhatsappMessage {
        account: None,
        customer: Customer::new("447700900555", "", "Aisha K"),
        text: "The invoice please".into(),
        bsuid: None,
        hide_phone: false,
        context_message_id: None,
        with_image: false,
    })
    .await;
    rig.act(CustomerAction::MessengerMessage {
        account: None,
        customer: customer(2),
        text: "What does the seat map look like?".into(),
        reply_to_mid: None,
    })
    .await;
    rig.act(CustomerAction::InstagramComment {
        account: None,
        customer: customer(3),
        media_id: None,
        parent_comment_id: None,
        text: "Pics of the new lounge?".into(),
    })
    .await;
    rig.drain().await;

    let picture = upload("receipt.png", "image/png", png.to_vec()).await;
    let (status, sent) = post(
        conversation_on(&rig, SimNetwork::Telegram).await,
        json!({ "visibility": "private", "text": "Here it is", "attachments": [picture] }),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let invoice = upload("invoice.pdf", "application/pdf", b"%PDF-1.4 invoice".to_vec()).await;
    let (status, sent) = post(
        conversation_on(&rig, SimNetwork::Whatsapp).await,
        json!({ "visibility": "private", "text": "Your invoice", "attachments": [invoice] }),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let seat_map = upload("seats.png", "image/png", png.to_vec()).await;
    let messenger = conversation_on(&rig, SimNetwork::Facebook).await;
    // Messenger takes a file as a message of its own.
    let (status, refused) =
        post(messenger.clone(), json!({ "visibility": "private", "text": "The seat map", "attachments": [seat_map] }))
            .await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("not_allowed")), "{refused}");
    let (status, sent) = post(messenger, json!({ "visibility": "private", "attachments": [seat_map] })).await;
    assert_eq!(status, 201, "{sent}");
    // Instagram comments carry text only.
    let lounge = upload("lounge.png", "image/png", png.to_vec()).await;
    let (status, refused) = post(
        conversation_on(&rig, SimNetwork::Instagram).await,
        json!({ "visibility": "public", "text": "Here!", "attachments": [lounge] }),
    )
    .await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("not_allowed")), "{refused}");
    rig.drain().await;

    let published = rig.sandbox.published();
    let on = |network: SimNetwork| -> Vec<String> {
        published.iter().filter(|p| p.network == network).map(|p| p.text.clone()).collect()
    };
    let telegram = on(SimNetwork::Telegram);
    assert_eq!(telegram.len(), 1, "{telegram:?}");
    assert!(telegram[0].starts_with(&format!("[photo {}/files/{picture}/", rig.base)), "{telegram:?}");
    assert!(telegram[0].ends_with("Here it is"), "{telegram:?}");
    let whatsapp = on(SimNetwork::Whatsapp);
    assert_eq!(whatsapp.len(), 1, "{whatsapp:?}");
    assert!(whatsapp[0].starts_with(&format!("[document] {}/files/{invoice}/", rig.base)), "{whatsapp:?}");
    assert!(whatsapp[0].ends_with("Your invoice"), "{whatsapp:?}");
    let messenger = on(SimNetwork::Facebook);
    assert_eq!(messenger.len(), 1, "{messenger:?}");
    assert!(messenger[0].contains(&format!("{}/files/{seat_map}/", rig.base)), "{messenger:?}");
    assert!(on(SimNetwork::Instagram).is_empty(), "nothing reached Instagram");

    // The address the network was given serves the file.
    let address = telegram[0].trim_start_matches("[photo ").split(']').next().unwrap_or_default().to_owned();
    let fetched = reqwest::get(&address).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap_or_default().as_ref(), png);
    let stored = rig.all_messages().await;
    let with_files = stored.iter().filter(|m| m.attachments.iter().any(|a| a.get("upload_id").is_some())).count();
    assert_eq!(with_files, 3, "exactly the three accepted replies carry files");
}

/// The first conversation on a network's channel.
async fn conversation_on(rig: &Rig, network: SimNetwork) -> String {
    let filter = hark_store::ConversationFilter {
        workspace_id: rig.agent.workspace_id().to_owned(),
        channel_id: Some(rig.channels[&network].id.clone()),
        ..Default::default()
    };
    let list = rig.app.store.conversations(&filter, &Page::first(10)).await.unwrap_or_default();
    list.into_iter().next().unwrap_or_else(|| panic!("no conversation on {network}")).id
}

/// The conversation pane as an agent's browser gets it.
async fn pane_html(rig: &Rig, conversation_id: &str) -> String {
    let session =
        rig.app.login("agent@acme.test", "long enough password", "tests").await.unwrap_or_else(|e| panic!("{e}"));
    let response = reqwest::Client::new()
        .get(format!("{}/ui/pane/{conversation_id}", rig.base))
        .header("cookie", format!("hark_session={}", session.token))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    response.text().await.unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_thread_shows_the_post_it_hangs_from_read_once_from_the_network() {
    let rig = rig(testing::sqlite().await).await;
    // The follower starts from now on: claim it before anything happens.
    hark_jobs::posts::follow_once(&rig.workers).await.unwrap_or_else(|e| panic!("{e}"));
    let autumn = "Our autumn collection is here! Tell us what you think 🍂";
    for n in 0..2 {
        rig.act(CustomerAction::FacebookComment {
            account: None,
            customer: customer(n),
            post_id: None,
            parent_comment_id: None,
            text: format!("Is the coat in stock? {n}"),
        })
        .await;
    }
    rig.act(CustomerAction::InstagramComment {
        account: None,
        customer: customer(3),
        media_id: None,
        parent_comment_id: None,
        text: "Love it".into(),
    })
    .await;
    rig.act(CustomerAction::VkWallComment {
        account: None,
        customer: customer(4),
        post_id: None,
        reply_to_comment: None,
        text: "Когда открытие?".into(),
    })
    .await;
    rig.act(CustomerAction::XMention {
        account: None,
        customer: customer(5),
        text: "@acme_x where is my parcel?".into(),
    })
    .await;
    rig.drain().await;
    while hark_jobs::posts::follow_once(&rig.workers).await.unwrap_or_else(|e| panic!("{e}")) > 0 {}

    // Two conversations on one Facebook post: read from the network once.
    let graph_reads = |calls: &[hark_sandbox::RecordedCall]| {
        calls
            .iter()
            .filter(|c| c.network == SimNetwork::Facebook && c.method == "GET" && c.path.contains("_122"))
            .count()
    };
    assert_eq!(graph_reads(&rig.sandbox.calls()), 1, "the Page post is read once");

    let facebook = conversation_on(&rig, SimNetwork::Facebook).await;
    let html = pane_html(&rig, &facebook).await;
    assert_eq!(html.matches(autumn).count(), 1, "the post's text is shown once: {html}");
    assert!(html.contains("thread-post"), "{html}");
    assert!(html.contains("acme_facebook"), "the Page is named as the author");
    let instagram = pane_html(&rig, &conversation_on(&rig, SimNetwork::Instagram).await).await;
    assert_eq!(instagram.matches(autumn).count(), 1, "the media's caption is shown: {instagram}");
    assert!(instagram.contains("@acme_instagram"));
    let vk = pane_html(&rig, &conversation_on(&rig, SimNetwork::Vk).await).await;
    assert_eq!(vk.matches("Мы открыли новый магазин в Казани!").count(), 1, "{vk}");
    // A mention starts its own thread: the tweet is the first message, so
    // nothing is read from X and no card repeats it.
    let x = conversation_on(&rig, SimNetwork::X).await;
    let x = rig.app.store.conversation(&x).await.ok().flatten().unwrap_or_else(|| panic!("conversation"));
    let channel = &rig.channels[&SimNetwork::X].id;
    let thread = x.platform_thread_id.clone().unwrap_or_default();
    assert!(rig.app.store.thread_post(channel, &thread).await.ok().flatten().is_none());
    let x_html = pane_html(&rig, &x.id).await;
    assert!(!x_html.contains("thread-post-text"), "{x_html}");
    assert_eq!(x_html.matches("where is my parcel?").count(), 1, "{x_html}");

    // A post's text is the network's, shown as text, never as markup.
    let mut hostile = rig
        .app
        .store
        .thread_post(
            &rig.channels[&SimNetwork::Facebook].id,
            &rig.app
                .store
                .conversation(&facebook)
                .await
                .ok()
                .flatten()
                .and_then(|c| c.platform_thread_id)
                .unwrap_or_default(),
        )
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("the Page post is stored"));
    hostile.text = "<script>alert(1)</script> hi".into();
    rig.app.store.commit(vec![hark_store::Write::PutThreadPost(hostile)]).await.unwrap_or_else(|e| panic!("{e}"));
    let html = pane_html(&rig, &facebook).await;
    assert!(
        html.contains("blockquote class=\"thread-post-text\" dir=\"auto\">&lt;script&gt;alert(1)&lt;/script&gt; hi"),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_that_cannot_say_what_the_post_was_does_not_hold_up_the_conversation() {
    let rig = rig(testing::sqlite().await).await;
    hark_jobs::posts::follow_once(&rig.workers).await.unwrap_or_else(|e| panic!("{e}"));
    rig.act(CustomerAction::FacebookComment {
        account: None,
        customer: customer(1),
        post_id: None,
        parent_comment_id: None,
        text: "Anyone there?".into(),
    })
    .await;
    rig.drain().await;
    rig.sandbox.set_faults(SimNetwork::Facebook, Faults::none().expired_token());
    while hark_jobs::posts::follow_once(&rig.workers).await.unwrap_or_else(|e| panic!("{e}")) > 0 {}
    rig.sandbox.set_faults(SimNetwork::Facebook, Faults::none());
    let conversation = conversation_on(&rig, SimNetwork::Facebook).await;
    let html = pane_html(&rig, &conversation).await;
    assert!(html.contains("Anyone there?"), "the conversation is there: {html}");
    assert!(!html.contains("thread-post"), "no post was stored, so today's header shows: {html}");
    assert!(html.contains("Comments on post"), "{html}");
}
