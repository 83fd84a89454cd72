//! Taking the next injected API fault of a network. Each network module turns
//! a refused call into its own exact error body.

use std::time::Duration;

use crate::config::ApiFault;
use crate::model::SimNetwork;
use crate::state::Inner;

/// Whether an API call goes ahead.
pub(crate) enum Gate {
    /// Handle the call normally; the label names a fault that only delayed it.
    Proceed(Option<String>),
    /// Answer with the network's error for this fault.
    Refuse(ApiFault),
}

pub(crate) fn label(fault: &ApiFault) -> String {
    match fault {
        ApiFault::RateLimited => "rate_limited".into(),
        ApiFault::ServerError(code) => format!("server_error_{code}"),
        ApiFault::Timeout { secs } => format!("timeout_{secs}s"),
        ApiFault::ExpiredToken => "expired_token".into(),
        ApiFault::MissingPermission => "missing_permission".into(),
    }
}

/// Pops the next queued fault of `network` (or the sticky expired token) and,
/// for a timeout, holds the call before letting it through: the client has
/// given up by then, but the network still carries the call out.
pub(crate) async fn gate(inner: &Inner, network: SimNetwork) -> Gate {
    let fault = inner.with(|world| {
        let faults = world.faults_mut(network);
        if !faults.api_fail_next.is_empty() {
            Some(faults.api_fail_next.remove(0))
        } else if faults.expired_token {
            Some(ApiFault::ExpiredToken)
        } else {
            None
        }
    });
    match fault {
        None => Gate::Proceed(None),
        Some(ApiFault::Timeout { secs }) => {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            Gate::Proceed(Some(label(&ApiFault::Timeout { secs })))
        }
        Some(other) => Gate::Refuse(other),
    }
}
