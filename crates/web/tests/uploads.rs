//! Files attached to replies: what is accepted, how it is served to the
//! networks, and where the network's rules refuse a file before anything is
//! sent.

mod common;

use common::*;
use hark_domain::*;
use reqwest::Method;
use serde_json::json;

const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];

#[tokio::test]
async fn an_upload_is_served_only_at_its_address_and_never_as_a_page() {
    let t = spawn(hark_store::testing::sqlite().await).await;
    let (status, file) = t
        .call_raw(Role::Agent, Method::POST, "/api/v1/uploads?name=..%2Fboarding%20pass.png", "image/png", PNG.to_vec())
        .await;
    assert_eq!(status, 201, "{file}");
    assert_eq!(file["name"], "boarding pass.png");
    assert_eq!(file["content_type"], "image/png");
    assert_eq!(file["size"], PNG.len());
    assert_eq!(file["image"], true);
    let path = file["path"].as_str().unwrap_or_default().to_owned();
    assert!(path.starts_with("/files/upl_"), "{path}");

    let served = t.client.get(t.url(&path)).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(served.status(), 200);
    let header = |name: &str| served.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(header("content-type"), "image/png");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-security-policy").contains("sandbox"), "{}", header("content-security-policy"));
    assert!(header("content-disposition").starts_with("inline"), "{}", header("content-disposition"));
    assert_eq!(served.bytes().await.unwrap_or_default().as_ref(), PNG);

    // Without the right token the file does not exist.
    let id = file["id"].as_str().unwrap_or_default();
    for wrong in [format!("/files/{id}/nottherighttoken"), format!("/files/{id}/")] {
        let response = t.client.get(t.url(&wrong)).send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status(), 404, "{wrong}");
    }

    // A PDF is offered as a download.
    let (status, pdf) = t
        .call_raw(
            Role::Agent,
            Method::POST,
            "/api/v1/uploads?name=invoice.pdf",
            "application/pdf",
            b"%PDF-1.7\n".to_vec(),
        )
        .await;
    assert_eq!(status, 201, "{pdf}");
    let served =
        t.client.get(t.url(pdf["path"].as_str().unwrap_or_default())).send().await.unwrap_or_else(|e| panic!("{e}"));
    let disposition = served.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(disposition.starts_with("attachment; filename=\"invoice.pdf\""), "{disposition}");
}

#[tokio::test]
async fn files_whose_bytes_do_not_match_their_type_are_refused() {
    let t = spawn(hark_store::testing::sqlite().await).await;
    let cases: [(&str, &[u8]); 4] = [
        ("image/png", b"<html><script>alert(1)</script></html>"),
        ("text/html", b"<html></html>"),
        ("image/svg+xml", b"<svg onload=alert(1)></svg>"),
        ("text/plain", &[0xFF, 0xFE, 0x00, 0x41]),
    ];
    for (content_type, bytes) in cases {
        let (status, body) =
            t.call_raw(Role::Agent, Method::POST, "/api/v1/uploads?name=x", content_type, bytes.to_vec()).await;
        assert_eq!((status.as_u16(), error_code(&body).as_str()), (400, "invalid_input"), "{content_type}: {body}");
    }
    let (status, body) = t.call_raw(Role::Agent, Method::POST, "/api/v1/uploads?name=x", "text/plain", vec![]).await;
    assert_eq!(status, 400, "{body}");

    let too_big = vec![b'a'; hark_app::MAX_UPLOAD_BYTES + 1];
    let (status, _) =
        t.call_raw(Role::Agent, Method::POST, "/api/v1/uploads?name=big.txt", "text/plain", too_big).await;
    assert!([400, 413].contains(&status.as_u16()), "{status}");

    let (_, audit) = t.get(Role::Owner, "/api/v1/audit?limit=200").await;
    assert!(!audit.to_string().contains("upload.create"), "nothing refused was stored: {audit}");
}

#[tokio::test]
async fn a_file_goes_with_a_note_but_x_refuses_it_in_a_reply() {
    let t = spawn(hark_store::testing::sqlite().await).await;
    let conversation = t.inbound("p1", "maria", "my receipt?").await;
    let (_, file) = t
        .call_raw(
            Role::Agent,
            Method::POST,
            "/api/v1/uploads?name=receipt.pdf",
            "application/pdf",
            b"%PDF-1.4".to_vec(),
        )
        .await;
    let upload = file["id"].as_str().unwrap_or_default().to_owned();
    let messages = format!("/api/v1/conversations/{conversation}/messages");

    let (status, note) = t
        .call(
            Role::Agent,
            Method::POST,
            &messages,
            Some(json!({ "visibility": "note", "text": "", "attachments": [upload] })),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["attachments"][0]["upload_id"], upload.as_str());
    assert_eq!(note["attachments"][0]["name"], "receipt.pdf");
    assert_eq!(note["attachments"][0]["type"], "file");

    // X takes media only through its own upload, which Hark does not make:
    // the agent learns it before anything is queued.
    let options = format!("/api/v1/conversations/{conversation}/reply-options?text=here&attachments={upload}");
    let (status, choices) = t.get(Role::Agent, &options).await;
    assert_eq!(status, 200, "{choices}");
    assert_eq!(choices[0]["visibility"], "public");
    assert_eq!(choices[0]["allowed"], false);
    assert!(choices[0]["reason"].as_str().unwrap_or("").contains("WhatsApp, Telegram or Messenger"), "{choices}");
    // The same reason as the interface's message, to be read in each agent's language.
    assert_eq!(choices[0]["reason_key"], "no-files-here", "{choices}");
    assert_eq!(choices[0]["reason_args"], serde_json::json!({ "network": "X" }), "{choices}");
    let (status, refused) = t
        .call(
            Role::Agent,
            Method::POST,
            &messages,
            Some(json!({ "visibility": "public", "text": "here", "attachments": [upload] })),
        )
        .await;
    assert_eq!((status.as_u16(), error_code(&refused).as_str()), (422, "not_allowed"), "{refused}");
    // The refusal carries the same message id and arguments, for the agent's language.
    assert_eq!(refused["error"]["key"], "no-files-here", "{refused}");
    assert_eq!(refused["error"]["args"], serde_json::json!({ "network": "X" }), "{refused}");

    // An id that is not an upload is refused, and nothing without text or file is accepted.
    let (status, body) = t
        .call(Role::Agent, Method::POST, &messages, Some(json!({ "visibility": "note", "attachments": ["upl_nope"] })))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) =
        t.call(Role::Agent, Method::POST, &messages, Some(json!({ "visibility": "note", "text": " " }))).await;
    assert_eq!(status, 400, "{body}");
    let sent = t.app.messages(&t.system(), &conversation, &Default::default()).await.unwrap_or_else(|e| panic!("{e}"));
    let written: Vec<_> = sent.iter().filter(|m| m.author_user_id.is_some()).collect();
    assert_eq!(written.len(), 1, "only the note was written: {written:?}");
    assert_eq!(written[0].visibility, Visibility::Note);
}
