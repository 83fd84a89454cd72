//! Meta's messaging windows, decided before any call so an agent reads why a
//! reply cannot go out instead of a Graph error code:
//! - Messenger and Instagram Direct: 24 hours after the customer's last
//!   message; a reply written by a person may use the `HUMAN_AGENT` tag for
//!   up to 7 days; after that nothing until the customer writes again.
//! - Private replies to a comment: one per comment, within 7 days of it.
//! - WhatsApp: free-form messages only within 24 hours of the customer's
//!   last message; outside it only approved templates.
//!
//! Meta enforces the same rules (and the sandbox does too); the connector
//! checks them first only to give a clear reason.

use hark_domain::Network;
use jiff::{SignedDuration, Timestamp};

use crate::model::{ConnectorError, OutboundMessage, Refusal};

const STANDARD_WINDOW: SignedDuration = SignedDuration::from_hours(24);
const HUMAN_AGENT_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);
const PRIVATE_REPLY_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);

/// How a Messenger or Instagram direct message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DirectMessageType {
    /// Inside the standard window: `messaging_type: RESPONSE`.
    Response,
    /// A person's reply after 24 hours: `messaging_type: MESSAGE_TAG`, `tag: HUMAN_AGENT`.
    HumanAgent,
}

/// Whether the window counting from `since` is still open at `now`.
fn is_open(since: Timestamp, window: SignedDuration, now: Timestamp) -> bool {
    now.duration_since(since) < window
}

/// The product name an agent knows the direct messages by.
fn dm_product(network: Network) -> &'static str {
    if network == Network::Instagram { "Instagram" } else { "Messenger" }
}

/// Decides whether a direct message may go out now, and how.
pub(super) fn direct_message_type(
    network: Network,
    last_inbound_at: Option<Timestamp>,
    by_person: bool,
    now: Timestamp,
) -> Result<DirectMessageType, ConnectorError> {
    let product = dm_product(network);
    let Some(last) = last_inbound_at else {
        return Err(ConnectorError::NotAllowed(
            Refusal::new(
                "not-written-yet",
                format!(
                    "The customer has not written to you on {product} yet; {product} only allows replies after they \
                     write."
                ),
            )
            .with("product", product),
        ));
    };
    if is_open(last, STANDARD_WINDOW, now) {
        return Ok(DirectMessageType::Response);
    }
    if !is_open(last, HUMAN_AGENT_WINDOW, now) {
        return Err(ConnectorError::NotAllowed(
            Refusal::new(
                "window-7-days",
                format!(
                    "The customer last wrote more than 7 days ago; {product} allows no reply until they write again."
                ),
            )
            .with("product", product),
        ));
    }
    if by_person {
        Ok(DirectMessageType::HumanAgent)
    } else {
        Err(ConnectorError::NotAllowed(
            Refusal::new(
                "window-24-hours-person",
                format!(
                    "The customer last wrote more than 24 hours ago; after 24 hours {product} only accepts replies \
                     written by a person on the team (for up to 7 days), not automatic ones."
                ),
            )
            .with("product", product),
        ))
    }
}

/// A private reply answers one comment, once, within 7 days of it. When the
/// comment's time is unknown the customer's last message stands in for it;
/// when neither is known Meta decides.
pub(super) fn check_private_reply(
    network: Network,
    msg: &OutboundMessage,
    now: Timestamp,
) -> Result<(), ConnectorError> {
    let network_name = if network == Network::Instagram { "Instagram" } else { "Facebook" };
    let product = dm_product(network);
    if msg.private_reply_already_sent {
        return Err(ConnectorError::NotAllowed(
            Refusal::new(
                "private-reply-used",
                format!(
                    "This comment already had its private reply: {network_name} allows only one per comment. \
                     If the customer answers, continue the conversation in {product}."
                ),
            )
            .with("network", network_name)
            .with("product", product),
        ));
    }
    match msg.reply_to_created_at.or(msg.last_inbound_at) {
        Some(written) if !is_open(written, PRIVATE_REPLY_WINDOW, now) => Err(ConnectorError::NotAllowed(
            Refusal::new(
                "private-reply-too-old",
                format!(
                    "{network_name} only allows a private reply within 7 days of the comment, and this comment is \
                     older."
                ),
            )
            .with("network", network_name),
        )),
        _ => Ok(()),
    }
}

