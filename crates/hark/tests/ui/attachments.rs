//! Files in the composer: an agent attaches a picture to a Telegram reply,
//! the chip shows it uploaded, the customer receives it as a photo from
//! Hark's own address, and the same file on X is refused with the
//! network's reason before anything is sent.

use fantoccini::Locator;
use serde_json::json;

use crate::harness::*;

/// The smallest valid PNG: one transparent pixel.
const PIXEL_PNG: [u8; 67] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0a, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

async fn open_conversation(page: &fantoccini::Client, demo: &Demo, nonce: &str) -> String {
    let conversation = demo.conversation_with(nonce).await;
    let id = conversation["id"].as_str().unwrap_or_default().to_owned();
    visit(page, demo, &format!("/inbox/c/{id}")).await;
    wait_text(page, ".conversation .thread .msg.in", nonce).await;
    id
}

/// Puts a file in the composer's (hidden) file input, as the file picker would.
async fn choose_file(page: &fantoccini::Client, path: &std::path::Path) {
    js(page, "document.querySelector('.composer .attach-input').hidden = false;").await;
    page.find(Locator::Css(".composer .attach-input"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .send_keys(&path.display().to_string())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picture_goes_out_on_telegram_and_is_refused_on_x_with_the_reason() {
    let demo = Demo::start().await;
    let browser = Browser::start().await;
    let page = browser.window().await;
    sign_in(&page, &demo, "dmitri@demo.hark").await;
    let folder = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // A hostile file name: it must arrive as text, never as markup.
    let picture = folder.path().join("seat <img src=x onerror=alert(1)>.png");
    std::fs::write(&picture, PIXEL_PNG).unwrap_or_else(|e| panic!("{e}"));

    // Telegram takes a photo with a caption.
    let nonce = format!("TG{}", std::process::id());
    demo.customer_acts(json!({
        "type": "telegram_private_message",
        "customer": customer("5550001", "olga_p", "Olga Petrova"),
        "text": format!("Which seat did I get on {nonce}?"),
    }))
    .await;
    open_conversation(&page, &demo, &nonce).await;
    choose_file(&page, &picture).await;
    let chip = wait_text(&page, ".composer .attachments.pending li[data-upload]", "seat").await;
    assert!(chip.contains("seat img src=x onerror=alert(1).png"), "the chip names the file, without markup: {chip}");
    assert_eq!(
        js(&page, "return document.querySelectorAll('.composer .attachments.pending img, .composer .attachments.pending script').length;").await,
        json!(0),
        "the file name is text, not markup"
    );
    let caption = format!("Here is your seat map for {nonce}.");
    let textarea = page.find(Locator::Css(".composer textarea")).await.unwrap_or_else(|e| panic!("{e}"));
    textarea.send_keys(&caption).await.unwrap_or_else(|e| panic!("{e}"));
    textarea.send_keys("\u{E009}\u{E007}\u{E000}").await.unwrap_or_else(|e| panic!("{e}"));
    let sent = eventually("the photo reaches Telegram", || async {
        demo.published().await.into_iter().find(|p| p["text"].as_str().is_some_and(|t| t.contains(&caption)))
    })
    .await;
    let text = sent["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("[photo http") && text.contains("/files/"), "sent as a photo from Hark's address: {text}");
    assert_eq!(sent["kind"], "direct_message");
    wait_text(&page, ".thread .msg.out .delivery.published", "").await;
    assert_eq!(
        js(&page, "return document.querySelectorAll('.composer .attachments.pending li').length;").await,
        json!(0),
        "the draft's files are cleared once sent"
    );
    // The thread shows the sent file as a link to Hark's copy.
    let link = js(&page, "const a = document.querySelector('.thread .msg.out .attachments a'); return a ? a.getAttribute('href') : null;").await;
    assert!(link.as_str().is_some_and(|l| l.starts_with("/files/")), "{link}");

    // X takes no files through Hark: the composer says so and sends nothing.
    let nonce = format!("XA{}", std::process::id());
    demo.customer_acts(json!({
        "type": "x_mention",
        "customer": customer("771000000000000077", "pavel_x", "Pavel X"),
        "text": format!("@northwind_help can you send me the seat map for {nonce}?"),
    }))
    .await;
    open_conversation(&page, &demo, &nonce).await;
    choose_file(&page, &picture).await;
    wait_text(&page, ".composer .attachments.pending li[data-upload]", "seat").await;
    let refusal = wait_text(&page, ".composer .mode-hint.refused", "").await;
    assert!(!refusal.trim().is_empty(), "the network's reason is shown before sending");
    // Dmitri reads Hark in Russian, and so reads the network's reason.
    assert_eq!(
        refusal.trim(),
        "В X Hark отправляет текст и ссылки; файлы можно прикладывать в WhatsApp, Telegram и Messenger.",
        "the reason is the interface's message (js-refusal-no-files-here), in the agent's language"
    );
    let textarea = page.find(Locator::Css(".composer textarea")).await.unwrap_or_else(|e| panic!("{e}"));
    textarea.send_keys(&format!("Map for {nonce}")).await.unwrap_or_else(|e| panic!("{e}"));
    textarea.send_keys("\u{E009}\u{E007}\u{E000}").await.unwrap_or_else(|e| panic!("{e}"));
    // The server refuses it too; the reason stays, in Russian, and the draft keeps its file.
    let refusal = wait_text(&page, ".composer .mode-hint.refused", "").await;
    assert!(refusal.contains("В X Hark отправляет"), "{refusal}");
    // The server's answer names the same message, so its own reason reads in
    // Russian as well (as a script that is not the composer would show it).
    let script = "const [upload, done] = [document.querySelector('.composer [data-upload]').dataset.upload, arguments[0]];
        const path = `/api/v1/conversations/${document.querySelector('form.composer').dataset.conversation}/messages`;
        import('/assets/format.js').then(m => m.api('POST', path, { visibility: 'public', text: 'map', attachments: [upload] })
            .then(() => done('sent'), err => done(m.describe(err))));";
    let said = page.execute_async(script, vec![]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(said.as_str(), Some(refusal.trim()), "the server's refusal in the agent's language");
    assert_eq!(
        js(&page, "return document.querySelectorAll('.composer .attachments.pending li[data-upload]').length;").await,
        json!(1)
    );
    assert_eq!(js(&page, "return document.querySelectorAll('.thread .msg.out').length;").await, json!(0));
    js(&page, "document.querySelector('.composer .attach-input').hidden = true;").await;
    screenshot(&page, "composer-attachment-refused").await;
    // (The demo's own traffic publishes elsewhere meanwhile; nothing of this draft.)
    let sent: Vec<_> =
        demo.published().await.into_iter().filter(|p| p["text"].as_str().is_some_and(|t| t.contains(&nonce))).collect();
    assert!(sent.is_empty(), "nothing went out on X: {sent:?}");

    // An error the API answers with reads in the agent's language as well,
    // chosen by its stable code: here a conversation that does not exist.
    js(&page, "import('/assets/format.js').then(m => m.api('GET', '/api/v1/conversations/cnv_missing').catch(m.reportError));")
        .await;
    let toast = wait_text(&page, "#toasts .toast.error", "").await;
    assert!(toast.contains("Этого больше нет") && !toast.contains("not found"), "{toast}");
}
