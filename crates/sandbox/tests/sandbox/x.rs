use hark_sandbox::{ApiFault, Customer, CustomerAction, Faults, SimNetwork, XRetryPolicy};
use serde_json::{Value, json};

use crate::common::*;

fn dana() -> Customer {
    Customer::new("912345678", "dana_r", "Dana R")
}

fn tom() -> Customer {
    Customer::new("912345699", "tombecker", "Tom Becker")
}

async fn x_sandbox(hook: Option<&Receiver>) -> hark_sandbox::Sandbox {
    let sandbox = sandbox().await;
    sandbox.add_account(account(SimNetwork::X, X_BRAND, "acme_help", hook, &x_credentials()));
    sandbox.settle().await;
    sandbox
}

async fn mention(sandbox: &hark_sandbox::Sandbox, customer: Customer, text: &str) -> String {
    let action = CustomerAction::XMention { account: None, customer, text: text.into() };
    sandbox.act(action).await.unwrap_or_else(|e| panic!("mention: {e}")).item_id
}

async fn post_tweet(sandbox: &hark_sandbox::Sandbox, body: Value) -> (u16, Value) {
    let url = format!("{}/2/tweets", sandbox.api_base_url(SimNetwork::X));
    let header = OAuth1::fresh().header("POST", &url, &[], X_SECRET);
    let response = http().post(&url).header("authorization", header).json(&body).send().await;
    json_of(response.unwrap_or_else(|e| panic!("post: {e}"))).await
}

#[tokio::test]
async fn crc_on_add_then_signed_v1_tweet_payload() {
    let hook = Receiver::start().await;
    hook.answer_x_crc_with(X_SECRET);
    let sandbox = x_sandbox(Some(&hook)).await;
    let crc = sandbox.handshakes();
    assert!(crc.iter().any(|h| h.kind == "x_crc" && h.ok), "{crc:?}");

    let id = mention(&sandbox, dana(), "my order #4471 never arrived, can you check?").await;
    let posts = hook.posts();
    assert_eq!(posts.len(), 1);
    let post = &posts[0];
    let signature = post.headers.get("x-twitter-webhooks-signature").cloned().unwrap_or_default();
    assert_eq!(signature, hark_sandbox::x_webhook_signature(X_SECRET, &post.body));
    let body = post.json();
    assert_eq!(body["for_user_id"], X_BRAND);
    let tweet = &body["tweet_create_events"][0];
    assert_eq!(tweet["id_str"], id.as_str());
    assert_eq!(tweet["text"], "@acme_help my order #4471 never arrived, can you check?");
    assert_eq!(tweet["display_text_range"], json!([11, 55]));
    assert_eq!(tweet["in_reply_to_user_id_str"], X_BRAND);
    assert_eq!(tweet["user"]["screen_name"], "dana_r");
    assert_eq!(tweet["entities"]["user_mentions"][0]["indices"], json!([0, 10]));
    assert!(tweet["timestamp_ms"].is_string());
    assert!(tweet["created_at"].as_str().unwrap_or_default().contains(" +0000 "), "{tweet}");
    assert!(sandbox.acknowledged_event_keys().contains(&id));
}

#[tokio::test]
async fn failed_crc_stops_delivery_until_revalidated() {
    let hook = Receiver::start().await;
    let sandbox = x_sandbox(Some(&hook)).await;
    assert!(sandbox.handshakes().iter().all(|h| !h.ok));
    let first = mention(&sandbox, dana(), "anyone there?").await;
    assert!(hook.posts().is_empty(), "an invalid webhook receives nothing");
    assert!(!sandbox.acknowledged_event_keys().contains(&first));

    hook.answer_x_crc_with(X_SECRET);
    sandbox.recheck_x_webhooks().await;
    let second = mention(&sandbox, dana(), "hello again").await;
    assert_eq!(hook.posts().len(), 1);
    assert!(sandbox.acknowledged_event_keys().contains(&second));
}

