//! The demo workspace: an airline's support team with agents, teams, labels,
//! channels on six networks and a few hundred conversations in a dozen
//! languages. Created once per data directory; later runs reuse it.
//!
//! Customers are played by the platform sandbox: it sends each network's
//! exact webhooks to Hark and receives Hark's replies through each network's
//! API, first a day of history, then a steady live stream.

use std::net::SocketAddr;

use anyhow::Context;
use hark_app::{
    Actor, ActorVia, App, ChannelCreate, ChannelUpdate, ConversationUpdate, LabelInput, NewMessage, TeamInput,
};
use hark_domain::*;
use hark_sandbox::{Account, Sandbox, SimNetwork};
use jiff::SignedDuration;
use serde_json::json;

use crate::storage::create_user;

pub const DEMO_PASSWORD: &str = "hark-demo-2026";
const OWNER_EMAIL: &str = "admin@demo.hark";

pub struct DemoLogin {
    pub email: String,
    pub password: String,
}

/// Creates the demo workspace unless this database already has one, and
/// connects its channels to the sandbox (which listens on a new port each
/// run, so existing channels are re-pointed).
pub async fn prepare(app: &App, sandbox: &Sandbox, listen: SocketAddr) -> anyhow::Result<DemoLogin> {
    let login = DemoLogin { email: OWNER_EMAIL.into(), password: DEMO_PASSWORD.into() };
    let workspace = match app.store.workspaces().await?.into_iter().next() {
        Some(ws) => ws,
        None => create_people(app).await?,
    };
    let owner = app.store.user_login(OWNER_EMAIL).await?.context("the demo owner is missing")?.user;
    let admin = Actor { user: owner, via: ActorVia::System };
    let existing = app.store.channels(&workspace.id).await?;
    for network in SimNetwork::ALL {
        let (name, handle, external) = account_of(network);
        let settings = json!({ "api_base_url": sandbox.api_base_url(network) });
        let channel = match existing.iter().find(|c| c.network == domain_network(network)) {
            Some(c) => {
                let update = ChannelUpdate { settings: Some(settings), ..Default::default() };
                app.update_channel(&admin, &c.id, update).await?
            }
            None => {
                let input = ChannelCreate {
                    network: domain_network(network),
                    name: name.into(),
                    handle: handle.into(),
                    external_id: external.into(),
                    credentials: Some(demo_credentials(network)),
                    settings,
                };
                app.create_channel(&admin, input).await?
            }
        };
        sandbox.add_account(Account {
            network,
            external_id: external.into(),
            handle: handle.into(),
            webhook_url: Some(format!("http://{listen}/webhooks/{}", channel.id)),
            credentials: app.channel_credentials(&channel.id).await?.unwrap_or_default(),
        });
    }
    sandbox.settle().await;
    Ok(login)
}

