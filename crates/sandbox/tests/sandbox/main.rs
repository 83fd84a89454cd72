//! Integration tests of the sandbox through its public API and HTTP surface.

mod common;
mod meta;
mod misc;
mod subscriptions;
mod telegram;
mod vk;
mod x;
