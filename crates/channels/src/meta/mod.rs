//! Meta: Facebook Pages (Messenger and the page feed), Instagram professional
//! accounts and the WhatsApp Cloud API. The three share one Graph API, one
//! webhook format and one signature scheme, so one connector serves them and
//! `ctx.network` says which product a channel is.
//!
//! Credentials (`ctx.credentials`):
//! - `app_secret`: checks `X-Hub-Signature-256` on webhooks and signs every
//!   API call with `appsecret_proof`;
//! - `verify_token`: answers the `hub.challenge` handshake;
//! - `access_token`: the Page token (Facebook, Instagram with Facebook Login),
//!   the Instagram token, or the WhatsApp system-user token;
//! - `app_id` (optional): tells Hark's own Messenger/Instagram echoes from
//!   replies typed in Meta's own tools.
//!
//! Settings: `api_base_url` (default `https://graph.facebook.com`) and
//! `graph_version` (default `v25.0`).
//!
//! `ctx.external_id` is the Page id (Facebook), the Instagram professional
//! account id (Instagram) or the `phone_number_id` (WhatsApp). Webhook entries
//! for any other account are skipped: Meta batches several Pages into one
//! delivery, and each channel only takes what is addressed to it.

mod facebook;
mod graph;
mod instagram;
mod messaging;
mod outbound;
mod posts;
mod webhook;
mod whatsapp;
mod windows;
mod wire;

pub use graph::appsecret_proof;
pub use instagram::complete_mention;
pub use outbound::{check_credentials, check_outbound, engage, publish, register_webhook};
pub use posts::fetch_post;
pub use webhook::handle_webhook;

/// The Graph API host used when a channel does not name another (the sandbox does).
pub const DEFAULT_API_BASE_URL: &str = "https://graph.facebook.com";
/// The Graph API version used when a channel does not pin another.
pub const DEFAULT_GRAPH_VERSION: &str = "v25.0";

/// Channel contexts shared by this module's tests.
#[cfg(test)]
pub(crate) mod test_support {
    use hark_domain::Network;
    use serde_json::{Map, Value, json};

    use crate::model::ChannelContext;

    /// A channel with the invented secrets of platform-apis.md 2.0.
    pub(crate) fn context(network: Network, external_id: &str) -> ChannelContext {
        let credentials: Map<String, Value> = json!({
            "app_secret": "sim_app_secret_abcdef",
            "verify_token": "hark-verify-42",
            "access_token": "EAAsimtoken",
            "app_id": "555000000000001",
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        ChannelContext { network, external_id: external_id.into(), credentials, settings: json!({}) }
    }
}
