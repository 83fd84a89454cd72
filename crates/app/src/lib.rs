//! Hark's use cases. Each public method checks what the actor may do (through
//! `hark_domain::permits`, the one place roles are decided), decides the
//! change with the domain's rules, and commits the change together with its
//! audit entry and its event in one transaction.

mod actor;
pub mod auth;
mod change;
mod error;
mod ids;
pub mod secrets;
mod serde_util;

mod approvals;
mod assignment;
pub mod automation;
mod channels;
mod collaboration;
mod contacts;
mod conversations;
mod corrections;
mod directory;
mod ingest;
pub mod intake;
mod journal;
mod publishing;
mod raw_events;
pub mod reports;
pub mod rules;
pub mod service_levels;
mod threads;
mod tokens;
pub mod understanding;
mod uploads;

use std::sync::Arc;

pub use actor::{Actor, ActorVia};
pub use approvals::{PendingReply, ReviewInput};
pub use assignment::AgentProfileInput;
pub use channels::{ChannelCreate, ChannelUpdate};
pub use collaboration::{
    AttributeInput, BusinessHoursInput, BusinessHoursView, PRESENCE_TTL, ProfileUpdate, SavedViewInput, SnippetInput,
};
pub use contacts::ContactUpdate;
pub use conversations::{ConversationUpdate, NewMessage, TemplateInput};
pub use corrections::{CorrectionInput, ReplySimilarityReport};
pub use directory::{LabelInput, TeamInput, UserCreate, UserUpdate};
pub use error::{AppError, AppResult};
pub use ids::new_id;
pub use ingest::{InboundAuthor, InboundItem, IngestOutcome};
pub use publishing::{Engagement, OutboundJob};
pub use raw_events::{EchoItem, RawOutcome};
pub use rules::{RuleInput, RulePatch};
pub use secrets::CredentialSealer;
pub use threads::{BulkOutcome, MAX_BULK, MoveToPrivate, MovedToPrivate};
pub use tokens::{CreatedToken, TokenInfo};
pub use uploads::{MAX_UPLOAD_BYTES, UploadView};

use hark_store::Store;

/// The application: the store plus what the use cases need beside it.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    sealer: Arc<CredentialSealer>,
    understanding: Arc<understanding::Understanding>,
}

impl App {
    /// An application reading messages with the shipped models and no
    /// order-number pattern (see [`App::with_understanding`]).
    pub fn new(store: Arc<dyn Store>, sealer: CredentialSealer) -> Self {
        let understanding = understanding::Understanding::shipped("").unwrap_or_else(|err| {
            tracing::error!(%err, "messages will be stored without language, sentiment or intent");
            understanding::Understanding::without_models()
        });
        App { store, sealer: Arc::new(sealer), understanding: Arc::new(understanding) }
    }

    /// Reads messages with these models and personal-data rules.
    pub fn with_understanding(mut self, understanding: understanding::Understanding) -> Self {
        self.understanding = Arc::new(understanding);
        self
    }
}

/// The current instant, to the millisecond (the precision stored), so a
/// record reads back exactly as it was returned. One function so every use
/// case reads the clock the same way.
pub(crate) fn now() -> jiff::Timestamp {
    let ms = jiff::Timestamp::now().as_millisecond();
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}
