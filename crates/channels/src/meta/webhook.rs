//! The Meta webhook endpoint: the `hub.challenge` handshake, the
//! `X-Hub-Signature-256` check on the raw bytes, and the routing of each
//! batched entry to the parser for its product.

use hark_domain::Network;
use jiff::Timestamp;

use super::wire::{Entry, Envelope};
use super::{facebook, instagram, messaging, whatsapp};
use crate::model::{ChannelContext, HttpReply, Inbound, InboundEvent, RawRequest, WebhookError};
use crate::signing;

/// What Meta expects back for a delivery it should not resend.
const ACKNOWLEDGEMENT: &str = "EVENT_RECEIVED";

/// Answers one request Meta sent to the channel's webhook URL.
///
/// `GET` is the subscription handshake; `POST` is a signed, batched delivery
/// whose signature is checked on the exact bytes received before any parsing.
/// `now` dates items that carry no time of their own (Instagram comments).
pub fn handle_webhook(ctx: &ChannelContext, req: &RawRequest, now: Timestamp) -> Result<Inbound, WebhookError> {
    if req.method.eq_ignore_ascii_case("GET") {
        return answer_handshake(ctx, req.query).map(Inbound::Handshake);
    }
    if !req.method.eq_ignore_ascii_case("POST") {
        return Err(WebhookError::BadRequest(format!("Meta webhooks use GET or POST, not {}", req.method)));
    }
    verify_signature(ctx, req)?;
    let events = parse_delivery(ctx, req.body, now)?;
    Ok(Inbound::Events { reply: HttpReply::ok_text(ACKNOWLEDGEMENT), events })
}

/// Meta proves it is Meta by echoing back the verify token we configured in
/// the app dashboard; we prove we own the URL by returning the challenge
/// verbatim (no JSON quoting). Some proxies turn `hub.mode` into `hub_mode`.
fn answer_handshake(ctx: &ChannelContext, query: &str) -> Result<HttpReply, WebhookError> {
    let param = |name: &str| {
        let dotted = format!("hub.{name}");
        let underscored = format!("hub_{name}");
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| *key == dotted || *key == underscored)
            .map(|(_, value)| value.into_owned())
    };
    let verify_token = ctx
        .credential("verify_token")
        .map_err(|_| WebhookError::Unauthorized("the channel has no verify_token to compare with".into()))?;
    if param("mode").as_deref() != Some("subscribe") {
        return Err(WebhookError::Unauthorized("hub.mode is not subscribe".into()));
    }
    let received = param("verify_token").unwrap_or_default();
    if !signing::constant_time_eq(received.as_bytes(), verify_token.as_bytes()) {
        return Err(WebhookError::Unauthorized("hub.verify_token does not match".into()));
    }
    let challenge = param("challenge").ok_or_else(|| WebhookError::BadRequest("hub.challenge is missing".into()))?;
    Ok(HttpReply::ok_text(challenge))
}

/// `X-Hub-Signature-256: sha256=<lowercase hex HMAC-SHA256(app_secret, raw body)>`.
/// Meta escapes non-ASCII as `\uXXXX` and signs those bytes, so only the
/// bytes as received can be hashed, never a re-serialised body.
fn verify_signature(ctx: &ChannelContext, req: &RawRequest) -> Result<(), WebhookError> {
    let app_secret = ctx
        .credential("app_secret")
        .map_err(|_| WebhookError::Unauthorized("the channel has no app_secret to check signatures with".into()))?;
    let header = req
        .header("x-hub-signature-256")
        .ok_or_else(|| WebhookError::Unauthorized("the X-Hub-Signature-256 header is missing".into()))?;
    let received = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or_else(|| WebhookError::Unauthorized("X-Hub-Signature-256 does not start with sha256=".into()))?;
    if signing::verify_hmac_sha256(app_secret.as_bytes(), req.body, received.as_bytes(), signing::hex_of) {
        Ok(())
    } else {
        Err(WebhookError::Unauthorized("X-Hub-Signature-256 does not match the body".into()))
    }
}

/// Every entry and every item of a batch, in delivery order. Entries for
/// other accounts and objects of another product are skipped.
fn parse_delivery(ctx: &ChannelContext, body: &[u8], now: Timestamp) -> Result<Vec<InboundEvent>, WebhookError> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| WebhookError::BadRequest(format!("the body is not a Meta webhook delivery: {e}")))?;
    if !object_matches_network(&envelope.object, ctx.network) {
        tracing::warn!(object = %envelope.object, network = %ctx.network, "Meta delivery for another product; nothing taken");
        return Ok(Vec::new());
    }
    let mut events = Vec::new();
    for entry in &envelope.entry {
        events.extend(entry_events(ctx, entry, now));
    }
    Ok(events)
}

fn object_matches_network(object: &str, network: Network) -> bool {
    matches!(
        (object, network),
        ("page", Network::Facebook)
            | ("instagram", Network::Instagram)
            | ("whatsapp_business_account", Network::Whatsapp)
    )
}

/// WhatsApp entries are keyed by the business account and routed later by
/// `phone_number_id`; Page and Instagram entries carry the account id itself.
fn entry_events(ctx: &ChannelContext, entry: &Entry, now: Timestamp) -> Vec<InboundEvent> {
    if ctx.network == Network::Whatsapp {
        return whatsapp::entry_events(ctx, entry, now);
    }
    if entry.id.as_deref() != Some(ctx.external_id.as_str()) {
        tracing::debug!(entry = ?entry.id, account = %ctx.external_id, "Meta entry for another account skipped");
        return Vec::new();
    }
    let mut events = messaging::entry_events(ctx, entry, now);
    events.extend(match ctx.network {
        Network::Facebook => facebook::entry_events(ctx, entry, now),
        _ => instagram::entry_events(ctx, entry, now),
    });
    events
}

