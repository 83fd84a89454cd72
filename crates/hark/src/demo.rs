//! The demo workspace: an airline's support team with agents, teams, labels,
//! channels on six networks and a few hundred conversations in a dozen
//! languages. Created once per data directory; later runs reuse it.
//!
//! The texts below were written for Hark's demo. They stand in for live
//! traffic until the platform sandbox feeds the demo.

use anyhow::Context;
use hark_app::{
    Actor, ActorVia, App, ChannelCreate, ConversationUpdate, InboundAuthor, InboundItem, IngestOutcome, LabelInput,
    NewMessage, TeamInput,
};
use hark_domain::*;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::storage::create_user;

pub const DEMO_PASSWORD: &str = "hark-demo-2026";
const OWNER_EMAIL: &str = "admin@demo.hark";

pub struct DemoLogin {
    pub email: String,
    pub password: String,
}

/// Creates the demo workspace unless this database already has one.
pub async fn prepare(app: &App, conversations: usize) -> anyhow::Result<DemoLogin> {
    let login = DemoLogin { email: OWNER_EMAIL.into(), password: DEMO_PASSWORD.into() };
    if !app.store.workspaces().await?.is_empty() {
        tracing::info!("demo workspace exists; reusing it");
        return Ok(login);
    }
    tracing::info!(conversations, "creating the demo workspace");
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
    let agents: Vec<&User> = users.iter().filter(|u| u.role == Role::Agent).collect();
    let team_of = |names: &[&str]| {
        users.iter().filter(|u| names.iter().any(|n| u.name.starts_with(n))).map(|u| u.id.clone()).collect::<Vec<_>>()
    };
    let care = app
        .create_team(
            &admin,
            TeamInput {
                name: "Customer care".into(),
                description: "First line on every network".into(),
                member_ids: team_of(&["Dmitri", "Mei", "Lucía", "Omar", "Tom"]),
            },
        )
        .await?;
    let billing = app
        .create_team(
            &admin,
            TeamInput {
                name: "Billing & refunds".into(),
                description: "Refunds, charges, vouchers".into(),
                member_ids: team_of(&["Sofia", "Omar"]),
            },
        )
        .await?;
    let _escalations = app
        .create_team(
            &admin,
            TeamInput {
                name: "Escalations".into(),
                description: "Senior agents for upset customers".into(),
                member_ids: team_of(&["Sofia", "Lucía"]),
            },
        )
        .await?;
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
    let mut channels = vec![];
    for (network, name, handle, external) in [
        (Network::X, "Northwind on X", "@northwind_help", "1600000000000000001"),
        (Network::Facebook, "Northwind Air page", "Northwind Air", "104857600000001"),
        (Network::Instagram, "Northwind on Instagram", "@northwindair", "17841400000000001"),
        (Network::Whatsapp, "Northwind WhatsApp", "+30 210 000 0000", "109876543210001"),
        (Network::Telegram, "Northwind bot", "@northwind_air_bot", "7000000001"),
        (Network::Vk, "Northwind VK", "northwind_air", "220000001"),
    ] {
        let input = ChannelCreate {
            network,
            name: name.into(),
            handle: handle.into(),
            external_id: external.into(),
            credentials: Some(
                json!({ "access_token": format!("demo-{network}-token") }).as_object().cloned().unwrap_or_default(),
            ),
            settings: json!({}),
        };
        channels.push(app.create_channel(&admin, input).await?);
    }

    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let now = Timestamp::now();
    for n in 0..conversations {
        let template = &TEMPLATES[rng.below(TEMPLATES.len())];
        let channel = &channels[rng.below(channels.len())];
        let kind = match channel.network {
            Network::Whatsapp | Network::Telegram => ConversationKind::Private,
            _ if rng.below(3) == 0 => ConversationKind::Private,
            _ => ConversationKind::Public,
        };
        let (first, last) = NAMES[rng.below(NAMES.len())];
        let customer = format!("{first} {last}");
        let handle = format!(
            "{}{}",
            first.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect::<String>(),
            rng.below(900) + 100
        );
        let minutes_ago = rng.below(7 * 24 * 60) as i64 + 1;
        let created_at = now.checked_sub(SignedDuration::from_mins(minutes_ago)).unwrap_or(now);
        let platform_user_id = format!("{}", 1_700_000_000_000_000_000u64 + rng.next() % 1_000_000_000_000);
        let thread = format!("{}", 1_800_000_000_000_000_000u64 + n as u64 * 7919);
        let text = template.text.replace("{order}", &format!("NW{}", 100_000 + rng.below(900_000)));
        let item = InboundItem {
            channel_id: channel.id.clone(),
            kind,
            platform_message_id: format!("{thread}1"),
            platform_thread_id: Some(thread.clone()),
            platform_parent_id: None,
            author: InboundAuthor { platform_user_id, handle: format!("@{handle}"), display_name: customer },
            text,
            attachments: vec![],
            created_at,
            language: Some(template.language.into()),
            sentiment: Some(template.sentiment),
            intent: Some(template.intent.into()),
        };
        let IngestOutcome::Created { conversation_id, .. } = app.ingest(item.clone()).await? else { continue };
        // Some customers write twice.
        if rng.below(4) == 0 {
            let follow_up = TEMPLATES
                .iter()
                .find(|t| t.language == template.language && t.intent == "question")
                .unwrap_or(template);
            let later =
                created_at.checked_add(SignedDuration::from_mins(rng.below(50) as i64 + 2)).unwrap_or(created_at);
            let second = InboundItem {
                platform_message_id: format!("{thread}2"),
                platform_parent_id: Some(format!("{thread}1")),
                text: follow_up.text.replace("{order}", "NW4711"),
                created_at: later.min(now),
                ..item
            };
            app.ingest(second).await?;
        }
        work_on(app, &mut rng, &conversation_id, template, &agents, &users, &care, &billing)
            .await
            .context("demo conversation")?;
    }
    tracing::info!("demo workspace ready");
    Ok(login)
}

