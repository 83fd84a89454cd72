use hark_sandbox::{Customer, CustomerAction, SimNetwork};
use serde_json::{Value, json};

use crate::common::*;

const BOT: &str = "7000000001";
const TOKEN: &str = "7000000001:AAsimTelegramToken";

fn lena() -> Customer {
    Customer::new("99887766", "lena_k", "Lena Kraus")
}

async fn telegram_sandbox(hook: Option<&Receiver>) -> hark_sandbox::Sandbox {
    let sandbox = sandbox().await;
    let credentials = [("bot_token", TOKEN), ("secret_token", "sim-secret_1")];
    sandbox.add_account(account(SimNetwork::Telegram, BOT, "acme_support_bot", hook, &credentials));
    sandbox
}

async fn call(sandbox: &hark_sandbox::Sandbox, method: &str, params: Value) -> (u16, Value) {
    let url = format!("{}/bot{TOKEN}/{method}", sandbox.api_base_url(SimNetwork::Telegram));
    json_of(http().post(url).json(&params).send().await.unwrap_or_else(|e| panic!("{e}"))).await
}

async fn private(sandbox: &hark_sandbox::Sandbox, text: &str) -> hark_sandbox::ActionReport {
    let action = CustomerAction::TelegramPrivateMessage {
        account: None,
        customer: lena(),
        text: text.into(),
        reply_to_message_id: None,
    };
    sandbox.act(action).await.unwrap_or_else(|e| panic!("{e}"))
}

fn update_ids(body: &Value) -> Vec<i64> {
    body["result"].as_array().map(|a| a.iter().filter_map(|u| u["update_id"].as_i64()).collect()).unwrap_or_default()
}

