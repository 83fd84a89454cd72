//! The agent workspace in a real headless Chromium (Debian's `chromium`,
//! through ChromeDriver), against a real `hark demo` fed by the platform
//! sandbox: what an agent does in a day, two agents in one conversation,
//! and hostile customer text that must never run.

mod harness;

mod attachments;
mod automation;
mod collision;
mod flows;
mod reports;
mod xss;
