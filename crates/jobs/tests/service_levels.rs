//! Service levels end to end below the web layer: the follower records the
//! facts, SLA timers are durable and fire once across nodes, and the report
//! summaries equal a recomputation from the stored history with the domain's
//! metric definitions, to the second.

use std::sync::Arc;

use hark_app::reports::{ReportGroup, ReportQuery};
use hark_app::service_levels::ServiceLevelConfig;
use hark_app::{Actor, ActorVia, App, ChannelCreate, CredentialSealer, InboundAuthor, InboundItem, IngestOutcome};
use hark_domain::metrics::{MetricsSummary, TimeBasis};
use hark_domain::sla::{SlaAttainment, SlaPolicy};
use hark_domain::*;
use hark_jobs::follow::follow_once;
use hark_jobs::timers::{ServiceLevelsFollower, fire_due_once};
use hark_jobs::{WorkerConfig, Workers};
use hark_store::{NewAuditEntry, NewEvent, Store, Write, testing};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

fn later(t: Timestamp, seconds: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_secs(seconds)).unwrap_or(t)
}

fn ms(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}

struct Rig {
    app: App,
    ws: Workspace,
    channel: Channel,
    agent: User,
    nodes: Vec<Workers>,
}

async fn rig(store: Arc<dyn Store>, second: Option<Arc<dyn Store>>) -> Rig {
    let app = App::new(store.clone(), CredentialSealer::new(&[7u8; 32]));
    let ws = app.create_workspace("Acme", "Europe/Athens").await.unwrap_or_else(|e| panic!("{e}"));
    let system = Actor::system(&ws.id);
    let channel = app
        .create_channel(
            &system,
            ChannelCreate {
                network: Network::Api,
                name: "Support API".into(),
                handle: "support".into(),
                external_id: "api-1".into(),
                credentials: None,
                settings: json!({}),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let agent = app
        .create_user(
            &system,
            hark_app::UserCreate {
                email: "ada@acme.test".into(),
                name: "Ada".into(),
                role: Role::Agent,
                password: "correct horse battery staple".into(),
                locale: "en".into(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let policy = SlaPolicy {
        id: "standard".into(),
        name: "Standard".into(),
        conditions: Default::default(),
        first_response_seconds: Some(3600),
        next_response_seconds: Some(1800),
        resolution_seconds: Some(86_400),
        business_hours: false,
        warn_fraction: 0.8,
    };
    let mut config = ServiceLevelConfig::default();
    config.policies.default = Some(policy);
    app.put_service_levels(&system, config).await.unwrap_or_else(|e| panic!("{e}"));
    hark_channels::http::install_crypto_provider();
    let intake = hark_app::intake::Intake::start(store.clone());
    let mut nodes = vec![];
    for (n, s) in [("node-a", Some(store.clone())), ("node-b", second.or(Some(store)))] {
        let Some(s) = s else { continue };
        let node_app = App::new(s.clone(), CredentialSealer::new(&[7u8; 32]));
        // The test's Slack receiver listens on loopback.
        let config = WorkerConfig { allow_private_hooks: true, ..WorkerConfig::default() };
        let mut w = Workers::new(node_app, hark_channels::http::client(), intake.clone(), config);
        w.node_id = n.into();
        nodes.push(w);
    }
    Rig { app, ws, channel, agent, nodes }
}

impl Rig {
    async fn inbound(&self, customer: &str, message_id: &str, text: &str, at: Timestamp) -> String {
        self.inbound_in(ConversationKind::Private, customer, message_id, text, at).await
    }

    async fn inbound_in(
        &self,
        kind: ConversationKind,
        customer: &str,
        message_id: &str,
        text: &str,
        at: Timestamp,
    ) -> String {
        let item = InboundItem {
            channel_id: self.channel.id.clone(),
            kind,
            platform_message_id: message_id.into(),
            platform_thread_id: (kind == ConversationKind::Public).then(|| format!("post-{message_id}")),
            platform_parent_id: None,
            author: InboundAuthor {
                platform_user_id: customer.into(),
                handle: customer.into(),
                display_name: customer.into(),
            },
            text: text.into(),
            attachments: vec![],
            created_at: ms(at),
            language: None,
            sentiment: None,
            intent: None,
            personal_data: vec![],
        };
        match self.app.ingest(item).await.unwrap_or_else(|e| panic!("{e}")) {
            IngestOutcome::Created { conversation_id, .. } => conversation_id,
            other => {
                let message = self.app.store.message_by_platform_id(&self.channel.id, message_id).await.ok().flatten();
                message.map(|m| m.conversation_id).unwrap_or_else(|| panic!("not ingested: {other:?}"))
            }
        }
    }

    /// A reply as it would have been written at `at` (by a person or a bot).
    async fn reply(&self, conversation_id: &str, at: Timestamp, by_person: bool) {
        let at = ms(at);
        let before =
            self.app.store.conversation(conversation_id).await.ok().flatten().unwrap_or_else(|| panic!("gone"));
        let mut message = Message::written_by_user(
            hark_app::new_id("msg"),
            &before,
            &self.agent.id,
            Visibility::Private,
            "On it!",
            DeliveryStatus::Published,
            at,
        );
        if !by_person {
            message.author_kind = AuthorKind::Bot;
            message.author_user_id = None;
        }
        let mut after = before.clone();
        after.record_outbound(at, by_person);
        after.version += 1;
        self.commit_with_events(
            at,
            vec![
                Write::InsertMessage(message.clone()),
                Write::UpdateConversation { conversation: after.clone(), expected_version: before.version },
            ],
            vec![("message.created", json!(message)), ("conversation.updated", json!(after))],
            conversation_id,
            None,
        )
        .await;
    }

    async fn status(&self, conversation_id: &str, at: Timestamp, to: ConversationStatus, snooze: Option<Timestamp>) {
        let at = ms(at);
        let before =
            self.app.store.conversation(conversation_id).await.ok().flatten().unwrap_or_else(|| panic!("gone"));
        let mut after = before.clone();
        after.change_status(to, at, snooze.map(ms)).unwrap_or_else(|e| panic!("{e}"));
        after.version += 1;
        self.commit_with_events(
            at,
            vec![Write::UpdateConversation { conversation: after.clone(), expected_version: before.version }],
            vec![("conversation.updated", json!(after))],
            conversation_id,
            Some(&self.agent.id),
        )
        .await;
    }

    async fn commit_with_events(
        &self,
        at: Timestamp,
        mut writes: Vec<Write>,
        events: Vec<(&str, serde_json::Value)>,
        subject: &str,
        audited_user: Option<&str>,
    ) {
        if let Some(user) = audited_user {
            writes.push(Write::Audit(NewAuditEntry {
                workspace_id: self.ws.id.clone(),
                at,
                actor_kind: "user".into(),
                actor_id: Some(user.to_owned()),
                action: "conversation.status".into(),
                subject_type: "conversation".into(),
                subject_id: subject.to_owned(),
                detail: json!({}),
            }));
        }
        for (kind, payload) in events {
            writes.push(Write::Event(NewEvent {
                workspace_id: self.ws.id.clone(),
                at,
                kind: kind.into(),
                subject_id: subject.to_owned(),
                payload,
            }));
        }
        self.app.store.commit(writes).await.unwrap_or_else(|e| panic!("{e}"));
    }

    async fn follow(&self) {
        let follower = ServiceLevelsFollower;
        while follow_once(&self.nodes[0], &follower).await.unwrap_or_else(|e| panic!("{e}")) > 0 {}
    }

    async fn count_events(&self, kind: &str) -> usize {
        let events = self.app.store.events_after(&self.ws.id, 0, 100_000).await.unwrap_or_default();
        events.iter().filter(|e| e.kind == kind).count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_fires_once_across_nodes_and_after_a_restart() {
    for t in testing::all().await {
        // On PostgreSQL the second node has its own pool, as a second process would.
        let second: Option<Arc<dyn Store>> = match t.name {
            "postgres" => Some(Arc::new(
                hark_store::postgres::PgStore::connect(&t.url, 4).await.unwrap_or_else(|e| panic!("{e}")),
            )),
            _ => None,
        };
        let r = rig(t.store.clone(), second).await;
        // A rule on the breach, to see it run once per breach wherever it is noticed.
        let label: hark_app::LabelInput =
            serde_json::from_value(json!({ "name": "late" })).unwrap_or_else(|e| panic!("{e}"));
        r.app.create_label(&Actor::system(&r.ws.id), label).await.unwrap_or_else(|e| panic!("{e}"));
        let late: hark_app::RuleInput = serde_json::from_value(json!({
            "name": "Late answers", "trigger": { "kind": "sla_breached" },
            "actions": [{ "type": "add_label", "label": "late" }],
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        r.app.create_rule(&Actor::system(&r.ws.id), late).await.unwrap_or_else(|e| panic!("{e}"));
        // Rules act from when their follower first runs (the server's start).
        drain_rules(&r.nodes[0]).await;
        let start = ms(Timestamp::now());
        let mut conversations = vec![];
        for i in 0..6 {
            conversations.push(r.inbound(&format!("cust{i}"), &format!("m{i}"), "Where is my parcel?", start).await);
        }
        r.follow().await;
        let timers = r.app.store.sla_timers_of(&conversations[0]).await.unwrap_or_default();
        let keys: Vec<&str> = timers.iter().map(|t| t.target_key.as_str()).collect();
        assert_eq!(keys, ["first_response/0", "resolution/0"], "{}", t.name);
        assert_eq!(timers[0].due_at, later(start, 3600));
        assert_eq!(timers[0].next_at, later(start, 2880), "the warning comes first");

        // Nothing is due yet.
        assert_eq!(fire_due_once(&r.nodes[0], later(start, 60)).await.ok(), Some(0));
        // Forty-nine minutes later: one warning per conversation.
        let at = later(start, 49 * 60);
        let (a, b) = tokio::join!(fire_due_once(&r.nodes[0], at), fire_due_once(&r.nodes[1], at));
        assert_eq!(a.unwrap_or(99) + b.unwrap_or(99), 6, "{}", t.name);
        assert_eq!(r.count_events("sla.warning").await, 6);
        // The server was stopped past the deadline: whichever node starts
        // first finds the overdue timers; each breach fires exactly once.
        let at = later(start, 2 * 3600);
        let (a, b) = tokio::join!(fire_due_once(&r.nodes[0], at), fire_due_once(&r.nodes[1], at));
        assert_eq!(a.unwrap_or(99) + b.unwrap_or(99), 6, "{}", t.name);
        let (a, b) = tokio::join!(fire_due_once(&r.nodes[0], at), fire_due_once(&r.nodes[1], at));
        assert_eq!((a.ok(), b.ok()), (Some(0), Some(0)), "nothing fires twice");
        assert_eq!(r.count_events("sla.breached").await, 6);
        assert_eq!(r.count_events("sla.warning").await, 6);

        // Both nodes follow the events; the breach rule runs once per conversation.
        tokio::join!(drain_rules(&r.nodes[0]), drain_rules(&r.nodes[r.nodes.len() - 1]));
        for id in &conversations {
            let c = r.app.store.conversation(id).await.ok().flatten().unwrap_or_else(|| panic!("gone"));
            assert_eq!(c.labels, ["late"], "{}", t.name);
            let runs = r.app.store.rule_runs(id).await.unwrap_or_default();
            let breach_runs = runs.iter().filter(|run| run.trigger == "sla_breached").count();
            assert_eq!(breach_runs, 1, "{}: {runs:?}", t.name);
        }
        let events = r.app.store.events_after(&r.ws.id, 0, 100_000).await.unwrap_or_default();
        let breach = events.iter().find(|e| e.kind == "sla.breached").unwrap_or_else(|| panic!("no breach"));
        assert!(conversations.contains(&breach.subject_id));
        assert_eq!(breach.payload["target"], "first_response/0");
        assert_eq!(breach.payload["policy_id"], "standard");
        assert_eq!(breach.payload["due_at"], json!(later(start, 3600)));

        // The inbox sees the breach; the resolution timer still runs.
        let states = r.app.store.sla_states(&conversations).await.unwrap_or_default();
        assert_eq!(states.len(), 6);
        assert!(states.iter().all(|s| s.breached == 1 && s.next_due_at == Some(later(start, 86_400))));
        let filter = hark_store::ConversationFilter {
            workspace_id: r.ws.id.clone(),
            sla: Some(hark_store::SlaFilter::Breached),
            ..Default::default()
        };
        assert_eq!(r.app.store.count_conversations(&filter, 100).await.ok(), Some(6));
    }
}

/// Runs the rules follower on one node until it has nothing left to read.
async fn drain_rules(node: &Workers) {
    let rules = hark_jobs::rules::RulesFollower;
    while follow_once(node, &rules).await.unwrap_or_else(|e| panic!("{e}")) > 0 {}
}

/// A small deterministic generator (no randomness from the machine: a failure reproduces).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_figures_equal_a_recomputation_from_the_stored_history() {
    for t in testing::all().await {
        let r = rig(t.store.clone(), None).await;
        let mut rng = Lcg(42);
        // A month of conversations, oldest first, each with its own shape.
        let month_start = later(ms(Timestamp::now()), -31 * 86_400);
        let mut ids = vec![];
        for i in 0..36u64 {
            let mut at = later(month_start, (i * 20 * 3600 + rng.next(3600)) as i64);
            let id = r.inbound(&format!("c{i}"), &format!("g{i}-0"), "My order never arrived", at).await;
            ids.push(id.clone());
            let steps = 2 + rng.next(6);
            for s in 0..steps {
                at = later(at, 30 + rng.next(7200) as i64);
                match rng.next(9) {
                    0 => r.reply(&id, at, false).await,
                    1..=3 => r.reply(&id, at, true).await,
                    4 => r.inbound(&format!("c{i}"), &format!("g{i}-{s}"), "Any news?", at).await.truncate(0),
                    5 => r.status(&id, at, ConversationStatus::Pending, None).await,
                    6 => r.status(&id, at, ConversationStatus::Snoozed, Some(later(at, 3600))).await,
                    7 => r.status(&id, at, ConversationStatus::Open, None).await,
                    _ => r.status(&id, at, ConversationStatus::Resolved, None).await,
                }
            }
            if rng.next(3) > 0 {
                r.status(&id, later(at, 60), ConversationStatus::Resolved, None).await;
            }
        }
        r.follow().await;

        let now = Timestamp::now();
        let config = r.app.service_level_config(&r.ws.id).await.unwrap_or_else(|e| panic!("{e}"));
        let mut expected = MetricsSummary::default();
        let mut outbound = 0;
        let mut sla = SlaAttainment::default();
        let mut inbound_by_day: std::collections::BTreeMap<String, u64> = Default::default();
        let tz = jiff::tz::TimeZone::get("Europe/Athens").unwrap_or(jiff::tz::TimeZone::UTC);
        let mut status_facts = 0;
        for id in &ids {
            let history = r.app.history(id).await.ok().flatten().unwrap_or_else(|| panic!("no history"));
            status_facts += history.status_changes.len();
            let metrics = hark_domain::metrics::conversation_metrics(&history.facts(), None);
            for cycle in &metrics.cycles {
                expected.add_cycle(cycle, TimeBasis::Calendar, now);
            }
            outbound += u64::from(metrics.person_replies() + metrics.automatic_replies());
            if let Some(evaluation) = r.app.evaluate_sla(&history, &config.policies, now).await.ok().flatten() {
                for target in &evaluation.targets {
                    sla.add(target);
                }
            }
            for m in history.messages.iter().filter(|m| m.direction == Direction::Inbound) {
                *inbound_by_day.entry(m.created_at.to_zoned(tz.clone()).date().to_string()).or_default() += 1;
            }
        }
        assert!(status_facts > 20, "the follower recorded the status changes ({status_facts})");
        assert!(expected.resolved > 10 && expected.first_response.count() > 10, "a varied month: {expected:?}");

        let query = ReportQuery {
            from: later(month_start, -86_400).to_zoned(tz.clone()).date(),
            to: later(now, 86_400).to_zoned(tz.clone()).date(),
            time_zone: None,
            group: ReportGroup::Day,
            dimension: Some("agent".into()),
        };
        let report = r.app.report_for(&r.ws, &query).await.unwrap_or_else(|e| panic!("{e}"));
        let totals = &report.totals;
        assert_eq!(totals.cycles, expected.cycles, "{}", t.name);
        assert_eq!(totals.inbound, expected.inbound_messages);
        assert_eq!(totals.outbound, outbound);
        assert_eq!(totals.person_replies, expected.person_replies);
        assert_eq!(totals.automatic_replies, expected.automatic_replies);
        assert_eq!(totals.handled, expected.handled);
        assert_eq!(totals.resolved, expected.resolved);
        for (got, want) in [
            (&totals.first_response, &expected.first_response),
            (&totals.next_response, &expected.next_response),
            (&totals.resolution, &expected.resolution),
        ] {
            assert_eq!(got.count, want.count());
            assert_eq!(got.median_seconds, want.median());
            assert_eq!(got.p90_seconds, want.p90());
            assert_eq!(got.buckets, want.buckets());
        }
        assert_eq!((totals.fcr.part, totals.fcr.whole), (expected.fcr.part, expected.fcr.whole));
        assert_eq!((totals.sla.part, totals.sla.whole), (sla.met, sla.met + sla.breached));
        let by_day: std::collections::BTreeMap<String, u64> = report
            .series
            .iter()
            .filter(|p| p.figures.inbound > 0)
            .map(|p| (p.key.clone(), p.figures.inbound))
            .collect();
        assert_eq!(by_day, inbound_by_day, "inbound volume per local day");
        let agent_total: u64 = report.breakdown.iter().map(|b| b.figures.inbound).sum();
        assert_eq!(agent_total, expected.inbound_messages, "every conversation counts under one agent value");

        // Another zone reads the hour rows and gives the same totals.
        let utc = ReportQuery { time_zone: Some("UTC".into()), dimension: None, ..query.clone() };
        let report = r.app.report_for(&r.ws, &utc).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.source, "hour");
        assert_eq!(report.totals.resolution.median_seconds, expected.resolution.median());
        assert_eq!(report.totals.inbound, expected.inbound_messages);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_are_credited_to_who_changed_them_and_merged_conversations_count_once() {
    let t = testing::sqlite().await;
    let r = rig(t.store.clone(), None).await;
    let start = later(ms(Timestamp::now()), -7200);
    let a = r.inbound("maria", "x1", "Hello, my card was charged twice", start).await;
    r.reply(&a, later(start, 120), true).await;
    r.status(&a, later(start, 600), ConversationStatus::Resolved, None).await;
    r.follow().await;
    let history = r.app.history(&a).await.ok().flatten().unwrap_or_else(|| panic!("no history"));
    assert_eq!(history.status_changes.len(), 1);
    assert_eq!(history.status_changes[0].to_status, ConversationStatus::Resolved);
    assert_eq!(history.status_changes[0].user_id.as_deref(), Some(r.agent.id.as_str()));
    // The customer writes again: the reopening is the message's, not a status change.
    r.inbound("maria", "x2", "It happened again", later(start, 1200)).await;
    r.follow().await;
    let history = r.app.history(&a).await.ok().flatten().unwrap_or_else(|| panic!("no history"));
    assert_eq!(history.status_changes.len(), 1, "{:?}", history.status_changes);
    let metrics = history.metrics(None);
    assert_eq!(metrics.cycles.len(), 2);

    // Merged away, a conversation contributes nothing.
    let system = Actor { user: r.agent.clone(), via: ActorVia::System };
    let b = r.inbound_in(ConversationKind::Public, "maria", "y1", "Also charged twice", later(start, 1300)).await;
    r.follow().await;
    let tz_day =
        later(start, 0).to_zoned(jiff::tz::TimeZone::get("Europe/Athens").unwrap_or(jiff::tz::TimeZone::UTC)).date();
    let query = ReportQuery {
        from: tz_day.yesterday().unwrap_or(tz_day),
        to: tz_day.tomorrow().unwrap_or(tz_day),
        time_zone: None,
        group: ReportGroup::None,
        dimension: None,
    };
    let before = r.app.report_for(&r.ws, &query).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(before.totals.inbound, 3);
    r.app.merge_conversations(&system, &a, &b).await.unwrap_or_else(|e| panic!("{e}"));
    r.follow().await;
    let after = r.app.report_for(&r.ws, &query).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(after.totals.inbound, 3, "the merged conversation's message counts once, in the target");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_surge_raises_one_alert_and_notifies_slack_and_email_once() {
    let t = testing::sqlite().await;
    let r = rig(t.store.clone(), None).await;
    // A real SMTP server: Debian's python3-aiosmtpd printing what it receives.
    let smtp = SmtpSink::start().await;
    // A local receiver in Slack's incoming-webhook format.
    let received: Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{}/hooks/T000/B000", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
    let sink = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            if let Some(body) = read_post(socket).await {
                sink.lock().map(|mut v| v.push(body)).ok();
            }
        }
    });
    let system = Actor::system(&r.ws.id);
    let mut config = r.app.service_level_config(&r.ws.id).await.unwrap_or_else(|e| panic!("{e}"));
    config.alerts.slack_webhook_url = url;
    config.alerts.email_to = vec!["oncall@acme.test".into()];
    r.app.put_service_levels(&system, config).await.unwrap_or_else(|e| panic!("{e}"));

    // Forty quiet minutes (two messages a minute), then ten times that for five minutes.
    let start = later(ms(Timestamp::now()), -3 * 3600);
    let mut n = 0;
    for minute in 0..40 {
        for k in 0..2 {
            n += 1;
            let at = later(start, minute * 60 + k * 20);
            r.inbound(&format!("quiet{n}"), &format!("q{n}"), "Question about my invoice", at).await;
        }
    }
    for minute in 40..45 {
        for k in 0..20 {
            n += 1;
            let at = later(start, minute * 60 + k * 3);
            let text = if k % 2 == 0 { "The app crashes at login" } else { "Login crashes again, app is down" };
            r.inbound(&format!("loud{n}"), &format!("l{n}"), text, at).await;
        }
    }
    r.follow().await;
    let events = r.app.store.events_after(&r.ws.id, 0, 100_000).await.unwrap_or_default();
    let surges: Vec<&Event> =
        events.iter().filter(|e| e.kind == "alert.raised" && e.payload["kind"] == "surge").collect();
    let keys: Vec<(String, String)> =
        surges.iter().map(|e| (e.payload["scope"].to_string(), e.payload["measure"].to_string())).collect();
    let distinct: std::collections::BTreeSet<&(String, String)> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len(), "at most one alert per detector and measure: {keys:?}");
    let surges: Vec<&Event> = surges.into_iter().filter(|e| e.payload["measure"] == "volume").collect();
    let scopes: Vec<&str> = surges.iter().filter_map(|e| e.payload["scope"].as_str()).collect();
    assert_eq!(
        scopes,
        [format!("channel:{}", r.channel.id), format!("workspace:{}", r.ws.id)],
        "one alert per detector, not one per message"
    );
    let terms = surges[0].payload["top_terms"].as_array().cloned().unwrap_or_default();
    assert!(terms.iter().any(|t| t == "login") && terms.iter().any(|t| t == "crashes"), "{terms:?}");
    assert!(surges[0].payload["link"].as_str().is_some_and(|l| l.starts_with("/inbox?since=")));

    let mut node = r.nodes[0].clone();
    let mut config = (*node.config).clone();
    config.smtp = Some(hark_jobs::automation::SmtpConfig {
        url: format!("smtp://127.0.0.1:{}", smtp.port),
        from: "Hark <hark@localhost>".into(),
    });
    node.config = Arc::new(config);
    let delivered = hark_jobs::timers::deliver_alerts_once(&node, Timestamp::now()).await.unwrap_or(0);
    assert_eq!(delivered, keys.len());
    assert_eq!(hark_jobs::timers::deliver_alerts_once(&node, Timestamp::now()).await.ok(), Some(0));
    let mail = eventually_text(&smtp, "oncall@acme.test").await;
    assert!(mail.contains("Hark alert: inbound surge"), "{mail}");
    assert_eq!(
        mail.matches("X-Peer").count().max(mail.matches("---------- MESSAGE FOLLOWS ----------").count()),
        keys.len()
    );
    let got = received.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(got.len(), keys.len());
    assert!(
        got.iter().any(|g| g["text"].as_str().is_some_and(|t| t.contains("inbound surge") && t.contains("login"))),
        "{got:?}"
    );
    assert!(got[0]["blocks"].is_array());
}

/// Reads one HTTP POST's JSON body and answers 200 (a minimal webhook receiver).
async fn read_post(mut socket: tokio::net::TcpStream) -> Option<serde_json::Value> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![];
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await.ok()?;
                return serde_json::from_slice(&buf[end + 4..end + 4 + length]).ok();
            }
        }
    }
}

/// Debian's aiosmtpd as a throwaway SMTP server; what it receives is read from its output.
struct SmtpSink {
    port: u16,
    child: std::process::Child,
    out: std::path::PathBuf,
}

impl SmtpSink {
    async fn start() -> SmtpSink {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let out = std::env::temp_dir().join(format!("hark-smtp-{}-{port}.txt", std::process::id()));
        let file = std::fs::File::create(&out).unwrap_or_else(|e| panic!("{e}"));
        let mut child = std::process::Command::new("/usr/bin/python3")
            .args(["-u", "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Debugging", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(file)
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("an SMTP server for the test (apt-get install python3-aiosmtpd): {e}"));
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return SmtpSink { port, child, out };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("aiosmtpd did not start on port {port} (apt-get install python3-aiosmtpd)");
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.out);
    }
}

async fn eventually_text(smtp: &SmtpSink, wanted: &str) -> String {
    for _ in 0..100 {
        let text = std::fs::read_to_string(&smtp.out).unwrap_or_default();
        if text.contains(wanted) {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the SMTP server received no mail for {wanted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snooze_ends_on_time_and_the_conversation_is_open_again() {
    for t in testing::all().await {
        let r = rig(t.store.clone(), None).await;
        let now = ms(Timestamp::now());
        let ended = r.inbound("s1", "snooze-1", "Call me back tomorrow", later(now, -7200)).await;
        let running = r.inbound("s2", "snooze-2", "Next week is fine", later(now, -7200)).await;
        r.status(&ended, later(now, -3600), ConversationStatus::Snoozed, Some(later(now, -60))).await;
        r.status(&running, later(now, -3600), ConversationStatus::Snoozed, Some(later(now, 3600))).await;

        assert_eq!(r.app.wake_snoozed(now).await.ok(), Some(1), "{}", t.name);
        let woken = r.app.store.conversation(&ended).await.ok().flatten().unwrap_or_else(|| panic!("gone"));
        assert_eq!(woken.status, ConversationStatus::Open, "{}", t.name);
        assert_eq!(woken.snoozed_until, None);
        let still = r.app.store.conversation(&running).await.ok().flatten().unwrap_or_else(|| panic!("gone"));
        assert_eq!(still.status, ConversationStatus::Snoozed);
        // Announced like any change, so every open inbox moves the row.
        let events = r.app.store.events_after(&r.ws.id, 0, 100_000).await.unwrap_or_default();
        let last = events.iter().rev().find(|e| e.subject_id == ended).unwrap_or_else(|| panic!("no event"));
        assert_eq!(last.kind, "conversation.updated");
        assert_eq!(last.payload["status"], "open");
        // Nothing else is due: a second round wakes nobody.
        assert_eq!(r.app.wake_snoozed(now).await.ok(), Some(0));
    }
}
