//! Closed sets of values. Each is stored and sent as its snake_case name, so
//! the database, the API and the UI all speak the same words.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::InvalidValue;

/// Declares a string-backed enum with `as_str`, `FromStr`, `ALL` and serde.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(InvalidValue::new(
                        stringify!($name),
                        format!("unknown value {other:?}; expected one of: {}",
                            [$($text),+].join(", ")),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// A social network or other medium a channel connects to.
    Network {
        X = "x", Facebook = "facebook", Instagram = "instagram", Whatsapp = "whatsapp",
        Telegram = "telegram", Vk = "vk", Mastodon = "mastodon", Bluesky = "bluesky",
        Email = "email", Chat = "chat", Api = "api",
    }
);

string_enum!(
    /// Public threads (mentions, comments) are seen by everyone; private ones (DMs, email, chat) are not.
    ConversationKind { Public = "public", Private = "private" }
);

string_enum!(
    /// Where a conversation stands. `pending` means waiting on the customer.
    ConversationStatus { Open = "open", Pending = "pending", Snoozed = "snoozed", Resolved = "resolved" }
);

string_enum!(Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" });

string_enum!(Direction { Inbound = "inbound", Outbound = "outbound" });

string_enum!(
    /// `note` is internal and never leaves Hark.
    Visibility { Public = "public", Private = "private", Note = "note" }
);

string_enum!(
    /// Who wrote a message: the customer, a person on the team, a bot or automatic reply, or Hark itself.
    AuthorKind { Contact = "contact", User = "user", Bot = "bot", System = "system" }
);

string_enum!(
    /// The life of one message on its way out (inbound messages are `received`).
    DeliveryStatus {
        Received = "received", AwaitingApproval = "awaiting_approval", Queued = "queued",
        Sending = "sending", Published = "published", Delivered = "delivered", Read = "read",
        Failed = "failed", Internal = "internal",
    }
);

string_enum!(
    /// Roles, from most to least powerful.
    Role { Owner = "owner", Admin = "admin", Supervisor = "supervisor", Agent = "agent", Trainee = "trainee" }
);

string_enum!(
    /// Whether a channel can currently receive and send. Anything but `ok` is shown to admins.
    ChannelHealth { Ok = "ok", Degraded = "degraded", Failing = "failing", Disconnected = "disconnected" }
);

string_enum!(Sentiment { Negative = "negative", Neutral = "neutral", Positive = "positive" });

string_enum!(
    /// Whether a person takes new work: assignment skips `away` and `offline` people.
    Availability { Online = "online", Away = "away", Offline = "offline" }
);

string_enum!(
    /// What another person is doing in a conversation right now (collision detection).
    PresenceState { Viewing = "viewing", Typing = "typing" }
);

string_enum!(
    /// What a custom attribute describes.
    AttributeScope { Contact = "contact", Conversation = "conversation" }
);

string_enum!(
    /// The type of a custom attribute's value, which decides how it is edited and checked.
    AttributeKind { Text = "text", Number = "number", Boolean = "boolean", Date = "date", List = "list", Link = "link" }
);

impl DeliveryStatus {
    /// Progress of a sent message; later news never moves it backwards
    /// (networks report statuses out of order), and `failed` is final.
    pub fn progress(self) -> u8 {
        match self {
            DeliveryStatus::Queued | DeliveryStatus::AwaitingApproval => 1,
            DeliveryStatus::Sending => 2,
            DeliveryStatus::Published => 3,
            DeliveryStatus::Delivered => 4,
            DeliveryStatus::Read => 5,
            DeliveryStatus::Failed => 6,
            DeliveryStatus::Received | DeliveryStatus::Internal => 0,
        }
    }
}

impl Role {
    /// Lower rank = more power. Used so that nobody can grant a role above their own.
    pub fn rank(self) -> u8 {
        match self {
            Role::Owner => 0,
            Role::Admin => 1,
            Role::Supervisor => 2,
            Role::Agent => 3,
            Role::Trainee => 4,
        }
    }

    pub fn outranks_or_equals(self, other: Role) -> bool {
        self.rank() <= other.rank()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_name() {
        for n in Network::ALL {
            assert_eq!(n.as_str().parse::<Network>(), Ok(*n));
        }
        for s in ConversationStatus::ALL {
            assert_eq!(s.as_str().parse::<ConversationStatus>(), Ok(*s));
        }
        for r in Role::ALL {
            assert_eq!(serde_json::to_value(r).ok(), Some(serde_json::json!(r.as_str())));
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_allowed_list() {
        let err = "closed".parse::<ConversationStatus>().err().map(|e| e.message);
        assert_eq!(err.as_deref(), Some("unknown value \"closed\"; expected one of: open, pending, snoozed, resolved"));
    }
}