#[cfg(test)]
mod tests {
    use super::super::test_support::context;
    use super::*;

    fn get(query: &str) -> RawRequest<'_> {
        RawRequest { method: "GET", query, headers: vec![], body: b"" }
    }

    fn post<'a>(body: &'a [u8], signature: Option<&str>) -> RawRequest<'a> {
        let headers = signature.map(|s| vec![("x-hub-signature-256".to_string(), s.to_string())]).unwrap_or_default();
        RawRequest { method: "POST", query: "", headers, body }
    }

    /// The test vector of platform-apis.md 2.0: the body keeps Meta's `\u00fc` escapes.
    const ESCAPED_BODY: &str = r#"{"object":"page","entry":[{"id":"104000000000001","time":1767225600123,"messaging":[{"sender":{"id":"7010000000000001"},"recipient":{"id":"104000000000001"},"timestamp":1767225600000,"message":{"mid":"m_sim1","text":"Gr\u00fc\u00dfe"}}]}]}"#;
    const ESCAPED_SIGNATURE: &str = "sha256=6ac4d4448dccb143bdc0b5ff34e1af5d8ca63df5065a64acac80c4fd8fa55367";

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn handshake_returns_the_raw_challenge() {
        let ctx = context(Network::Facebook, "104000000000001");
        let query = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=hark-verify-42";
        match handle_webhook(&ctx, &get(query), now()) {
            Ok(Inbound::Handshake(reply)) => {
                assert_eq!(reply, HttpReply::ok_text("1158201444"));
                assert!(reply.content_type.starts_with("text/plain"));
            }
            other => panic!("expected a handshake, got {other:?}"),
        }
    }

    #[test]
    fn handshake_accepts_underscored_parameter_names() {
        let ctx = context(Network::Whatsapp, "106000000000001");
        let query = "hub_mode=subscribe&hub_challenge=abc%20def&hub_verify_token=hark-verify-42";
        match handle_webhook(&ctx, &get(query), now()) {
            Ok(Inbound::Handshake(reply)) => assert_eq!(reply.body, "abc def"),
            other => panic!("expected a handshake, got {other:?}"),
        }
    }

    #[test]
    fn handshake_with_a_wrong_token_or_mode_is_unauthorized() {
        let ctx = context(Network::Instagram, "17841400000000001");
        for query in [
            "hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess",
            "hub.mode=subscribe&hub.challenge=1",
            "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=hark-verify-42",
        ] {
            assert!(matches!(handle_webhook(&ctx, &get(query), now()), Err(WebhookError::Unauthorized(_))), "{query}");
        }
    }

    #[test]
    fn the_documented_escaped_unicode_body_verifies() {
        let ctx = context(Network::Facebook, "104000000000001");
        let request = post(ESCAPED_BODY.as_bytes(), Some(ESCAPED_SIGNATURE));
        match handle_webhook(&ctx, &request, now()) {
            Ok(Inbound::Events { reply, events }) => {
                assert_eq!(reply.body, "EVENT_RECEIVED");
                assert_eq!(reply.status, 200);
                assert_eq!(events.len(), 1);
                match &events[0].kind {
                    crate::InboundKind::Message(m) => assert_eq!(m.text, "Grüße"),
                    other => panic!("expected a message, got {other:?}"),
                }
            }
            other => panic!("expected events, got {other:?}"),
        }
    }

    #[test]
    fn a_reencoded_body_no_longer_verifies() {
        let ctx = context(Network::Facebook, "104000000000001");
        let reencoded = ESCAPED_BODY.replace(r"Gr\u00fc\u00dfe", "Grüße");
        let request = post(reencoded.as_bytes(), Some(ESCAPED_SIGNATURE));
        assert!(matches!(handle_webhook(&ctx, &request, now()), Err(WebhookError::Unauthorized(_))));
    }

    #[test]
    fn wrong_or_missing_signatures_are_unauthorized() {
        let ctx = context(Network::Facebook, "104000000000001");
        let wrong = format!("sha256={}", "0".repeat(64));
        let without_prefix = ESCAPED_SIGNATURE.trim_start_matches("sha256=");
        let upper = ESCAPED_SIGNATURE.to_uppercase();
        for signature in [None, Some(wrong.as_str()), Some(without_prefix), Some(upper.as_str())] {
            let request = post(ESCAPED_BODY.as_bytes(), signature);
            assert!(
                matches!(handle_webhook(&ctx, &request, now()), Err(WebhookError::Unauthorized(_))),
                "{signature:?}"
            );
        }
    }

    #[test]
    fn signed_garbage_is_a_bad_request() {
        let ctx = context(Network::Facebook, "104000000000001");
        let body = b"not json";
        let signature = format!("sha256={}", signing::hmac_sha256_hex(b"sim_app_secret_abcdef", body));
        let request = post(body, Some(&signature));
        assert!(matches!(handle_webhook(&ctx, &request, now()), Err(WebhookError::BadRequest(_))));
    }

    #[test]
    fn other_accounts_and_products_are_skipped() {
        let other_page = context(Network::Facebook, "104000000000999");
        let instagram = context(Network::Instagram, "104000000000001");
        for ctx in [other_page, instagram] {
            match parse_delivery(&ctx, ESCAPED_BODY.as_bytes(), now()) {
                Ok(events) => assert!(events.is_empty(), "{events:?}"),
                Err(e) => panic!("{e}"),
            }
        }
    }
}
