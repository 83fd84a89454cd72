//! The control API under `/_sim`, for `hark sandbox` users and scripts. It
//! mirrors the [`crate::Sandbox`] methods one to one.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::json;

use crate::config::{Faults, Limits};
use crate::model::{Account, CustomerAction, SimNetwork};
use crate::state::Inner;
use crate::{Sandbox, delivery, x};

pub(crate) fn routes() -> Router<Arc<Inner>> {
    Router::new()
        .route("/_sim/accounts", post(add_account).get(list_accounts))
        .route("/_sim/actions", post(act))
        .route("/_sim/actions/random", post(random_act))
        .route("/_sim/calls", get(calls))
        .route("/_sim/published", get(published))
        .route("/_sim/deliveries", get(deliveries))
        .route("/_sim/handshakes", get(handshakes).post(rerun_handshakes))
        .route("/_sim/subscriptions", get(subscriptions))
        .route("/_sim/faults/{network}", post(set_faults).get(get_faults))
        .route("/_sim/limits", post(set_limits).get(get_limits))
        .route("/_sim/clock", post(clock).get(now))
        .route("/_sim/redeliver", post(redeliver))
        .route("/_sim/x/crc", post(recheck_crc))
}

/// The admin API works on the same state as a `Sandbox` handle; this builds a
/// handle without a server of its own.
fn handle(inner: Arc<Inner>) -> Sandbox {
    Sandbox::from_inner(inner)
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
}

async fn add_account(State(inner): State<Arc<Inner>>, Json(account): Json<Account>) -> Response {
    handle(inner).add_account(account);
    (StatusCode::CREATED, Json(json!({"ok": true}))).into_response()
}

async fn list_accounts(State(inner): State<Arc<Inner>>) -> Response {
    Json(handle(inner).accounts()).into_response()
}

async fn act(State(inner): State<Arc<Inner>>, Json(action): Json<CustomerAction>) -> Response {
    match handle(inner).act(action).await {
        Ok(report) => Json(report).into_response(),
        Err(error) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"error": error.to_string(), "kind": error}))).into_response()
        }
    }
}

#[derive(Deserialize)]
struct RandomRequest {
    #[serde(default)]
    seed: u64,
}

async fn random_act(State(inner): State<Arc<Inner>>, Json(request): Json<RandomRequest>) -> Response {
    let sandbox = handle(inner);
    let action = match sandbox.random_action(request.seed) {
        Ok(action) => action,
        Err(error) => return bad_request(error.to_string()),
    };
    match sandbox.act(action.clone()).await {
        Ok(report) => Json(json!({"action": action, "report": report})).into_response(),
        Err(error) => bad_request(error.to_string()),
    }
}

async fn calls(State(inner): State<Arc<Inner>>) -> Response {
    Json(handle(inner).calls()).into_response()
}

async fn published(State(inner): State<Arc<Inner>>) -> Response {
    Json(handle(inner).published()).into_response()
}

async fn deliveries(State(inner): State<Arc<Inner>>) -> Response {
    Json(handle(inner).deliveries()).into_response()
}

async fn handshakes(State(inner): State<Arc<Inner>>) -> Response {
    Json(handle(inner).handshakes()).into_response()
}

async fn subscriptions(State(inner): State<Arc<Inner>>) -> Response {
    Json(handle(inner).subscriptions()).into_response()
}

async fn rerun_handshakes(State(inner): State<Arc<Inner>>) -> Response {
    let sandbox = handle(inner);
    sandbox.rerun_handshakes().await;
    Json(sandbox.handshakes()).into_response()
}

async fn set_faults(
    State(inner): State<Arc<Inner>>,
    Path(network): Path<String>,
    Json(faults): Json<Faults>,
) -> Response {
    match network.parse::<SimNetwork>() {
        Ok(network) => {
            handle(inner).set_faults(network, faults);
            Json(json!({"ok": true})).into_response()
        }
        Err(error) => bad_request(error.to_string()),
    }
}

async fn get_faults(State(inner): State<Arc<Inner>>, Path(network): Path<String>) -> Response {
    match network.parse::<SimNetwork>() {
        Ok(network) => Json(handle(inner).faults(network)).into_response(),
        Err(error) => bad_request(error.to_string()),
    }
}

async fn set_limits(State(inner): State<Arc<Inner>>, Json(limits): Json<Limits>) -> Response {
    handle(inner).set_limits(limits);
    Json(json!({"ok": true})).into_response()
}

async fn get_limits(State(inner): State<Arc<Inner>>) -> Response {
    Json(handle(inner).limits()).into_response()
}

#[derive(Deserialize)]
struct ClockRequest {
    #[serde(default)]
    now: Option<Timestamp>,
    #[serde(default)]
    advance_secs: Option<i64>,
}

async fn clock(State(inner): State<Arc<Inner>>, Json(request): Json<ClockRequest>) -> Response {
    let sandbox = handle(inner);
    if let Some(t) = request.now {
        sandbox.set_now(t);
    }
    if let Some(secs) = request.advance_secs {
        sandbox.advance(SignedDuration::from_secs(secs));
    }
    Json(json!({"now": sandbox.now()})).into_response()
}

async fn now(State(inner): State<Arc<Inner>>) -> Response {
    Json(json!({"now": inner.now()})).into_response()
}

async fn redeliver(State(inner): State<Arc<Inner>>) -> Response {
    delivery::flush(&inner, true).await;
    let pending = inner.with(|world| world.pending.len());
    Json(json!({"ok": true, "pending": pending})).into_response()
}

async fn recheck_crc(State(inner): State<Arc<Inner>>) -> Response {
    x::crc_everything(&inner).await;
    Json(handle(inner).handshakes()).into_response()
}
