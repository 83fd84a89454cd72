//! What the browser tests stand on: a real `hark demo` (embedded SQLite, the
//! platform sandbox feeding it) as a separate process, Debian's Chromium
//! driven through ChromeDriver, and small helpers to wait for what a person
//! would see. Waiting is bounded (a page that never shows something fails
//! the test) but nothing is measured against the clock.

#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub const PASSWORD: &str = "hark-demo-2026";
/// How long to wait for something to appear before failing.
const PATIENCE: Duration = Duration::from_secs(40);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `check` until it gives a value; panics naming `what` if it never does.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("never happened: {what}");
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// A running demo: Hark on a free port with its sandbox on another.
pub struct Demo {
    child: Child,
    pub base: String,
    pub sandbox: String,
    pub data_dir: tempfile::TempDir,
    pub http: reqwest::Client,
    tokens: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    pub async fn start() -> Demo {
        let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (port, sandbox_port) = (free_port(), free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_hark"))
            .args(["demo", "--conversations", "40", "--traffic-per-minute", "0", "--metrics-listen", ""])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--sandbox-listen", &format!("127.0.0.1:{sandbox_port}")])
            .arg("--data-dir")
            .arg(data_dir.path())
            .env_remove("HARK_DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start hark demo: {e}"));
        hark_channels::http::install_crypto_provider();
        let demo = Demo {
            child,
            base: format!("http://127.0.0.1:{port}"),
            sandbox: format!("http://127.0.0.1:{sandbox_port}"),
            data_dir,
            http: reqwest::Client::new(),
            tokens: Default::default(),
        };
        let http = demo.http.clone();
        let health = format!("{}/healthz", demo.base);
        eventually("the demo answers /healthz", || {
            let (http, health) = (http.clone(), health.clone());
            async move { http.get(health).send().await.ok().filter(|r| r.status() == 200).map(|_| ()) }
        })
        .await;
        // The history is ingested and worked on before the demo is ready for people.
        eventually("the demo history is loaded", || async {
            let list = demo.api_get("admin@demo.hark", "/api/v1/conversations?status=resolved&limit=1").await;
            list["items"].as_array().filter(|a| !a.is_empty()).map(|_| ())
        })
        .await;
        demo
    }

    /// An API token for a demo user (made with `hark token create`, as an operator would).
    pub fn token(&self, email: &str) -> String {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = tokens.get(email) {
            return t.clone();
        }
        let out = Command::new(env!("CARGO_BIN_EXE_hark"))
            .args(["token", "create", "--email", email, "--data-dir"])
            .arg(self.data_dir.path())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        tokens.insert(email.to_owned(), token.clone());
        token
    }

