//! Collision detection: two agents in the same conversation see each other
//! there, viewing and typing, in two separate browsers.

use fantoccini::Locator;
use serde_json::json;

use crate::harness::*;

async fn user_id(demo: &Demo, email: &str) -> String {
    let users = demo.api_get("admin@demo.hark", "/api/v1/users").await;
    users["items"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["email"] == email))
        .and_then(|u| u["id"].as_str())
        .unwrap_or_else(|| panic!("no user {email}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_in_one_conversation_see_each_other_viewing_and_typing() {
    let demo = Demo::start().await;
    let browser = Browser::start().await;
    let (dmitri, mei) = (browser.window().await, browser.window().await);
    sign_in(&dmitri, &demo, "dmitri@demo.hark").await;
    sign_in(&mei, &demo, "mei@demo.hark").await;
    let (dmitri_id, mei_id) = (user_id(&demo, "dmitri@demo.hark").await, user_id(&demo, "mei@demo.hark").await);

    let nonce = format!("C{}", std::process::id());
    demo.customer_acts(json!({
        "type": "messenger_message", "customer": customer("7010000000009001", "", "Jonas Berg"),
        "text": format!("Hello, my refund {nonce} has not arrived"),
    }))
    .await;
    let conversation = demo.conversation_with(&nonce).await;
    let path = format!("/inbox/c/{}?view=all", conversation["id"].as_str().unwrap_or_default());
    visit(&dmitri, &demo, &path).await;
    visit(&mei, &demo, &path).await;

    // Each sees the other viewing.
    let chip = |id: &str| format!(".presence .who-here[data-user='{id}']");
    wait_text(&dmitri, &chip(&mei_id), "Mei Lin").await;
    wait_text(&mei, &chip(&dmitri_id), "Dmitri Volkov").await;
    assert!(dmitri.find(Locator::Css(&chip(&dmitri_id))).await.is_err(), "nobody sees themselves");

    // Mei types a reply: Dmitri sees it; she stops, and it goes back to viewing.
    mei.find(Locator::Css(".composer textarea"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .send_keys("Hi Jonas, I'm checking")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wait_text(&dmitri, &format!("{}.typing", chip(&mei_id)), "Mei Lin").await;
    eventually("Mei goes back to viewing once she stops typing", || async {
        dmitri.find(Locator::Css(&format!("{}.viewing", chip(&mei_id)))).await.ok().map(|_| ())
    })
    .await;

    // Mei leaves the conversation: Dmitri stops seeing her there.
    visit(&mei, &demo, "/inbox?view=open").await;
    eventually("Mei's chip goes away when she leaves", || async {
        dmitri.find(Locator::Css(&chip(&mei_id))).await.is_err().then_some(())
    })
    .await;
    dmitri.close().await.ok();
    mei.close().await.ok();
}
