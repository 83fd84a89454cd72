//! Hark's generic API channel, outbound side: events are POSTed to the
//! partner's URL signed the Standard Webhooks way (platform-apis.md section
//! 8), so partners can check them with any Standard Webhooks library.
//!
//! `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`
//! where the key is the base64-decoded part of a `whsec_…` secret. Receivers
//! refuse timestamps more than five minutes away from their clock, and dedup
//! on `webhook-id`, which is why a delivery may be retried even when its
//! outcome is unknown.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;
use serde_json::Value;

use crate::http;
use crate::model::ConnectorError;
use crate::signing::{constant_time_eq, hmac_sha256_base64};

/// How far a signed timestamp may be from the receiver's clock.
pub const TOLERANCE_SECS: i64 = 5 * 60;
/// How long a partner may take to answer before the delivery is retried.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);
const SECRET_PREFIX: &str = "whsec_";
const SIGNATURE_VERSION: &str = "v1,";

/// The HMAC key of a `whsec_<base64>` secret (the prefix is optional, as
/// Standard Webhooks libraries accept both forms).
fn key_of(secret: &str) -> Result<Vec<u8>, ConnectorError> {
    let encoded = secret.trim().strip_prefix(SECRET_PREFIX).unwrap_or(secret.trim());
    match BASE64.decode(encoded) {
        Ok(key) if !key.is_empty() => Ok(key),
        _ => Err(ConnectorError::Misconfigured("the webhook secret is not `whsec_` followed by base64".into())),
    }
}

/// What is signed: `{msg_id}.{timestamp}.{body}`.
fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{msg_id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}

/// The `webhook-signature` value for a delivery: `v1,<base64>`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, ConnectorError> {
    let key = key_of(secret)?;
    Ok(format!("{SIGNATURE_VERSION}{}", hmac_sha256_base64(&key, &signed_content(msg_id, timestamp, body))))
}

/// Checks a `webhook-signature` header: the timestamp must be within five
/// minutes of `now`, and any one of its space-separated `v1,` signatures
/// must match (several are sent while a secret is being rotated).
pub fn verify(secret: &str, msg_id: &str, timestamp: i64, body: &[u8], header_value: &str, now: Timestamp) -> bool {
    if (now.as_second() - timestamp).abs() > TOLERANCE_SECS {
        return false;
    }
    let Ok(expected) = sign(secret, msg_id, timestamp, body) else { return false };
    let expected = &expected[SIGNATURE_VERSION.len()..];
    header_value
        .split_whitespace()
        .filter_map(|signature| signature.strip_prefix(SIGNATURE_VERSION))
        .any(|received| constant_time_eq(received.as_bytes(), expected.as_bytes()))
}