    pub async fn api_get(&self, email: &str, path: &str) -> Value {
        let token = self.token(email);
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn api_send(&self, email: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
        let token = self.token(email);
        let response = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A customer does something on a network (the sandbox sends Hark the webhook).
    pub async fn customer_acts(&self, action: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/_sim/actions", self.sandbox))
            .json(&action)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(response.status().is_success(), "sandbox refused {action}: {}", response.status());
        response.json().await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// What Hark has published on the networks, as the sandbox recorded it.
    pub async fn published(&self) -> Vec<Value> {
        let response =
            self.http.get(format!("{}/_sim/published", self.sandbox)).send().await.unwrap_or_else(|e| panic!("{e}"));
        response.json::<Vec<Value>>().await.unwrap_or_default()
    }

    /// The conversation whose messages include `text`.
    pub async fn conversation_with(&self, text: &str) -> Value {
        eventually(&format!("a conversation containing {text:?}"), || async {
            let list = self.api_get("admin@demo.hark", "/api/v1/conversations?limit=50").await;
            list["items"]
                .as_array()?
                .iter()
                .find(|c| c["last_message_preview"].as_str().is_some_and(|p| p.contains(text)))
                .cloned()
        })
        .await
    }
}

/// ChromeDriver with Debian's Chromium, stopped when dropped.
pub struct Browser {
    driver: Child,
    url: String,
    profiles: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn executable(name: &str, fallback: &str) -> PathBuf {
    std::env::var_os(name).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(fallback))
}

impl Browser {
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new(executable("HARK_CHROMEDRIVER", "/usr/bin/chromedriver"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start chromedriver (scripts/test installs Debian's chromium-driver): {e}")
            });
        let browser = Browser {
            driver,
            url: format!("http://127.0.0.1:{port}"),
            profiles: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
        };
        let http = reqwest::Client::new();
        let status = format!("{}/status", browser.url);
        eventually("chromedriver answers", || {
            let (http, status) = (http.clone(), status.clone());
            async move { http.get(status).send().await.ok().filter(|r| r.status() == 200).map(|_| ()) }
        })
        .await;
        browser
    }

    /// A new browser window with its own profile (its own cookies), 1440×900.
    pub async fn window(&self) -> Client {
        let profile = self.profiles.path().join(format!("p{}", free_port()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": executable("HARK_CHROMIUM", "/usr/bin/chromium"),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1440,900", "--lang=en-US",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}"));
        size_viewport(&client, 1440, 900).await;
        client
    }
}

/// Makes the page's viewport exactly `width`×`height` (the window adds its own frame).
pub async fn size_viewport(client: &Client, width: u32, height: u32) {
    let _ = client.set_window_rect(0, 0, width, height).await;
    if let Ok(inner) = client.execute("return [window.innerWidth, window.innerHeight];", vec![]).await {
        let w = inner[0].as_u64().unwrap_or(u64::from(width)) as u32;
        let h = inner[1].as_u64().unwrap_or(u64::from(height)) as u32;
        let _ = client.set_window_rect(0, 0, width + (width - w.min(width)), height + (height - h.min(height))).await;
    }
}

/// Signs in through the sign-in form, as a person does.
pub async fn sign_in(client: &Client, demo: &Demo, email: &str) {
    client.goto(&format!("{}/login", demo.base)).await.unwrap_or_else(|e| panic!("{e}"));
    let form = client.wait().for_element(Locator::Css("form[action='/login']")).await.unwrap_or_else(|e| panic!("{e}"));
    form.find(Locator::Css("input[name=email]")).await.unwrap_or_else(|e| panic!("{e}")).send_keys(email).await.ok();
    form.find(Locator::Css("input[name=password]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .send_keys(PASSWORD)
        .await
        .ok();
    form.find(Locator::Css("button[type=submit]")).await.unwrap_or_else(|e| panic!("{e}")).click().await.ok();
    eventually("the inbox after signing in", || async {
        client.find(Locator::Css("body[data-ready='true'] .inbox")).await.ok().map(|_| ())
    })
    .await;
}

/// Opens a page and waits until its scripts have started.
pub async fn visit(client: &Client, demo: &Demo, path: &str) {
    client.goto(&format!("{}{path}", demo.base)).await.unwrap_or_else(|e| panic!("{e}"));
    eventually(&format!("{path} is ready"), || async {
        client.find(Locator::Css("body[data-ready='true']")).await.ok().map(|_| ())
    })
    .await;
}

/// The visible text of the first element matching `css`, once there is one containing `text`.
pub async fn wait_text(client: &Client, css: &str, text: &str) -> String {
    eventually(&format!("{css} showing {text:?}"), || async {
        for el in client.find_all(Locator::Css(css)).await.ok()? {
            let shown = el.text().await.ok()?;
            if shown.contains(text) {
                return Some(shown);
            }
        }
        None
    })
    .await
}

/// Runs a script in the page and returns what it returns.
pub async fn js(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// Where the tests write their screenshots (HARK_SCREENSHOTS, or a folder in the target directory).
pub fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("HARK_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let png = client.screenshot().await.unwrap_or_else(|e| panic!("{e}"));
    let path = screenshot_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("screenshot: {}", path.display());
    path
}

/// A Customer value for sandbox actions.
pub fn customer(id: &str, handle: &str, name: &str) -> Value {
    json!({ "id": id, "handle": handle, "name": name })
}

/// Clicks the element matching `css`, finding it again if the page replaced
/// it in the meantime (live updates re-render parts of the page).
pub async fn click(client: &Client, css: &str) {
    eventually(&format!("clicking {css}"), || async {
        let el = client.find(Locator::Css(css)).await.ok()?;
        el.click().await.ok()
    })
    .await;
}
