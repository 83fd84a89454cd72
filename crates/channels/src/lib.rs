//! Hark's connectors: one module per network. Each turns the network's
//! webhook requests into normalised [`InboundEvent`]s (after checking the
//! signature on the raw bytes), answers its handshake, polls where the network
//! offers it, and publishes replies through the network's API, enforcing
//! length limits and messaging windows first so an agent learns why a reply
//! is not allowed before anything is sent.
//!
//! This crate never touches storage. Base URLs come from each channel's
//! settings, so tests and the demo point connectors at the platform sandbox.

pub mod api_channel;
pub mod connector;
pub mod http;
pub mod meta;
pub mod model;
pub mod oauth1;
pub mod signing;
pub mod telegram;
pub mod text;
pub mod vk;
pub mod x;

pub use model::*;
