//! Simulated customers: a small cast of personas and the things they write,
//! in English, Russian, Chinese, Greek and Spanish — complaints, questions,
//! praise, orders and deliveries, refunds, account access, and some public
//! posts that carry personal data (phone numbers, e-mails, card-like numbers)
//! which a care team must spot and move to a private channel.

use crate::clock::DetRng;
use crate::model::{Customer, CustomerAction, PublishedKind, SandboxError, SimNetwork};
use crate::state::World;

/// (language, text). All texts were written for the sandbox.
const TEXTS: &[(&str, &str)] = &[
    ("en", "My order #4471 never arrived, can you check?"),
    ("en", "Third time asking: where is my refund? It's been three weeks."),
    ("en", "The app keeps logging me out every five minutes since the update."),
    ("en", "Just wanted to say the new store on Baker St is lovely, great staff!"),
    ("en", "Is the Baker St store open on Sunday?"),
    ("en", "I was charged twice for the same order. Please fix this today."),
    ("en", "Can I change the delivery address for order 5120? I moved last week."),
    ("en", "Password reset email never comes. I can't get into my account at all."),
    ("en", "Your courier left my parcel in the rain. Everything inside is soaked."),
    ("en", "Do you ship to Canada? Couldn't find it in the FAQ."),
    ("en", "Thanks for sorting out my exchange so quickly, much appreciated 🙏"),
    ("en", "Call me back please, my number is +44 7700 900123, it's about my refund."),
    ("en", "Here is my card so you can refund it: 4539 1488 0343 6467, exp 09/28"),
    ("en", "my email is dana.r@example.com, please send the invoice there"),
    ("ru", "Здравствуйте, где мой заказ 4471? Уже неделю жду."),
    ("ru", "Списали деньги дважды за один заказ, верните, пожалуйста."),
    ("ru", "Не могу войти в личный кабинет, код из СМС не приходит."),
    ("ru", "Доставка в Казань есть? Сколько по времени?"),
    ("ru", "Спасибо курьеру Алексею, всё привёз вовремя и вежливо!"),
    ("ru", "Возврат оформил 10 дней назад, а денег до сих пор нет."),
    ("ru", "Позвоните мне: +7 912 345-67-89, хочу отменить заказ."),
    ("ru", "Приложение вылетает при оплате картой, что делать?"),
    ("zh", "你好，我的订单4471还没到，能帮我查一下吗？"),
    ("zh", "退款申请已经两周了，还没有收到钱。"),
    ("zh", "账号被锁了，登录一直提示密码错误。"),
    ("zh", "请问周末门店营业吗？"),
    ("zh", "快递员态度很好，包装也很仔细，点赞！"),
    ("zh", "我的手机号是13800138000，请尽快联系我处理换货。"),
    ("zh", "同一个订单扣了两次款，请核实。"),
    ("el", "Γεια σας, η παραγγελία μου 4471 δεν έχει φτάσει ακόμα."),
    ("el", "Περιμένω την επιστροφή χρημάτων εδώ και τρεις εβδομάδες."),
    ("el", "Δεν μπορώ να συνδεθώ στον λογαριασμό μου μετά την ενημέρωση."),
    ("el", "Στέλνετε και στην Κρήτη; Πόσο κοστίζουν τα μεταφορικά;"),
    ("el", "Ευχαριστώ πολύ για τη γρήγορη εξυπηρέτηση!"),
    ("el", "Το email μου είναι maria.k@example.gr, στείλτε μου την απόδειξη."),
    ("es", "Hola, mi pedido 4471 todavía no ha llegado, ¿me ayudan?"),
    ("es", "¿Cuándo me devuelven el dinero? Ya pasaron tres semanas."),
    ("es", "No puedo entrar en mi cuenta, el código de verificación no llega."),
    ("es", "¿Hacen envíos a Canarias? ¿Cuánto tarda?"),
    ("es", "¡Muchas gracias! El cambio de talla fue rapidísimo."),
    ("es", "Me cobraron dos veces el mismo pedido, por favor revísenlo."),
    ("es", "Mi teléfono es +34 612 345 678, llámenme por la devolución."),
    ("es", "Les paso mi tarjeta para el reembolso (¡es urgente!): 5500 0000 0000 0004"),
    ("es", "El repartidor dejó el paquete en la portería y ahora no aparece."),
];

struct Persona {
    lang: &'static str,
    name: &'static str,
    handle: &'static str,
    phone: &'static str,
}

const PERSONAS: &[Persona] = &[
    Persona { lang: "en", name: "Dana R", handle: "dana_r", phone: "447700900123" },
    Persona { lang: "en", name: "Tom Becker", handle: "tombecker", phone: "447700900456" },
    Persona { lang: "en", name: "Priya Shah", handle: "priya.shah", phone: "15550100777" },
    Persona { lang: "ru", name: "Ольга Смирнова", handle: "olga_sm", phone: "79123456789" },
    Persona { lang: "ru", name: "Дмитрий Волков", handle: "dvolkov", phone: "79261234567" },
    Persona { lang: "zh", name: "王伟", handle: "wang_wei", phone: "8613800138000" },
    Persona { lang: "zh", name: "李娜", handle: "li_na88", phone: "8613912345678" },
    Persona { lang: "el", name: "Γιώργος Παπαδόπουλος", handle: "giorgos_p", phone: "306912345678" },
    Persona { lang: "el", name: "Μαρία Κ", handle: "maria.k", phone: "306987654321" },
    Persona { lang: "es", name: "Lucía Fernández", handle: "lucia_fz", phone: "34612345678" },
    Persona { lang: "es", name: "Carlos Ruiz", handle: "carlos.ruiz", phone: "5215512345678" },
];

/// Number of distinct texts.
#[cfg(test)]
fn text_count() -> usize {
    TEXTS.len()
}