/// Free-form WhatsApp messages need the 24-hour customer-service window.
pub(super) fn check_whatsapp_window(last_inbound_at: Option<Timestamp>, now: Timestamp) -> Result<(), ConnectorError> {
    match last_inbound_at {
        Some(last) if is_open(last, STANDARD_WINDOW, now) => Ok(()),
        Some(_) => Err(ConnectorError::NotAllowed(Refusal::new(
            "whatsapp-window-closed",
            "The customer last wrote more than 24 hours ago; outside the 24-hour window WhatsApp only allows \
             approved templates.",
        ))),
        None => Err(ConnectorError::NotAllowed(Refusal::new(
            "whatsapp-not-written-yet",
            "The customer has not written yet; outside the 24-hour window WhatsApp only allows approved templates.",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use hark_domain::ConversationKind;

    use super::*;
    use crate::model::OutboundVisibility;

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap_or_else(|e| panic!("{e}"))
    }

    fn ago(hours: i64) -> Option<Timestamp> {
        now().checked_sub(SignedDuration::from_hours(hours)).ok()
    }

    fn private_reply(created_hours_ago: i64, already_sent: bool) -> OutboundMessage {
        OutboundMessage {
            message_id: "msg_1".into(),
            text: "Let's sort this out privately.".into(),
            visibility: OutboundVisibility::Private,
            conversation_kind: ConversationKind::Public,
            recipient_platform_user_id: "26000000000000001".into(),
            thread_id: Some("104_122".into()),
            reply_to_platform_message_id: Some("122_900".into()),
            last_inbound_at: ago(created_hours_ago),
            reply_to_created_at: ago(created_hours_ago),
            private_reply_already_sent: already_sent,
            by_person: true,
            template: None,
            attachments: vec![],
        }
    }

    #[test]
    fn inside_24_hours_any_reply_is_a_response() {
        for by_person in [false, true] {
            assert_eq!(
                direct_message_type(Network::Facebook, ago(23), by_person, now()),
                Ok(DirectMessageType::Response)
            );
        }
    }

    #[test]
    fn after_3_days_only_a_person_may_reply_with_the_human_agent_tag() {
        assert_eq!(direct_message_type(Network::Instagram, ago(72), true, now()), Ok(DirectMessageType::HumanAgent));
        match direct_message_type(Network::Instagram, ago(72), false, now()) {
            Err(ConnectorError::NotAllowed(reason)) => {
                assert!(reason.contains("24 hours") && reason.contains("Instagram"), "{reason}")
            }
            other => panic!("expected NotAllowed, got {other:?}"),
        }
    }

    #[test]
    fn after_8_days_nobody_may_reply() {
        for by_person in [false, true] {
            assert!(matches!(
                direct_message_type(Network::Facebook, ago(8 * 24), by_person, now()),
                Err(ConnectorError::NotAllowed(reason)) if reason.contains("7 days")
            ));
        }
    }

    #[test]
    fn the_window_closes_exactly_at_24_hours() {
        assert_eq!(direct_message_type(Network::Facebook, ago(24), true, now()), Ok(DirectMessageType::HumanAgent));
        assert!(direct_message_type(Network::Facebook, None, true, now()).is_err());
    }

    #[test]
    fn private_replies_are_once_and_within_7_days() {
        assert_eq!(check_private_reply(Network::Facebook, &private_reply(3 * 24, false), now()), Ok(()));
        assert!(matches!(
            check_private_reply(Network::Facebook, &private_reply(3 * 24, true), now()),
            Err(ConnectorError::NotAllowed(reason)) if reason.contains("only one")
        ));
        assert!(matches!(
            check_private_reply(Network::Instagram, &private_reply(8 * 24, false), now()),
            Err(ConnectorError::NotAllowed(reason)) if reason.contains("7 days")
        ));
    }

    #[test]
    fn whatsapp_free_form_needs_the_24_hour_window() {
        assert_eq!(check_whatsapp_window(ago(1), now()), Ok(()));
        for last in [ago(25), ago(72), None] {
            assert!(matches!(
                check_whatsapp_window(last, now()),
                Err(ConnectorError::NotAllowed(reason)) if reason.contains("only allows approved templates")
            ));
        }
    }
}
