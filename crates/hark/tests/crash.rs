//! Killing `hark serve` with SIGKILL in the middle of a burst of webhooks
//! loses nothing it acknowledged and doubles nothing: after a restart and the
//! network's redeliveries, every acknowledged event is exactly one message.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hark_sandbox::{Account, Customer, CustomerAction, Faults, Sandbox, SandboxConfig, SimNetwork};
use serde_json::{Value, json};

const BURST: usize = 200;

fn hark() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hark"));
    cmd.env_remove("HARK_DATABASE_URL").env("RUST_LOG", "warn").env("HARK_SECRET_KEY", "02".repeat(32));
    cmd
}

fn start(data_dir: &str, listen: &str) -> Child {
    hark()
        .args(["serve", "--data-dir", data_dir, "--listen", listen, "--metrics-listen", ""])
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start hark: {e}"))
}

async fn ready(client: &reqwest::Client, base: &str, child: &mut Child) {
    for _ in 0..600 {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("hark exited early with {status}");
        }
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("hark never became healthy");
}

async fn get(client: &reqwest::Client, url: String, token: &str) -> Value {
    client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Platform message id → how many stored messages carry it.
async fn stored_platform_ids(client: &reqwest::Client, base: &str, token: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    let conversations = get(client, format!("{base}/api/v1/conversations?limit=200"), token).await;
    for c in conversations["items"].as_array().cloned().unwrap_or_default() {
        let id = c["id"].as_str().unwrap_or_default();
        let messages = get(client, format!("{base}/api/v1/conversations/{id}/messages?limit=200"), token).await;
        for m in messages["items"].as_array().cloned().unwrap_or_default() {
            if m["direction"] == "inbound" {
                *counts.entry(m["platform_message_id"].as_str().unwrap_or_default().to_owned()).or_insert(0) += 1;
            }
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_during_a_burst_loses_and_doubles_nothing_that_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data_dir = dir.path().to_str().unwrap_or_default().to_owned();
    let out = hark()
        .args([
            "admin",
            "create",
            "--data-dir",
            &data_dir,
            "--email",
            "owner@acme.test",
            "--name",
            "Owner",
            "--password",
            "long enough password",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = hark()
        .args(["token", "create", "--data-dir", &data_dir, "--email", "owner@acme.test"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let listen = format!("127.0.0.1:{port}");
    let base = format!("http://{listen}");
    let client = {
        hark_channels::http::install_crypto_provider();
        reqwest::Client::new()
    };
    let mut server = start(&data_dir, &listen);
    ready(&client, &base, &mut server).await;

    hark_channels::http::install_crypto_provider();
    let sandbox = Sandbox::start(SandboxConfig { auto_redeliver: false, ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let credentials = json!({ "app_id": "555", "app_secret": "crash-app-secret", "verify_token": "crash-verify", "access_token": "EAAcrash" });
    let created = client
        .post(format!("{base}/api/v1/channels"))
        .bearer_auth(&token)
        .json(&json!({
            "network": "facebook", "name": "Acme", "handle": "Acme", "external_id": "104000000000009",
            "credentials": credentials, "settings": { "api_base_url": sandbox.api_base_url(SimNetwork::Facebook) }
        }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.status(), 201);
    let channel: Value = created.json().await.unwrap_or_else(|e| panic!("{e}"));
    sandbox.add_account(Account {
        network: SimNetwork::Facebook,
        external_id: "104000000000009".into(),
        handle: "Acme".into(),
        webhook_url: Some(format!("{base}/webhooks/{}", channel["id"].as_str().unwrap_or_default())),
        credentials: credentials.as_object().cloned().unwrap_or_default(),
    });
    sandbox.settle().await;

    // Hold every delivery until the whole burst is queued, then fire them at once.
    sandbox.set_faults(SimNetwork::Facebook, Faults::none().burst(BURST as u32));
    for n in 0..BURST - 1 {
        let customer = Customer::new(format!("70100000000{n:05}"), "", format!("Customer {n}"));
        sandbox
            .act(CustomerAction::MessengerMessage {
                account: None,
                customer,
                text: format!("Message number {n}"),
                reply_to_mid: None,
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let last = sandbox.clone();
    let burst = tokio::spawn(async move {
        let customer = Customer::new("7010000000099999", "", "Last");
        last.act(CustomerAction::MessengerMessage {
            account: None,
            customer,
            text: "The last one".into(),
            reply_to_mid: None,
        })
        .await
    });
    // Kill the server while the burst is in flight. (The sandbox records
    // acknowledgements when the burst completes, so the moment is a short delay.)
    tokio::time::sleep(Duration::from_millis(15)).await;
    eprintln!("killing after {} acknowledgements", sandbox.acknowledged_event_keys().len());
    server.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = server.wait();
    let _ = burst.await;
    eprintln!("burst finished");
    sandbox.settle().await;
    let acknowledged = sandbox.acknowledged_event_keys();
    eprintln!("{} of {BURST} acknowledged before the kill", acknowledged.len());

    let mut server = start(&data_dir, &listen);
    ready(&client, &base, &mut server).await;
    eprintln!("restarted");
    sandbox.set_faults(SimNetwork::Facebook, Faults::none());
    // Meta retries what was not acknowledged.
    for _ in 0..50 {
        sandbox.redeliver_pending().await;
        if sandbox.pending_event_keys().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let acknowledged_after = sandbox.acknowledged_event_keys();
    eprintln!("redelivered; {} acknowledged, {} pending", acknowledged_after.len(), sandbox.pending_event_keys().len());
    let mut stored = BTreeMap::new();
    for _ in 0..300 {
        stored = stored_platform_ids(&client, &base, &token).await;
        if stored.values().sum::<usize>() >= acknowledged_after.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for key in &acknowledged {
        assert_eq!(
            stored.get(key).copied(),
            Some(1),
            "event {key} was acknowledged before the crash but is stored {:?} times",
            stored.get(key)
        );
    }
    assert!(stored.values().all(|n| *n == 1), "a message was stored twice: {stored:?}");
    assert_eq!(stored.len(), BURST, "after redelivery every message of the burst is stored once");
    server.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = server.wait();
}