/// Fills a new demo workspace with history: `count` customer actions spread
/// over the last day, sent by the sandbox as each network would, then worked
/// on by the team (assigned, labelled, answered, resolved).
pub async fn load_history(
    app: &App,
    workers: &hark_jobs::Workers,
    sandbox: &Sandbox,
    count: usize,
) -> anyhow::Result<()> {
    // The networks verified Hark's webhook URLs when the accounts were added,
    // before the server listened: verify again now that it does.
    sandbox.rerun_handshakes().await;
    sandbox.recheck_x_webhooks().await;
    sandbox.settle().await;
    let workspace = app.store.workspaces().await?.into_iter().next().context("no workspace")?;
    let filter = hark_store::ConversationFilter { workspace_id: workspace.id.clone(), ..Default::default() };
    if !app.store.conversations(&filter, &hark_store::Page::first(1)).await?.is_empty() {
        return Ok(());
    }
    tracing::info!(count, "the sandbox is sending the demo history");
    let span = SignedDuration::from_hours(20);
    let step = SignedDuration::from_secs(span.as_secs() / count.max(1) as i64);
    sandbox.advance(-span);
    for n in 0..count {
        let action = sandbox.random_action(0xdeed_0000 + n as u64).map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Err(err) = sandbox.act(action).await {
            tracing::debug!(%err, "demo action skipped");
        }
        sandbox.advance(step);
    }
    sandbox.advance(span - step * count as i32);
    sandbox.settle().await;
    // Wait (bounded) until the server's workers have ingested it all.
    for _ in 0..600 {
        hark_jobs::ingest::ingest_once(workers).await?;
        if app.store.raw_event_counts().await?.pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let users = app.store.users(&workspace.id).await?;
    let teams = app.store.teams(&workspace.id).await?;
    let agents: Vec<&User> = users.iter().filter(|u| u.role == Role::Agent).collect();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut page = hark_store::Page::first(200);
    loop {
        let mut conversations = app.store.conversations(&filter, &page).await?;
        let more = conversations.len() > 200;
        conversations.truncate(200);
        page.after = conversations.last().map(|c| hark_store::Cursor::of_conversation(c).encode());
        for conversation in &conversations {
            work_on(app, &mut rng, conversation, &agents, &users, &teams).await.context("demo conversation")?;
        }
        if !more {
            break;
        }
    }
    tracing::info!("demo history ready");
    Ok(())
}

async fn create_people(app: &App) -> anyhow::Result<Workspace> {
    let owner =
        create_user(app, "Northwind Air", "Europe/Athens", OWNER_EMAIL, "Alex Admin", Role::Owner, DEMO_PASSWORD)
            .await?;
    let admin = Actor { user: owner, via: ActorVia::System };
    let people = [
        ("sofia@demo.hark", "Sofia Papadopoulou", Role::Supervisor, "el"),
        ("dmitri@demo.hark", "Dmitri Volkov", Role::Agent, "ru"),
        ("mei@demo.hark", "Mei Lin", Role::Agent, "zh"),
        ("lucia@demo.hark", "Lucía García", Role::Agent, "en"),
        ("omar@demo.hark", "Omar Haddad", Role::Agent, "en"),
        ("tom@demo.hark", "Tom Baker", Role::Trainee, "en"),
    ];
    let mut users = vec![];
    for (email, name, role, locale) in people {
        let input = hark_app::UserCreate {
            email: email.into(),
            name: name.into(),
            role,
            password: DEMO_PASSWORD.into(),
            locale: locale.into(),
        };
        users.push(app.create_user(&admin, input).await?);
    }
    let team_of = |names: &[&str]| {
        users.iter().filter(|u| names.iter().any(|n| u.name.starts_with(n))).map(|u| u.id.clone()).collect::<Vec<_>>()
    };
    for (name, description, members) in [
        ("Customer care", "First line on every network", team_of(&["Dmitri", "Mei", "Lucía", "Omar", "Tom"])),
        ("Billing & refunds", "Refunds, charges, vouchers", team_of(&["Sofia", "Omar"])),
        ("Escalations", "Senior agents for upset customers", team_of(&["Sofia", "Lucía"])),
    ] {
        app.create_team(&admin, TeamInput { name: name.into(), description: description.into(), member_ids: members })
            .await?;
    }
    for (name, color) in [
        ("refund", "#d97706"),
        ("baggage", "#2563eb"),
        ("delay", "#dc2626"),
        ("vip", "#7c3aed"),
        ("praise", "#16a34a"),
        ("press", "#0f766e"),
    ] {
        app.create_label(&admin, LabelInput { name: name.into(), color: color.into(), description: String::new() })
            .await?;
    }
    create_automation(app, &admin).await?;
    app.store.workspaces().await?.into_iter().next().context("no workspace")
}

/// Snippets, assignment profiles and a few rules, so the demo shows automation at work.
async fn create_automation(app: &App, admin: &Actor) -> anyhow::Result<()> {
    let mut snippets = std::collections::HashMap::new();
    for (key, name, text) in [
        (
            "baggage",
            "Baggage allowance",
            "Hi {{contact.first_name}}! Every fare includes one cabin bag of 8 kg (55 × 40 × 20 cm); checked bags can be added in Manage booking.",
        ),
        (
            "booking",
            "Booking help in private",
            "Hi {{contact.first_name}}, {{agent.first_name}} here. Could you send us your booking reference (like NW-48213)? We will look into it right away.",
        ),
        (
            "refund",
            "Refund timeline",
            "Hi {{contact.first_name}}, refunds reach your card within 7 to 10 working days after we confirm them.",
        ),
    ] {
        let snippet =
            app.create_snippet(admin, hark_app::SnippetInput { name: name.into(), text: text.into() }).await?;
        snippets.insert(key, snippet.id);
    }
    let teams = app.teams(admin).await?;
    let team =
        |prefix: &str| teams.iter().find(|t| t.name.starts_with(prefix)).map(|t| t.id.clone()).unwrap_or_default();
    for user in app.users(admin).await? {
        let languages: &[&str] = match user.email.as_str() {
            "dmitri@demo.hark" => &["ru", "uk", "en"],
            "mei@demo.hark" => &["zh", "en"],
            "lucia@demo.hark" => &["es", "pt", "en"],
            "sofia@demo.hark" => &["el", "en", "fr"],
            _ => &[],
        };
        let input = hark_app::AgentProfileInput {
            languages: languages.iter().map(|l| l.to_string()).collect(),
            capacity: (user.role == Role::Agent).then_some(25),
        };
        app.put_agent_profile(admin, &user.id, input).await?;
    }
    let rules = [
        json!({
            "name": "Upset customers on X go to Escalations",
            "trigger": { "kind": "message_received" },
            "conditions": { "mode": "all", "items": [
                { "field": "network", "op": "is", "value": "x" },
                { "field": "sentiment", "op": "is", "value": "negative" },
                { "field": "intent", "op": "is", "value": "complaint" },
            ]},
            "actions": [
                { "type": "assign_team", "team_id": team("Escalations") },
                { "type": "set_priority", "priority": "high" },
            ],
        }),
        json!({
            "name": "Refunds to Billing, in turn",
            "trigger": { "kind": "conversation_created" },
            "conditions": { "items": [{ "field": "intent", "op": "is", "value": "billing_refund" }] },
            "actions": [{ "type": "assign_team", "team_id": team("Billing"), "round_robin": true }],
            "stop": true,
        }),
        json!({
            "name": "Baggage questions: the bot answers, a person takes over",
            "trigger": { "kind": "message_received" },
            "conditions": { "mode": "all", "items": [
                { "field": "kind", "op": "is", "value": "private" },
                { "field": "network", "op": "is", "value": "telegram, whatsapp" },
            ]},
            "actions": [{ "type": "auto_answer", "handoff_team_id": team("Customer"), "answers": [
                { "snippet_id": snippets["baggage"],
                  "keywords": ["bag", "luggage", "suitcase", "багаж", "чемодан", "行李", "αποσκευ", "maleta", "equipaje", "gepäck"] },
            ]}],
        }),
        json!({
            "name": "Nobody answered for 4 hours",
            "trigger": { "kind": "idle", "minutes": 240 },
            "conditions": { "items": [{ "field": "status", "op": "is", "value": "open" }] },
            "actions": [{ "type": "set_priority", "priority": "high" }],
        }),
    ];
    for rule in rules {
        let input: hark_app::RuleInput = serde_json::from_value(rule).context("a demo rule")?;
        app.create_rule(admin, input).await?;
    }
    Ok(())
}

fn domain_network(network: SimNetwork) -> Network {
    match network {
        SimNetwork::X => Network::X,
        SimNetwork::Facebook => Network::Facebook,
        SimNetwork::Instagram => Network::Instagram,
        SimNetwork::Whatsapp => Network::Whatsapp,
        SimNetwork::Telegram => Network::Telegram,
        SimNetwork::Vk => Network::Vk,
    }
}

/// Name, handle and platform id of the demo brand's account on each network.
fn account_of(network: SimNetwork) -> (&'static str, &'static str, &'static str) {
    match network {
        SimNetwork::X => ("Northwind on X", "northwind_help", "1600000000000000001"),
        SimNetwork::Facebook => ("Northwind Air page", "Northwind Air", "104857600000001"),
        SimNetwork::Instagram => ("Northwind on Instagram", "northwindair", "17841400000000001"),
        SimNetwork::Whatsapp => ("Northwind WhatsApp", "+30 210 000 0000", "109876543210001"),
        SimNetwork::Telegram => ("Northwind bot", "northwind_air_bot", "7000000001"),
        SimNetwork::Vk => ("Northwind VK", "northwind_air", "220000001"),
    }
}

/// Credentials for the sandbox accounts (invented, like the sandbox itself).
fn demo_credentials(network: SimNetwork) -> serde_json::Map<String, serde_json::Value> {
    let value = match network {
        SimNetwork::X => json!({
            "consumer_key": "demoConsumerKey", "consumer_secret": "demo-consumer-secret",
            "access_token": "1600000000000000001-demoAccess", "access_token_secret": "demo-access-secret",
            "bearer_token": "demo-bearer"
        }),
        SimNetwork::Facebook | SimNetwork::Instagram | SimNetwork::Whatsapp => json!({
            "app_id": "424242424242", "app_secret": "demo-app-secret", "verify_token": "demo-verify", "access_token": "EAAdemo"
        }),
        SimNetwork::Telegram => json!({ "bot_token": "7000000001:AAdemo", "secret_token": "demo_secret_token" }),
        SimNetwork::Vk => {
            json!({ "access_token": "vk1.a.demo", "secret": "demo-vk-secret", "confirmation_code": "d3m0c0de" })
        }
    };
    value.as_object().cloned().unwrap_or_default()
}

/// Gives a demo conversation a plausible history: assignment, labels, a reply, a status.
async fn work_on(
    app: &App,
    rng: &mut Rng,
    conversation: &Conversation,
    agents: &[&User],
    users: &[User],
    teams: &[Team],
) -> anyhow::Result<()> {
    let roll = rng.below(10);
    if roll < 3 || agents.is_empty() {
        return Ok(()); // untouched: waiting in the unassigned queue
    }
    let agent = agents[rng.below(agents.len())];
    let actor = Actor { user: agent.clone(), via: ActorVia::Session };
    let text = conversation.last_message_preview.to_lowercase();
    let mut labels = vec![];
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&["refund", "charged", "reembolso", "возврат", "退款", "επιστροφ"]) {
        labels.push("refund".to_owned());
    }
    if has(&["bag", "suitcase", "luggage", "багаж", "行李", "αποσκευ", "maleta"]) {
        labels.push("baggage".to_owned());
    }
    if has(&["delay", "late", "задерж", "延误", "καθυστέρ", "retras"]) {
        labels.push("delay".to_owned());
    }
    let team = teams.iter().find(|t| {
        if labels.iter().any(|l| l == "refund") {
            t.name.starts_with("Billing")
        } else {
            t.name.starts_with("Customer")
        }
    });
    app.update_conversation(
        &actor,
        &conversation.id,
        ConversationUpdate {
            assignee_id: Some(Some(agent.id.clone())),
            team_id: Some(team.map(|t| t.id.clone())),
            labels: Some(labels),
            ..Default::default()
        },
    )
    .await?;
    if roll < 5 {
        return Ok(()); // assigned, not answered yet
    }
    if roll == 5 {
        app.post_message(
            &actor,
            &conversation.id,
            NewMessage {
                visibility: Visibility::Note,
                text: "Checked the booking: rebooked on tomorrow's flight. @Sofia can you approve a voucher?".into(),
                template: None,
            },
        )
        .await?;
        if let Some(trainee) = users.iter().find(|u| u.role == Role::Trainee) {
            let trainee = Actor { user: trainee.clone(), via: ActorVia::Session };
            app.post_message(
                &trainee,
                &conversation.id,
                NewMessage {
                    visibility: Visibility::Private,
                    text: "Hello! I'm sorry for the trouble. Could you send me your booking reference?".into(),
                    template: None,
                },
            )
            .await?;
        }
        return Ok(());
    }
    // Personal, not a template: X also refuses the same text twice.
    let contact = app.contact(&actor, &conversation.contact_id).await.ok();
    let name = contact.as_ref().and_then(|c| {
        let first = c.display_name.split_whitespace().next();
        first.or_else(|| c.identities.iter().map(|i| i.handle.as_str()).find(|h| !h.is_empty()))
    });
    let text = reply_for(conversation.language.as_deref(), &conversation.last_message_preview);
    let reply = match name {
        Some(name) => format!("{name}, {text}"),
        None => text.to_owned(),
    };
    let visibility = if conversation.kind == ConversationKind::Public && rng.below(3) != 0 {
        Visibility::Public
    } else {
        Visibility::Private
    };
    app.post_message(&actor, &conversation.id, NewMessage { visibility, text: reply, template: None }).await?;
    let status = match roll {
        6 => ConversationStatus::Pending,
        7 | 8 => ConversationStatus::Resolved,
        _ => ConversationStatus::Open,
    };
    app.update_conversation(
        &actor,
        &conversation.id,
        ConversationUpdate { status: Some(status), ..Default::default() },
    )
    .await?;
    Ok(())
}

