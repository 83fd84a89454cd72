use hark_sandbox::{ApiFault, Customer, CustomerAction, Faults, PublishedKind, SimNetwork};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::common::*;

const IG: &str = "17841400000000001";
const WA_PHONE_ID: &str = "106000000000001";

fn marco() -> Customer {
    Customer::new("7010000000000001", "marco.b", "Marco Bianchi")
}

fn t0() -> Timestamp {
    "2026-11-03T09:00:00Z".parse().unwrap_or_else(|e| panic!("{e}"))
}

async fn meta_sandbox(hook: &Receiver) -> hark_sandbox::Sandbox {
    let sandbox = sandbox().await;
    sandbox.set_now(t0());
    sandbox.add_account(account(SimNetwork::Facebook, PAGE, "ACME", Some(hook), &meta_credentials()));
    sandbox.add_account(account(SimNetwork::Instagram, IG, "acme", Some(hook), &meta_credentials()));
    sandbox.add_account(account(SimNetwork::Whatsapp, WA_PHONE_ID, "15550100200", Some(hook), &meta_credentials()));
    sandbox.settle().await;
    sandbox
}

async fn graph(
    sandbox: &hark_sandbox::Sandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}/v25.0/{path}", sandbox.api_base_url(SimNetwork::Facebook));
    let mut request = http().request(method, url).bearer_auth("EAAsimtoken");
    if let Some(body) = body {
        request = request.json(&body);
    }
    json_of(request.send().await.unwrap_or_else(|e| panic!("{e}"))).await
}

async fn send_text(sandbox: &hark_sandbox::Sandbox, recipient: Value, extra: Value) -> (u16, Value) {
    let mut body =
        json!({"recipient": recipient, "messaging_type": "RESPONSE", "message": {"text": "Sorry about that!"}});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    graph(sandbox, reqwest::Method::POST, &format!("{PAGE}/messages"), Some(body)).await
}

#[tokio::test]
async fn hub_challenge_then_signed_escaped_messenger_webhook() {
    let hook = Receiver::start().await;
    let sandbox = meta_sandbox(&hook).await;
    let challenges: Vec<_> = hook.requests().into_iter().filter(|r| r.query.contains("hub.challenge")).collect();
    assert_eq!(challenges.len(), 3);
    assert!(challenges[0].query.contains("hub.verify_token=verify-me"));
    assert!(sandbox.handshakes().iter().all(|h| h.ok && h.kind == "meta_hub_challenge"));

    let action = CustomerAction::MessengerMessage {
        account: None,
        customer: marco(),
        text: "Grüße aus Köln 📦".into(),
        reply_to_mid: None,
    };
    let report = sandbox.act(action).await.unwrap_or_else(|e| panic!("{e}"));
    let post = hook.posts().pop().unwrap_or_else(|| panic!("no webhook"));
    let raw = post.text();
    assert!(raw.contains("Gr\\u00fc\\u00dfe"), "{raw}");
    assert!(raw.contains("\\ud83d\\udce6"), "{raw}");
    assert!(raw.is_ascii());
    let signature = post.headers.get("x-hub-signature-256").cloned().unwrap_or_default();
    assert_eq!(signature, hark_sandbox::meta_signature_256(META_SECRET, &post.body));
    let body = post.json();
    assert_eq!(body["object"], "page");
    let item = &body["entry"][0]["messaging"][0];
    assert_eq!(item["message"]["mid"], report.item_id.as_str());
    assert_eq!(item["message"]["text"], "Grüße aus Köln 📦");
    assert_eq!(item["timestamp"], t0().as_millisecond());
    assert_eq!(report.event_keys, vec![report.item_id.clone()]);
}