/// Gives a demo conversation a plausible history: assignment, labels, a reply, a status.
#[allow(clippy::too_many_arguments)]
async fn work_on(
    app: &App,
    rng: &mut Rng,
    conversation_id: &str,
    template: &Template,
    agents: &[&User],
    users: &[User],
    care: &Team,
    billing: &Team,
) -> anyhow::Result<()> {
    let roll = rng.below(10);
    if roll < 3 {
        return Ok(()); // untouched: waiting in the unassigned queue
    }
    let agent = agents[rng.below(agents.len())];
    let actor = Actor { user: agent.clone(), via: ActorVia::Session };
    let team = if template.intent == "billing_refund" { billing } else { care };
    let mut labels = vec![];
    match template.intent {
        "billing_refund" => labels.push("refund".to_owned()),
        "order_delivery" => labels.push("baggage".to_owned()),
        "complaint" => labels.push("delay".to_owned()),
        "praise" => labels.push("praise".to_owned()),
        _ => {}
    }
    let priority = if template.sentiment == Sentiment::Negative { Some(Priority::High) } else { None };
    app.update_conversation(
        &actor,
        conversation_id,
        ConversationUpdate {
            assignee_id: Some(Some(agent.id.clone())),
            team_id: Some(Some(team.id.clone())),
            labels: Some(labels),
            priority,
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
            conversation_id,
            NewMessage {
                visibility: Visibility::Note,
                text: "Checked the booking: the customer is on NW412 tomorrow. @Sofia can you approve a voucher?"
                    .into(),
            },
        )
        .await?;
        if let Some(trainee) = users.iter().find(|u| u.role == Role::Trainee) {
            let trainee = Actor { user: trainee.clone(), via: ActorVia::Session };
            app.post_message(&trainee, conversation_id, NewMessage { visibility: Visibility::Private, text: "Hello! I'm sorry for the trouble. Could you send me your booking reference in a private message?".into() }).await?;
        }
        return Ok(());
    }
    let reply = if template.intent == "praise" {
        THANKS.iter().find(|(lang, _)| *lang == template.language).map_or(THANKS[0].1, |(_, r)| r)
    } else {
        REPLIES.iter().find(|(lang, _)| *lang == template.language).map_or(REPLIES[0].1, |(_, r)| r)
    };
    let conversation = app.conversation(&actor, conversation_id).await?;
    let visibility = if conversation.kind == ConversationKind::Public && rng.below(2) == 0 {
        Visibility::Public
    } else {
        Visibility::Private
    };
    app.post_message(&actor, conversation_id, NewMessage { visibility, text: reply.to_owned() }).await?;
    let status = match roll {
        6 => ConversationStatus::Pending,
        7 | 8 => ConversationStatus::Resolved,
        _ => ConversationStatus::Open,
    };
    app.update_conversation(&actor, conversation_id, ConversationUpdate { status: Some(status), ..Default::default() })
        .await?;
    Ok(())
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

struct Template {
    language: &'static str,
    sentiment: Sentiment,
    intent: &'static str,
    text: &'static str,
}

const fn t(language: &'static str, sentiment: Sentiment, intent: &'static str, text: &'static str) -> Template {
    Template { language, sentiment, intent, text }
}

use Sentiment::{Negative as Neg, Neutral as Neu, Positive as Pos};

const TEMPLATES: &[Template] = &[
    t(
        "en",
        Neg,
        "complaint",
        "@northwind_help flight NW412 delayed 4 hours and nobody at the gate says anything. This is ridiculous.",
    ),
    t("en", Neg, "order_delivery", "My suitcase didn't arrive in Athens. File reference ATH-{order}. Where is it??"),
    t("en", Neu, "question", "Hi, can I bring a second cabin bag on the Basic fare?"),
    t("en", Neg, "billing_refund", "I was charged twice for booking {order}. Please refund the duplicate."),
    t("en", Pos, "praise", "Huge thanks to the crew on NW88 yesterday, they looked after my grandmother so well 💙"),
    t(
        "en",
        Neg,
        "account_access",
        "Can't log into the app since the update, it says my password is wrong but reset emails never come.",
    ),
    t("en", Neu, "sales_lead", "We're a team of 40 flying to Lisbon in May. Do you have group fares?"),
    t("en", Neu, "technical_issue", "Online check-in keeps failing at the seat map step on Android."),
    t("ru", Neg, "complaint", "Рейс перенесли уже второй раз, и никто не отвечает по телефону. Ужасный сервис."),
    t("ru", Neg, "order_delivery", "Багаж потерялся при пересадке в Афинах, номер заявки {order}. Когда вернёте?"),
    t("ru", Neu, "question", "Подскажите, можно ли поменять дату вылета без доплаты?"),
    t("ru", Pos, "praise", "Спасибо экипажу рейса NW17, всё было отлично!"),
    t("uk", Neg, "billing_refund", "Скасували рейс, а гроші досі не повернули. Бронювання {order}."),
    t("uk", Neu, "question", "Чи можна взяти собаку в салон літака?"),
    t("zh", Neg, "complaint", "航班延误了五个小时，也没有任何补偿，太失望了。"),
    t("zh", Neu, "question", "请问行李额度是多少？经济舱可以带几件？"),
    t("zh", Neg, "order_delivery", "我的行李还没到，订单号 {order}，请尽快帮我查一下。"),
    t("zh", Pos, "praise", "空乘人员非常热情，下次还会选择你们！"),
    t("el", Neg, "complaint", "Η πτήση ακυρώθηκε χωρίς καμία ενημέρωση. Απαράδεκτο!"),
    t("el", Neu, "question", "Καλησπέρα, μπορώ να αλλάξω το όνομα στην κράτηση {order};"),
    t("el", Pos, "praise", "Ευχαριστώ πολύ για τη βοήθεια χθες στο αεροδρόμιο!"),
    t("es", Neg, "billing_refund", "Me cobraron el equipaje dos veces, reserva {order}. Quiero el reembolso ya."),
    t("es", Neu, "question", "¿Hasta qué hora puedo hacer el check-in online?"),
    t("es", Pos, "praise", "¡Vuelo puntual y tripulación encantadora! Gracias 🙌"),
    t("pt", Neg, "complaint", "Voo atrasado e ninguém explica nada. Péssimo atendimento."),
    t("pt", Neu, "question", "Posso levar carrinho de bebê sem custo extra?"),
    t("fr", Neg, "order_delivery", "Ma valise est arrivée cassée, dossier {order}. Comment être indemnisé ?"),
    t("fr", Neu, "question", "Bonjour, le repas est-il inclus sur le vol Paris-Athènes ?"),
    t("de", Neg, "billing_refund", "Flug gestrichen, Erstattung seit drei Wochen ausstehend. Buchung {order}."),
    t("de", Neu, "technical_issue", "Die Bordkarte lässt sich in der App nicht herunterladen."),
    t("it", Neg, "complaint", "Ritardo di tre ore e nessuna assistenza. Vergognoso."),
    t("it", Pos, "praise", "Personale gentilissimo, grazie Northwind!"),
    t("ar", Neg, "order_delivery", "حقيبتي لم تصل إلى أثينا، رقم الحجز {order}. أرجو المساعدة."),
    t("ar", Neu, "question", "هل يمكنني تغيير موعد الرحلة عبر التطبيق؟"),
    t("tr", Neg, "billing_refund", "Bilet iptal edildi ama param hâlâ iade edilmedi. Rezervasyon {order}."),
    t("tr", Neu, "question", "Evcil hayvanımı kabinde götürebilir miyim?"),
    t("en", Neu, "spam", "Earn $500 a day from home!!! DM me to learn how 💰💰"),
    t("en", Neu, "feedback", "Your new app layout is cleaner but the booking search is slower than before."),
];

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

const THANKS: &[(&str, &str)] = &[
    ("en", "Thank you so much for the kind words! We'll pass them on to the crew."),
    ("ru", "Спасибо за тёплые слова! Обязательно передадим экипажу."),
    ("zh", "非常感谢您的认可！我们会转达给机组人员。"),
    ("el", "Σας ευχαριστούμε πολύ! Θα το μεταφέρουμε στην ομάδα μας."),
    ("es", "¡Muchas gracias! Se lo haremos llegar a la tripulación."),
    ("it", "Grazie mille! Lo riferiremo all'equipaggio."),
];

const NAMES: &[(&str, &str)] = &[
    ("Emma", "Wilson"),
    ("Liam", "Carter"),
    ("Olga", "Smirnova"),
    ("Ivan", "Petrov"),
    ("Oksana", "Kovalenko"),
    ("Wei", "Zhang"),
    ("Xiu", "Li"),
    ("Eleni", "Georgiou"),
    ("Giorgos", "Nikolaou"),
    ("Carmen", "López"),
    ("Mateo", "Fernández"),
    ("João", "Silva"),
    ("Ana", "Costa"),
    ("Camille", "Durand"),
    ("Lukas", "Müller"),
    ("Giulia", "Rossi"),
    ("Layla", "Hassan"),
    ("Yusuf", "Aydın"),
    ("Priya", "Sharma"),
    ("Noah", "Brown"),
];
