//! `hark bench ingest`: signed webhooks from the platform sandbox into a
//! fresh Hark server, against a bare handler in the same run.
//!
//! The sandbox plays every customer action and builds and signs each
//! network's webhook exactly as it would deliver it; the benchmark then
//! sends those requests itself over many keep-alive connections, so the
//! load generator is not the limit. The same requests (same bytes) go first
//! to a bare axum handler that only reads the body and answers 200 (the
//! baseline), then to Hark. Afterwards the database is counted: every
//! acknowledged event must be stored once, including those sent twice on
//! purpose (redeliveries).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hark_app::{Actor, ChannelCreate};
use hark_domain::{Network, Role};
use hark_sandbox::{Account, Customer, CustomerAction, PreparedWebhook, Sandbox, SandboxConfig, SimNetwork};
use serde_json::{Value, json};

use super::{free_address, latency_summary, resident_mb, round2};
use crate::config::Config;

/// The networks the benchmark drives: those whose webhooks need no
/// handshake a bare handler could not answer, so the baseline sees the same load.
const NETWORKS: [SimNetwork; 4] =
    [SimNetwork::Facebook, SimNetwork::Instagram, SimNetwork::Whatsapp, SimNetwork::Telegram];

const TEXTS: &[&str] = &[
    "My order never arrived, can you check?",
    "Где мой заказ? Жду уже неделю.",
    "我的订单在哪里？已经一周了。",
    "Πού είναι η παραγγελία μου;",
    "¿Dónde está mi pedido?",
    "Thanks, the crew was wonderful!",
    "Списали деньги дважды, верните пожалуйста.",
    "退款什么时候到账？",
    "Je n'arrive pas à me connecter à l'application",
    "Mein Koffer ist nicht angekommen, Buchung NW-482913",
];

/// One in this many requests is sent a second time, as networks redeliver.
const REDELIVER_EVERY: usize = 20;

pub struct IngestOptions {
    pub events: usize,
    pub concurrency: usize,
    pub database_url: Option<String>,
    /// Requests per second to send at (open loop); `None`: as fast as accepted.
    pub rate: Option<f64>,
    /// Hark nodes sharing the database (PostgreSQL only when more than one).
    pub nodes: usize,
}