#[tokio::test]
async fn get_updates_confirms_by_offset_and_conflicts_with_a_webhook() {
    let hook = Receiver::start().await;
    let sandbox = telegram_sandbox(None).await;
    let first = private(&sandbox, "Hallo! Meine Bestellung 4471 fehlt noch 📦").await;
    private(&sandbox, "/start").await;
    let (status, body) = call(&sandbox, "getUpdates", json!({})).await;
    assert_eq!(status, 200);
    let ids = update_ids(&body);
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[1], ids[0] + 1);
    assert_eq!(first.event_keys, vec![ids[0].to_string()]);
    assert_eq!(body["result"][0]["message"]["chat"]["type"], "private");
    assert_eq!(body["result"][1]["message"]["entities"][0]["type"], "bot_command");
    // Not confirmed yet: the same updates come again.
    assert_eq!(update_ids(&call(&sandbox, "getUpdates", json!({})).await.1), ids);
    let (_, body) = call(&sandbox, "getUpdates", json!({"offset": ids[1] + 1})).await;
    assert_eq!(body["result"], json!([]));
    private(&sandbox, "anyone?").await;
    let (_, body) = call(&sandbox, "getUpdates", json!({"offset": ids[1] + 1, "timeout": 1})).await;
    assert_eq!(update_ids(&body), vec![ids[1] + 1]);

    let (status, body) = call(&sandbox, "setWebhook", json!({"url": hook.url, "secret_token": "sim-secret_1"})).await;
    assert_eq!((status, body["result"].clone()), (200, json!(true)));
    let (status, body) = call(&sandbox, "getUpdates", json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(body["ok"], false);
    assert_eq!(body["error_code"], 409);
    sandbox.settle().await;
    sandbox.redeliver_pending().await;
    assert_eq!(hook.posts().len(), 1, "the unconfirmed update moved to the webhook");
    let (status, _) = call(&sandbox, "deleteWebhook", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(call(&sandbox, "getUpdates", json!({})).await.0, 200);
}

#[tokio::test]
async fn webhook_updates_carry_the_secret_and_are_retried() {
    let hook = Receiver::start().await;
    let sandbox = telegram_sandbox(Some(&hook)).await;
    hook.respond_next(502, "bad gateway");
    let report = private(&sandbox, "Where is my parcel?").await;
    let key = report.event_keys[0].clone();
    assert!(!sandbox.acknowledged_event_keys().contains(&key));
    let (_, info) = call(&sandbox, "getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["pending_update_count"], 1);
    assert!(info["result"]["last_error_message"].as_str().unwrap_or_default().contains("502"));
    sandbox.redeliver_pending().await;
    assert!(sandbox.acknowledged_event_keys().contains(&key));
    let posts = hook.posts();
    assert_eq!(posts.len(), 2);
    assert!(
        posts
            .iter()
            .all(|p| p.headers.get("x-telegram-bot-api-secret-token").map(String::as_str) == Some("sim-secret_1"))
    );
    assert_eq!(posts[1].json()["update_id"].to_string(), key);
    assert_eq!(posts[1].json()["message"]["from"]["username"], "lena_k");
}

#[tokio::test]
async fn send_message_permission_reply_rate_and_block_rules() {
    let sandbox = telegram_sandbox(None).await;
    let (status, body) = call(&sandbox, "sendMessage", json!({"chat_id": 99887766, "text": "Hi"})).await;
    assert_eq!(
        (status, body["description"].clone()),
        (403, json!("Forbidden: bot can't initiate conversation with a user"))
    );
    let report = private(&sandbox, "my order is missing").await;
    let message_id: i64 = report.item_id.split(':').nth(1).and_then(|m| m.parse().ok()).unwrap_or_default();
    let reply =
        json!({"chat_id": 99887766, "text": "Sorry! Checking now.", "reply_parameters": {"message_id": message_id}});
    let (status, body) = call(&sandbox, "sendMessage", reply).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["reply_to_message"]["message_id"], message_id);
    assert_eq!(body["result"]["from"]["is_bot"], true);
    let (status, body) = call(
        &sandbox,
        "sendMessage",
        json!({"chat_id": 99887766, "text": "x", "reply_parameters": {"message_id": 999}}),
    )
    .await;
    assert_eq!((status, body["description"].clone()), (400, json!("Bad Request: message to be replied not found")));

    // Groups allow a configurable number of messages per minute.
    let mut limits = sandbox.limits();
    limits.telegram_group_per_min = 1;
    sandbox.set_limits(limits);
    let group = CustomerAction::TelegramGroupMessage {
        account: None,
        customer: lena(),
        chat_id: Some(-1001234567890),
        chat_title: Some("ACME fans".into()),
        text: "@acme_support_bot help".into(),
        reply_to_message_id: None,
    };
    let seen = sandbox.act(group).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seen.event_keys.len(), 1);
    let unseen = CustomerAction::TelegramGroupMessage {
        account: None,
        customer: lena(),
        chat_id: Some(-1001234567890),
        chat_title: None,
        text: "just chatting".into(),
        reply_to_message_id: None,
    };
    let unseen = sandbox.act(unseen).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(unseen.event_keys.is_empty(), "privacy mode hides plain group chatter");
    let (status, _) = call(&sandbox, "sendMessage", json!({"chat_id": -1001234567890i64, "text": "first"})).await;
    assert_eq!(status, 200);
    let (status, body) = call(&sandbox, "sendMessage", json!({"chat_id": -1001234567890i64, "text": "second"})).await;
    assert_eq!(status, 429);
    let retry_after = body["parameters"]["retry_after"].as_u64().unwrap_or_default();
    assert!((1..=60).contains(&retry_after), "{body}");
    sandbox.advance(jiff::SignedDuration::from_secs(61));
    assert_eq!(call(&sandbox, "sendMessage", json!({"chat_id": -1001234567890i64, "text": "third"})).await.0, 200);

    let (status, _) = call(
        &sandbox,
        "setMessageReaction",
        json!({"chat_id": 99887766, "message_id": message_id, "reaction": [{"type": "emoji", "emoji": "👍"}]}),
    )
    .await;
    assert_eq!(status, 200);
    sandbox
        .act(CustomerAction::TelegramBlockBot { account: None, customer: lena() })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, body) = call(&sandbox, "sendMessage", json!({"chat_id": 99887766, "text": "still there?"})).await;
    assert_eq!((status, body["description"].clone()), (403, json!("Forbidden: bot was blocked by the user")));
    let (_, updates) = call(&sandbox, "getUpdates", json!({})).await;
    let last = updates["result"].as_array().and_then(|a| a.last()).cloned().unwrap_or(Value::Null);
    assert_eq!(last["my_chat_member"]["new_chat_member"]["status"], "kicked");
    let wrong = format!("{}/botnope/getMe", sandbox.api_base_url(SimNetwork::Telegram));
    let (status, _) = json_of(http().get(wrong).send().await.unwrap_or_else(|e| panic!("{e}"))).await;
    assert_eq!(status, 401);
    assert!(sandbox.calls().iter().all(|c| !c.path.contains("AAsimTelegramToken")));
}