#[tokio::test]
async fn failed_delivery_is_retried_immediately_then_on_schedule() {
    let hook = Receiver::start().await;
    let sandbox = meta_sandbox(&hook).await;
    hook.respond_next(500, "oops");
    hook.respond_next(500, "oops");
    let action =
        CustomerAction::MessengerMessage { account: None, customer: marco(), text: "hello".into(), reply_to_mid: None };
    let mid = sandbox.act(action).await.unwrap_or_else(|e| panic!("{e}")).item_id;
    let attempts = |sandbox: &hark_sandbox::Sandbox| -> Vec<(u32, Option<u16>, bool)> {
        sandbox
            .deliveries()
            .iter()
            .filter(|d| d.event_key == mid)
            .map(|d| (d.attempt, d.status, d.acknowledged))
            .collect()
    };
    assert_eq!(attempts(&sandbox), vec![(1, Some(500), false), (2, Some(500), false)]);
    assert_eq!(sandbox.pending_event_keys(), vec![mid.clone()]);
    sandbox.redeliver_pending().await;
    assert_eq!(attempts(&sandbox).last(), Some(&(3, Some(200), true)));
    assert!(sandbox.pending_event_keys().is_empty());
    // The receiver saw the same body three times.
    let bodies: Vec<Vec<u8>> = hook.posts().into_iter().map(|p| p.body).collect();
    assert_eq!(bodies.len(), 3);
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn messenger_window_and_human_agent_tag() {
    let hook = Receiver::start().await;
    let sandbox = meta_sandbox(&hook).await;
    let (status, body) = send_text(&sandbox, json!({"id": marco().id}), json!({})).await;
    assert_eq!((status, body["error"]["error_subcode"].clone()), (400, json!(2_018_001)), "never wrote: {body}");
    sandbox
        .act(CustomerAction::MessengerMessage {
            account: None,
            customer: marco(),
            text: "app logs me out".into(),
            reply_to_mid: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, body) = send_text(&sandbox, json!({"id": marco().id}), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recipient_id"], marco().id.as_str());
    sandbox.settle().await;
    let echo = hook
        .posts()
        .into_iter()
        .map(|p| p.json())
        .find(|b| b["entry"][0]["messaging"][0]["message"]["is_echo"] == true);
    let echo = echo.unwrap_or_else(|| panic!("no echo"));
    let message = &echo["entry"][0]["messaging"][0];
    assert_eq!(message["message"]["app_id"], 1_234_567_890u64);
    assert_eq!(message["sender"]["id"], PAGE);
    assert_eq!(message["message"]["mid"], body["message_id"]);

    sandbox.advance(SignedDuration::from_hours(25));
    let (status, body) = send_text(&sandbox, json!({"id": marco().id}), json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 10);
    assert_eq!(body["error"]["error_subcode"], 2_018_278);
    assert_eq!(body["error"]["type"], "OAuthException");
    assert!(body["error"]["fbtrace_id"].is_string());
    let tagged = json!({"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"});
    let (status, _) = send_text(&sandbox, json!({"id": marco().id}), tagged.clone()).await;
    assert_eq!(status, 200);
    sandbox.advance(SignedDuration::from_hours(24 * 7));
    let (status, body) = send_text(&sandbox, json!({"id": marco().id}), tagged).await;
    assert_eq!((status, body["error"]["error_subcode"].clone()), (400, json!(2_018_278)));
}

#[tokio::test]
async fn private_reply_once_per_comment_within_seven_days() {
    let hook = Receiver::start().await;
    let sandbox = meta_sandbox(&hook).await;
    let comment = CustomerAction::FacebookComment {
        account: None,
        customer: marco(),
        post_id: None,
        parent_comment_id: None,
        text: "Still no refund after 3 weeks?!".into(),
    };
    let report = sandbox.act(comment.clone()).await.unwrap_or_else(|e| panic!("{e}"));
    let change = hook.posts().pop().unwrap_or_else(|| panic!("no feed webhook")).json();
    let value = &change["entry"][0]["changes"][0]["value"];
    assert_eq!(change["entry"][0]["changes"][0]["field"], "feed");
    assert_eq!(value["comment_id"], report.item_id.as_str());
    assert_eq!(value["parent_id"], value["post_id"]);
    assert_eq!(value["created_time"], t0().as_second());

    let (status, body) = send_text(&sandbox, json!({"comment_id": report.item_id}), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recipient_id"], marco().id.as_str());
    let (status, body) = send_text(&sandbox, json!({"comment_id": report.item_id}), json!({})).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!(10_900)));

    let old = sandbox.act(comment).await.unwrap_or_else(|e| panic!("{e}"));
    sandbox.advance(SignedDuration::from_hours(24 * 8));
    let (status, body) = send_text(&sandbox, json!({"comment_id": old.item_id}), json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].clone(), body["error"]["error_subcode"].clone()),
        (400, json!(10), json!(2_018_278))
    );
    let private: Vec<_> = sandbox.published().into_iter().filter(|p| p.kind == PublishedKind::PrivateReply).collect();
    assert_eq!(private.len(), 1);
}

