//! `hark bench inbox`: a workspace of a given size, generated in bulk, then
//! what agents wait for measured over HTTP: each inbox view with filters and
//! pages, opening a conversation (API and page), full-text search in four
//! scripts, and the server's resident memory.
//!
//! The generator writes straight through the store in large transactions
//! (realistic distributions of status, channel, assignee, labels, language
//! and sentiment; multilingual text with names and order numbers), then
//! builds the search index from the database in bulk, as a restore would.

use std::time::{Duration, Instant};

use anyhow::Context;
use hark_app::Actor;
use hark_domain::*;
use hark_store::Write;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::{free_address, latency_summary, resident_mb, round2};
use crate::config::Config;

pub struct InboxOptions {
    pub conversations: usize,
    pub messages: usize,
    pub database_url: Option<String>,
    /// Requests per measured operation.
    pub samples: usize,
}

/// Texts customers write, per language, with `{n}` for an order number and `{name}`.
const CUSTOMER: &[(&str, &str)] = &[
    ("en", "Hi, my order NW-{n} still hasn't arrived, can you check the delivery?"),
    ("en", "My baggage was lost on flight {n}, who do I talk to?"),
    ("en", "I was charged twice for booking {n}, please refund me"),
    ("en", "Thank you {name}, the crew was wonderful today!"),
    ("ru", "Здравствуйте, мой багаж потерялся, рейс {n}. Что делать?"),
    ("ru", "Списали деньги дважды за заказ {n}, верните пожалуйста"),
    ("ru", "Не могу войти в личный кабинет, приложение выдаёт ошибку"),
    ("zh", "你好，我的行李丢了，航班{n}，请帮我查一下"),
    ("zh", "退款申请已经两周了，订单{n}还没有收到钱"),
    ("zh", "客服很好，谢谢{name}"),
    ("el", "Καλησπέρα, η πτήση {n} είχε καθυστέρηση τρεις ώρες"),
    ("el", "Πού είναι οι αποσκευές μου; Κράτηση {n}"),
    ("es", "¿Dónde está mi maleta? Vuelo {n}"),
    ("de", "Mein Koffer ist nicht angekommen, Buchung {n}"),
    ("fr", "Je n'arrive pas à me connecter, commande {n}"),
    ("ar", "لم تصل حقيبتي، رحلة {n}"),
];

const REPLIES: &[&str] = &[
    "Hi {name}, sorry about this. Could you send us your booking reference privately?",
    "Здравствуйте, {name}! Проверим заказ {n} и вернёмся с ответом.",
    "您好{name}，我们正在为您查询订单{n}。",
    "Καλησπέρα {name}, το ελέγχουμε αμέσως.",
    "Thanks {name}, we've passed this on to the team.",
];

const NAMES: &[&str] = &[
    "Maria Kovacs",
    "Дмитрий Орлов",
    "李娜",
    "Γιώργος Νικολάου",
    "Lucía Fernández",
    "Jonas Berg",
    "Aylin Demir",
    "Ahmed Hassan",
    "Chloé Martin",
    "Paolo Rossi",
    "Олена Шевченко",
    "王伟",
];

/// A deterministic generator (xorshift64*), so every run builds the same workspace.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// What the generator made, for the measurements to pick from.
struct Generated {
    owner_email: String,
    agents: Vec<String>,
    teams: Vec<String>,
    labels: Vec<String>,
    channels: Vec<String>,
    sample_conversations: Vec<String>,
    seconds: f64,
}