#[tokio::test]
async fn oauth1_accepts_correct_signatures_and_rejects_tampered_old_and_replayed() {
    let sandbox = x_sandbox(None).await;
    let url = format!("{}/2/tweets", sandbox.api_base_url(SimNetwork::X));
    let send = |header: String, text: &'static str, target: String| async move {
        let response = http().post(&target).header("authorization", header).json(&json!({"text": text})).send().await;
        response.unwrap_or_else(|e| panic!("{e}")).status().as_u16()
    };
    let good = OAuth1::fresh();
    assert_eq!(send(good.header("POST", &url, &[], X_SECRET), "first post", url.clone()).await, 201);
    // Same nonce again: replay.
    assert_eq!(send(good.header("POST", &url, &[], X_SECRET), "second post", url.clone()).await, 401);
    // Signed with another secret: tampered.
    assert_eq!(send(OAuth1::fresh().header("POST", &url, &[], "wrong"), "third post", url.clone()).await, 401);
    // An hour old.
    let mut old = OAuth1::fresh();
    old.timestamp -= 3_600;
    assert_eq!(send(old.header("POST", &url, &[], X_SECRET), "fourth post", url.clone()).await, 401);
    // Query parameters are part of the signature.
    let with_query = format!("{url}?expansions=author_id");
    let unsigned_query = OAuth1::fresh().header("POST", &url, &[], X_SECRET);
    assert_eq!(send(unsigned_query, "fifth post", with_query.clone()).await, 401);
    let signed_query = OAuth1::fresh().header("POST", &url, &[("expansions", "author_id")], X_SECRET);
    assert_eq!(send(signed_query, "sixth post", with_query).await, 201);
    let published = sandbox.published();
    assert_eq!(published.len(), 2, "{published:?}");
}

#[tokio::test]
async fn duplicate_text_length_and_reply_rules() {
    let sandbox = x_sandbox(None).await;
    let root = mention(&sandbox, dana(), "where is my refund?").await;
    let reply =
        CustomerAction::XReply { account: None, customer: tom(), in_reply_to: root.clone(), text: "same here".into() };
    let unrelated = sandbox.act(reply).await.unwrap_or_else(|e| panic!("{e}")).item_id;

    let (status, body) =
        post_tweet(&sandbox, json!({"text": "We are on it", "reply": {"in_reply_to_tweet_id": root}})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["edit_history_tweet_ids"][0], body["data"]["id"]);
    let (status, body) = post_tweet(&sandbox, json!({"text": "We are on it"})).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("duplicate content"));
    let cjk: String = "好".repeat(141);
    let (status, _) = post_tweet(&sandbox, json!({"text": cjk})).await;
    assert_eq!(status, 400, "141 CJK characters weigh 282");
    let (status, _) = post_tweet(&sandbox, json!({"text": "好".repeat(140)})).await;
    assert_eq!(status, 201);

    // Tom never mentioned the brand, but the brand has joined this conversation.
    let (status, body) =
        post_tweet(&sandbox, json!({"text": "Tom, DM us", "reply": {"in_reply_to_tweet_id": unrelated}})).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn reply_restriction_refuses_unrelated_posts() {
    let sandbox = x_sandbox(None).await;
    let root = mention(&sandbox, dana(), "my parcel is soaked").await;
    let reply = CustomerAction::XReply { account: None, customer: tom(), in_reply_to: root, text: "same".into() };
    let toms = sandbox.act(reply).await.unwrap_or_else(|e| panic!("{e}")).item_id;
    let (status, body) = post_tweet(&sandbox, json!({"text": "Hi Tom", "reply": {"in_reply_to_tweet_id": toms}})).await;
    assert_eq!(status, 403, "{body}");
    let mut limits = sandbox.limits();
    limits.x_reply_restricted = false;
    sandbox.set_limits(limits);
    let (status, _) = post_tweet(&sandbox, json!({"text": "Hi Tom", "reply": {"in_reply_to_tweet_id": toms}})).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn mentions_timeline_since_id_expansions_and_pages() {
    let sandbox = x_sandbox(None).await;
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(mention(&sandbox, dana(), &format!("question number {n}")).await);
    }
    let url = format!("{}/2/users/{X_BRAND}/mentions", sandbox.api_base_url(SimNetwork::X));
    let get = |query: Vec<(&'static str, String)>| {
        let url = url.clone();
        async move {
            json_of(
                http()
                    .get(&url)
                    .bearer_auth("AAAAsimBearer")
                    .query(&query)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
            )
            .await
        }
    };
    let (status, first) = get(vec![
        ("max_results", "5".into()),
        ("expansions", "author_id".into()),
        ("tweet.fields", "author_id,created_at".into()),
    ])
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["meta"]["result_count"], 5);
    assert_eq!(first["meta"]["newest_id"], ids[6].as_str());
    assert_eq!(first["data"][0]["author_id"], "912345678");
    assert!(first["data"][0]["created_at"].as_str().unwrap_or_default().ends_with('Z'));
    assert_eq!(first["includes"]["users"][0]["username"], "dana_r");
    let token = first["meta"]["next_token"].as_str().unwrap_or_default().to_string();
    let (_, second) = get(vec![("max_results", "5".into()), ("pagination_token", token)]).await;
    assert_eq!(second["meta"]["result_count"], 2);
    assert!(second["meta"].get("next_token").is_none());
    assert!(second["data"][0].get("author_id").is_none(), "fields only when asked");
    let (_, none) = get(vec![("since_id", ids[6].clone())]).await;
    assert_eq!(none["meta"]["result_count"], 0);
    let (status, _) = get(vec![("max_results", "2".into())]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn recent_search_understands_the_usual_queries() {
    let sandbox = x_sandbox(None).await;
    mention(&sandbox, dana(), "refund please").await;
    mention(&sandbox, tom(), "love the new store").await;
    let url = format!("{}/2/tweets/search/recent", sandbox.api_base_url(SimNetwork::X));
    let search = |q: &'static str| {
        let url = url.clone();
        async move {
            json_of(
                http()
                    .get(&url)
                    .bearer_auth("AAAAsimBearer")
                    .query(&[("query", q)])
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
            )
            .await
            .1
        }
    };
    assert_eq!(search("@acme_help -from:acme_help").await["meta"]["result_count"], 2);
    assert_eq!(search("from:dana_r").await["meta"]["result_count"], 1);
    assert_eq!(search("\"new store\"").await["meta"]["result_count"], 1);
    assert_eq!(search("to:acme_help -refund").await["meta"]["result_count"], 1);
}