/// A rough language guess from the script and a few Spanish marks.
pub(crate) fn guess_lang(text: &str) -> &'static str {
    let has = |range: std::ops::RangeInclusive<u32>| text.chars().any(|c| range.contains(&(c as u32)));
    if has(0x0400..=0x04ff) {
        "ru"
    } else if has(0x4e00..=0x9fff) {
        "zh"
    } else if has(0x0370..=0x03ff) {
        "el"
    } else if text.chars().any(|c| "ñ¿¡áéíóú".contains(c)) {
        "es"
    } else {
        "en"
    }
}

/// The persona's id on a network: X user id, PSID, IGSID, phone, Telegram or VK user id.
fn customer_for(persona_index: usize, network: SimNetwork) -> Customer {
    let persona = &PERSONAS[persona_index % PERSONAS.len()];
    let n = persona_index % PERSONAS.len();
    let id = match network {
        SimNetwork::X => format!("9123456{n:02}"),
        SimNetwork::Facebook => format!("70100000000000{n:02}"),
        SimNetwork::Instagram => format!("17900000000000{n:02}"),
        SimNetwork::Whatsapp => persona.phone.to_string(),
        SimNetwork::Telegram => format!("998877{n:02}"),
        SimNetwork::Vk => format!("5123456{n:02}"),
    };
    Customer::new(id, persona.handle, persona.name)
}

fn text_for(rng: &mut DetRng, lang: &str) -> String {
    let own: Vec<&str> = TEXTS.iter().filter(|(l, _)| *l == lang).map(|(_, t)| *t).collect();
    rng.pick(&own).copied().unwrap_or(TEXTS[0].1).to_string()
}

/// A realistic action on one of the registered accounts, reproducible from `seed`.
pub(crate) fn random_action(world: &World, seed: u64) -> Result<CustomerAction, SandboxError> {
    let mut rng = DetRng::new(seed);
    let account = rng.pick(&world.accounts).cloned().ok_or(SandboxError::NoAccounts)?;
    let persona_index = rng.below(PERSONAS.len() as u64) as usize;
    let customer = customer_for(persona_index, account.network);
    let text = text_for(&mut rng, PERSONAS[persona_index].lang);
    let brand = Some(account.external_id.clone());
    let roll = rng.below(100);
    let action = match account.network {
        SimNetwork::X => match last_brand_reply(world, &account.external_id, &customer.id) {
            Some(tweet) if roll < 30 => CustomerAction::XReply { account: brand, customer, in_reply_to: tweet, text },
            _ if roll < 65 => CustomerAction::XMention { account: brand, customer, text },
            _ => CustomerAction::XDirectMessage { account: brand, customer, text },
        },
        SimNetwork::Facebook => match roll {
            0..45 => CustomerAction::FacebookComment {
                account: brand,
                customer,
                post_id: None,
                parent_comment_id: None,
                text,
            },
            45..90 => CustomerAction::MessengerMessage { account: brand, customer, text, reply_to_mid: None },
            _ => CustomerAction::FacebookVisitorPost { account: brand, customer, text },
        },
        SimNetwork::Instagram if roll < 40 => {
            CustomerAction::InstagramComment { account: brand, customer, media_id: None, parent_comment_id: None, text }
        }
        SimNetwork::Instagram if roll < 80 => CustomerAction::InstagramMessage { account: brand, customer, text },
        SimNetwork::Instagram => CustomerAction::InstagramMention {
            account: brand,
            customer,
            text: format!("@{} {text}", account.handle.trim_start_matches('@')),
            in_comment: roll >= 90,
        },
        SimNetwork::Whatsapp => CustomerAction::WhatsappMessage {
            account: brand,
            customer,
            text,
            bsuid: None,
            hide_phone: roll < 10,
            context_message_id: None,
            with_image: (10..15).contains(&roll),
        },
        SimNetwork::Telegram if roll < 70 => {
            CustomerAction::TelegramPrivateMessage { account: brand, customer, text, reply_to_message_id: None }
        }
        SimNetwork::Telegram => CustomerAction::TelegramGroupMessage {
            account: brand,
            customer,
            chat_id: None,
            chat_title: Some("ACME Customers".into()),
            text: format!("@{} {text}", account.handle.trim_start_matches('@')),
            reply_to_message_id: None,
        },
        SimNetwork::Vk if roll < 60 => CustomerAction::VkMessage { account: brand, customer, text },
        SimNetwork::Vk => {
            CustomerAction::VkWallComment { account: brand, customer, post_id: None, reply_to_comment: None, text }
        }
    };
    Ok(action)
}

/// The brand's latest public reply to this customer, to continue the thread.
fn last_brand_reply(world: &World, brand: &str, customer: &str) -> Option<String> {
    world
        .published
        .iter()
        .rev()
        .find(|p| {
            p.network == SimNetwork::X
                && p.account_id == brand
                && p.kind == PublishedKind::Reply
                && p.recipient.as_deref() == Some(customer)
        })
        .map(|p| p.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_covers_five_languages_and_personal_data() {
        assert!(text_count() >= 40);
        for lang in ["en", "ru", "zh", "el", "es"] {
            assert!(TEXTS.iter().filter(|(l, _)| *l == lang).count() >= 5, "{lang}");
            assert!(TEXTS.iter().all(|(l, t)| *l != lang || guess_lang(t) == lang || lang == "en"), "{lang}");
        }
        assert!(TEXTS.iter().any(|(_, t)| t.contains('@') && t.contains(".com")));
        assert!(TEXTS.iter().any(|(_, t)| t.contains("4539 1488")));
        let mut unique: Vec<&str> = TEXTS.iter().map(|(_, t)| *t).collect();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), TEXTS.len());
    }
}
