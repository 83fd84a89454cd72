//! Automation in the browser: the rules settings (a rule written in the
//! editor runs on the next message), the rule log in the conversation, the
//! approval queue (a supervisor edits and approves a trainee's reply) and
//! correcting what Hark read in a message; screenshots of the rules page, the
//! rule editor and the approval queue.

use fantoccini::Locator;
use reqwest::Method;
use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_run_from_the_editor_show_in_the_conversation_and_replies_wait_in_the_approval_queue() {
    let demo = Demo::start().await;
    let browser = Browser::start().await;
    let admin = browser.window().await;
    sign_in(&admin, &demo, "admin@demo.hark").await;

    // The demo's rules read as when / if / then.
    visit(&admin, &demo, "/settings/rules").await;
    wait_text(&admin, ".rule .rule-name", "Upset customers on X go to Escalations").await;
    wait_text(&admin, ".rule .rule-summary", "a customer's message arrives").await;
    screenshot(&admin, "rules").await;

    // A new rule, written in the editor.
    let nonce = format!("ZQ{}", std::process::id());
    click(&admin, "details.create > summary").await;
    let form = admin.find(Locator::Css("details.create form.rule-form")).await.unwrap_or_else(|e| panic!("{e}"));
    form.find(Locator::Css("input[name=name]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .send_keys("Tag VIP mentions")
        .await
        .ok();
    let row = form.find(Locator::Css("[data-condition]")).await.unwrap_or_else(|e| panic!("{e}"));
    row.find(Locator::Css("select[name=field]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value("text")
        .await
        .ok();
    row.find(Locator::Css("select[name=op]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value("any_keyword")
        .await
        .ok();
    row.find(Locator::Css("input[name=value]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .send_keys(&nonce.to_lowercase())
        .await
        .ok();
    // Actions are rows: a type, then the parameters that type takes.
    let first = form.find(Locator::Css("[data-actions] [data-action]")).await.unwrap_or_else(|e| panic!("{e}"));
    first
        .find(Locator::Css("select[data-action-type]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value("add_label")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    first
        .find(Locator::Css("select[data-key=label]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value("vip")
        .await
        .unwrap_or_else(|e| panic!("the label is offered once the type asks for it: {e}"));
    form.find(Locator::Css("[data-action-add]")).await.unwrap_or_else(|e| panic!("{e}")).click().await.ok();
    let second =
        form.find(Locator::Css("[data-actions] [data-action]:nth-child(2)")).await.unwrap_or_else(|e| panic!("{e}"));
    second
        .find(Locator::Css("select[data-action-type]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value("set_priority")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    second
        .find(Locator::Css("select[data-key=priority]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value("urgent")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A snippet is picked by its name; the action carries its id.
    form.find(Locator::Css("[data-action-add]")).await.unwrap_or_else(|e| panic!("{e}")).click().await.ok();
    let third =
        form.find(Locator::Css("[data-actions] [data-action]:nth-child(3)")).await.unwrap_or_else(|e| panic!("{e}"));
    third
        .find(Locator::Css("select[data-action-type]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value("send_snippet")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    third
        .find(Locator::Css("select[data-key=snippet_id]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_label("Baggage allowance")
        .await
        .unwrap_or_else(|e| panic!("the snippet picker offers the workspace's snippets by name: {e}"));
    let snippets = demo.api_get("admin@demo.hark", "/api/v1/snippets").await;
    let baggage = snippets["items"]
        .as_array()
        .and_then(|items| items.iter().find(|s| s["name"] == "Baggage allowance"))
        .map(|s| s["id"].clone())
        .unwrap_or_else(|| panic!("the demo has the baggage snippet: {snippets}"));
    let picked = js(
        &admin,
        "return document.querySelector('details.create [data-actions] [data-action]:nth-child(3) \
         select[data-key=snippet_id]').value;",
    )
    .await;
    assert_eq!(picked, baggage);
    screenshot(&admin, "rule-editor").await;
    // This rule is not to answer anyone: the snippet row goes again.
    third.find(Locator::Css("[data-action-remove]")).await.unwrap_or_else(|e| panic!("{e}")).click().await.ok();
    form.find(Locator::Css("button[type=submit]")).await.unwrap_or_else(|e| panic!("{e}")).click().await.ok();
    wait_text(&admin, ".rule .rule-name", "Tag VIP mentions").await;
    wait_text(&admin, ".rule .rule-summary", "has any keyword of").await;
    // A saved rule's editor reads its actions back as rows.
    let rows = js(
        &admin,
        "const rule = [...document.querySelectorAll('li.rule')].find((r) => r.textContent.includes('Tag VIP mentions')); \
         return [...rule.querySelectorAll('[data-actions] [data-action]')].map((row) => { \
           const type = row.querySelector('[data-action-type]').value; \
           const shown = [...row.querySelectorAll('[data-param]:not([hidden]) [data-key]')].map((i) => i.value); \
           return [type, ...shown]; });",
    )
    .await;
    assert_eq!(rows, json!([["add_label", "vip"], ["set_priority", "urgent"]]));

    // It runs on the next message, and the conversation says why.
    let text = format!("@northwind_help hello from a frequent flyer {nonce}, can I pick my seat?");
    demo.customer_acts(
        json!({ "type": "x_mention", "customer": customer("771000000000000009", "vip_v", "Vera Vip"), "text": text }),
    )
    .await;
    let conversation = demo.conversation_with(&nonce).await;
    let id = conversation["id"].as_str().unwrap_or_default().to_owned();
    eventually("the rule labelled the conversation", || async {
        let c = demo.api_get("admin@demo.hark", &format!("/api/v1/conversations/{id}")).await;
        (c["priority"] == "urgent" && c["labels"].as_array().is_some_and(|l| l.contains(&json!("vip")))).then_some(())
    })
    .await;
    visit(&admin, &demo, &format!("/inbox/c/{id}?view=all")).await;
    click(&admin, ".rule-log > summary").await;
    wait_text(&admin, ".rule-log .rule-run", "Tag VIP mentions").await;
    wait_text(&admin, ".rule-log .rule-run", "urgent").await;

    // An agent corrects what Hark read in the message.
    click(&admin, ".msg.in .reading > summary").await;
    let correct = admin.find(Locator::Css(".msg.in form.correct")).await.unwrap_or_else(|e| panic!("{e}"));
    correct
        .find(Locator::Css("select[name=intent]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value("sales_lead")
        .await
        .ok();
    correct.find(Locator::Css("button[type=submit]")).await.unwrap_or_else(|e| panic!("{e}")).click().await.ok();
    eventually("the correction is stored", || async {
        let list = demo.api_get("admin@demo.hark", "/api/v1/corrections?field=intent").await;
        list["items"]
            .as_array()?
            .iter()
            .find(|c| c["new_value"] == "sales_lead" && c["text"].as_str().is_some_and(|t| t.contains(&nonce)))
            .cloned()
    })
    .await;
    wait_text(&admin, ".msg.in .reading summary", "Sales").await;

    // A trainee's reply waits; the supervisor edits and approves it in the queue.
    let draft = format!("ok ill check {nonce}");
    let posted = demo
        .api_send(
            "tom@demo.hark",
            Method::POST,
            &format!("/api/v1/conversations/{id}/messages"),
            json!({ "visibility": "public", "text": draft }),
        )
        .await;
    assert_eq!(posted["delivery_status"], "awaiting_approval");
    let supervisor = browser.window().await;
    sign_in(&supervisor, &demo, "sofia@demo.hark").await;
    visit(&supervisor, &demo, "/approvals").await;
    wait_text(&supervisor, ".approval", &draft).await;
    screenshot(&supervisor, "approvals").await;
    let edited = format!("Hi Vera! Seat selection is open in Manage booking. {nonce}");
    let card = supervisor
        .find(Locator::Css(&format!(".approval[data-id='{}']", posted["id"].as_str().unwrap_or_default())))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let reply = card.find(Locator::Css("form.review textarea[name=text]")).await.unwrap_or_else(|e| panic!("{e}"));
    reply.clear().await.ok();
    reply.send_keys(&edited).await.ok();
    card.find(Locator::Css("form.review button[type=submit]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .click()
        .await
        .ok();
    eventually("the edited reply reaches X", || async {
        demo.published().await.into_iter().find(|p| p["text"].as_str() == Some(edited.as_str()))
    })
    .await;
    let audit = demo.api_get("admin@demo.hark", "/api/v1/audit?limit=200").await;
    let entry = audit["items"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["action"] == "message.publish" && e["subject_id"] == posted["id"]).cloned())
        .unwrap_or_else(|| panic!("no publication in the audit log"));
    assert_eq!(entry["detail"]["written_by"], posted["author_user_id"]);
    assert_eq!(entry["detail"]["approved_by"], entry["actor_id"]);
    supervisor.close().await.ok();
    admin.close().await.ok();
}
