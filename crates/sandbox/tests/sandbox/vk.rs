use hark_sandbox::{Customer, CustomerAction, PublishedKind, SimNetwork};
use serde_json::{Value, json};

use crate::common::*;

const GROUP: &str = "229000001";
const VK_TOKEN: &str = "vk1.a.simCommunityToken";

fn ivan() -> Customer {
    Customer::new("512345678", "ivan", "Иван Петров")
}

async fn vk_sandbox(hook: Option<&Receiver>) -> hark_sandbox::Sandbox {
    let sandbox = sandbox().await;
    let credentials =
        [("access_token", VK_TOKEN), ("secret", "sim-vk-secret-9f8e7d"), ("confirmation_code", "5a1b2c3d")];
    sandbox.add_account(account(SimNetwork::Vk, GROUP, "acme_shop", hook, &credentials));
    sandbox.settle().await;
    sandbox
}

async fn method(sandbox: &hark_sandbox::Sandbox, name: &str, params: &[(&str, &str)]) -> Value {
    let url = format!("{}/method/{name}", sandbox.api_base_url(SimNetwork::Vk));
    let mut form: Vec<(&str, &str)> = vec![("access_token", VK_TOKEN), ("v", "5.199")];
    form.extend_from_slice(params);
    let (status, body) = json_of(http().post(url).form(&form).send().await.unwrap_or_else(|e| panic!("{e}"))).await;
    assert_eq!(status, 200, "VK answers errors with HTTP 200 too");
    body
}

