//! An agent's day in the browser: a new mention appears live, is opened,
//! answered publicly (published through the sandbox), moved to private,
//! noted with an @mention, assigned and resolved; a bulk resolve; the
//! interface in Russian and Chinese; screenshots of the main screens.

use fantoccini::Locator;
use reqwest::Method;
use serde_json::json;

use crate::harness::*;

/// A message's text in one of the interface's language files.
fn translation(locale: &str, id: &str) -> String {
    let path = format!("{}/../ui/locales/{locale}.ftl", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    source
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{id} = ")))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("{locale}.ftl has no {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_answers_a_new_mention_publicly_then_privately_and_resolves_it() {
    let demo = Demo::start().await;
    let browser = Browser::start().await;
    let page = browser.window().await;
    let agent = "dmitri@demo.hark";
    sign_in(&page, &demo, agent).await;
    visit(&page, &demo, "/inbox?view=all").await;
    js(&page, "window.__samePage = 42;").await;

    // A customer mentions the brand on X: it appears in the open list without a reload.
    let nonce = format!("NW{}", std::process::id());
    let text = format!("@northwind_help my bag never arrived from flight {nonce}, where is it?");
    let report = demo
        .customer_acts(json!({ "type": "x_mention", "customer": customer("771000000000000001", "maria_k", "Maria Kovacs"), "text": text }))
        .await;
    assert!(report["item_id"].as_str().is_some(), "{report}");
    wait_text(&page, ".rows .row .snippet", &nonce).await;
    assert_eq!(js(&page, "return window.__samePage;").await, json!(42), "the row arrived without reloading the page");
    let conversation = demo.conversation_with(&nonce).await;
    let id = conversation["id"].as_str().unwrap_or_default().to_owned();

    // Open it.
    page.find(Locator::Css(&format!(".rows .row[data-id='{id}'] .row-link")))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wait_text(&page, ".conversation .thread .msg.in", &nonce).await;
    assert!(page.current_url().await.map(|u| u.path().ends_with(&id)).unwrap_or(false));

    // The composer counts as X does, the same as the server.
    let samples = ["hello", "你好世界 emoji 😀", "see https://example.com/a/very/long/path?q=1 now", "Καλησπέρα σας"];
    let script = format!(
        "const done = arguments[arguments.length - 1]; import('/assets/composer.js').then(m => done({}.map(s => m.measure('x_weighted', s))));",
        serde_json::to_string(&samples).unwrap_or_default()
    );
    let counted = page.execute_async(&script, vec![]).await.unwrap_or_else(|e| panic!("{e}"));
    for (i, sample) in samples.iter().enumerate() {
        let options =
            demo.api_get(agent, &format!("/api/v1/conversations/{id}/reply-options?text={}", urlencode(sample))).await;
        let public = options.as_array().and_then(|a| a.iter().find(|o| o["visibility"] == "public")).cloned();
        assert_eq!(counted[i], public.map(|p| p["length"].clone()).unwrap_or_default(), "counting {sample:?}");
    }

    // Reply publicly with Ctrl+Enter; the sandbox receives it as a reply to the mention.
    let reply = format!("Maria, so sorry about your bag on {nonce}. Let me look into it right away.");
    let textarea = page.find(Locator::Css(".composer textarea")).await.unwrap_or_else(|e| panic!("{e}"));
    textarea.send_keys(&reply).await.unwrap_or_else(|e| panic!("{e}"));
    textarea.send_keys("\u{E009}\u{E007}\u{E000}").await.unwrap_or_else(|e| panic!("{e}"));
    wait_text(&page, ".thread .msg.out .delivery.published", "").await;
    wait_text(&page, ".thread .msg.out", "so sorry about your bag").await;
    let published = eventually("the public reply reaches X", || async {
        demo.published().await.into_iter().find(|p| p["text"].as_str() == Some(reply.as_str()))
    })
    .await;
    assert_eq!(published["kind"], "reply");
    assert_eq!(published["in_reply_to"], report["item_id"]);

    // Move to private: a public answer saying so, and a direct message.
    click(&page, ".conv-head details.more summary").await;
    // A change made meanwhile (here a colleague raising the priority)
    // re-renders the header; the menu the agent opened stays open.
    demo.api_send(
        "admin@demo.hark",
        reqwest::Method::PATCH,
        &format!("/api/v1/conversations/{id}"),
        json!({ "priority": "high" }),
    )
    .await;
    eventually("the header shows the new priority", || async {
        let shown = js(&page, "return document.querySelector('.conv-head select[name=priority]')?.value;").await;
        (shown == json!("high")).then_some(())
    })
    .await;
    assert_eq!(js(&page, "return document.querySelector('.conv-head details.more').open;").await, json!(true));
    click(&page, "button[data-action='move-to-private']").await;
    assert_eq!(js(&page, "return document.querySelector('.composer').dataset.mode;").await, json!("private"));
    // The public answer is offered, written for the customer.
    let public_ack = js(&page, "return document.querySelector('.move-private input[name=public_reply]').value;").await;
    let public_ack = public_ack.as_str().unwrap_or_default().to_owned();
    assert_eq!(
        public_ack,
        translation("en", "move-private-default-public"),
        "in the customer's language, not the agent's"
    );
    let private = format!("Hi Maria, could you send me your booking reference for {nonce}?");
    page.find(Locator::Css(".composer textarea"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .send_keys(&private)
        .await
        .ok();
    page.find(Locator::Css(".composer .send")).await.unwrap_or_else(|e| panic!("{e}")).click().await.ok();
    let dm = eventually("the direct message reaches X", || async {
        demo.published().await.into_iter().find(|p| p["text"].as_str() == Some(private.as_str()))
    })
    .await;
    assert_eq!(dm["kind"], "direct_message");
    assert_eq!(dm["recipient"], "771000000000000001");
    eventually("the public acknowledgement is published", || async {
        let all = demo.published().await;
        all.into_iter()
            .find(|p| p["text"].as_str().is_some_and(|t| t.contains(public_ack.as_str())) && p["kind"] == "reply")
    })
    .await;
    // Once X confirms the DM, the private conversation it opened is linked here.
    wait_text(&page, ".conversation .linked", "").await;
    let linked = demo.api_get(agent, &format!("/api/v1/conversations/{id}")).await;
    let private_id =
        linked["linked_conversation_id"].as_str().unwrap_or_else(|| panic!("not linked: {linked}")).to_owned();
    let private_conversation = demo.api_get(agent, &format!("/api/v1/conversations/{private_id}")).await;
    assert_eq!(private_conversation["kind"], "private");
    assert_eq!(private_conversation["linked_conversation_id"], json!(id));

    // An internal note mentioning a supervisor notifies her.
    click(&page, ".modes [data-mode='note']").await;
    let note = format!("@Sofia the bag for {nonce} is in Frankfurt, please approve a voucher");
    page.find(Locator::Css(".composer textarea")).await.unwrap_or_else(|e| panic!("{e}")).send_keys(&note).await.ok();
    page.find(Locator::Css(".composer .send")).await.unwrap_or_else(|e| panic!("{e}")).click().await.ok();
    wait_text(&page, ".thread .msg.note .mention", "@Sofia").await;
    let notified = eventually("Sofia is notified", || async {
        let list = demo.api_get("sofia@demo.hark", "/api/v1/notifications?unread=true").await;
        list["items"].as_array()?.iter().find(|n| n["conversation_id"] == json!(id)).cloned()
    })
    .await;
    assert_eq!(notified["kind"], "mention");
    assert!(
        !demo.published().await.iter().any(|p| p["text"].as_str() == Some(note.as_str())),
        "notes never leave Hark"
    );

    // Assign to a colleague.
    let users = demo.api_get(agent, "/api/v1/users").await;
    let mei = users["items"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["email"] == "mei@demo.hark"))
        .and_then(|u| u["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    page.find(Locator::Css("select[data-patch='assignee_id']"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value(&mei)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    eventually("the conversation is assigned to Mei", || async {
        let c = demo.api_get(agent, &format!("/api/v1/conversations/{id}")).await;
        (c["assignee_id"] == json!(mei)).then_some(())
    })
    .await;

    // Resolve.
    wait_text(&page, ".conv-head select[data-patch='assignee_id'] option:checked", "Mei").await;
    click(&page, "button[data-action='resolve']").await;
    eventually("the conversation is resolved", || async {
        let c = demo.api_get(agent, &format!("/api/v1/conversations/{id}")).await;
        (c["status"] == "resolved").then_some(())
    })
    .await;
    wait_text(&page, ".conv-head .status-resolved", "").await;

    // Bulk: pick two open conversations and resolve both.
    visit(&page, &demo, "/inbox?view=open").await;
    let rows = page.find_all(Locator::Css(".rows .row")).await.unwrap_or_default();
    assert!(rows.len() >= 2, "the demo has open conversations");
    let mut picked = vec![];
    for row in rows.iter().take(2) {
        picked.push(row.attr("data-id").await.ok().flatten().unwrap_or_default());
        row.find(Locator::Css(".pick")).await.unwrap_or_else(|e| panic!("{e}")).click().await.ok();
    }
    wait_text(&page, ".bulk .bulk-count", "2").await;
    click(&page, ".bulk button[data-bulk='resolve']").await;
    for conversation_id in &picked {
        eventually("both picked conversations are resolved", || async {
            let c = demo.api_get(agent, &format!("/api/v1/conversations/{conversation_id}")).await;
            (c["status"] == "resolved").then_some(())
        })
        .await;
    }
    eventually("resolved rows leave the open list", || async {
        let left =
            js(&page, &format!("return !!document.querySelector(\".rows .row[data-id='{}']\");", picked[0])).await;
        (left == json!(false)).then_some(())
    })
    .await;

    // The interface in Russian, then Chinese, chosen by the agent.
    for (code, lang) in [("ru", "ru"), ("zh", "zh-Hans")] {
        click(&page, "details.me summary").await;
        let menu_open = js(&page, "return document.querySelector('details.me').open;").await;
        assert_eq!(menu_open, json!(true), "the menu opens");
        js(&page, &format!("const s = document.querySelector('select.locale'); s.value = '{code}'; s.dispatchEvent(new Event('change', {{ bubbles: true }}));")).await;
        eventually(&format!("the page in {code}"), || async {
            let now = js(&page, "return document.body.dataset.ready && document.documentElement.lang;").await;
            (now == json!(lang)).then_some(())
        })
        .await;
        wait_text(&page, ".views", &translation(code, "view-unassigned")).await;
        wait_text(&page, ".list-head h2", &translation(code, "view-open")).await;
        let body = js(&page, "return document.body.innerText;").await;
        assert!(!body.as_str().unwrap_or_default().contains('⟦'), "a message is missing in {code}");
    }
    demo.api_send(agent, Method::PATCH, "/api/v1/me", json!({ "locale": "en" })).await;

    // Screenshots of the main screens at 1440×900, signed in as the admin.
    let admin = browser.window().await;
    sign_in(&admin, &demo, "admin@demo.hark").await;
    visit(&admin, &demo, "/inbox?view=open").await;
    screenshot(&admin, "inbox").await;
    visit(&admin, &demo, &format!("/inbox/c/{id}?view=all")).await;
    wait_text(&admin, ".thread .msg.note", "Frankfurt").await;
    screenshot(&admin, "conversation").await;
    visit(&admin, &demo, "/settings/channels").await;
    screenshot(&admin, "settings").await;
    let size = js(&admin, "return [window.innerWidth, window.innerHeight];").await;
    assert_eq!(size, json!([1440, 900]));
    admin.close().await.ok();
    page.close().await.ok();
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A channel whose webhooks keep failing verification raises a live alert,
/// which each agent reads in their own language, with Hark's explanation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_channel_raises_an_alert_in_the_agents_language() {
    let demo = Demo::start().await;
    let browser = Browser::start().await;
    let page = browser.window().await;
    sign_in(&page, &demo, "dmitri@demo.hark").await;
    visit(&page, &demo, "/inbox").await;
    let channels = demo.api_get("admin@demo.hark", "/api/v1/channels").await;
    let facebook = channels["items"]
        .as_array()
        .or_else(|| channels.as_array())
        .and_then(|all| all.iter().find(|c| c["network"] == "facebook").cloned())
        .unwrap_or_else(|| panic!("a Facebook channel in {channels}"));
    // Requests that are not signed with the app secret, as a misconfigured app would send.
    let http = reqwest::Client::new();
    for _ in 0..3 {
        let refused = http
            .post(format!("{}/webhooks/{}", demo.base, facebook["id"].as_str().unwrap_or_default()))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", "sha256=00")
            .body("{}")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(refused.status().as_u16(), 401);
    }
    let explanation = translation("ru", "js-channel-note-webhooks-fail-verification");
    let alert = wait_text(&page, ".alerts .alert", &explanation).await;
    let name = facebook["name"].as_str().unwrap_or_default();
    assert!(alert.contains(name) && alert.contains("работает с перебоями"), "{alert}");
    assert!(!alert.contains("failing verification"), "no English left: {alert}");
}
