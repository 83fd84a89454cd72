//! The vocabulary of Hark (see PRODUCT.md): workspaces, channels, contacts,
//! conversations, messages, people and what each role may do.
//!
//! This crate holds types and pure rules only. It never touches a database,
//! the network or the clock: callers pass the current instant in.

pub mod assignment;
pub mod business_hours;
pub mod collaboration;
pub mod conversation;
pub mod csat;
pub mod enums;
pub mod known_issues;
pub mod metrics;
pub mod model;
pub mod notes;
pub mod permissions;
pub mod rules;
pub mod sla;
pub mod spikes;

pub use collaboration::*;
pub use enums::*;
pub use model::*;
pub use notes::{ChannelNote, DeliveryNote};
pub use permissions::{Action, permits};

/// Why a value from outside (a request, a config file, a database row) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidValue {
    pub field: &'static str,
    pub message: String,
}

impl InvalidValue {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}