pub async fn inbox(options: InboxOptions) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir().context("data directory")?;
    let mut config = Config::load(None, crate::config::FlagOverrides::default())?;
    config.listen = free_address()?;
    config.data_dir = dir.path().to_path_buf();
    config.metrics_listen = String::new();
    config.database_url = options.database_url.clone().unwrap_or_default();
    let app = crate::storage::open_app(&config).await?;
    let generated = generate(&app, options.conversations, options.messages).await?;
    // A workspace that grew to this size has had its hourly upkeep (planner
    // statistics on SQLite, autovacuum's on PostgreSQL); a bulk load has not.
    let maintained = Instant::now();
    app.store.maintain().await?;
    let maintain_seconds = maintained.elapsed().as_secs_f64();
    let index_started = Instant::now();
    let search = crate::search::Search::open(&config.data_dir.join("search"), app.store.clone())?;
    let indexed = search.rebuild().await?;
    let index_seconds = index_started.elapsed().as_secs_f64();
    drop(search);
    let running = crate::serve::start(&config, app.clone()).await?;
    let base = format!("http://{}", config.listen);
    let http = reqwest::Client::builder().pool_max_idle_per_host(8).build()?;
    let session = app.login(&generated.owner_email, "bench password 123", "bench").await?;
    let cookie = format!("{}={}", hark_web::SESSION_COOKIE, session.token);
    let token = app.create_token_for_email(&generated.owner_email, "bench").await?.token;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_loaded = resident_mb();

    let samples = options.samples.max(10);
    let g = &generated;
    let pick = |i: usize, list: &[String]| list[i % list.len().max(1)].clone();
    let mut results = serde_json::Map::new();

    // Inbox views as the API serves them, first pages and deeper pages.
    type Query<'a> = Box<dyn Fn(usize) -> String + 'a>;
    let views: Vec<(&str, Query)> = vec![
        ("open", Box::new(|_| "status=open".into())),
        ("mine", Box::new(|i| format!("status=open,pending&assignee={}", pick(i, &g.agents)))),
        ("unassigned", Box::new(|_| "status=open&assignee=none".into())),
        ("needs_reply", Box::new(|_| "status=open&needs_reply=true".into())),
        ("negative", Box::new(|_| "status=open,pending&sentiment=negative".into())),
        ("by_team", Box::new(|i| format!("status=open,pending&team_id={}", pick(i, &g.teams)))),
        ("by_channel", Box::new(|i| format!("status=open&channel_id={}", pick(i, &g.channels)))),
        ("by_label", Box::new(|i| format!("status=open,pending&label={}", pick(i, &g.labels)))),
        ("by_intent", Box::new(|_| "status=open&intent=order_delivery".into())),
        ("longest_waiting", Box::new(|_| "status=open&needs_reply=true&sort=waiting".into())),
        ("resolved", Box::new(|_| "status=resolved".into())),
    ];
    let mut all_views = vec![];
    let mut deep = vec![];
    for (name, query) in &views {
        let mut times = vec![];
        for i in 0..samples {
            let (t, body) =
                timed_get(&http, &format!("{base}/api/v1/conversations?limit=50&{}", query(i)), &token).await?;
            times.push(t);
            // Follow the cursor a few pages down on some samples.
            if i % 5 == 0 {
                let mut cursor = body["next_cursor"].as_str().map(str::to_owned);
                for _ in 0..4 {
                    let Some(c) = cursor.take() else { break };
                    let url = format!("{base}/api/v1/conversations?limit=50&{}&cursor={}", query(i), encode(&c));
                    let (t, body) = timed_get(&http, &url, &token).await?;
                    deep.push(t);
                    cursor = body["next_cursor"].as_str().map(str::to_owned);
                }
            }
        }
        all_views.extend(times.iter().copied());
        results.insert(format!("view_{name}_ms"), latency_summary(&times));
    }
    results.insert("views_all_ms".into(), latency_summary(&all_views));
    results.insert("views_deep_pages_ms".into(), latency_summary(&deep));

    // Opening a conversation: the API reads and the server-rendered page.
    let mut api_open = vec![];
    let mut page_open = vec![];
    let mut pane_open = vec![];
    let mut page_view = vec![];
    for i in 0..samples {
        let id = pick(i * 7919, &g.sample_conversations);
        let started = Instant::now();
        timed_get(&http, &format!("{base}/api/v1/conversations/{id}"), &token).await?;
        timed_get(&http, &format!("{base}/api/v1/conversations/{id}/messages?limit=50"), &token).await?;
        api_open.push(started.elapsed());
        pane_open.push(timed_page(&http, &format!("{base}/ui/pane/{id}?view=open"), &cookie).await?);
        page_open.push(timed_page(&http, &format!("{base}/inbox/c/{id}?view=open"), &cookie).await?);
        let view = ["open", "mine", "unassigned", "needs_reply", "resolved"][i % 5];
        page_view.push(timed_page(&http, &format!("{base}/inbox?view={view}"), &cookie).await?);
    }
    results.insert("open_conversation_api_ms".into(), latency_summary(&api_open));
    results.insert("open_conversation_pane_ms".into(), latency_summary(&pane_open));
    results.insert("open_conversation_page_ms".into(), latency_summary(&page_open));
    results.insert("switch_view_page_ms".into(), latency_summary(&page_view));

    // Full-text search in four scripts, two-character Chinese words included.
    let terms =
        ["baggage", "refund", "delivery", "багаж", "деньги", "行李", "退款", "订单", "καθυστέρηση", "αποσκευές"];
    let mut by_script: Vec<(&str, Vec<Duration>)> =
        vec![("latin", vec![]), ("cyrillic", vec![]), ("han", vec![]), ("greek", vec![])];
    for i in 0..samples {
        let term = terms[i % terms.len()];
        let t = timed_get(&http, &format!("{base}/api/v1/search?q={}&limit=50", encode(term)), &token).await?.0;
        let script = match i % terms.len() {
            0..=2 => 0,
            3 | 4 => 1,
            5..=7 => 2,
            _ => 3,
        };
        by_script[script].1.push(t);
    }
    let all_search: Vec<Duration> = by_script.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    results.insert("search_ms".into(), latency_summary(&all_search));
    for (script, times) in &by_script {
        results.insert(format!("search_{script}_ms"), latency_summary(times));
    }
    let rss_after = resident_mb();
    running.shutdown.cancel();
    let _ = running.wait().await;

    let mut out = json!({
        "bench": "inbox",
        "database": if options.database_url.is_some() { "postgres" } else { "sqlite" },
        "conversations": options.conversations,
        "messages": options.messages,
        "generated_in_s": round2(g.seconds),
        "indexed": indexed,
        "indexed_in_s": round2(index_seconds),
        "maintained_in_s": round2(maintain_seconds),
        "samples_per_operation": samples,
        "resident_mb": { "loaded": rss_loaded, "after_queries": rss_after },
        "note": "one process: the server, its workers and the measuring client share the machine; times are full HTTP round trips over loopback",
    });
    if let Some(map) = out.as_object_mut() {
        map.extend(results);
    }
    Ok(out)
}

