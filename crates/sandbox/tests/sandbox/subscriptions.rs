//! Webhook subscriptions made through the APIs: Meta app subscriptions and
//! `subscribed_apps`, X webhooks, Telegram `setWebhook`, VK callback servers.

use hark_sandbox::{Customer, CustomerAction, SimNetwork};
use serde_json::{Value, json};

use crate::common::*;

const IG: &str = "17841400000000001";
const APP: &str = "1234567890";

fn app_token() -> String {
    format!("{APP}|{META_SECRET}")
}

async fn graph_post(sandbox: &hark_sandbox::Sandbox, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let url = format!("{}/v25.0/{path}", sandbox.api_base_url(SimNetwork::Facebook));
    json_of(http().post(url).form(form).send().await.unwrap_or_else(|e| panic!("{e}"))).await
}

fn ig_message(text: &str) -> CustomerAction {
    CustomerAction::InstagramMessage {
        account: None,
        customer: Customer::new("1790000000000000099", "lina.travels", "Lina"),
        text: text.into(),
    }
}

#[tokio::test]
async fn meta_app_subscription_verifies_the_callback_then_deliveries_follow_it() {
    let hook = Receiver::start().await;
    let sandbox = sandbox().await;
    let credentials: Vec<(&str, &str)> = meta_credentials().into_iter().filter(|(k, _)| *k != "verify_token").collect();
    sandbox.add_account(account(SimNetwork::Facebook, PAGE, "ACME", None, &credentials));
    sandbox.add_account(account(SimNetwork::Instagram, IG, "acme", None, &credentials));
    sandbox.settle().await;
    let before = sandbox.act(ig_message("anyone there?")).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sandbox.deliveries().last().and_then(|d| d.error.clone()).as_deref(), Some("no webhook configured"));
    assert_eq!(before.event_keys.len(), 1);

    // A callback that does not echo the challenge is refused with 2200.
    let broken = format!("{}/_sim/nothing-here", sandbox.base_url());
    let token = app_token();
    let subscribe = |callback: &str| {
        vec![
            ("access_token".to_string(), token.clone()),
            ("object".to_string(), "instagram".to_string()),
            ("callback_url".to_string(), callback.to_string()),
            ("fields".to_string(), "messages,mentions".to_string()),
            ("verify_token".to_string(), "app-verify".to_string()),
        ]
    };
    let form = subscribe(&broken);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, error) = graph_post(&sandbox, &format!("{APP}/subscriptions"), &pairs).await;
    assert_eq!((status, error["error"]["code"].clone()), (400, json!(2200)), "{error}");
    assert!(error["error"]["message"].as_str().unwrap_or_default().contains("Callback verification failed"));
    assert!(sandbox.subscriptions().is_empty());

    // A page token or a wrong secret is not an app token.
    let (_, error) = graph_post(
        &sandbox,
        &format!("{APP}/subscriptions"),
        &[("access_token", "EAAsimtoken"), ("object", "instagram"), ("callback_url", hook.url.as_str())],
    )
    .await;
    assert_eq!(error["error"]["code"], 15, "{error}");
    let (_, error) = graph_post(
        &sandbox,
        &format!("{APP}/subscriptions"),
        &[("access_token", "1234567890|wrong"), ("object", "instagram"), ("callback_url", hook.url.as_str())],
    )
    .await;
    assert_eq!(error["error"]["code"], 190, "{error}");

    let form = subscribe(&hook.url);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, body) = graph_post(&sandbox, &format!("{APP}/subscriptions"), &pairs).await;
    assert_eq!((status, body), (200, json!({"success": true})));
    let challenge = hook.requests().into_iter().find(|r| r.method == "GET").unwrap_or_else(|| panic!("no challenge"));
    assert!(challenge.query.contains("hub.mode=subscribe") && challenge.query.contains("hub.verify_token=app-verify"));
    let handshakes: Vec<(bool, String)> =
        sandbox.handshakes().into_iter().filter(|h| h.account_id == APP).map(|h| (h.ok, h.url)).collect();
    assert_eq!(handshakes, vec![(false, broken), (true, hook.url.clone())]);
    let records = sandbox.subscriptions();
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].network, records[0].account_id.as_str(), records[0].object.as_str()),
        (SimNetwork::Instagram, APP, "instagram")
    );
    assert_eq!(records[0].callback_url.as_deref(), Some(hook.url.as_str()));
    assert_eq!(records[0].fields, vec!["messages", "mentions"]);
    let accounts = sandbox.accounts();
    let webhook_of = |id: &str| accounts.iter().find(|a| a.external_id == id).and_then(|a| a.webhook_url.clone());
    assert_eq!(webhook_of(IG), Some(hook.url.clone()));
    assert_eq!(webhook_of(PAGE), None, "only accounts of the subscribed object");

    // Deliveries now go to the callback, for the subscribed fields only.
    let report = sandbox.act(ig_message("hello again")).await.unwrap_or_else(|e| panic!("{e}"));
    let post = hook.posts().pop().unwrap_or_else(|| panic!("no webhook"));
    assert_eq!(post.json()["entry"][0]["messaging"][0]["message"]["mid"], report.item_id.as_str());
    assert!(sandbox.acknowledged_event_keys().contains(&report.item_id));
    let comment = sandbox
        .act(CustomerAction::InstagramComment {
            account: None,
            customer: Customer::new("1790000000000000099", "lina.travels", "Lina"),
            media_id: None,
            parent_comment_id: None,
            text: "nice".into(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(comment.event_keys.is_empty(), "comments is not an app subscription field");

    // The admin API lists the same records.
    let listed: Value = http()
        .get(format!("{}/_sim/subscriptions", sandbox.base_url()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(listed[0]["object"], "instagram");
    assert_eq!(listed[0]["callback_url"], hook.url.as_str());
}

#[tokio::test]
async fn subscribed_apps_for_pages_instagram_and_any_waba_are_recorded() {
    let sandbox = sandbox().await;
    let credentials = meta_credentials();
    sandbox.add_account(account(SimNetwork::Facebook, PAGE, "ACME", None, &credentials));
    sandbox.add_account(account(SimNetwork::Instagram, IG, "acme", None, &credentials));
    sandbox.add_account(account(SimNetwork::Whatsapp, "106000000000001", "15550100200", None, &credentials));
    sandbox.settle().await;
    let proof = hark_sandbox::appsecret_proof(META_SECRET, "EAAsimtoken");
    let auth = [("access_token", "EAAsimtoken"), ("appsecret_proof", proof.as_str())];
    for (id, fields) in [(PAGE, "feed,messages"), (IG, "comments,messages,mentions")] {
        let mut form = vec![("subscribed_fields", fields)];
        form.extend(auth);
        let (status, body) = graph_post(&sandbox, &format!("{id}/subscribed_apps"), &form).await;
        assert_eq!((status, body), (200, json!({"success": true})), "{id}");
    }
    let (status, body) = graph_post(&sandbox, "2100999888777/subscribed_apps", &auth).await;
    assert_eq!((status, body), (200, json!({"success": true})));
    let (status, _) = graph_post(&sandbox, "2100999888777/subscribed_apps", &[("access_token", "EAAwrong")]).await;
    assert_eq!(status, 400);
    let records: Vec<(SimNetwork, String, String, Vec<String>)> =
        sandbox.subscriptions().into_iter().map(|r| (r.network, r.account_id, r.object, r.fields)).collect();
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    assert_eq!(
        records,
        vec![
            (SimNetwork::Facebook, PAGE.to_string(), "page".to_string(), strings(&["feed", "messages"])),
            (
                SimNetwork::Instagram,
                IG.to_string(),
                "instagram".to_string(),
                strings(&["comments", "mentions", "messages"])
            ),
            (SimNetwork::Whatsapp, "2100999888777".to_string(), "whatsapp_business_account".to_string(), Vec::new()),
        ]
    );
}

#[tokio::test]
async fn telegram_set_webhook_moves_updates_to_the_new_url_with_its_secret() {
    let old = Receiver::start().await;
    let new = Receiver::start().await;
    let sandbox = sandbox().await;
    let token = "7000000001:AAsimTelegramToken";
    let credentials = [("bot_token", token), ("secret_token", "old-secret")];
    sandbox.add_account(account(SimNetwork::Telegram, "7000000001", "acme_support_bot", Some(&old), &credentials));
    let url = format!("{}/bot{token}/setWebhook", sandbox.api_base_url(SimNetwork::Telegram));
    let params = json!({"url": new.url, "secret_token": "new_secret-2", "allowed_updates": ["message"]});
    let (status, body) = json_of(http().post(url).json(&params).send().await.unwrap_or_else(|e| panic!("{e}"))).await;
    assert_eq!((status, body["ok"].clone()), (200, json!(true)));
    let report = sandbox
        .act(CustomerAction::TelegramPrivateMessage {
            account: None,
            customer: Customer::new("99887766", "lena_k", "Lena Kraus"),
            text: "Hallo".into(),
            reply_to_message_id: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(old.posts().is_empty());
    let post = new.posts().pop().unwrap_or_else(|| panic!("no update at the new URL"));
    assert_eq!(post.headers.get("x-telegram-bot-api-secret-token").map(String::as_str), Some("new_secret-2"));
    assert_eq!(post.json()["update_id"].to_string(), report.event_keys[0]);
    let records = sandbox.subscriptions();
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].object.as_str(), records[0].account_id.as_str()), ("telegram_webhook", "7000000001"));
    assert_eq!(records[0].callback_url.as_deref(), Some(new.url.as_str()));
    assert_eq!(records[0].fields, vec!["message"]);
}

const GROUP: &str = "229000001";
const VK_TOKEN: &str = "vk1.a.simCommunityToken";

async fn vk_method(sandbox: &hark_sandbox::Sandbox, name: &str, params: &[(&str, &str)]) -> Value {
    let url = format!("{}/method/{name}", sandbox.api_base_url(SimNetwork::Vk));
    let mut form: Vec<(&str, &str)> = vec![("access_token", VK_TOKEN), ("v", "5.199")];
    form.extend_from_slice(params);
    json_of(http().post(url).form(&form).send().await.unwrap_or_else(|e| panic!("{e}"))).await.1
}

fn vk_message(text: &str) -> CustomerAction {
    CustomerAction::VkMessage {
        account: None,
        customer: Customer::new("512345678", "ivan", "Иван Петров"),
        text: text.into(),
    }
}

#[tokio::test]
async fn vk_new_callback_server_is_confirmed_before_it_gets_events() {
    let old = Receiver::start().await;
    old.answer_vk_confirmation("5a1b2c3d");
    let new = Receiver::start().await;
    let sandbox = sandbox().await;
    let credentials = [("access_token", VK_TOKEN), ("secret", "old-secret"), ("confirmation_code", "5a1b2c3d")];
    sandbox.add_account(account(SimNetwork::Vk, GROUP, "acme_shop", Some(&old), &credentials));
    sandbox.settle().await;
    let added = vk_method(
        &sandbox,
        "groups.addCallbackServer",
        &[("group_id", GROUP), ("url", &new.url), ("title", "hark"), ("secret_key", "new-secret")],
    )
    .await;
    assert_eq!(added["response"]["server_id"], 1, "{added}");
    let code =
        vk_method(&sandbox, "groups.getCallbackConfirmationCode", &[("group_id", GROUP)]).await["response"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    assert_ne!(code, "5a1b2c3d", "a new server gets a new code");

    // Hark does not answer the new code yet: the event waits.
    let report = sandbox.act(vk_message("где мой заказ?")).await.unwrap_or_else(|e| panic!("{e}"));
    let key = report.event_keys[0].clone();
    let confirmations: Vec<Value> = new.posts().iter().map(|p| p.json()).collect();
    assert!(!confirmations.is_empty());
    assert!(confirmations.iter().all(|c| c["type"] == "confirmation"), "{confirmations:?}");
    assert!(old.posts().iter().all(|p| p.json()["type"] == "confirmation"), "nothing more to the old URL");
    assert_eq!(sandbox.pending_event_keys(), vec![key.clone()]);
    let last = sandbox.handshakes().pop().unwrap_or_else(|| panic!("no handshake"));
    assert_eq!((last.kind.as_str(), last.url.as_str(), last.ok), ("vk_confirmation", new.url.as_str(), false));

    // Once it answers, re-running the handshakes confirms the new server and the event follows.
    new.answer_vk_confirmation(&code);
    sandbox.rerun_handshakes().await;
    let last = sandbox.handshakes().pop().unwrap_or_else(|| panic!("no handshake"));
    assert_eq!((last.url.as_str(), last.ok), (new.url.as_str(), true));
    sandbox.redeliver_pending().await;
    let event = new.posts().pop().unwrap_or_else(|| panic!("no event")).json();
    assert_eq!((event["type"].clone(), event["secret"].clone()), (json!("message_new"), json!("new-secret")));
    assert!(sandbox.acknowledged_event_keys().contains(&key));
    let records = sandbox.subscriptions();
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].object.as_str(), records[0].account_id.as_str()), ("vk_callback_server", GROUP));
    assert_eq!(records[0].callback_url.as_deref(), Some(new.url.as_str()));
}

#[tokio::test]
async fn vk_new_callback_server_is_confirmed_on_the_next_delivery() {
    let new = Receiver::start().await;
    let sandbox = sandbox().await;
    let credentials = [("access_token", VK_TOKEN), ("secret", "s"), ("confirmation_code", "5a1b2c3d")];
    sandbox.add_account(account(SimNetwork::Vk, GROUP, "acme_shop", None, &credentials));
    sandbox.settle().await;
    vk_method(&sandbox, "groups.addCallbackServer", &[("group_id", GROUP), ("url", &new.url), ("title", "hark")]).await;
    let code =
        vk_method(&sandbox, "groups.getCallbackConfirmationCode", &[("group_id", GROUP)]).await["response"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    new.answer_vk_confirmation(&code);
    let report = sandbox.act(vk_message("привет")).await.unwrap_or_else(|e| panic!("{e}"));
    let posts: Vec<Value> = new.posts().iter().map(|p| p.json()).collect();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[0]["type"], "confirmation");
    assert_eq!(posts[1]["type"], "message_new");
    assert!(sandbox.acknowledged_event_keys().contains(&report.event_keys[0]));
}
