use std::time::Duration;

use hark_sandbox::{Customer, CustomerAction, Faults, SimNetwork};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::common::*;

fn marco() -> Customer {
    Customer::new("7010000000000001", "marco.b", "Marco Bianchi")
}

#[tokio::test]
async fn admin_api_drives_accounts_actions_faults_and_clock() {
    let hook = Receiver::start().await;
    let sandbox = sandbox().await;
    let base = sandbox.base_url();
    let client = http();
    let account = json!({"network": "facebook", "external_id": PAGE, "handle": "ACME", "webhook_url": hook.url,
                         "credentials": {"app_id": "1", "app_secret": META_SECRET, "access_token": "EAAsimtoken"}});
    let status = client
        .post(format!("{base}/_sim/accounts"))
        .json(&account)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .status();
    assert_eq!(status.as_u16(), 201);
    let action = json!({"type": "messenger_message", "customer": {"id": "7010000000000001", "handle": "marco", "name": "Marco"}, "text": "hi"});
    let (status, report) = json_of(
        client.post(format!("{base}/_sim/actions")).json(&action).send().await.unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["network"], "facebook");
    let (_, deliveries) =
        json_of(client.get(format!("{base}/_sim/deliveries")).send().await.unwrap_or_else(|e| panic!("{e}"))).await;
    assert_eq!(deliveries[0]["event_key"], report["item_id"]);
    assert_eq!(deliveries[0]["acknowledged"], true);

    let faults = json!({"api_fail_next": ["rate_limited", {"server_error": 503}]});
    let status = client
        .post(format!("{base}/_sim/faults/facebook"))
        .json(&faults)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .status();
    assert_eq!(status.as_u16(), 200);
    let send = json!({"recipient": {"id": "7010000000000001"}, "message": {"text": "hello"}});
    let url = format!("{}/v25.0/{PAGE}/messages", sandbox.api_base_url(SimNetwork::Facebook));
    let post = || client.post(&url).bearer_auth("EAAsimtoken").json(&send).send();
    let (status, body) = json_of(post().await.unwrap_or_else(|e| panic!("{e}"))).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!(613)));
    assert_eq!(json_of(post().await.unwrap_or_else(|e| panic!("{e}"))).await.0, 503);
    assert_eq!(json_of(post().await.unwrap_or_else(|e| panic!("{e}"))).await.0, 200);
    let (_, calls) =
        json_of(client.get(format!("{base}/_sim/calls")).send().await.unwrap_or_else(|e| panic!("{e}"))).await;
    assert_eq!(calls.as_array().map(Vec::len), Some(3));
    assert_eq!(calls[0]["fault"], "rate_limited");
    let (_, published) =
        json_of(client.get(format!("{base}/_sim/published")).send().await.unwrap_or_else(|e| panic!("{e}"))).await;
    assert_eq!(published[0]["kind"], "direct_message");

    let (_, clock) = json_of(
        client
            .post(format!("{base}/_sim/clock"))
            .json(&json!({"now": "2026-11-03T09:00:00Z"}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(clock["now"], "2026-11-03T09:00:00Z");
    let (_, clock) = json_of(
        client
            .post(format!("{base}/_sim/clock"))
            .json(&json!({"advance_secs": 90}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(clock["now"], "2026-11-03T09:01:30Z");
    let (status, _) = json_of(
        client
            .post(format!("{base}/_sim/faults/myspace"))
            .json(&json!({}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn duplicate_bad_signature_and_lost_ack_faults() {
    let hook = Receiver::start().await;
    let sandbox = sandbox().await;
    sandbox.add_account(account(
        SimNetwork::Facebook,
        PAGE,
        "ACME",
        Some(&hook),
        &[("app_id", "1"), ("app_secret", META_SECRET), ("access_token", "t")],
    ));
    sandbox.set_faults(SimNetwork::Facebook, Faults::default().redeliver_each(2));
    let action =
        CustomerAction::MessengerMessage { account: None, customer: marco(), text: "dup".into(), reply_to_mid: None };
    let mid = sandbox.act(action.clone()).await.unwrap_or_else(|e| panic!("{e}")).item_id;
    let copies: Vec<(u32, bool)> =
        sandbox.deliveries().iter().filter(|d| d.event_key == mid).map(|d| (d.attempt, d.duplicate)).collect();
    assert_eq!(copies, vec![(1, false), (2, true), (3, true)]);

    sandbox.set_faults(SimNetwork::Facebook, Faults::default().bad_signature());
    sandbox.act(action.clone()).await.unwrap_or_else(|e| panic!("{e}"));
    let post = hook.posts().pop().unwrap_or_else(|| panic!("no webhook"));
    let signature = post.headers.get("x-hub-signature-256").cloned().unwrap_or_default();
    assert_ne!(signature, hark_sandbox::meta_signature_256(META_SECRET, &post.body));

    sandbox.set_faults(SimNetwork::Facebook, Faults { drop_ack_check: true, ..Faults::default() });
    let lost = sandbox.act(action).await.unwrap_or_else(|e| panic!("{e}")).item_id;
    assert!(!sandbox.acknowledged_event_keys().contains(&lost));
    sandbox.set_faults(SimNetwork::Facebook, Faults::default());
    sandbox.redeliver_pending().await;
    assert!(sandbox.acknowledged_event_keys().contains(&lost));
}

#[tokio::test]
async fn burst_fault_holds_deliveries_then_fires_them_together() {
    let hook = Receiver::start().await;
    let sandbox = sandbox().await;
    sandbox.add_account(account(
        SimNetwork::Facebook,
        PAGE,
        "ACME",
        Some(&hook),
        &[("app_secret", META_SECRET), ("access_token", "t")],
    ));
    sandbox.set_faults(SimNetwork::Facebook, Faults::default().burst(3));
    for n in 0..2 {
        let text = format!("message {n}");
        sandbox
            .act(CustomerAction::MessengerMessage { account: None, customer: marco(), text, reply_to_mid: None })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(hook.posts().is_empty());
    sandbox
        .act(CustomerAction::MessengerMessage {
            account: None,
            customer: marco(),
            text: "third".into(),
            reply_to_mid: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hook.posts().len(), 3);
}

fn all_accounts(hook: &Receiver) -> Vec<hark_sandbox::Account> {
    let meta = [("app_id", "1"), ("app_secret", META_SECRET), ("access_token", "EAAsimtoken")];
    vec![
        account(SimNetwork::X, X_BRAND, "acme_help", Some(hook), &x_credentials()),
        account(SimNetwork::Facebook, PAGE, "ACME", Some(hook), &meta),
        account(SimNetwork::Instagram, "17841400000000001", "acme", Some(hook), &meta),
        account(SimNetwork::Whatsapp, "106000000000001", "15550100200", Some(hook), &meta),
        account(SimNetwork::Telegram, "7000000001", "acme_support_bot", Some(hook), &[("bot_token", "7000000001:AAx")]),
        account(
            SimNetwork::Vk,
            "229000001",
            "acme",
            Some(hook),
            &[("access_token", "vk"), ("confirmation_code", "c0de")],
        ),
    ]
}

#[tokio::test]
async fn random_actions_are_reproducible_and_valid_on_every_network() {
    let hook = Receiver::start().await;
    let sandbox = sandbox().await;
    assert!(sandbox.random_action(1).is_err(), "no accounts yet");
    for account in all_accounts(&hook) {
        sandbox.add_account(account);
    }
    assert_eq!(sandbox.random_action(7).ok(), sandbox.random_action(7).ok());
    let mut networks = std::collections::BTreeSet::new();
    let mut texts = std::collections::BTreeSet::new();
    let mut kinds = std::collections::BTreeSet::new();
    for seed in 0..120 {
        let action = sandbox.random_action(seed).unwrap_or_else(|e| panic!("{e}"));
        let value: Value = serde_json::to_value(&action).unwrap_or(Value::Null);
        texts.insert(value["text"].as_str().unwrap_or_default().to_string());
        kinds.insert(value["type"].as_str().unwrap_or_default().to_string());
        let report = sandbox.act(action).await.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        networks.insert(report.network);
    }
    assert_eq!(networks.len(), 6, "{networks:?}");
    assert!(texts.len() >= 25, "varied texts: {}", texts.len());
    assert!(kinds.contains("instagram_mention"), "{kinds:?}");
}

#[tokio::test]
async fn run_traffic_produces_deliveries_until_cancelled() {
    let hook = Receiver::start().await;
    hook.answer_x_crc_with(X_SECRET);
    hook.answer_vk_confirmation("c0de");
    let sandbox = sandbox().await;
    for account in all_accounts(&hook) {
        sandbox.add_account(account);
    }
    sandbox.settle().await;
    let stop = CancellationToken::new();
    let traffic = tokio::spawn({
        let sandbox = sandbox.clone();
        let stop = stop.clone();
        async move { sandbox.run_traffic(600, stop).await }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.cancel();
    traffic.await.unwrap_or_else(|e| panic!("{e}"));
    let acknowledged = sandbox.deliveries().iter().filter(|d| d.acknowledged).count();
    assert!(acknowledged >= 1, "{:?}", sandbox.deliveries());
    assert_eq!(
        hook.posts().iter().filter(|p| p.json().get("type").is_none_or(|t| t != "confirmation")).count(),
        acknowledged
    );
}