pub async fn ingest(options: IngestOptions) -> anyhow::Result<Value> {
    if options.nodes > 1 && options.database_url.is_none() {
        anyhow::bail!("--nodes above 1 needs --database-url postgres://… (nodes share one database)");
    }
    let dirs: Vec<tempfile::TempDir> =
        (0..options.nodes.max(1)).map(|_| tempfile::tempdir()).collect::<Result<_, _>>().context("data directory")?;
    let sandbox = Sandbox::start(SandboxConfig { auto_redeliver: false, ..Default::default() }).await?;

    // Hark, on one or more nodes over one database.
    let secret = hark_app::CredentialSealer::generate_key()?;
    let secret_hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let mut nodes = vec![];
    for dir in &dirs {
        let mut config = Config::load(None, crate::config::FlagOverrides::default())?;
        config.listen = free_address()?;
        config.data_dir = dir.path().to_path_buf();
        config.metrics_listen = String::new();
        config.database_url = options.database_url.clone().unwrap_or_default();
        config.secret_key = secret_hex.clone();
        let app = crate::storage::open_app(&config).await?;
        nodes.push((config, app));
    }
    let app = nodes[0].1.clone();
    let workspace = app.create_workspace("Bench", "UTC").await?;
    let system = Actor::system(&workspace.id);
    let admin = hark_app::UserCreate {
        email: format!("bench-{}@bench.hark", hark_app::new_id("u")),
        name: "Bench".into(),
        role: Role::Owner,
        password: "bench password 123".into(),
        locale: "en".into(),
    };
    let admin = app.create_user(&system, admin).await?;
    let token = app.create_token_for_email(&admin.email, "bench").await?.token;
    let mut running = vec![];
    for (config, node_app) in &nodes {
        running.push(crate::serve::start(config, node_app.clone()).await?);
    }
    let listens: Vec<SocketAddr> = nodes.iter().map(|(c, _)| c.listen).collect();
    for network in NETWORKS {
        let template = account(network, String::new());
        let channel = app
            .create_channel(
                &system,
                ChannelCreate {
                    network: domain_network(network),
                    name: format!("bench {network}"),
                    handle: template.handle.clone(),
                    external_id: template.external_id.clone(),
                    credentials: Some(template.credentials.clone()),
                    settings: json!({ "api_base_url": sandbox.api_base_url(network) }),
                },
            )
            .await?;
        sandbox.add_account(account(network, format!("http://{}/webhooks/{}", listens[0], channel.id)));
    }
    sandbox.settle().await;

    // The sandbox builds and signs every event up front.
    let mut prepared: Vec<(String, PreparedWebhook)> = Vec::with_capacity(options.events);
    for n in 0..options.events {
        let (report, webhooks) = sandbox.prepare(action(n)).map_err(|e| anyhow::anyhow!("{e}"))?;
        for webhook in webhooks {
            prepared.push((report.item_id.clone(), webhook));
        }
    }
    // Some requests go twice, as a network redelivers what it thinks was lost.
    let mut plan: Vec<usize> = (0..prepared.len()).collect();
    let redelivered: Vec<usize> = (0..prepared.len()).step_by(REDELIVER_EVERY).collect();
    plan.extend(redelivered.iter().copied());

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency.max(1) * 2)
        .tcp_nodelay(true)
        .build()
        .context("HTTP client")?;

    // The baseline: the same bytes to a bare handler.
    let baseline_addr = serve_bare_handler().await?;
    let baseline_urls: Vec<String> = prepared.iter().map(|_| format!("http://{baseline_addr}/hook")).collect();
    let baseline = send(&http, &prepared, &baseline_urls, &plan, options.concurrency, options.rate).await;

    // An SSE subscriber notes when each message reaches "an agent's screen",
    // connected to the last node so events cross nodes when there are several.
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let events_url = format!("http://{}/api/v1/events", listens[listens.len() - 1]);
    let subscriber = tokio::spawn(follow_events(events_url, token.clone(), seen.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Hark: requests spread over the nodes.
    let urls: Vec<String> = prepared
        .iter()
        .enumerate()
        .map(|(i, (_, w))| {
            let node = listens[i % listens.len()];
            w.url.replacen(&listens[0].to_string(), &node.to_string(), 1)
        })
        .collect();
    let rss_before = resident_mb();
    let hark = send(&http, &prepared, &urls, &plan, options.concurrency, options.rate).await;
    for (i, status, body) in &hark.answers {
        sandbox.settle_prepared(prepared[*i].1.clone(), *status, body.clone());
    }
    // Wait (bounded) until everything acknowledged is ingested.
    let drain_started = Instant::now();
    for _ in 0..30_000 {
        if app.store.raw_event_counts().await?.pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drained_after = drain_started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    subscriber.abort();

    let (stored, distinct) = app.store.inbound_message_counts().await?;
    let acknowledged = sandbox.acknowledged_event_keys().len();
    let end_to_end: Vec<Duration> = {
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        hark.first_sent
            .iter()
            .filter_map(|(i, sent)| seen.get(&prepared[*i].0).map(|at| at.saturating_duration_since(*sent)))
            .collect()
    };
    let rss_after = resident_mb();
    for r in &running {
        r.shutdown.cancel();
    }
    for r in running {
        let _ = r.wait().await;
    }
    sandbox.stop();

    let events_per_s = hark.acked as f64 / hark.elapsed.as_secs_f64();
    let baseline_per_s = baseline.acked as f64 / baseline.elapsed.as_secs_f64();
    Ok(json!({
        "bench": "ingest",
        "database": if options.database_url.is_some() { "postgres" } else { "sqlite" },
        "nodes": options.nodes.max(1),
        "events": prepared.len(),
        "requests": plan.len(),
        "redelivered": redelivered.len(),
        "concurrency": options.concurrency,
        "rate": options.rate,
        "events_per_s": events_per_s.round(),
        "baseline_per_s": baseline_per_s.round(),
        "ratio": round2(events_per_s / baseline_per_s.max(1.0)),
        "refused": hark.refused,
        "ack_latency_ms": latency_summary(&hark.latencies),
        "baseline_latency_ms": latency_summary(&baseline.latencies),
        "end_to_end_ms": latency_summary(&end_to_end),
        "ingested_within_s_after_last_ack": round2(drained_after.as_secs_f64()),
        "acknowledged": acknowledged,
        "stored": stored,
        "lost": (acknowledged as i64 - distinct).max(0),
        "duplicated": stored - distinct,
        "resident_mb": { "before": rss_before, "after": rss_after },
        "note": "one process: the sandbox's request building is done before timing; Hark, the client and the SSE reader share the machine",
    }))
}

struct Sent {
    acked: usize,
    refused: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// When each event was first sent, by its index in `prepared`.
    first_sent: HashMap<usize, Instant>,
    answers: Vec<(usize, Option<u16>, String)>,
}

/// Sends the requests of `plan` (indices into `prepared`, repeats allowed)
/// over `concurrency` connections, at `rate` per second if given.
async fn send(
    http: &reqwest::Client,
    prepared: &[(String, PreparedWebhook)],
    urls: &[String],
    plan: &[usize],
    concurrency: usize,
    rate: Option<f64>,
) -> Sent {
    /// One request to send: which prepared event, where, its headers and body.
    type Request = (usize, String, Vec<(String, String)>, Vec<u8>);
    let requests: Arc<Vec<Request>> = Arc::new(
        plan.iter().map(|&i| (i, urls[i].clone(), prepared[i].1.headers.clone(), prepared[i].1.body.clone())).collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = vec![];
    for _ in 0..concurrency.max(1) {
        let (http, requests, next) = (http.clone(), requests.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = vec![];
            let mut first_sent = HashMap::new();
            let mut answers = vec![];
            let mut refused = 0;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some((i, url, headers, body)) = requests.get(n) else {
                    return (latencies, first_sent, answers, refused);
                };
                if let Some(rate) = rate {
                    let due = started + Duration::from_secs_f64(n as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let began = Instant::now();
                first_sent.entry(*i).or_insert(began);
                let mut request = http.post(url).body(body.clone());
                for (k, v) in headers {
                    request = request.header(k, v);
                }
                match request.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let text = response.text().await.unwrap_or_default();
                        if (200..300).contains(&status) {
                            latencies.push(began.elapsed());
                        } else {
                            refused += 1;
                        }
                        answers.push((*i, Some(status), text));
                    }
                    Err(_) => {
                        refused += 1;
                        answers.push((*i, None, String::new()));
                    }
                }
            }
        }));
    }
    let mut sent = Sent {
        acked: 0,
        refused: 0,
        elapsed: Duration::ZERO,
        latencies: vec![],
        first_sent: HashMap::new(),
        answers: vec![],
    };
    for task in tasks {
        if let Ok((latencies, first_sent, answers, refused)) = task.await {
            sent.latencies.extend(latencies);
            for (i, at) in first_sent {
                sent.first_sent.entry(i).and_modify(|t: &mut Instant| *t = (*t).min(at)).or_insert(at);
            }
            sent.answers.extend(answers);
            sent.refused += refused;
        }
    }
    sent.elapsed = started.elapsed();
    sent.acked = sent.latencies.len();
    sent
}