/// POSTs one signed event to a partner. 2xx is success; 429, 408 and 5xx are
/// retryable; other 4xx are final. A timeout is retryable too: the partner
/// dedups on `webhook-id`, which stays the same across retries.
pub async fn deliver(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    msg_id: &str,
    body: &Value,
    now: Timestamp,
) -> Result<(), ConnectorError> {
    let bytes =
        serde_json::to_vec(body).map_err(|e| ConnectorError::Misconfigured(format!("unserialisable event: {e}")))?;
    let timestamp = now.as_second();
    let signature = sign(secret, msg_id, timestamp, &bytes)?;
    let request = http
        .post(url)
        .timeout(DELIVERY_TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(bytes);
    let response = match http::send(request).await {
        Ok(response) => response,
        Err(ConnectorError::Unknown(reason)) => {
            return Err(ConnectorError::Retryable { reason, retry_after_secs: None });
        }
        Err(other) => return Err(other),
    };
    if response.is_success() {
        return Ok(());
    }
    let reason = format!("the endpoint answered {}", http::status_reason(response.status, &response.body));
    match http::status_error(response.status, &response.headers, reason, None) {
        // The partner refusing our signature is their verdict on this delivery,
        // not a sign that the channel's own credentials broke.
        ConnectorError::Unauthorized(reason) => Err(ConnectorError::Rejected(reason)),
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_server::{Canned, TestServer};
    use serde_json::json;

    const SECRET: &str = "whsec_c2ltLWdlbmVyaWMtd2ViaG9vay1rZXktMzJieXRlcyE=";
    const ID: &str = "msg_2Qx7h0sim";
    const TIMESTAMP: i64 = 1767225600;
    const BODY: &[u8] = br#"{"type":"message.created","data":{"id":"m1"}}"#;
    const EXPECTED: &str = "v1,/GrEfOQkvdoX86CDjbXnMltb7fQX/sF8M5+TYqLf18A=";

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn signs_the_documented_vector() {
        assert_eq!(sign(SECRET, ID, TIMESTAMP, BODY), Ok(EXPECTED.to_string()));
        // The bare base64 key signs the same.
        assert_eq!(sign(&SECRET[6..], ID, TIMESTAMP, BODY), Ok(EXPECTED.to_string()));
    }

    #[test]
    fn a_secret_that_is_not_base64_is_a_configuration_error() {
        assert!(matches!(sign("whsec_not base64!", ID, TIMESTAMP, BODY), Err(ConnectorError::Misconfigured(_))));
        assert!(matches!(sign("whsec_", ID, TIMESTAMP, BODY), Err(ConnectorError::Misconfigured(_))));
    }

    #[test]
    fn verification_accepts_any_matching_signature_in_the_header() {
        let now = at(TIMESTAMP + 10);
        assert!(verify(SECRET, ID, TIMESTAMP, BODY, EXPECTED, now));
        let rotated = format!("v1,b2xkLXNpZ25hdHVyZQ== {EXPECTED}");
        assert!(verify(SECRET, ID, TIMESTAMP, BODY, &rotated, now));
        assert!(verify(SECRET, ID, TIMESTAMP, BODY, &format!("v2,abc {EXPECTED}"), now));
    }

    #[test]
    fn verification_refuses_wrong_signatures_and_inputs() {
        let now = at(TIMESTAMP);
        assert!(!verify(SECRET, ID, TIMESTAMP, BODY, "", now));
        assert!(!verify(SECRET, ID, TIMESTAMP, BODY, &EXPECTED[3..], now), "a signature without its version");
        assert!(!verify(SECRET, ID, TIMESTAMP, BODY, "v1,/GrEfOQkvdoX86CDjbXnMltb7fQX/sF8M5+TYqLf18B=", now));
        assert!(!verify(SECRET, "msg_other", TIMESTAMP, BODY, EXPECTED, now));
        assert!(!verify(SECRET, ID, TIMESTAMP, b"{}", EXPECTED, now));
        let other_secret = "whsec_b3RoZXIta2V5";
        assert!(!verify(other_secret, ID, TIMESTAMP, BODY, EXPECTED, now));
    }

    #[test]
    fn verification_refuses_timestamps_more_than_five_minutes_away() {
        assert!(verify(SECRET, ID, TIMESTAMP, BODY, EXPECTED, at(TIMESTAMP + 300)));
        assert!(verify(SECRET, ID, TIMESTAMP, BODY, EXPECTED, at(TIMESTAMP - 300)));
        assert!(!verify(SECRET, ID, TIMESTAMP, BODY, EXPECTED, at(TIMESTAMP + 301)));
        assert!(!verify(SECRET, ID, TIMESTAMP, BODY, EXPECTED, at(TIMESTAMP - 301)));
    }

    #[tokio::test]
    async fn delivery_sends_the_signed_headers_and_body() {
        let server = TestServer::start(vec![Canned { status: 202, headers: vec![], body: String::new() }]);
        let body = json!({"type": "message.created", "data": {"id": "m1"}});
        let url = format!("{}/hooks/hark", server.base_url);
        let result = deliver(&http::client(), &url, SECRET, ID, &body, at(TIMESTAMP)).await;
        assert_eq!(result, Ok(()));
        let received = server.received();
        let request = &received[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.target, "/hooks/hark");
        assert_eq!(request.header("webhook-id"), Some(ID));
        assert_eq!(request.header("webhook-timestamp"), Some("1767225600"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.json(), body);
        let signature = request.header("webhook-signature").unwrap_or_default();
        assert!(signature.starts_with("v1,"), "{signature}");
        assert!(verify(SECRET, ID, TIMESTAMP, &request.body, signature, at(TIMESTAMP)), "{signature}");
    }

    #[tokio::test]
    async fn delivery_failures_are_retryable_or_final_by_status() {
        let server = TestServer::start(vec![
            Canned::json(503, json!({"error": "down"})),
            Canned::json(429, json!({})).with_header("retry-after", "9"),
            Canned::json(410, json!({"error": "gone"})),
            Canned::json(401, json!({"error": "bad signature"})),
        ]);
        let client = http::client();
        let empty = json!({});
        let deliver_once = || deliver(&client, &server.base_url, SECRET, ID, &empty, at(TIMESTAMP));
        assert!(matches!(deliver_once().await, Err(ConnectorError::Retryable { retry_after_secs: None, .. })));
        assert!(matches!(deliver_once().await, Err(ConnectorError::Retryable { retry_after_secs: Some(9), .. })));
        match deliver_once().await {
            Err(ConnectorError::Rejected(reason)) => assert!(reason.contains("410"), "{reason}"),
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert!(matches!(deliver_once().await, Err(ConnectorError::Rejected(_))));
    }
}