/// A reply in the customer's language as detected, or else guessed from the script.
fn reply_for(language: Option<&str>, text: &str) -> &'static str {
    if let Some((_, reply)) = language.and_then(|l| REPLIES.iter().find(|(lang, _)| *lang == l)) {
        return reply;
    }
    let has = |range: std::ops::RangeInclusive<char>| text.chars().any(|c| range.contains(&c));
    let language = if has('\u{0400}'..='\u{04FF}') {
        "ru"
    } else if has('\u{4E00}'..='\u{9FFF}') {
        "zh"
    } else if has('\u{0370}'..='\u{03FF}') {
        "el"
    } else if has('\u{0600}'..='\u{06FF}') {
        "ar"
    } else if text.contains('¿') || text.contains('¡') || text.contains('ñ') {
        "es"
    } else {
        "en"
    };
    REPLIES.iter().find(|(lang, _)| *lang == language).map_or(REPLIES[0].1, |(_, r)| r)
}

/// A small deterministic generator, so every demo looks the same.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const REPLIES: &[(&str, &str)] = &[
    (
        "en",
        "Hi, I'm sorry about this. I've checked your booking and I'm on it — could you send your booking reference in a private message so I can sort it out?",
    ),
    ("ru", "Здравствуйте! Очень сожалеем. Пришлите, пожалуйста, номер бронирования в личные сообщения — я разберусь."),
    ("uk", "Вітаємо! Перепрошуємо за незручності. Надішліть, будь ласка, номер бронювання в особисті повідомлення."),
    ("zh", "您好，非常抱歉给您带来不便。请私信告诉我们您的订单号，我们马上为您处理。"),
    ("el", "Καλησπέρα! Λυπούμαστε πολύ. Στείλτε μας τον αριθμό κράτησης σε προσωπικό μήνυμα και θα το τακτοποιήσουμε."),
    ("es", "¡Hola! Lo sentimos mucho. Envíanos tu número de reserva por mensaje privado y lo revisamos enseguida."),
    ("pt", "Olá! Lamentamos muito. Envie o número da reserva por mensagem privada para verificarmos."),
    (
        "fr",
        "Bonjour, toutes nos excuses. Envoyez-nous votre numéro de dossier en message privé et nous nous en occupons.",
    ),
    ("de", "Hallo, das tut uns leid. Schicken Sie uns bitte Ihre Buchungsnummer per Direktnachricht."),
    ("it", "Ciao, ci dispiace molto. Inviaci il codice di prenotazione in privato e verifichiamo subito."),
    ("ar", "مرحباً، نعتذر عن الإزعاج. يرجى إرسال رقم الحجز في رسالة خاصة لنتابع الأمر."),
    ("tr", "Merhaba, yaşadığınız sorun için üzgünüz. Rezervasyon numaranızı özel mesajla iletebilir misiniz?"),
];