/// The `n`th action of a realistic mix: comments and DMs on four networks, ten languages.
fn action(n: usize) -> CustomerAction {
    // A few customers write several times, so conversations get longer, not only more.
    let who = if n.is_multiple_of(3) { n / 3 } else { n };
    let customer = Customer::new(
        format!("{}", 7_100_000_000_000_000u64 + who as u64),
        format!("user{who}"),
        format!("Customer {who}"),
    );
    let text = format!("{} #{n}", TEXTS[n % TEXTS.len()]);
    match n % 6 {
        0 => CustomerAction::FacebookComment { account: None, customer, post_id: None, parent_comment_id: None, text },
        1 => CustomerAction::MessengerMessage { account: None, customer, text, reply_to_mid: None },
        2 => {
            CustomerAction::InstagramComment { account: None, customer, media_id: None, parent_comment_id: None, text }
        }
        3 => CustomerAction::InstagramMessage { account: None, customer, text },
        4 => CustomerAction::WhatsappMessage {
            account: None,
            customer: Customer::new(format!("4477{:08}", who % 100_000_000), "", format!("WA {who}")),
            text,
            bsuid: None,
            hide_phone: false,
            context_message_id: None,
            with_image: false,
        },
        _ => CustomerAction::TelegramPrivateMessage { account: None, customer, text, reply_to_message_id: None },
    }
}

fn account(network: SimNetwork, webhook_url: String) -> Account {
    let (external_id, credentials) = match network {
        SimNetwork::Facebook => {
            ("104000000000077", json!({ "app_id": "777", "app_secret": "bench-secret", "access_token": "EAAbench" }))
        }
        SimNetwork::Instagram => {
            ("17841400000000077", json!({ "app_id": "777", "app_secret": "bench-secret", "access_token": "EAAbench" }))
        }
        SimNetwork::Whatsapp => {
            ("106000000000077", json!({ "app_id": "777", "app_secret": "bench-secret", "access_token": "EAAbench" }))
        }
        _ => ("7000000077", json!({ "bot_token": "7000000077:AAbench", "secret_token": "bench_secret" })),
    };
    Account {
        network,
        external_id: external_id.into(),
        handle: format!("bench_{network}"),
        webhook_url: (!webhook_url.is_empty()).then_some(webhook_url),
        credentials: credentials.as_object().cloned().unwrap_or_default(),
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

async fn serve_bare_handler() -> anyhow::Result<SocketAddr> {
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(|body: axum::body::Bytes| async move {
            let _ = body.len();
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(address)
}

/// Reads the SSE stream and notes when each `message.created` arrived, by platform id.
async fn follow_events(url: String, token: String, seen: Arc<Mutex<HashMap<String, Instant>>>) {
    let client = reqwest::Client::new();
    let Ok(mut response) = client.get(url).bearer_auth(token).send().await else { return };
    let mut buffer = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if !block.contains("event: message.created") {
                continue;
            }
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) {
                let event: Value = serde_json::from_str(data.trim()).unwrap_or_default();
                if let Some(id) = event["payload"]["platform_message_id"].as_str() {
                    seen.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_owned(), Instant::now());
                }
            }
        }
    }
}