#[tokio::test]
async fn direct_messages_need_prior_contact_and_echo_back() {
    let hook = Receiver::start().await;
    hook.answer_x_crc_with(X_SECRET);
    let sandbox = x_sandbox(Some(&hook)).await;
    let url = |user: &str| format!("{}/2/dm_conversations/with/{user}/messages", sandbox.api_base_url(SimNetwork::X));
    let send = |target: String| async move {
        let header = OAuth1::fresh().header("POST", &target, &[], X_SECRET);
        json_of(
            http()
                .post(&target)
                .header("authorization", header)
                .json(&json!({"text": "Hi, we can help"}))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .await
    };
    sandbox
        .act(CustomerAction::XDirectMessage { account: None, customer: dana(), text: "Order number is 4471".into() })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, body) = send(url("912345678")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["dm_conversation_id"], "912345678-1580000000000000001");
    sandbox.settle().await;
    let echo = hook
        .posts()
        .into_iter()
        .map(|p| p.json())
        .find(|b| b["direct_message_events"][0]["message_create"]["sender_id"] == X_BRAND);
    let echo = echo.unwrap_or_else(|| panic!("no DM echo"));
    assert_eq!(echo["direct_message_events"][0]["id"], body["data"]["dm_event_id"]);
    assert_eq!(echo["users"][X_BRAND]["screen_name"], "acme_help");
    // Lena only talked to Dana, never to the brand: her DM settings refuse us.
    let root = mention(&sandbox, dana(), "anyone?").await;
    let lena = Customer::new("912345700", "lena_k", "Lena K");
    sandbox
        .act(CustomerAction::XReply { account: None, customer: lena, in_reply_to: root, text: "same".into() })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, _) = send(url("912345700")).await;
    assert_eq!(status, 403);
    let (status, _) = send(url("999")).await;
    assert_eq!(status, 400, "unknown participant");
}

