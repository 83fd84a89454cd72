//! The API as a client sees it: input handling, sessions and CSRF, the main
//! conversation flows with their audit trail, secrecy of credentials, and
//! live events that resume without gaps. Flows run on SQLite and, when
//! HARK_TEST_DATABASE_URL is set, on PostgreSQL.

mod common;

use common::*;
use hark_domain::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn malformed_requests_get_clear_4xx_answers() {
    let t = spawn(hark_store::testing::sqlite().await).await;
    let conv = t.inbound("p1", "maria", "help").await;
    let path = format!("/api/v1/conversations/{conv}");
    let admin = &t.tokens[&Role::Admin];
    let send = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = t.client.patch(t.url(&path)).bearer_auth(admin).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        async move { read(req.send().await.unwrap_or_else(|e| panic!("{e}"))).await }
    };
    let json_type = Some("application/json");

    let (status, body) = send("{\"status\": ", json_type).await;
    assert_eq!((status.as_u16(), error_code(&body).as_str()), (400, "invalid_json"));

    let (status, body) = send("{\"stauts\": \"resolved\"}", json_type).await;
    assert_eq!((status.as_u16(), error_code(&body).as_str()), (422, "invalid_input"));
    assert!(body["error"]["message"].as_str().unwrap_or("").contains("stauts"), "{body}");

    // serde reports a wrong type for an enum as a syntax error; either way the
    // answer is a 4xx that names the field.
    let (status, body) = send("{\"priority\": 5}", json_type).await;
    assert!(matches!(status.as_u16(), 400 | 422), "{status} {body}");
    assert!(body["error"]["message"].as_str().unwrap_or("").contains("priority"), "{body}");
    let (status, body) = send("{\"labels\": \"vip\"}", json_type).await;
    assert_eq!((status.as_u16(), error_code(&body).as_str()), (422, "invalid_input"));
    assert!(body["error"]["message"].as_str().unwrap_or("").contains("labels"), "{body}");

    let (status, body) = send("{\"status\": \"closed\"}", json_type).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or("").contains("closed"), "{body}");

    let (status, body) = send("{\"status\": \"resolved\"}", None).await;
    assert_eq!((status.as_u16(), error_code(&body).as_str()), (415, "unsupported_media_type"));

    let (status, body) = send("{\"status\": \"snoozed\"}", json_type).await;
    assert_eq!((status.as_u16(), error_code(&body).as_str()), (400, "invalid_input"));
    assert_eq!(body["error"]["field"], "snoozed_until");

    let huge = format!("{{\"text\": \"{}\", \"visibility\": \"note\"}}", "a".repeat(2 * 1024 * 1024));
    let (status, body) = read(
        t.client
            .post(t.url(&format!("{path}/messages")))
            .bearer_auth(admin)
            .header("content-type", "application/json")
            .body(huge)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!((status.as_u16(), error_code(&body).as_str()), (413, "payload_too_large"));

    for (query, field) in [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("colour=red", "colour"),
        ("status=open,closed", "closed"),
        ("cursor=garbage", "cursor"),
    ] {
        let (status, body) = t.get(Role::Admin, &format!("/api/v1/conversations?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        let text = body.to_string();
        assert!(text.contains(field), "{query}: the answer should name {field}: {body}");
    }

    let (status, body) = t.get(Role::Admin, "/api/v1/nope").await;
    assert_eq!((status.as_u16(), error_code(&body).as_str()), (404, "not_found"));
    let (status, body) = t.call(Role::Admin, Method::PUT, "/api/v1/conversations", Some(json!({}))).await;
    assert_eq!((status.as_u16(), error_code(&body).as_str()), (405, "method_not_allowed"));
    let (status, body) = t.get(Role::Admin, "/api/v1/conversations/conv_missing").await;
    assert_eq!((status.as_u16(), error_code(&body).as_str()), (404, "not_found"));

    // After all that, the conversation is untouched.
    let (_, after) = t.get(Role::Admin, &path).await;
    assert_eq!(after["status"], "open");
    assert_eq!(after["version"], 1);
}

#[tokio::test]
async fn browser_sessions_are_http_only_and_writes_need_the_csrf_token() {
    let t = spawn(hark_store::testing::sqlite().await).await;
    let conv = t.inbound("p1", "maria", "help").await;
    let login = t
        .client
        .post(t.url("/api/v1/auth/login"))
        .json(&json!({ "email": "Agent@Acme.test", "password": PASSWORD }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cookie_header = login.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(cookie_header.contains("HttpOnly") && cookie_header.contains("SameSite=Lax"), "{cookie_header}");
    let cookie = cookie_header.split(';').next().unwrap_or("").to_owned();
    let (status, me) = read(login).await;
    assert_eq!(status, 200);
    let csrf = me["csrf_token"].as_str().unwrap_or("").to_owned();
    assert_eq!(csrf.len(), 64);

    let patch = |headers: Vec<(&'static str, String)>| {
        let mut req = t
            .client
            .patch(t.url(&format!("/api/v1/conversations/{conv}")))
            .header("cookie", cookie.clone())
            .json(&json!({ "priority": "high" }));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move { read(req.send().await.unwrap_or_else(|e| panic!("{e}"))).await }
    };
    let (status, body) = patch(vec![]).await;
    assert_eq!((status.as_u16(), error_code(&body).as_str()), (403, "csrf"));
    let (status, body) = patch(vec![("x-csrf-token", "0".repeat(64))]).await;
    assert_eq!((status.as_u16(), error_code(&body).as_str()), (403, "csrf"));
    let (status, body) = patch(vec![
        ("x-csrf-token", csrf.clone()),
        ("origin", "https://evil.example".into()),
        ("sec-fetch-site", "cross-site".into()),
    ])
    .await;
    assert_eq!((status.as_u16(), error_code(&body).as_str()), (403, "csrf"));
    let (status, body) = patch(vec![("x-csrf-token", csrf.clone())]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["priority"], "high");

    let get_me = || t.client.get(t.url("/api/v1/me")).header("cookie", cookie.clone()).send();
    assert_eq!(get_me().await.map(|r| r.status().as_u16()).ok(), Some(200));
    let out = t
        .client
        .post(t.url("/api/v1/auth/logout"))
        .header("cookie", cookie.clone())
        .header("x-csrf-token", csrf)
        .send()
        .await;
    assert_eq!(out.map(|r| r.status().as_u16()).ok(), Some(204));
    assert_eq!(get_me().await.map(|r| r.status().as_u16()).ok(), Some(401), "the session is gone after logout");
}

#[tokio::test]
async fn wrong_passwords_are_answered_alike_and_then_rate_limited() {
    let config = hark_web::WebConfig { login_attempts_per_minute: 3, ..Default::default() };
    let t = spawn_with(hark_store::testing::sqlite().await, config).await;
    let attempt = |email: &'static str, password: &'static str| {
        let req = t.client.post(t.url("/api/v1/auth/login")).json(&json!({ "email": email, "password": password }));
        async move { req.send().await.unwrap_or_else(|e| panic!("{e}")) }
    };
    let (s1, b1) = read(attempt("agent@acme.test", "wrong password!").await).await;
    let (s2, b2) = read(attempt("nobody@acme.test", "wrong password!").await).await;
    assert_eq!((s1, error_code(&b1)), (s2, error_code(&b2)));
    assert_eq!(s1, 401);
    assert_eq!(b1["error"]["message"], b2["error"]["message"]);
    read(attempt("agent@acme.test", "wrong password!").await).await;
    let limited = attempt("agent@acme.test", PASSWORD).await;
    assert!(limited.headers().get("retry-after").is_some());
    let (status, body) = read(limited).await;
    assert_eq!((status.as_u16(), error_code(&body).as_str()), (429, "rate_limited"));
}

#[tokio::test]
async fn channel_credentials_never_leave_encrypted_storage() {
    let t = spawn(hark_store::testing::sqlite().await).await;
    let (status, list) = t.get(Role::Owner, "/api/v1/channels").await;
    assert_eq!(status, 200);
    assert!(!list.to_string().contains("SECRET-ACCESS-TOKEN-123"));
    assert_eq!(list["items"][0]["has_credentials"], true);
    let sealed = t.app.store.channel_credentials(&t.channel_id).await.ok().flatten().unwrap_or_default();
    assert!(!sealed.is_empty());
    assert!(!String::from_utf8_lossy(&sealed).contains("SECRET-ACCESS"), "stored in the clear");
    let opened = t.app.channel_credentials(&t.channel_id).await.ok().flatten();
    assert_eq!(opened.and_then(|c| c.get("access_token").cloned()), Some(json!("SECRET-ACCESS-TOKEN-123")));
    let (_, audit) = t.get(Role::Owner, "/api/v1/audit?limit=200").await;
    assert!(!audit.to_string().contains("SECRET-ACCESS"), "credentials leaked into the audit log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn working_a_conversation_is_audited_and_filtered_correctly() {
    for store in hark_store::testing::all().await {
        let backend = store.name;
        let t = spawn(store).await;
        let c1 = t.inbound("1850000000000000001", "maria", "Where is my bag?").await;
        let c2 = t.inbound("1850000000000000002", "ivan", "Рейс задержан").await;
        let agent = t.users[&Role::Agent].id.clone();
        t.app
            .create_label(
                &t.system(),
                hark_app::LabelInput { name: "baggage".into(), color: "#2563eb".into(), description: String::new() },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));

        let (status, c) = t
            .call(
                Role::Agent,
                Method::PATCH,
                &format!("/api/v1/conversations/{c1}"),
                Some(json!({ "assignee_id": agent, "labels": ["baggage"] })),
            )
            .await;
        assert_eq!(status, 200, "{backend}: {c}");
        assert_eq!(c["labels"], json!(["baggage"]));

        let (_, mine) = t.get(Role::Agent, "/api/v1/conversations?assignee=me").await;
        assert_eq!(ids(&mine), vec![c1.clone()], "{backend}");
        let (_, unassigned) = t.get(Role::Agent, "/api/v1/conversations?assignee=none").await;
        assert_eq!(ids(&unassigned), vec![c2.clone()], "{backend}");
        let (_, labelled) = t.get(Role::Agent, "/api/v1/conversations?label=baggage&status=open,pending").await;
        assert_eq!(ids(&labelled), vec![c1.clone()], "{backend}");
        let (_, page1) = t.get(Role::Agent, "/api/v1/conversations?limit=1").await;
        let cursor = page1["next_cursor"].as_str().unwrap_or_default().to_owned();
        let (_, page2) = t.get(Role::Agent, &format!("/api/v1/conversations?limit=1&cursor={cursor}")).await;
        assert_eq!(page2["next_cursor"], Value::Null);
        let mut both = ids(&page1);
        both.extend(ids(&page2));
        both.sort();
        let mut expected = vec![c1.clone(), c2.clone()];
        expected.sort();
        assert_eq!(both, expected, "{backend}: pages cover everything once");

        // A trainee's reply waits; a supervisor approves it and it is queued once.
        let (status, m) = t
            .call(
                Role::Trainee,
                Method::POST,
                &format!("/api/v1/conversations/{c1}/messages"),
                Some(json!({ "visibility": "public", "text": "Sorry! DM us your tag number." })),
            )
            .await;
        assert_eq!((status.as_u16(), m["delivery_status"].as_str()), (201, Some("awaiting_approval")), "{backend}");
        let (_, conv) = t.get(Role::Agent, &format!("/api/v1/conversations/{c1}")).await;
        assert_eq!(conv["timeline"]["first_reply_at"], Value::Null, "{backend}: an unapproved reply is not a response");
        let mid = m["id"].as_str().unwrap_or_default();
        let (status, approved) =
            t.call(Role::Supervisor, Method::POST, &format!("/api/v1/messages/{mid}/approve"), None).await;
        assert_eq!((status.as_u16(), approved["delivery_status"].as_str()), (200, Some("queued")), "{backend}");
        let (status, again) =
            t.call(Role::Supervisor, Method::POST, &format!("/api/v1/messages/{mid}/approve"), None).await;
        assert_eq!(
            (status.as_u16(), error_code(&again).as_str()),
            (409, "conflict"),
            "{backend}: approving twice must not publish twice"
        );

        let (status, _) = t
            .call(
                Role::Agent,
                Method::POST,
                &format!("/api/v1/conversations/{c1}/messages"),
                Some(json!({ "visibility": "note", "text": "@sofia voucher?" })),
            )
            .await;
        assert_eq!(status, 201);
        let (status, c) = t
            .call(
                Role::Agent,
                Method::PATCH,
                &format!("/api/v1/conversations/{c1}"),
                Some(json!({ "status": "resolved" })),
            )
            .await;
        assert_eq!((status.as_u16(), c["status"].as_str()), (200, Some("resolved")), "{backend}");
        assert!(c["timeline"]["first_reply_at"].is_string() && c["timeline"]["resolved_at"].is_string());

        let (_, messages) = t.get(Role::Agent, &format!("/api/v1/conversations/{c1}/messages")).await;
        let kinds: Vec<(String, String)> = messages["items"]
            .as_array()
            .unwrap_or(&vec![])
            .iter()
            .map(|m| {
                (m["visibility"].as_str().unwrap_or("").into(), m["delivery_status"].as_str().unwrap_or("").into())
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("public".into(), "received".into()),
                ("public".into(), "queued".into()),
                ("note".into(), "internal".into())
            ],
            "{backend}"
        );

        let (status, audit) = t.get(Role::Supervisor, "/api/v1/audit?limit=200").await;
        assert_eq!(status, 200);
        let entries = audit["items"].as_array().cloned().unwrap_or_default();
        let actions: Vec<&str> = entries.iter().filter_map(|a| a["action"].as_str()).collect();
        for expected in [
            "conversation.assign",
            "message.submit_for_approval",
            "message.publish",
            "message.note",
            "conversation.status",
        ] {
            assert!(actions.contains(&expected), "{backend}: audit lacks {expected}: {actions:?}");
        }
        let assign = audit["items"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["action"] == "conversation.assign"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(assign["actor_kind"], "token");
        assert_eq!(assign["actor_id"], json!(agent));
        assert_eq!(assign["detail"]["changes"]["assignee_id"]["to"], json!(agent));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_resume_after_a_dropped_connection_without_gaps() {
    for store in hark_store::testing::all().await {
        let backend = store.name;
        let t = spawn(store).await;
        let conv = t.inbound("p1", "maria", "hello").await;
        let open = |last: Option<String>| {
            let mut req = t.client.get(t.url("/api/v1/events")).bearer_auth(&t.tokens[&Role::Agent]);
            if let Some(id) = last {
                req = req.header("last-event-id", id);
            }
            async move { req.send().await.unwrap_or_else(|e| panic!("{e}")) }
        };
        let response = open(None).await;
        assert_eq!(response.status(), 200);
        assert!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .starts_with("text/event-stream")
        );
        let mut stream = SseReader::new(response);
        // Only what happens after subscribing arrives.
        let conv_path = format!("/api/v1/conversations/{conv}");
        let patch = |priority: &'static str| {
            t.call(Role::Agent, Method::PATCH, &conv_path, Some(json!({ "priority": priority })))
        };
        patch("high").await;
        let first = stream.next(20).await.unwrap_or_else(|| panic!("{backend}: no event"));
        assert_eq!(first.kind, "conversation.updated");
        assert_eq!(first.data["payload"]["priority"], "high");
        assert_eq!(first.data["subject_id"], json!(conv));
        drop(stream);

        // While disconnected, more happens.
        patch("urgent").await;
        t.inbound("p2", "maria", "anyone there?").await;
        let mut resumed = SseReader::new(open(Some(first.id.clone())).await);
        let mut kinds = vec![];
        let mut last_id: i64 = first.id.parse().unwrap_or(0);
        for _ in 0..3 {
            let e = resumed.next(20).await.unwrap_or_else(|| panic!("{backend}: resume lost events after {kinds:?}"));
            let id: i64 = e.id.parse().unwrap_or(0);
            assert!(id > last_id, "{backend}: ids must increase");
            last_id = id;
            kinds.push(e.kind);
        }
        assert_eq!(kinds, vec!["conversation.updated", "message.created", "conversation.updated"], "{backend}");

        // A trainee may subscribe too; a bad Last-Event-ID is refused clearly.
        let bad = t
            .client
            .get(t.url("/api/v1/events"))
            .bearer_auth(&t.tokens[&Role::Trainee])
            .header("last-event-id", "yesterday")
            .send()
            .await;
        let (status, body) = read(bad.unwrap_or_else(|e| panic!("{e}"))).await;
        assert_eq!((status.as_u16(), error_code(&body).as_str()), (400, "invalid_input"));
    }
}

#[tokio::test]
async fn health_and_openapi_are_served() {
    let t = spawn(hark_store::testing::sqlite().await).await;
    let (status, health) = read(t.client.get(t.url("/healthz")).send().await.unwrap_or_else(|e| panic!("{e}"))).await;
    assert_eq!((status.as_u16(), health["status"].as_str()), (200, Some("ok")));
    let (status, doc) =
        read(t.client.get(t.url("/api/openapi.json")).send().await.unwrap_or_else(|e| panic!("{e}"))).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3."));
    let paths = doc["paths"].as_object().map(|p| p.len()).unwrap_or(0);
    assert!(paths >= 20, "{paths} paths documented");
    assert!(doc["components"]["schemas"]["Conversation"].is_object());
    // Every documented path is routed (no "no such endpoint" answers).
    for path in doc["paths"].as_object().map(|p| p.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
        let concrete = path.replace("{id}", "x");
        if concrete == "/api/v1/events" {
            continue;
        }
        let (_, body) = t.get(Role::Owner, &concrete).await;
        assert_ne!(
            body["error"]["message"], "no such endpoint; see /api/openapi.json",
            "{path} is documented but not routed"
        );
    }
}

fn ids(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap_or(&vec![]).iter().filter_map(|c| c["id"].as_str().map(str::to_owned)).collect()
}