#[tokio::test]
async fn comment_reply_hide_like_delete_on_facebook_and_instagram() {
    let hook = Receiver::start().await;
    let sandbox = meta_sandbox(&hook).await;
    let fb = sandbox
        .act(CustomerAction::FacebookComment {
            account: None,
            customer: marco(),
            post_id: None,
            parent_comment_id: None,
            text: "Do you ship to Canada?".into(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, reply) = graph(
        &sandbox,
        reqwest::Method::POST,
        &format!("{}/comments", fb.item_id),
        Some(json!({"message": "Yes we do!"})),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    sandbox.settle().await;
    let echoed =
        hook.posts().into_iter().map(|p| p.json()).any(|b| b["entry"][0]["changes"][0]["value"]["from"]["id"] == PAGE);
    assert!(echoed, "the page's own comment comes back");
    let (status, hidden) =
        graph(&sandbox, reqwest::Method::POST, &format!("{}?is_hidden=true", fb.item_id), None).await;
    assert_eq!((status, hidden), (200, json!({"success": true})));
    let (status, _) = graph(&sandbox, reqwest::Method::POST, &format!("{}/likes", fb.item_id), None).await;
    assert_eq!(status, 200);
    let (status, _) = graph(&sandbox, reqwest::Method::DELETE, &fb.item_id, None).await;
    assert_eq!(status, 200);
    let (status, gone) = graph(&sandbox, reqwest::Method::DELETE, &fb.item_id, None).await;
    assert_eq!(
        (status, gone["error"]["code"].clone(), gone["error"]["error_subcode"].clone()),
        (400, json!(100), json!(33))
    );

    let lina = Customer::new("1790000000000000099", "lina.travels", "Lina");
    let ig = sandbox
        .act(CustomerAction::InstagramComment {
            account: None,
            customer: lina,
            media_id: None,
            parent_comment_id: None,
            text: "Does this ship to Canada?".into(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let change = hook.posts().pop().unwrap_or_else(|| panic!("no IG webhook")).json();
    assert_eq!(change["object"], "instagram");
    assert_eq!(change["entry"][0]["changes"][0]["value"]["from"]["username"], "lina.travels");
    let (status, _) =
        graph(&sandbox, reqwest::Method::POST, &format!("{}/replies?message=Yes", ig.item_id), None).await;
    assert_eq!(status, 200);
    let (status, _) = graph(&sandbox, reqwest::Method::POST, &format!("{}?hide=true", ig.item_id), None).await;
    assert_eq!(status, 200);
    let kinds: Vec<PublishedKind> = sandbox.published().iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        vec![
            PublishedKind::Reply,
            PublishedKind::Hide,
            PublishedKind::Like,
            PublishedKind::Delete,
            PublishedKind::Reply,
            PublishedKind::Hide
        ]
    );
}

#[tokio::test]
async fn whatsapp_window_statuses_templates_and_bsuid() {
    let hook = Receiver::start().await;
    let sandbox = meta_sandbox(&hook).await;
    let aisha = Customer::new("447700900123", "aisha", "Aisha K");
    let inbound = CustomerAction::WhatsappMessage {
        account: None,
        customer: aisha.clone(),
        text: "Is the store on Baker St open on Sunday?".into(),
        bsuid: None,
        hide_phone: true,
        context_message_id: None,
        with_image: false,
    };
    let report = sandbox.act(inbound).await.unwrap_or_else(|e| panic!("{e}"));
    let value =
        hook.posts().pop().unwrap_or_else(|| panic!("no webhook")).json()["entry"][0]["changes"][0]["value"].clone();
    assert_eq!(value["metadata"]["phone_number_id"], WA_PHONE_ID);
    assert_eq!(value["contacts"][0]["wa_id"], "");
    assert_eq!(value["messages"][0]["from"], "");
    let bsuid = value["messages"][0]["from_user_id"].as_str().unwrap_or_default().to_string();
    assert!(bsuid.starts_with("user."));
    assert_eq!(value["messages"][0]["id"], report.item_id.as_str());
    assert_eq!(value["messages"][0]["timestamp"], t0().as_second().to_string());

    let url = format!("{WA_PHONE_ID}/messages");
    let text = json!({"messaging_product": "whatsapp", "to": bsuid, "type": "text", "text": {"body": "Yes, 10:00-16:00"}, "context": {"message_id": report.item_id}});
    let before = hook.posts().len();
    let (status, sent) = graph(&sandbox, reqwest::Method::POST, &url, Some(text.clone())).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["contacts"][0]["user_id"], bsuid.as_str());
    let wamid = sent["messages"][0]["id"].as_str().unwrap_or_default().to_string();
    sandbox.settle().await;
    let statuses: Vec<Value> = hook.posts()[before..]
        .iter()
        .map(|p| p.json()["entry"][0]["changes"][0]["value"]["statuses"][0].clone())
        .collect();
    let names: Vec<&str> = statuses.iter().map(|s| s["status"].as_str().unwrap_or_default()).collect();
    assert_eq!(names, vec!["sent", "delivered", "read"]);
    assert!(
        statuses
            .iter()
            .all(|s| s["id"] == wamid.as_str() && s["recipient_id"] == "" && s["recipient_user_id"] == bsuid.as_str())
    );

    sandbox.advance(SignedDuration::from_hours(25));
    let before = hook.posts().len();
    let (status, _) = graph(&sandbox, reqwest::Method::POST, &url, Some(text)).await;
    assert_eq!(status, 200, "accepted, then failed asynchronously");
    sandbox.settle().await;
    let failed = hook.posts()[before..]
        .iter()
        .map(|p| p.json()["entry"][0]["changes"][0]["value"]["statuses"][0].clone())
        .collect::<Vec<_>>();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["status"], "failed");
    assert_eq!(failed[0]["errors"][0]["code"], 131_047);
    let template = json!({"messaging_product": "whatsapp", "to": bsuid, "type": "template", "template": {"name": "ticket_update", "language": {"code": "en_GB"}}});
    let (status, sent) = graph(&sandbox, reqwest::Method::POST, &url, Some(template)).await;
    assert_eq!((status, sent["messages"][0]["message_status"].clone()), (200, json!("accepted")));

    let mut limits = sandbox.limits();
    limits.whatsapp_window_error_sync = true;
    sandbox.set_limits(limits);
    let freeform = json!({"messaging_product": "whatsapp", "to": aisha.id, "type": "text", "text": {"body": "hello?"}});
    let (status, error) = graph(&sandbox, reqwest::Method::POST, &url, Some(freeform)).await;
    assert_eq!((status, error["error"]["code"].clone()), (400, json!(131_047)));
}

#[tokio::test]
async fn whatsapp_reorder_fault_batches_statuses_into_one_post() {
    let hook = Receiver::start().await;
    let sandbox = meta_sandbox(&hook).await;
    let aisha = Customer::new("447700900123", "aisha", "Aisha K");
    sandbox
        .act(CustomerAction::WhatsappMessage {
            account: None,
            customer: aisha.clone(),
            text: "hi".into(),
            bsuid: None,
            hide_phone: false,
            context_message_id: None,
            with_image: true,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let image = hook.posts().pop().unwrap_or_else(|| panic!("no webhook")).json()["entry"][0]["changes"][0]["value"]["messages"][0].clone();
    assert_eq!(image["type"], "image");
    let media = image["image"]["id"].as_str().unwrap_or_default().to_string();
    let (status, info) = graph(&sandbox, reqwest::Method::GET, &media, None).await;
    assert_eq!(status, 200, "{info}");
    let bytes = http()
        .get(info["url"].as_str().unwrap_or_default())
        .bearer_auth("EAAsimtoken")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bytes.status().as_u16(), 200);

    sandbox.set_faults(SimNetwork::Whatsapp, Faults::default().reorder());
    let before = hook.posts().len();
    let text = json!({"messaging_product": "whatsapp", "to": aisha.id, "type": "text", "text": {"body": "Got it"}});
    let (status, _) = graph(&sandbox, reqwest::Method::POST, &format!("{WA_PHONE_ID}/messages"), Some(text)).await;
    assert_eq!(status, 200);
    sandbox.settle().await;
    let posts = &hook.posts()[before..];
    assert_eq!(posts.len(), 1, "one batched POST");
    let mut statuses: Vec<String> = posts[0].json()["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| e["changes"][0]["value"]["statuses"][0]["status"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    statuses.sort();
    assert_eq!(statuses, vec!["delivered", "read", "sent"]);
    assert!(sandbox.deliveries().iter().rev().take(3).all(|d| d.batch_size == 3));
}

#[tokio::test]
async fn tokens_appsecret_proof_faults_and_app_usage() {
    let hook = Receiver::start().await;
    let sandbox = meta_sandbox(&hook).await;
    let base = sandbox.api_base_url(SimNetwork::Facebook);
    let get = |query: Vec<(&'static str, String)>| {
        let url = format!("{base}/v25.0/{PAGE}");
        async move { http().get(url).query(&query).send().await.unwrap_or_else(|e| panic!("{e}")) }
    };
    let (status, body) = json_of(get(vec![("access_token", "nope".into())]).await).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!(190)));
    let good_proof = hark_sandbox::appsecret_proof(META_SECRET, "EAAsimtoken");
    let response = get(vec![("access_token", "EAAsimtoken".into()), ("appsecret_proof", good_proof)]).await;
    assert_eq!(response.status().as_u16(), 200);
    let usage: Value =
        serde_json::from_str(response.headers().get("x-app-usage").and_then(|v| v.to_str().ok()).unwrap_or("null"))
            .unwrap_or(Value::Null);
    assert!(usage["call_count"].is_number());
    let (status, body) =
        json_of(get(vec![("access_token", "EAAsimtoken".into()), ("appsecret_proof", "00".into())]).await).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!(100)));
    sandbox.set_faults(
        SimNetwork::Facebook,
        Faults::default().fail_next(ApiFault::ExpiredToken).fail_next(ApiFault::RateLimited),
    );
    let (_, body) = json_of(get(vec![("access_token", "EAAsimtoken".into())]).await).await;
    assert_eq!((body["error"]["code"].clone(), body["error"]["error_subcode"].clone()), (json!(190), json!(463)));
    let (_, body) = json_of(get(vec![("access_token", "EAAsimtoken".into())]).await).await;
    assert_eq!(body["error"]["code"], 613);
    let recorded = sandbox.calls();
    assert!(recorded.iter().all(|c| !c.query.contains("EAAsimtoken")), "tokens are redacted");
}

async fn graph_get(sandbox: &hark_sandbox::Sandbox, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let url = format!("{}/v25.0/{path}", sandbox.api_base_url(SimNetwork::Instagram));
    json_of(http().get(url).query(query).send().await.unwrap_or_else(|e| panic!("{e}"))).await
}

#[tokio::test]
async fn instagram_mentions_deliver_ids_and_the_graph_serves_the_content() {
    let hook = Receiver::start().await;
    let sandbox = meta_sandbox(&hook).await;
    let lina = Customer::new("1790000000000000099", "@lina.travels", "Lina");
    let caption = sandbox
        .act(CustomerAction::InstagramMention {
            account: None,
            customer: lina.clone(),
            text: "Loving my new boots from @acme 👢".into(),
            in_comment: false,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let media_id = caption.item_id.clone();
    assert_eq!(caption.event_keys, vec![format!("mention:{media_id}")]);
    let post = hook.posts().pop().unwrap_or_else(|| panic!("no webhook"));
    assert_eq!(
        post.headers.get("x-hub-signature-256").cloned(),
        Some(hark_sandbox::meta_signature_256(META_SECRET, &post.body))
    );
    let body = post.json();
    assert_eq!(body["object"], "instagram");
    assert_eq!(body["entry"][0]["id"], IG);
    assert_eq!(body["entry"][0]["changes"][0], json!({"field": "mentions", "value": {"media_id": media_id}}));

    let comment = sandbox
        .act(CustomerAction::InstagramMention {
            account: Some(IG.into()),
            customer: lina,
            text: "@acme do these come in size 38?".into(),
            in_comment: true,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let comment_id = comment.item_id.clone();
    let on_media = comment.related_ids[0].clone();
    assert_eq!(comment.event_keys, vec![format!("mention:{comment_id}")]);
    let body = hook.posts().pop().unwrap_or_else(|| panic!("no webhook")).json();
    assert_eq!(body["entry"][0]["changes"][0]["value"], json!({"media_id": on_media, "comment_id": comment_id}));
    assert!(sandbox.acknowledged_event_keys().contains(&format!("mention:{comment_id}")));

    let proof = hark_sandbox::appsecret_proof(META_SECRET, "EAAsimtoken");
    let fields = format!("mentioned_comment.comment_id({comment_id}){{id,text,timestamp,username,media{{id}}}}");
    let auth = [("access_token", "EAAsimtoken"), ("appsecret_proof", proof.as_str())];
    let mut query = vec![("fields", fields.as_str())];
    query.extend(auth);
    let (status, read) = graph_get(&sandbox, IG, &query).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(
        read,
        json!({"mentioned_comment": {"id": comment_id, "text": "@acme do these come in size 38?",
               "timestamp": "2026-11-03T09:00:00+0000", "username": "lina.travels", "media": {"id": on_media}},
               "id": IG})
    );

    let fields = format!("mentioned_media.media_id({media_id}){{id,caption,timestamp,username}}");
    let mut query = vec![("fields", fields.as_str())];
    query.extend(auth);
    let (status, read) = graph_get(&sandbox, IG, &query).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(
        read,
        json!({"mentioned_media": {"id": media_id, "caption": "Loving my new boots from @acme 👢",
               "timestamp": "2026-11-03T09:00:00+0000", "username": "lina.travels"}, "id": IG})
    );

    // Unknown ids, a comment id asked as media, bad tokens and proofs.
    for fields in [
        "mentioned_comment.comment_id(18150000000000000){id,text}".to_string(),
        format!("mentioned_media.media_id({comment_id}){{id,caption}}"),
    ] {
        let (status, error) =
            graph_get(&sandbox, IG, &[("fields", fields.as_str()), ("access_token", "EAAsimtoken")]).await;
        assert_eq!((status, error["error"]["code"].clone()), (400, json!(100)), "{error}");
    }
    let fields = format!("mentioned_media.media_id({media_id}){{id}}");
    let (_, error) = graph_get(&sandbox, IG, &[("fields", fields.as_str()), ("access_token", "EAAwrong")]).await;
    assert_eq!(error["error"]["code"], 190);
    let (_, error) = graph_get(
        &sandbox,
        IG,
        &[("fields", fields.as_str()), ("access_token", "EAAsimtoken"), ("appsecret_proof", "00")],
    )
    .await;
    assert_eq!(error["error"]["code"], 100);
    assert!(error["error"]["message"].as_str().unwrap_or_default().contains("appsecret_proof"), "{error}");
}

#[tokio::test]
async fn mentions_are_not_sent_without_the_mentions_field() {
    let hook = Receiver::start().await;
    let sandbox = sandbox().await;
    let mut credentials = meta_credentials();
    credentials.push(("subscribed_fields", "comments,messages"));
    sandbox.add_account(account(SimNetwork::Instagram, IG, "acme", Some(&hook), &credentials));
    sandbox.settle().await;
    let report = sandbox
        .act(CustomerAction::InstagramMention {
            account: None,
            customer: marco(),
            text: "@acme hello".into(),
            in_comment: false,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.event_keys.is_empty());
    assert!(report.note.is_some());
    assert!(hook.posts().is_empty());
}
