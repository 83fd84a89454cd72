//! `hark bench fanout`: how long a live event takes to reach every
//! connected browser or API client. S subscribers hold the real SSE stream
//! of a fresh server; events are committed at a steady pace and each
//! subscriber notes when each one arrives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hark_app::Actor;
use hark_domain::Role;
use hark_store::{NewEvent, Write};
use serde_json::{Value, json};

use super::{free_address, latency_summary, resident_mb, round2};
use crate::config::Config;

pub struct FanoutOptions {
    pub subscribers: usize,
    pub events: usize,
    pub rate: f64,
    pub database_url: Option<String>,
}

pub async fn fanout(options: FanoutOptions) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir().context("data directory")?;
    let mut config = Config::load(None, crate::config::FlagOverrides::default())?;
    config.listen = free_address()?;
    config.data_dir = dir.path().to_path_buf();
    config.metrics_listen = String::new();
    config.database_url = options.database_url.clone().unwrap_or_default();
    let app = crate::storage::open_app(&config).await?;
    let workspace = app.create_workspace("Bench", "UTC").await?;
    let system = Actor::system(&workspace.id);
    let user = app
        .create_user(
            &system,
            hark_app::UserCreate {
                email: "fanout@bench.hark".into(),
                name: "Fanout".into(),
                role: Role::Agent,
                password: "bench password 123".into(),
                locale: "en".into(),
            },
        )
        .await?;
    let token = app.create_token_for_email(&user.email, "bench").await?.token;
    let running = crate::serve::start(&config, app.clone()).await?;
    let url = format!("http://{}/api/v1/events", config.listen);

    let arrivals: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut subscribers = vec![];
    let client = reqwest::Client::builder().pool_max_idle_per_host(options.subscribers + 4).build()?;
    for _ in 0..options.subscribers.max(1) {
        let (client, url, token, arrivals, sent) =
            (client.clone(), url.clone(), token.clone(), arrivals.clone(), sent.clone());
        subscribers.push(tokio::spawn(async move { subscribe(client, url, token, arrivals, sent).await }));
    }
    tokio::time::sleep(Duration::from_millis(500 + options.subscribers as u64)).await;

    let pace = Duration::from_secs_f64(1.0 / options.rate.max(1.0));
    let started = Instant::now();
    for n in 0..options.events {
        let nonce = format!("ping-{n}");
        let write = Write::Event(NewEvent {
            workspace_id: workspace.id.clone(),
            at: jiff::Timestamp::now(),
            kind: "bench.ping".into(),
            subject_id: nonce.clone(),
            payload: json!({ "n": n }),
        });
        sent.lock().unwrap_or_else(|p| p.into_inner()).insert(nonce, Instant::now());
        app.store.commit(vec![write]).await?;
        tokio::time::sleep_until((started + pace * (n as u32 + 1)).into()).await;
    }
    let expected = options.events * options.subscribers.max(1);
    for _ in 0..600 {
        if arrivals.lock().unwrap_or_else(|p| p.into_inner()).len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rss = resident_mb();
    for s in subscribers {
        s.abort();
    }
    running.shutdown.cancel();
    let _ = running.wait().await;
    let latencies = arrivals.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(json!({
        "bench": "fanout",
        "database": if options.database_url.is_some() { "postgres" } else { "sqlite" },
        "subscribers": options.subscribers,
        "events": options.events,
        "rate": options.rate,
        "delivered": latencies.len(),
        "expected": expected,
        "delivery_ms": latency_summary(&latencies),
        "deliveries_per_s": round2(latencies.len() as f64 / started.elapsed().as_secs_f64()),
        "resident_mb": rss,
    }))
}

async fn subscribe(
    client: reqwest::Client,
    url: String,
    token: String,
    arrivals: Arc<Mutex<Vec<Duration>>>,
    sent: Arc<Mutex<HashMap<String, Instant>>>,
) {
    let Ok(mut response) = client.get(url).bearer_auth(token).send().await else { return };
    let mut buffer = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let now = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) else { continue };
            let event: Value = serde_json::from_str(data.trim()).unwrap_or_default();
            let Some(nonce) = event["subject_id"].as_str() else { continue };
            if let Some(at) = sent.lock().unwrap_or_else(|p| p.into_inner()).get(nonce) {
                arrivals.lock().unwrap_or_else(|p| p.into_inner()).push(now.saturating_duration_since(*at));
            }
        }
    }
}
