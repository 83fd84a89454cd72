//! Hostile customer text, names, handles, attachment names and links are
//! shown as text and never run: every payload would set `window.__xss` or
//! open a dialog if it executed, and the test checks for both after the
//! inbox and the conversation have rendered it.

use fantoccini::Locator;
use reqwest::Method;
use serde_json::json;

use crate::harness::*;

/// Payloads a customer could send; each would mark the page if it ran.
const PAYLOADS: &[&str] = &[
    "<script>window.__xss = 1; alert(1)</script>",
    "<img src=x onerror=\"window.__xss = 2; alert(2)\">",
    "<svg onload=\"window.__xss = 3\"><script>alert(3)</script></svg>",
    "<a href=\"javascript:window.__xss = 4\">click me</a> javascript:window.__xss=4",
    "\"><iframe srcdoc=\"<script>parent.__xss = 5</script>\"></iframe>",
    "<body onload=window.__xss=6><math><mtext><style><img src=x onerror=window.__xss=7></style></mtext></math>",
    "</textarea><script>window.__xss = 8</script>",
    "{{constructor.constructor('window.__xss = 9')()}} ${alert(10)}",
    "<details open ontoggle=\"window.__xss = 11\">x</details>",
    "https://example.com/\"onmouseover=\"window.__xss=12\"",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_customer_text_is_shown_and_never_executed() {
    let demo = Demo::start().await;
    let admin = "admin@demo.hark";
    // An API channel takes messages in with any name, handle and attachments.
    let channel = demo
        .api_send(
            admin,
            Method::POST,
            "/api/v1/channels",
            json!({
                "network": "api", "name": "Partner feed", "handle": "partner", "external_id": "partner-1",
                "credentials": { "inbound_token": "xss-inbound-token", "webhook_secret": "whsec_c2ltLWdlbmVyaWMtd2ViaG9vay1rZXktMzJieXRlcyE=" },
                "settings": {},
            }),
        )
        .await;
    let channel_id = channel["id"].as_str().unwrap_or_default().to_owned();
    for (i, payload) in PAYLOADS.iter().enumerate() {
        let response = demo
            .http
            .post(format!("{}/api/v1/channels/{channel_id}/messages", demo.base))
            .bearer_auth("xss-inbound-token")
            .json(&json!({
                "id": format!("xss-{i}"), "thread_id": "xss-thread", "visibility": "private",
                "author": { "id": "hostile-1", "name": "<img src=x onerror=window.__xss=100>Eve", "handle": "<svg onload=window.__xss=101>" },
                "text": format!("payload {i}: {payload}"),
                "attachments": [{ "type": "image", "name": payload, "url": "javascript:window.__xss=102" },
                                { "type": "file", "name": "<b onmouseover=window.__xss=103>invoice.pdf</b>", "url": "https://files.example.com/a\"onmouseover=\"window.__xss=104" }],
            }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(response.status().is_success(), "{}", response.status());
    }
    // And a customer on X with a hostile display name.
    demo.customer_acts(json!({
        "type": "x_mention", "customer": customer("771000000000000666", "evil_handle", "<script>window.__xss=200</script>Mallory"),
        "text": "@northwind_help <img src=x onerror=window.__xss=201> help",
    }))
    .await;
    let conversation = demo.conversation_with("payload 9").await;
    demo.conversation_with("help").await;

    let browser = Browser::start().await;
    let page = browser.window().await;
    sign_in(&page, &demo, "lucia@demo.hark").await;
    visit(&page, &demo, "/inbox?view=all").await;
    wait_text(&page, ".rows .row .who", "Eve").await;
    wait_text(&page, ".rows .row .who", "Mallory").await;
    visit(&page, &demo, &format!("/inbox/c/{}?view=all", conversation["id"].as_str().unwrap_or_default())).await;
    wait_text(&page, ".thread .msg.in", "payload 9").await;
    // Hover and click everything a payload could hang off, then give scripts a moment to misbehave.
    for el in
        page.find_all(Locator::Css(".thread .msg-body a, .attachment a, .attachment span")).await.unwrap_or_default()
    {
        let _ = el.click().await;
    }
    js(&page, "document.querySelectorAll('.thread *').forEach(e => e.dispatchEvent(new MouseEvent('mouseover', { bubbles: true })));").await;
    visit(&page, &demo, &format!("/inbox/c/{}?view=all", conversation["id"].as_str().unwrap_or_default())).await;

    assert!(page.get_alert_text().await.is_err(), "no dialog was opened");
    assert_eq!(js(&page, "return window.__xss === undefined;").await, json!(true), "a payload ran");
    // The payloads are there, as text.
    let shown = js(&page, "return document.querySelector('.thread').innerText;").await;
    let shown = shown.as_str().unwrap_or_default();
    assert!(shown.contains("<script>window.__xss = 1; alert(1)</script>"), "{shown}");
    assert!(shown.contains("javascript:window.__xss=4"));
    // No element carries an event handler or a javascript: link.
    let unsafe_nodes = js(
        &page,
        "return [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on') \
         || (/^(href|src|action|formaction|srcdoc)$/.test(a.name) && /^\\s*javascript:/i.test(a.value)))).map(e => e.outerHTML.slice(0, 120));",
    )
    .await;
    assert_eq!(unsafe_nodes, json!([]), "elements with handlers or script links");
    let links = js(
        &page,
        "return [...document.querySelectorAll('.thread a[target=_blank]')].every(a => a.rel.includes('noopener'));",
    )
    .await;
    assert_eq!(links, json!(true), "links to other sites open without a handle on Hark");
    // The page forbids inline scripts.
    let csp = demo.http.get(format!("{}/login", demo.base)).send().await.unwrap_or_else(|e| panic!("{e}"));
    let policy = csp.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "{policy}");
    page.close().await.ok();
}
