//! The agent workspace in the browser: server-rendered pages and the
//! fragments its scripts fetch to stay live, in the user's language, with
//! the styles and scripts embedded in the binary. No third-party code runs
//! in the browser; customers' text is escaped everywhere.

pub mod assets;
pub mod i18n;
pub mod text;
pub mod views;

pub use i18n::Strings;
pub use maud;
pub use views::{Ctx, Directory};
