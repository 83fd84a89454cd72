//! The `hark` binary as an operator runs it: the demo, tokens from the
//! command line, graceful shutdown, configuration errors, and two `serve`
//! nodes on one PostgreSQL database sharing live events.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};

const SECRET_KEY: &str = "0101010101010101010101010101010101010101010101010101010101010101";

fn hark() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hark"));
    cmd.env_remove("HARK_DATABASE_URL").env_remove("HARK_LISTEN").env_remove("HARK_DATA_DIR").env("RUST_LOG", "warn");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run hark: {e}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A running `hark` server, stopped when dropped.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(args: &[&str], envs: &[(&str, &str)]) -> Node {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = hark();
        cmd.args(args)
            .args(["--listen", &listen, "--metrics-listen", ""])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start hark: {e}"));
        Node { child, base: format!("http://{listen}") }
    }

    /// Waits until /healthz answers 200 (bounded: a server that never comes up fails the test).
    async fn ready(&mut self, client: &reqwest::Client) {
        for _ in 0..600 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("hark exited early with {status}");
            }
            if client.get(format!("{}/healthz", self.base)).send().await.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("hark at {} never became healthy", self.base);
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.child.wait().unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn json_get(client: &reqwest::Client, url: String, token: &str) -> Value {
    let response = client.get(url).bearer_auth(token).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    response.json().await.unwrap_or_else(|e| panic!("{e}"))
}

