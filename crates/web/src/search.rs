//! Full-text search as the web layer sees it: words in, the conversations
//! whose messages match out. The index itself lives elsewhere (the binary
//! wires one in); without one, searching says so instead of pretending.

use std::future::Future;
use std::pin::Pin;

/// The conversations of a workspace whose messages match a query, best or
/// newest first, at most `limit`.
pub trait ConversationSearch: Send + Sync {
    fn conversation_ids<'a>(
        &'a self,
        workspace_id: &'a str,
        query: &'a str,
        limit: usize,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<String>, String>> + Send + 'a>>;
}
