//! Reports and the live dashboard in the browser: the figures come from the
//! stored summaries of the demo's history, the charts are SVG drawn on the
//! server, and the dashboard follows new conversations without a reload.

use fantoccini::Locator;
use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_reads_the_reports_and_watches_the_dashboard_live() {
    let demo = Demo::start().await;
    let browser = Browser::start().await;
    let page = browser.window().await;
    let supervisor = "sofia@demo.hark";
    // The reports follower has summarised the demo history.
    let inbound = eventually("the report counts the demo history", || async {
        let report = demo.api_get(supervisor, "/api/v1/reports?group=none").await;
        report["totals"]["inbound"].as_u64().filter(|n| *n > 0)
    })
    .await;
    sign_in(&page, &demo, supervisor).await;
    size_viewport(&page, 1280, 1000).await;
    visit(&page, &demo, "/reports?group=day").await;
    let tiles = wait_text(&page, ".reports .tiles", &inbound.to_string()).await;
    assert!(!tiles.is_empty());
    let bars = page.find_all(Locator::Css(".charts svg.chart-svg rect.bar")).await.unwrap_or_default();
    assert!(bars.len() > 10, "the charts have bars: {}", bars.len());
    let csv = page
        .find(Locator::Css(".report-filters a[download]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .attr("href")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert!(csv.starts_with("/api/v1/reports?format=csv"), "{csv}");
    screenshot(&page, "reports").await;

    // Broken down by channel, the channels' inbound messages add up to the total.
    visit(&page, &demo, "/reports?group=none&dimension=channel").await;
    wait_text(&page, ".reports table.report-table", "").await;
    let report = demo.api_get(supervisor, "/api/v1/reports?group=none&dimension=channel").await;
    let sum: u64 = report["breakdown"]
        .as_array()
        .map(|b| b.iter().filter_map(|v| v["figures"]["inbound"].as_u64()).sum())
        .unwrap_or(0);
    assert_eq!(sum, inbound);

    // The dashboard refreshes as a new conversation arrives.
    visit(&page, &demo, "/dashboard").await;
    let before = demo.api_get(supervisor, "/api/v1/dashboard").await["open"].as_i64().unwrap_or(0);
    wait_text(&page, "#dashboard-live .tiles", &before.to_string()).await;
    js(&page, "window.__samePage = 7;").await;
    let nonce = format!("DB{}", std::process::id());
    demo.customer_acts(json!({
        "type": "x_mention",
        "customer": customer("771000000000000077", "dash_watch", "Dana Watch"),
        "text": format!("@northwind_help is anyone there? {nonce}"),
    }))
    .await;
    let after = eventually("the dashboard API counts the new conversation", || async {
        demo.api_get(supervisor, "/api/v1/dashboard").await["open"].as_i64().filter(|n| *n > before)
    })
    .await;
    wait_text(&page, "#dashboard-live .tiles", &after.to_string()).await;
    assert_eq!(js(&page, "return window.__samePage;").await, json!(7), "refreshed without reloading the page");
    screenshot(&page, "dashboard").await;
}