async fn timed_get(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<(Duration, Value)> {
    let started = Instant::now();
    let response = http.get(url).bearer_auth(token).send().await?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    let elapsed = started.elapsed();
    if !status.is_success() {
        anyhow::bail!("GET {url}: {status} {body}");
    }
    Ok((elapsed, body))
}

async fn timed_page(http: &reqwest::Client, url: &str, cookie: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let response = http.get(url).header("cookie", cookie).send().await?;
    let status = response.status();
    let _ = response.bytes().await?;
    let elapsed = started.elapsed();
    if !status.is_success() {
        anyhow::bail!("GET {url}: {status}");
    }
    Ok(elapsed)
}

/// Percent-encodes a query-string value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn fill(template: &str, n: u64, name: &str) -> String {
    template.replace("{n}", &n.to_string()).replace("{name}", name)
}

/// Builds the workspace: people, teams, labels, channels, then contacts,
/// conversations and messages in large transactions.
async fn generate(app: &hark_app::App, conversations: usize, messages: usize) -> anyhow::Result<Generated> {
    let started = Instant::now();
    let workspace = app.create_workspace("Bench airline", "Europe/Athens").await?;
    let system = Actor::system(&workspace.id);
    let owner_email = "owner@bench.hark".to_owned();
    let mk_user = |email: String, name: String, role: Role| hark_app::UserCreate {
        email,
        name,
        role,
        password: "bench password 123".into(),
        locale: "en".into(),
    };
    app.create_user(&system, mk_user(owner_email.clone(), "Owner".into(), Role::Owner)).await?;
    let mut agents = vec![];
    for i in 0..20 {
        let user = app
            .create_user(&system, mk_user(format!("agent{i}@bench.hark"), format!("Agent {i}"), Role::Agent))
            .await?;
        agents.push(user.id);
    }
    let mut teams = vec![];
    for name in ["Customer care", "Billing", "Escalations", "Baggage"] {
        let input = hark_app::TeamInput { name: name.into(), description: String::new(), member_ids: agents.clone() };
        teams.push(app.create_team(&system, input).await?.id);
    }
    let mut labels = vec![];
    for name in ["refund", "baggage", "delay", "vip", "praise", "press", "app", "booking", "covid", "lounge"] {
        let input = hark_app::LabelInput { name: name.into(), color: "#2563eb".into(), description: String::new() };
        let label = app.create_label(&system, input).await?;
        labels.push((label.id, label.name));
    }
    let mut channels = vec![];
    for (i, network) in
        [Network::X, Network::Facebook, Network::Instagram, Network::Whatsapp, Network::Telegram, Network::Vk]
            .into_iter()
            .enumerate()
    {
        let input = hark_app::ChannelCreate {
            network,
            name: format!("Bench {network}"),
            handle: format!("bench_{network}"),
            external_id: format!("99000000{i}"),
            credentials: None,
            settings: json!({}),
        };
        channels.push((app.create_channel(&system, input).await?.id, network));
    }

    let mut rng = Rng(0x5eed_bec4_0001);
    let now = Timestamp::now().as_millisecond();
    let year_ms: i64 = 365 * 24 * 3600 * 1000;
    let per_conversation = (messages / conversations.max(1)).max(1);
    let mut writes: Vec<Write> = Vec::with_capacity(20_000);
    let mut written_messages = 0usize;
    let mut sample_conversations = vec![];
    let mut contact_id = String::new();
    for c in 0..conversations {
        // About two conversations per customer.
        if c % 2 == 0 || contact_id.is_empty() {
            contact_id = format!("ct_b{c:09}");
            let name = NAMES[rng.below(NAMES.len())];
            let (_, network) = channels[rng.below(channels.len())];
            writes.push(Write::InsertContact(Contact {
                id: contact_id.clone(),
                workspace_id: workspace.id.clone(),
                display_name: name.into(),
                email: None,
                phone: None,
                notes: String::new(),
                custom_attributes: Default::default(),
                merged_into_id: None,
                identities: vec![Identity {
                    id: format!("idn_b{c:09}"),
                    contact_id: contact_id.clone(),
                    network,
                    platform_user_id: format!("u{c}"),
                    handle: format!("user{c}"),
                    display_name: name.into(),
                }],
                created_at: Timestamp::from_millisecond(now - year_ms).unwrap_or(Timestamp::UNIX_EPOCH),
                updated_at: Timestamp::from_millisecond(now - year_ms).unwrap_or(Timestamp::UNIX_EPOCH),
            }));
        }
        let (channel_id, network) = channels[rng.below(channels.len())].clone();
        let kind = if matches!(network, Network::Whatsapp | Network::Telegram) || rng.chance(40) {
            ConversationKind::Private
        } else {
            ConversationKind::Public
        };
        // Messages per conversation vary around the average (1 to 3 times it).
        let count = 1 + rng.below(per_conversation * 2);
        let count = count.min(messages.saturating_sub(written_messages).max(1));
        let start = now - (rng.next() % year_ms as u64) as i64;
        let status = match rng.below(100) {
            0..=59 => ConversationStatus::Resolved,
            60..=84 => ConversationStatus::Open,
            85..=94 => ConversationStatus::Pending,
            _ => ConversationStatus::Snoozed,
        };
        let (lang, template) = CUSTOMER[rng.below(CUSTOMER.len())];
        let sentiment = match rng.below(10) {
            0..=2 => Sentiment::Negative,
            3..=7 => Sentiment::Neutral,
            _ => Sentiment::Positive,
        };
        let intent =
            ["order_delivery", "billing_refund", "complaint", "question", "praise", "technical_issue"][rng.below(6)];
        let id = format!("conv_b{c:09}");
        let name = NAMES[rng.below(NAMES.len())];
        let mut t = ConversationTimeline::default();
        let mut at = start;
        let mut last_text = String::new();
        for m in 0..count {
            let inbound = m % 2 == 0;
            let order = 100_000 + rng.below(900_000) as u64;
            let text = if inbound {
                fill(template, order, name)
            } else {
                fill(REPLIES[rng.below(REPLIES.len())], order, name)
            };
            let instant = Timestamp::from_millisecond(at).unwrap_or(Timestamp::UNIX_EPOCH);
            if inbound {
                t.first_inbound_at.get_or_insert(instant);
                t.last_inbound_at = Some(instant);
                t.awaiting_reply_since.get_or_insert(instant);
            } else {
                t.last_outbound_at = Some(instant);
                t.first_reply_at.get_or_insert(instant);
                t.awaiting_reply_since = None;
                t.human_replies += 1;
            }
            writes.push(Write::InsertMessage(Message {
                id: format!("msg_b{c:09}_{m:04}"),
                conversation_id: id.clone(),
                workspace_id: workspace.id.clone(),
                channel_id: channel_id.clone(),
                direction: if inbound { Direction::Inbound } else { Direction::Outbound },
                visibility: match kind {
                    ConversationKind::Public => Visibility::Public,
                    ConversationKind::Private => Visibility::Private,
                },
                author_kind: if inbound { AuthorKind::Contact } else { AuthorKind::User },
                author_user_id: (!inbound).then(|| agents[rng.below(agents.len())].clone()),
                author_contact_id: inbound.then(|| contact_id.clone()),
                text: text.clone(),
                attachments: vec![],
                platform_message_id: Some(format!("p{c}_{m}")),
                platform_parent_id: None,
                delivery_status: if inbound { DeliveryStatus::Received } else { DeliveryStatus::Published },
                delivery_error: None,
                language: Some(if inbound { lang.into() } else { "en".into() }),
                sentiment: inbound.then_some(sentiment),
                intent: inbound.then(|| intent.to_owned()),
                personal_data: vec![],
                created_at: instant,
                recorded_at: instant,
                edited_at: None,
                deleted_at: None,
            }));
            last_text = text;
            at += 60_000 * (1 + rng.below(240) as i64);
            written_messages += 1;
        }
        let last = Timestamp::from_millisecond(at.min(now)).unwrap_or(Timestamp::UNIX_EPOCH);
        if status == ConversationStatus::Resolved {
            t.resolved_at = Some(last);
            t.awaiting_reply_since = None;
        }
        t.last_activity_at = last;
        let assigned = status == ConversationStatus::Resolved || rng.chance(70);
        let mut labels_of = vec![];
        if rng.chance(40) {
            labels_of.push(labels[rng.below(labels.len())].1.clone());
        }
        writes.push(Write::InsertConversation(Conversation {
            id: id.clone(),
            workspace_id: workspace.id.clone(),
            channel_id: channel_id.clone(),
            contact_id: contact_id.clone(),
            kind,
            status,
            priority: if sentiment == Sentiment::Negative && rng.chance(30) {
                Priority::High
            } else {
                Priority::Normal
            },
            assignee_id: assigned.then(|| agents[rng.below(agents.len())].clone()),
            team_id: assigned.then(|| teams[rng.below(teams.len())].clone()),
            labels: labels_of,
            custom_attributes: Default::default(),
            platform_thread_id: Some(format!("thread{c}")),
            subject: String::new(),
            last_message_preview: last_text.chars().take(140).collect(),
            language: Some(lang.into()),
            sentiment: Some(sentiment),
            intent: Some(intent.into()),
            snoozed_until: (status == ConversationStatus::Snoozed)
                .then(|| Timestamp::from_millisecond(now + 86_400_000).unwrap_or(Timestamp::UNIX_EPOCH)),
            timeline: t,
            linked_conversation_id: None,
            merged_into_id: None,
            created_at: Timestamp::from_millisecond(start).unwrap_or(Timestamp::UNIX_EPOCH),
            updated_at: last,
            version: 1,
        }));
        if c % 997 == 0 {
            sample_conversations.push(id);
        }
        if writes.len() >= 20_000 {
            // Conversations are written before their messages refer to them.
            writes.sort_by_key(|w| match w {
                Write::InsertContact(_) => 0,
                Write::InsertConversation(_) => 1,
                _ => 2,
            });
            app.store.commit(std::mem::take(&mut writes)).await?;
        }
    }
    writes.sort_by_key(|w| match w {
        Write::InsertContact(_) => 0,
        Write::InsertConversation(_) => 1,
        _ => 2,
    });
    app.store.commit(writes).await?;
    Ok(Generated {
        owner_email,
        agents,
        teams,
        labels: labels.into_iter().map(|(_, name)| name).collect(),
        channels: channels.into_iter().map(|(id, _)| id).collect(),
        sample_conversations,
        seconds: started.elapsed().as_secs_f64(),
    })
}
