//! `hark bench`: benchmarks that print one JSON object (and a human summary
//! on stderr). They generate their own data, use real HTTP over loopback and
//! the real storage, and need nothing but the binary.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hark_app::{Actor, ChannelCreate};
use hark_domain::{Network, Role};
use hark_sandbox::{Account, Customer, CustomerAction, Sandbox, SandboxConfig, SimNetwork};
use serde_json::{Value, json};

use crate::config::Config;

/// The networks the ingest benchmark drives: those whose webhooks need no
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
];

pub struct IngestOptions {
    pub events: usize,
    pub concurrency: usize,
    pub database_url: Option<String>,
}

/// Sends `events` signed webhook events through the sandbox, first to a bare
/// handler (the baseline), then to a fresh Hark server, and reports throughput,
/// latencies, and lost or duplicated messages counted from the database.
pub async fn ingest(options: IngestOptions) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let sandbox = Sandbox::start(SandboxConfig { auto_redeliver: false, ..Default::default() }).await?;

    // The baseline: a handler that only reads the body and answers 200.
    let baseline_addr = serve_bare_handler().await?;
    for network in NETWORKS {
        sandbox.add_account(account(network, format!("http://{baseline_addr}/hook")));
    }
    sandbox.settle().await;
    let baseline = drive(&sandbox, options.events, options.concurrency, 0).await;

    // Hark itself.
    let listen = free_address()?;
    let mut config = Config::load(None, crate::config::FlagOverrides::default())?;
    config.listen = listen;
    config.data_dir = dir.path().to_path_buf();
    config.metrics_listen = String::new();
    config.database_url = options.database_url.clone().unwrap_or_default();
    let app = crate::storage::open_app(&config).await?;
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
    let running = crate::serve::start(&config, app.clone()).await?;
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
        sandbox.add_account(account(network, format!("http://{listen}/webhooks/{}", channel.id)));
    }
    sandbox.settle().await;

    // An SSE subscriber notes when each message reaches "an agent's screen".
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let subscriber = tokio::spawn(follow_events(format!("http://{listen}/api/v1/events"), token.clone(), seen.clone()));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let hark = drive(&sandbox, options.events, options.concurrency, 1_000_000).await;
    // Wait (bounded) until everything acknowledged is ingested.
    for _ in 0..6000 {
        if app.store.raw_event_counts().await?.pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    subscriber.abort();

    let (stored, distinct) = app.store.inbound_message_counts().await?;
    let acknowledged = sandbox.acknowledged_event_keys().len() - baseline.acknowledged;
    let end_to_end: Vec<Duration> = {
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        hark.sent_at
            .iter()
            .filter_map(|(id, sent)| seen.get(id).map(|at| at.saturating_duration_since(*sent)))
            .collect()
    };
    running.shutdown.cancel();
    let _ = running.wait().await;
    sandbox.stop();

    let events_per_s = hark.acked as f64 / hark.elapsed.as_secs_f64();
    let baseline_per_s = baseline.acked as f64 / baseline.elapsed.as_secs_f64();
    Ok(json!({
        "bench": "ingest",
        "database": if options.database_url.is_some() { "postgres" } else { "sqlite" },
        "events": options.events,
        "concurrency": options.concurrency,
        "events_per_s": round(events_per_s),
        "baseline_per_s": round(baseline_per_s),
        "ratio": round2(events_per_s / baseline_per_s.max(1.0)),
        "ack_latency_ms": { "p50": percentile_ms(&hark.latencies, 0.50), "p99": percentile_ms(&hark.latencies, 0.99) },
        "end_to_end_ms": {
            "p50": percentile_ms(&end_to_end, 0.50), "p99": percentile_ms(&end_to_end, 0.99), "measured": end_to_end.len()
        },
        "acknowledged": acknowledged,
        "stored": stored,
        "lost": (acknowledged as i64 - distinct).max(0),
        "duplicated": stored - distinct,
        "note": "the sandbox builds and signs every event; its own cost is part of both figures",
    }))
}

struct Run {
    acked: usize,
    acknowledged: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    sent_at: HashMap<String, Instant>,
}

/// Runs `events` customer actions over `concurrency` tasks; `offset` keeps ids distinct between runs.
async fn drive(sandbox: &Sandbox, events: usize, concurrency: usize, offset: usize) -> Run {
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = vec![];
    for _ in 0..concurrency.max(1) {
        let sandbox = sandbox.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = vec![];
            let mut sent = HashMap::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= events {
                    return (latencies, sent);
                }
                let began = Instant::now();
                if let Ok(report) = sandbox.act(action(n + offset)).await {
                    latencies.push(began.elapsed());
                    sent.insert(report.item_id, began);
                }
            }
        }));
    }
    let mut run =
        Run { acked: 0, acknowledged: 0, elapsed: Duration::ZERO, latencies: vec![], sent_at: HashMap::new() };
    for task in tasks {
        if let Ok((latencies, sent)) = task.await {
            run.latencies.extend(latencies);
            run.sent_at.extend(sent);
        }
    }
    run.elapsed = started.elapsed();
    run.acknowledged = sandbox.acknowledged_event_keys().len();
    run.acked = run.latencies.len();
    run
}

/// The `n`th action of a realistic mix: comments and DMs on four networks, eight languages.
fn action(n: usize) -> CustomerAction {
    let customer =
        Customer::new(format!("{}", 7_100_000_000_000_000u64 + n as u64), format!("user{n}"), format!("Customer {n}"));
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
            customer: Customer::new(format!("4477{:08}", n % 100_000_000), "", format!("WA {n}")),
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

fn free_address() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
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

fn percentile_ms(values: &[Duration], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted: Vec<Duration> = values.to_vec();
    sorted.sort();
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    round2(sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0)
}

fn round(x: f64) -> f64 {
    x.round()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