#[tokio::test]
async fn rate_limit_fault_answers_429_with_x_headers_and_no_retry_after() {
    let sandbox = x_sandbox(None).await;
    sandbox.set_faults(
        SimNetwork::X,
        Faults::default().fail_next(ApiFault::RateLimited).fail_next(ApiFault::ExpiredToken),
    );
    let url = format!("{}/2/users/me", sandbox.api_base_url(SimNetwork::X));
    let call = || async {
        let header = OAuth1::fresh().header("GET", &url, &[], X_SECRET);
        http().get(&url).header("authorization", header).send().await.unwrap_or_else(|e| panic!("{e}"))
    };
    let limited = call().await;
    assert_eq!(limited.status().as_u16(), 429);
    assert_eq!(limited.headers().get("x-rate-limit-remaining").and_then(|v| v.to_str().ok()), Some("0"));
    assert!(limited.headers().get("x-rate-limit-reset").is_some());
    assert!(limited.headers().get("retry-after").is_none());
    assert_eq!(call().await.status().as_u16(), 401);
    let ok = call().await;
    assert_eq!(ok.status().as_u16(), 200);
    assert!(ok.headers().get("x-rate-limit-limit").is_some());
    let (_, me) = json_of(ok).await;
    assert_eq!(me["data"]["username"], "acme_help");
    let faults: Vec<_> = sandbox.calls().into_iter().map(|c| c.fault).collect();
    assert_eq!(faults, vec![Some("rate_limited".to_string()), Some("expired_token".to_string()), None]);
}

#[tokio::test]
async fn enterprise_policy_retries_and_the_lower_tier_does_not() {
    let hook = Receiver::start().await;
    hook.answer_x_crc_with(X_SECRET);
    let sandbox = x_sandbox(Some(&hook)).await;
    hook.respond_next(500, "boom");
    let id = mention(&sandbox, dana(), "retry me").await;
    assert!(!sandbox.acknowledged_event_keys().contains(&id));
    sandbox.redeliver_pending().await;
    let attempts: Vec<u32> = sandbox.deliveries().iter().filter(|d| d.event_key == id).map(|d| d.attempt).collect();
    assert_eq!(attempts, vec![1, 2]);
    assert!(sandbox.acknowledged_event_keys().contains(&id));

    let mut limits = sandbox.limits();
    limits.x_webhook_retries = XRetryPolicy::None;
    sandbox.set_limits(limits);
    hook.respond_next(503, "down");
    let lost = mention(&sandbox, dana(), "lost one").await;
    assert!(sandbox.pending_event_keys().is_empty());
    sandbox.redeliver_pending().await;
    assert!(!sandbox.acknowledged_event_keys().contains(&lost));
}

#[tokio::test]
async fn bearer_token_exchange_and_webhook_registration() {
    let hook = Receiver::start().await;
    hook.answer_x_crc_with(X_SECRET);
    let sandbox = x_sandbox(None).await;
    let base = sandbox.api_base_url(SimNetwork::X);
    let response = http()
        .post(format!("{base}/oauth2/token"))
        .basic_auth("simConsumerKey", Some(X_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, token) = json_of(response).await;
    assert_eq!(status, 200);
    let bearer = token["access_token"].as_str().unwrap_or_default().to_string();
    let (status, created) = json_of(
        http()
            .post(format!("{base}/2/webhooks"))
            .bearer_auth(&bearer)
            .json(&json!({"url": hook.url}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["data"]["valid"], true);
    let webhook = created["data"]["id"].as_str().unwrap_or_default().to_string();
    let subscribe = format!("{base}/2/account_activity/webhooks/{webhook}/subscriptions/all");
    let header = OAuth1::fresh().header("POST", &subscribe, &[], X_SECRET);
    let status = http()
        .post(&subscribe)
        .header("authorization", header)
        .json(&json!({}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .status();
    assert_eq!(status.as_u16(), 200);
    let header = OAuth1::fresh().header("POST", &subscribe, &[], X_SECRET);
    let status = http()
        .post(&subscribe)
        .header("authorization", header)
        .json(&json!({}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .status();
    assert_eq!(status.as_u16(), 409, "duplicate subscription");
    let records: Vec<(String, String, Option<String>)> =
        sandbox.subscriptions().into_iter().map(|r| (r.object, r.account_id, r.callback_url)).collect();
    assert_eq!(
        records,
        vec![
            ("x_webhook".to_string(), webhook.clone(), Some(hook.url.clone())),
            ("x_subscription".to_string(), X_BRAND.to_string(), Some(hook.url.clone())),
        ],
        "the refused duplicate is not recorded"
    );
    mention(&sandbox, dana(), "via the registered webhook").await;
    assert_eq!(hook.posts().len(), 1);
    // App-only tokens cannot post.
    let status = http()
        .post(format!("{base}/2/tweets"))
        .bearer_auth(&bearer)
        .json(&json!({"text": "x"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .status();
    assert_eq!(status.as_u16(), 403);
}