#[tokio::test]
async fn callback_confirms_first_sends_secret_and_resends_until_plain_ok() {
    let hook = Receiver::start().await;
    hook.answer_vk_confirmation("5a1b2c3d");
    let sandbox = vk_sandbox(Some(&hook)).await;
    let confirmation = sandbox.handshakes();
    assert!(confirmation.iter().any(|h| h.kind == "vk_confirmation" && h.ok), "{confirmation:?}");
    let report = sandbox
        .act(CustomerAction::VkMessage {
            account: None,
            customer: ivan(),
            text: "Здравствуйте, где мой заказ 4471?".into(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let posts = hook.posts();
    assert_eq!(posts[0].json(), json!({"type": "confirmation", "group_id": 229000001}));
    let event = posts[1].json();
    assert_eq!(event["type"], "message_new");
    assert_eq!(event["secret"], "sim-vk-secret-9f8e7d");
    assert_eq!(event["v"], "5.199");
    assert_eq!(event["event_id"], report.event_keys[0].as_str());
    assert_eq!(event["object"]["message"]["text"], "Здравствуйте, где мой заказ 4471?");
    assert_eq!(event["object"]["message"]["peer_id"], 512345678);
    assert!(sandbox.acknowledged_event_keys().contains(&report.event_keys[0]));

    hook.respond_next(200, "OK");
    let second = sandbox
        .act(CustomerAction::VkWallComment {
            account: None,
            customer: ivan(),
            post_id: None,
            reply_to_comment: None,
            text: "Доставка в Казань есть?".into(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let key = second.event_keys[0].clone();
    assert!(!sandbox.acknowledged_event_keys().contains(&key), "only a plain `ok` acknowledges");
    sandbox.redeliver_pending().await;
    assert!(sandbox.acknowledged_event_keys().contains(&key));
    let comment = hook.posts().pop().unwrap_or_else(|| panic!("no event")).json();
    assert_eq!(comment["object"]["owner_id"], -229000001);
}

#[tokio::test]
async fn wrong_confirmation_holds_events_until_confirmed() {
    let hook = Receiver::start().await;
    hook.answer_vk_confirmation("wrong");
    let sandbox = vk_sandbox(Some(&hook)).await;
    let report = sandbox
        .act(CustomerAction::VkMessage { account: None, customer: ivan(), text: "привет".into() })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(hook.posts().iter().all(|p| p.json()["type"] == "confirmation"));
    hook.answer_vk_confirmation("5a1b2c3d");
    sandbox.redeliver_pending().await;
    assert!(sandbox.acknowledged_event_keys().contains(&report.event_keys[0]));
}

#[tokio::test]
async fn messages_send_is_idempotent_on_random_id_and_needs_permission() {
    let sandbox = vk_sandbox(None).await;
    let refused = method(
        &sandbox,
        "messages.send",
        &[("peer_id", "512345678"), ("random_id", "42"), ("message", "Добрый день!")],
    )
    .await;
    assert_eq!(refused["error"]["error_code"], 901);
    let params = refused["error"]["request_params"].as_array().cloned().unwrap_or_default();
    assert!(params.contains(&json!({"key": "method", "value": "messages.send"})));
    assert!(params.iter().all(|p| p["key"] != "access_token"));

    sandbox
        .act(CustomerAction::VkMessage { account: None, customer: ivan(), text: "где заказ?".into() })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let first = method(
        &sandbox,
        "messages.send",
        &[("peer_id", "512345678"), ("random_id", "42"), ("message", "Добрый день!")],
    )
    .await;
    let again = method(
        &sandbox,
        "messages.send",
        &[("peer_id", "512345678"), ("random_id", "42"), ("message", "Добрый день!")],
    )
    .await;
    assert!(first["response"].is_i64(), "{first}");
    assert_eq!(first["response"], again["response"]);
    let other =
        method(&sandbox, "messages.send", &[("peer_id", "512345678"), ("random_id", "43"), ("message", "Ещё вопрос?")])
            .await;
    assert_ne!(other["response"], first["response"]);
    let missing = method(&sandbox, "messages.send", &[("peer_id", "512345678"), ("message", "no random id")]).await;
    assert_eq!(missing["error"]["error_code"], 100);
    let dms = sandbox.published().into_iter().filter(|p| p.kind == PublishedKind::DirectMessage).count();
    assert_eq!(dms, 2);

    sandbox
        .act(CustomerAction::VkMessagePermission { account: None, customer: ivan(), allowed: false })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let denied =
        method(&sandbox, "messages.send", &[("peer_id", "512345678"), ("random_id", "44"), ("message", "hello?")])
            .await;
    assert_eq!(denied["error"]["error_code"], 901);
    let bad_token = json_of(
        http()
            .post(format!("{}/method/groups.getById", sandbox.api_base_url(SimNetwork::Vk)))
            .form(&[("access_token", "nope"), ("v", "5.199")])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await
    .1;
    assert_eq!(bad_token["error"]["error_code"], 5);
}

#[tokio::test]
async fn wall_comments_dedup_on_guid_and_long_poll_sees_every_event() {
    let sandbox = vk_sandbox(None).await;
    let report = sandbox
        .act(CustomerAction::VkWallComment {
            account: None,
            customer: ivan(),
            post_id: None,
            reply_to_comment: None,
            text: "Доставка в Казань есть?".into(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.event_keys.is_empty(), "no Callback server: long poll only");
    let post = report.related_ids[0].clone();
    let comment = report.item_id.split('_').nth(1).unwrap_or_default().to_string();
    let server = method(&sandbox, "groups.getLongPollServer", &[("group_id", GROUP)]).await["response"].clone();
    let url = server["server"].as_str().unwrap_or_default().to_string();
    let key = server["key"].as_str().unwrap_or_default().to_string();
    let reply = [
        ("owner_id", "-229000001"),
        ("post_id", post.as_str()),
        ("from_group", "229000001"),
        ("message", "Да, 2–3 дня."),
        ("reply_to_comment", comment.as_str()),
        ("guid", "hark-1"),
    ];
    let first = method(&sandbox, "wall.createComment", &reply).await;
    let again = method(&sandbox, "wall.createComment", &reply).await;
    assert_eq!(first["response"]["comment_id"], again["response"]["comment_id"], "{first} {again}");
    assert_eq!(first["response"]["parents_stack"], json!([comment.parse::<i64>().unwrap_or_default()]));
    let (_, poll) = json_of(
        http()
            .get(&url)
            .query(&[("act", "a_check"), ("key", key.as_str()), ("ts", "1"), ("wait", "1")])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    let kinds: Vec<&str> =
        poll["updates"].as_array().map(|u| u.iter().filter_map(|e| e["type"].as_str()).collect()).unwrap_or_default();
    assert_eq!(kinds, vec!["wall_reply_new", "wall_reply_new"]);
    assert!(poll["updates"][0].get("secret").is_none());
    let (_, stale) = json_of(
        http()
            .get(&url)
            .query(&[("act", "a_check"), ("key", "bad"), ("ts", "1")])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(stale["failed"], 2);
    let deleted =
        method(&sandbox, "wall.deleteComment", &[("owner_id", "-229000001"), ("comment_id", comment.as_str())]).await;
    assert_eq!(deleted["response"], 1);
    let liked =
        method(&sandbox, "likes.add", &[("type", "post"), ("owner_id", "-229000001"), ("item_id", post.as_str())])
            .await;
    assert_eq!(liked["response"]["likes"], 1);
    let info = method(&sandbox, "groups.getById", &[]).await;
    assert_eq!(info["response"]["groups"][0]["id"], 229000001);
}