fn create_token(args: &[&str], email: &str) -> String {
    let out = run(hark().args(["token", "create", "--email", email]).args(args).env("HARK_SECRET_KEY", SECRET_KEY));
    assert!(out.status.success(), "token create failed: {}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(token.starts_with("hark_") && !token.contains('\n'), "stdout must hold only the token: {token:?}");
    token
}

fn test_client() -> reqwest::Client {
    hark_channels::http::install_crypto_provider();
    reqwest::Client::new()
}

/// The demo on `data_dir` with 60 conversations and no live traffic, answering.
async fn start_demo(data_dir: &str, client: &reqwest::Client) -> Node {
    let mut node =
        Node::start(&["demo", "--data-dir", data_dir, "--conversations", "60", "--traffic-per-minute", "0"], &[]);
    node.ready(client).await;
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_conversations_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data_dir = dir.path().to_str().unwrap_or_default().to_owned();
    let client = test_client();
    let mut node = start_demo(&data_dir, &client).await;

    let login = client
        .post(format!("{}/api/v1/auth/login", node.base))
        .json(&json!({ "email": "admin@demo.hark", "password": "hark-demo-2026" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(login.status(), 200);
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .to_owned();
    // The server answers while the sandbox is still sending the history: wait
    // until the conversation count settles.
    let mut list = Value::Null;
    let mut last_count = usize::MAX;
    for _ in 0..600 {
        list = client
            .get(format!("{}/api/v1/conversations?limit=200", node.base))
            .header("cookie", cookie.clone())
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let count = list["items"].as_array().map_or(0, Vec::len);
        if count >= 30 && count == last_count {
            break;
        }
        last_count = count;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert!(items.len() >= 30, "the sandbox's history should make many conversations, got {}", items.len());
    let previews: String = items.iter().filter_map(|c| c["last_message_preview"].as_str()).collect();
    let scripts = [('\u{0400}', '\u{04FF}'), ('\u{4E00}', '\u{9FFF}'), ('\u{0370}', '\u{03FF}'), ('a', 'z')];
    let seen = scripts.iter().filter(|(lo, hi)| previews.chars().any(|c| (*lo..=*hi).contains(&c))).count();
    assert!(seen >= 3, "demo conversations should be multilingual");
    let conversation_channels: std::collections::BTreeSet<&str> =
        items.iter().filter_map(|c| c["channel_id"].as_str()).collect();
    assert!(conversation_channels.len() >= 5, "conversations on at least five networks: {conversation_channels:?}");

    // A token made on the command line while the server runs is accepted by it.
    let token = create_token(&["--data-dir", &data_dir], "admin@demo.hark");
    let channels = json_get(&client, format!("{}/api/v1/channels", node.base), &token).await;
    let networks: std::collections::BTreeSet<&str> = channels["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["network"].as_str()).collect())
        .unwrap_or_default();
    assert!(networks.len() >= 6, "{networks:?}");

    // An open event stream does not keep the server from stopping.
    let stream = client
        .get(format!("{}/api/v1/events", node.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stream.status(), 200);
    let status = node.terminate();
    assert!(status.success(), "graceful shutdown should exit 0, got {status}");
    drop(stream);

    // Running the demo again reuses the workspace instead of adding to it.
    let again = start_demo(&data_dir, &client).await;
    // History acknowledged before the stop may still be ingested after the
    // restart, so the list can only grow; a second seeding would show as a
    // second set of channels and as threads held twice.
    let list = json_get(&client, format!("{}/api/v1/conversations?limit=200", again.base), &token).await;
    let after = list["items"].as_array().cloned().unwrap_or_default();
    assert!(after.len() >= items.len(), "{} conversations before the restart, {} after", items.len(), after.len());
    for before in &items {
        assert!(after.iter().any(|c| c["id"] == before["id"]), "kept across the restart: {}", before["id"]);
    }
    let threads: Vec<(String, String, String)> = after
        .iter()
        .map(|c| (c["channel_id"].to_string(), c["contact_id"].to_string(), c["platform_thread_id"].to_string()))
        .collect();
    let distinct: std::collections::BTreeSet<_> = threads.iter().collect();
    assert_eq!(distinct.len(), threads.len(), "no conversation is held twice");
    // The same channels, pointed at the new sandbox.
    let ids = |list: &Value| -> Vec<String> {
        let mut ids: Vec<String> = list["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|c| c["id"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        ids.sort();
        ids
    };
    let channels_again = json_get(&client, format!("{}/api/v1/channels", again.base), &token).await;
    assert_eq!(ids(&channels_again), ids(&channels), "the demo's channels are reused, not added again");
    assert!(Path::new(&data_dir).join("secret.key").exists());
}

#[tokio::test]
async fn configuration_errors_are_explained() {
    let out = run(hark().args(["serve", "--database-url", "mysql://localhost/hark"]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("database_url"), "{err}");

    let out = run(hark().args(["serve", "--listen", "not-an-address"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen"));

    let out = run(hark().args(["serve"]).env("HARK_MAX_BODY_BYTES", "12"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_body_bytes"));

    let out = run(hark().arg("default-config"));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let parsed: toml::Table = text.parse().unwrap_or_else(|e| panic!("default-config is not TOML: {e}"));
    assert_eq!(parsed["listen"].as_str(), Some("127.0.0.1:8080"));
}

#[tokio::test]
async fn migrate_and_admin_create_prepare_a_fresh_data_dir() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data_dir = dir.path().to_str().unwrap_or_default();
    let out = run(hark().args(["migrate", "--data-dir", data_dir]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
    let out =
        run(hark().args(["admin", "create", "--data-dir", data_dir, "--email", "boss@acme.test", "--name", "Boss"]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("owner boss@acme.test") && stdout.contains("password: "), "{stdout}");
    let out = run(hark().args([
        "admin",
        "create",
        "--data-dir",
        data_dir,
        "--email",
        "boss@acme.test",
        "--name",
        "Again",
        "--password",
        "long enough password",
    ]));
    assert!(!out.status.success(), "the same email twice must be refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_share_live_events() {
    let Some(server) = hark_store::testing::postgres_server_url() else {
        eprintln!("HARK_TEST_DATABASE_URL not set: the two-node test needs PostgreSQL");
        return;
    };
    let url = hark_store::testing::fresh_postgres_database(&server).await;
    let dir_a = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir_b = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let a_dir = dir_a.path().to_str().unwrap_or_default().to_owned();
    let b_dir = dir_b.path().to_str().unwrap_or_default().to_owned();
    let env = [("HARK_SECRET_KEY", SECRET_KEY)];

    let out = run(hark()
        .args([
            "admin",
            "create",
            "--database-url",
            &url,
            "--data-dir",
            &a_dir,
            "--email",
            "owner@acme.test",
            "--name",
            "Owner",
            "--password",
            "long enough password",
        ])
        .envs(env));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = create_token(&["--database-url", &url, "--data-dir", &a_dir], "owner@acme.test");

    let client = {
        hark_channels::http::install_crypto_provider();
        reqwest::Client::new()
    };
    let mut a = Node::start(&["serve", "--database-url", &url, "--data-dir", &a_dir], &env);
    let mut b = Node::start(&["serve", "--database-url", &url, "--data-dir", &b_dir], &env);
    a.ready(&client).await;
    b.ready(&client).await;

    let mut stream = client
        .get(format!("{}/api/v1/events", b.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stream.status(), 200);
    for name in ["urgent", "vip"] {
        let created = client
            .post(format!("{}/api/v1/labels", a.base))
            .bearer_auth(&token)
            .json(&json!({ "name": name, "color": "#ff0000" }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(created.status(), 201);
    }
    // Both events, written through node A, arrive on the stream held by node B.
    let mut buffer = String::new();
    let mut seen = vec![];
    while seen.len() < 2 {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(30), stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no event reached node B; saw {seen:?}"))
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("stream ended"));
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) {
                let event: Value = serde_json::from_str(data.trim()).unwrap_or_default();
                seen.push((
                    event["kind"].as_str().unwrap_or("").to_owned(),
                    event["payload"]["name"].as_str().unwrap_or("").to_owned(),
                ));
            }
        }
    }
    assert_eq!(
        seen,
        vec![("label.created".to_owned(), "urgent".to_owned()), ("label.created".to_owned(), "vip".to_owned())]
    );
    // And B reads what A wrote.
    let labels = json_get(&client, format!("{}/api/v1/labels", b.base), &token).await;
    let names: Vec<&str> =
        labels["items"].as_array().map(|a| a.iter().filter_map(|l| l["name"].as_str()).collect()).unwrap_or_default();
    // Every workspace also has the built-in "no-reply-needed" label.
    assert!(names.contains(&"urgent") && names.contains(&"vip"), "{names:?}");
}

#[tokio::test]
async fn the_ingest_benchmark_reports_figures_and_loses_nothing() {
    let out = run(hark().args(["bench", "ingest", "--events", "120", "--concurrency", "8"]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not one JSON object: {e}"));
    assert_eq!(report["bench"], "ingest");
    assert_eq!(report["acknowledged"], 120);
    assert_eq!(report["stored"], 120);
    assert_eq!(report["lost"], 0);
    assert_eq!(report["duplicated"], 0);
    assert!(report["events_per_s"].as_f64().unwrap_or(0.0) > 0.0);
    assert!(report["baseline_per_s"].as_f64().unwrap_or(0.0) > 0.0);
    assert!(report["ack_latency_ms"]["p99"].is_number() && report["end_to_end_ms"]["p99"].is_number());
}

/// Every conversation of a running demo, with its messages and its SLA view.
async fn demo_histories(client: &reqwest::Client, base: &str, token: &str) -> Vec<(Vec<Value>, Value)> {
    let list = json_get(client, format!("{base}/api/v1/conversations?limit=200"), token).await;
    let mut out = vec![];
    for c in list["items"].as_array().cloned().unwrap_or_default() {
        let id = c["id"].as_str().unwrap_or_default();
        let messages = json_get(client, format!("{base}/api/v1/conversations/{id}/messages?limit=200"), token).await;
        assert!(messages["next_cursor"].is_null(), "a demo conversation fits one page");
        let sla = json_get(client, format!("{base}/api/v1/conversations/{id}/sla"), token).await;
        out.push((messages["items"].as_array().cloned().unwrap_or_default(), sla));
    }
    out
}

/// The report totals recomputed from raw messages, as the metric
/// definitions read them: each conversation's messages become facts, with
/// its status changes and ratings beside them; its SLA targets come from its
/// own evaluation. Each conversation's metrics are also compared with the
/// server's own measurement; the disagreements come back beside the totals,
/// since a reply can land between reading the messages and reading the view.
fn recompute(histories: &[(Vec<Value>, Value)], now: jiff::Timestamp) -> (Value, Vec<String>) {
    use hark_domain::metrics::{Fact, FactEvent, MetricsSummary, TimeBasis, conversation_metrics};
    let mut summary = MetricsSummary::default();
    let mut outbound = 0u64;
    let mut sla = hark_domain::sla::SlaAttainment::default();
    let mut sentiment = [0u64; 4];
    let mut disagreements = vec![];
    for (messages, view) in histories {
        let messages: Vec<hark_domain::Message> =
            messages.iter().map(|m| serde_json::from_value(m.clone()).unwrap_or_else(|e| panic!("{e}: {m}"))).collect();
        let stored: Vec<Fact> = serde_json::from_value(view["facts"].clone()).unwrap_or_else(|e| panic!("{e}"));
        let mut facts: Vec<Fact> = messages.iter().filter_map(Fact::from_message).collect();
        facts.extend(
            stored.into_iter().filter(|f| matches!(f.event, FactEvent::Status { .. } | FactEvent::Csat { .. })),
        );
        facts.sort_by_key(|f| f.at);
        let metrics = conversation_metrics(&facts, None);
        let measured = serde_json::to_value(&metrics).unwrap_or_default();
        if measured != view["metrics"] {
            disagreements.push(format!("recomputed {measured}\nserver     {}", view["metrics"]));
        }
        for cycle in &metrics.cycles {
            summary.add_cycle(cycle, TimeBasis::Calendar, now);
        }
        outbound += u64::from(metrics.person_replies() + metrics.automatic_replies());
        for m in messages.iter().filter(|m| m.direction == hark_domain::Direction::Inbound) {
            let i = match m.sentiment {
                Some(hark_domain::Sentiment::Negative) => 0,
                Some(hark_domain::Sentiment::Neutral) => 1,
                Some(hark_domain::Sentiment::Positive) => 2,
                None => 3,
            };
            sentiment[i] += 1;
        }
        if let Ok(evaluation) = serde_json::from_value::<hark_domain::sla::SlaEvaluation>(view["evaluation"].clone()) {
            for target in &evaluation.targets {
                sla.add(target);
            }
        }
    }
    let figures = hark_app::reports::Figures { summary, outbound, sla, sentiment };
    (serde_json::to_value(hark_app::reports::ReportFigures::from(&figures)).unwrap_or_default(), disagreements)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demos_report_agrees_with_a_recomputation_from_its_messages() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data_dir = dir.path().to_str().unwrap_or_default().to_owned();
    let client = test_client();
    let node = start_demo(&data_dir, &client).await;
    let token = create_token(&["--data-dir", &data_dir], "admin@demo.hark");
    // The history arrives and is worked on after the server answers, and the
    // report summaries follow the changes: compare once both have settled.
    let mut last = (Value::Null, Value::Null, vec![]);
    for _ in 0..240 {
        let histories = demo_histories(&client, &node.base, &token).await;
        let now = jiff::Timestamp::now();
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let from = today.saturating_sub(jiff::Span::new().days(3));
        let to = today.saturating_add(jiff::Span::new().days(1));
        let url = format!("{}/api/v1/reports?from={from}&to={to}&tz=UTC&group=none", node.base);
        let report = json_get(&client, url, &token).await;
        let (expected, disagreements) = recompute(&histories, now);
        let replies = expected["person_replies"].as_u64().unwrap_or(0);
        if histories.len() >= 30 && replies > 10 && disagreements.is_empty() && report["totals"] == expected {
            // In the workspace's own zone the report reads day rows, not hour
            // rows: the same figures.
            let url = format!("{}/api/v1/reports?from={from}&to={to}&group=none", node.base);
            let by_days = json_get(&client, url, &token).await;
            assert_eq!(by_days["source"], "day");
            assert_eq!(by_days["totals"], expected);
            return;
        }
        last = (report["totals"].clone(), expected, disagreements);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!(
        "the report never agreed with the recomputation:\nreport   {}\nexpected {}\nper-conversation disagreements:\n{}",
        last.0,
        last.1,
        last.2.join("\n")
    );
}
