//! The search benchmark, for `hark bench`: a multilingual customer-care corpus of any size
//! built into a fresh index on disk, then query latency in four scripts.
//!
//! ```no_run
//! # async fn f() -> Result<(), hark_search::SearchError> {
//! let figures = hark_search::bench::run(1_000_000, 2_000).await?;
//! println!("{figures}");
//! # Ok(()) }
//! ```
//!
//! What it reports (one JSON object):
//! - `build`: messages indexed per second through [`crate::rebuild`] (the corpus is
//!   generated on the fly by a [`Feed`], so generation is inside the figure), the seconds
//!   spent, the index's size on disk once background merges settle, and its segments.
//! - `queries`: latency percentiles (p50, p95, p99, max, in ms) over `queries` searches,
//!   overall, per script (`en`, `ru`, `zh`, `el`) and per mode: `newest`, `relevance`,
//!   `filtered` (newest first within two channels, public only, the last 90 days) and
//!   `conversations` (grouped, newest first). Each search is the whole call: query
//!   building, collection, stored fields and snippets of the 20 hits on the page.
//! - `memory`: resident set size after the build and after the queries, and its peak.
//!
//! The corpus is deterministic (a fixed seed): ~30 % English, 15 % Russian, 12 % Chinese,
//! 8 % Greek, 10 % Spanish and the rest Portuguese, French, German, Turkish and Arabic;
//! one to three sentences of a support exchange each, with names, cities, order and
//! flight numbers, some emoji, hashtags and handles; 8 messages per conversation on
//! average, 12 channels on six networks, a year of timestamps; 95 % in one workspace.

use std::path::Path;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::document::{Direction, MessageDoc, SearchError, Visibility};
use crate::index::{IndexOptions, SearchIndex};
use crate::indexer::{ChangeBatch, Feed, FeedError, IndexerOptions, rebuild_with};
use crate::search::{Filters, Page, SortOrder};

/// The workspace nearly every generated message belongs to (the one searched).
pub const WORKSPACE: &str = "ws-bench";
const OTHER_WORKSPACE: &str = "ws-other";
const SEED: u64 = 0x4841_524b_5345_4152;
const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;
const START_MS: i64 = 1_767_225_600_000; // 2026-01-01
const NETWORKS: [&str; 6] = ["x", "facebook", "instagram", "whatsapp", "telegram", "vk"];

/// Builds a corpus of `docs` messages in a temporary directory and measures `queries`
/// searches; the directory is removed afterwards.
pub async fn run(docs: usize, queries: usize) -> Result<Value, SearchError> {
    let dir = tempfile::Builder::new().prefix("hark-search-bench").tempdir()?;
    run_in(dir.path(), docs, queries).await
}

/// [`run`] with the index in `dir` (which should be empty), kept afterwards.
pub async fn run_in(dir: &Path, docs: usize, queries: usize) -> Result<Value, SearchError> {
    let index = SearchIndex::open(dir, &IndexOptions::default())?;
    let feed = CorpusFeed { docs };
    let pacing = IndexerOptions { rebuild_page: 10_000, rebuild_commit_every: 2_000_000, ..IndexerOptions::default() };
    let report = rebuild_with(&index, &feed, &pacing).await?;
    let settle_started = Instant::now();
    // Merges of a small index are over at once; a large one takes a while to settle.
    let quiet = Duration::from_millis(if docs < 100_000 { 300 } else { 5000 });
    let segments = settle(&index, quiet).await?;
    let settle_seconds = settle_started.elapsed().as_secs_f64();
    let index_bytes = dir_size(dir)?;
    let rss_after_build = memory("VmRSS");

    let searcher = index.clone();
    let measured = tokio::task::spawn_blocking(move || measure(&searcher, docs, queries))
        .await
        .map_err(|e| SearchError::Task(e.to_string()))??;

    Ok(json!({
        "benchmark": "search",
        "docs": docs,
        "build": {
            "seconds": round(report.seconds),
            "docs_per_s": report.documents_per_second.round(),
            "merge_settle_seconds": round(settle_seconds),
            "index_bytes": index_bytes,
            "index_mb": round(index_bytes as f64 / 1e6),
            "segments": segments,
            "writer_memory_mb": IndexOptions::default().writer_memory_bytes >> 20,
            "writer_threads": IndexOptions::default().writer_threads,
        },
        "queries": measured,
        "memory": {
            "rss_after_build_mb": rss_after_build,
            "rss_after_queries_mb": memory("VmRSS"),
            "peak_rss_mb": memory("VmHWM"),
        },
    }))
}

/// Waits until background merges leave the segments alone for `quiet` (at most 20 minutes), then
/// collects the files they left behind; returns the number of segments.
async fn settle(index: &SearchIndex, quiet: Duration) -> Result<usize, SearchError> {
    let deadline = Instant::now() + Duration::from_secs(1200);
    let mut last = index.segment_count()?;
    let mut stable_since = Instant::now();
    while Instant::now() < deadline && stable_since.elapsed() < quiet {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = index.segment_count()?;
        if now != last {
            last = now;
            stable_since = Instant::now();
        }
    }
    let gc = index.clone();
    tokio::task::spawn_blocking(move || gc.collect_garbage()).await.map_err(|e| SearchError::Task(e.to_string()))??;
    Ok(last)
}

fn dir_size(dir: &Path) -> Result<u64, SearchError> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() { dir_size(&entry.path())? } else { meta.len() };
    }
    Ok(total)
}

/// A field of /proc/self/status in MB, where there is one.
fn memory(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(round(kb / 1024.0))
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The searches a support agent makes, by script.
fn query_set(docs: usize) -> Vec<(&'static str, String)> {
    let mut set: Vec<(&'static str, String)> = Vec::new();
    let words = [
        (
            "en",
            &[
                "refund",
                "lost luggage",
                "delayed flight",
                "\"boarding pass\"",
                "cancel",
                "lugg",
                "compensation",
                "wifi not working",
                "#lostluggage",
                "refu",
            ][..],
        ),
        (
            "ru",
            &["багаж", "возврат денег", "задержка рейса", "посыл", "\"не пришла\"", "компенсация", "отмен", "ёлка"][..],
        ),
        ("zh", &["行李", "退款", "航班", "延误", "客服", "我的行李", "票", "取消"][..]),
        (
            "el",
            &["καθυστέρηση", "αποσκευή", "επιστροφή χρημάτων", "πτήσ", "ακύρωση", "εισιτήριο", "ΚΑΘΥΣΤΕΡΗΣΗ πτήσης"][..],
        ),
    ];
    for (script, list) in words {
        set.extend(list.iter().map(|q| (script, (*q).to_owned())));
    }
    // Exact order numbers that occur in the corpus, one per Latin and Cyrillic script.
    let mut rng = Rng(SEED ^ 0x5157);
    let mut found = 0;
    for _ in 0..200 {
        if found == 4 || docs == 0 {
            break;
        }
        let i = rng.below(docs as u64) as usize;
        let doc = generate(i, docs);
        if doc.workspace_id != WORKSPACE {
            continue;
        }
        let Some(order) = doc.text.split_whitespace().find(|w| is_order_number(w)) else { continue };
        let script = if doc.language.as_deref() == Some("ru") { "ru" } else { "en" };
        set.push((script, order.trim_matches(|c: char| !c.is_alphanumeric()).to_owned()));
        found += 1;
    }
    set
}

fn is_order_number(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric());
    w.len() == 8 && w.chars().take(2).all(|c| c.is_ascii_uppercase()) && w.chars().skip(2).all(|c| c.is_ascii_digit())
}

#[derive(Clone, Copy)]
enum Mode {
    Newest,
    Relevance,
    Filtered,
    Conversations,
}

impl Mode {
    const ALL: [Mode; 4] = [Mode::Newest, Mode::Relevance, Mode::Filtered, Mode::Conversations];

    fn name(self) -> &'static str {
        match self {
            Mode::Newest => "newest",
            Mode::Relevance => "relevance",
            Mode::Filtered => "filtered",
            Mode::Conversations => "conversations",
        }
    }
}

fn measure(index: &SearchIndex, docs: usize, queries: usize) -> Result<Value, SearchError> {
    let set = query_set(docs);
    let filtered = Filters {
        channel_ids: vec!["ch-00".into(), "ch-05".into()],
        visibilities: vec![Visibility::Public],
        created_from: Some(START_MS + YEAR_MS - 90 * 24 * 3600 * 1000),
        ..Filters::default()
    };
    let newest = Page { order: SortOrder::Newest, limit: 20, offset: 0 };
    let relevance = Page { order: SortOrder::Relevance, ..newest };
    let run_one = |q: &str, mode: Mode| -> Result<(usize, bool), SearchError> {
        let counted = |r: crate::search::SearchResults| (r.total, r.total_exact);
        Ok(match mode {
            Mode::Newest => counted(index.search(WORKSPACE, q, &Filters::default(), newest)?),
            Mode::Relevance => counted(index.search(WORKSPACE, q, &Filters::default(), relevance)?),
            Mode::Filtered => counted(index.search(WORKSPACE, q, &filtered, newest)?),
            Mode::Conversations => {
                let r = index.search_conversations(WORKSPACE, q, &Filters::default(), newest)?;
                (r.total_messages, r.total_exact)
            }
        })
    };

    // One untimed pass: what each query matches ("2000+": at least that many, the search
    // stopped early), and a warm start.
    let mut examples = serde_json::Map::new();
    for (script, q) in &set {
        let (total, exact) = run_one(q, Mode::Relevance)?;
        examples.insert(format!("{script}: {q}"), json!(format!("{total}{}", if exact { "" } else { "+" })));
    }

    let mut all = Vec::with_capacity(queries);
    let mut by_script: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    let mut by_mode: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    // Scripts take turns, so that any number of queries covers all four.
    let mut per_script: std::collections::BTreeMap<&str, Vec<(&str, Mode)>> = Default::default();
    for (script, q) in &set {
        per_script.entry(script).or_default().extend(Mode::ALL.iter().map(|m| (q.as_str(), *m)));
    }
    let longest = per_script.values().map(Vec::len).max().unwrap_or(0);
    let combos: Vec<(&str, &str, Mode)> = (0..longest)
        .flat_map(|n| per_script.iter().filter_map(move |(s, list)| list.get(n).map(|&(q, m)| (*s, q, m))))
        .collect();
    for n in 0..queries {
        let Some(&(script, q, mode)) = combos.get(n % combos.len().max(1)) else { break };
        let started = Instant::now();
        run_one(q, mode)?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        all.push(ms);
        by_script.entry(script).or_default().push(ms);
        by_mode.entry(mode.name()).or_default().push(ms);
    }
    let table = |m: std::collections::BTreeMap<&str, Vec<f64>>| -> Value {
        Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), percentiles(v))).collect())
    };
    Ok(json!({
        "count": all.len(),
        "latency_ms": percentiles(all),
        "by_script": table(by_script),
        "by_mode": table(by_mode),
        "matches": examples,
    }))
}

fn percentiles(mut ms: Vec<f64>) -> Value {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| -> f64 {
        if ms.is_empty() {
            return 0.0;
        }
        let i = ((ms.len() as f64 * p).ceil() as usize).clamp(1, ms.len()) - 1;
        (ms[i] * 100.0).round() / 100.0
    };
    json!({ "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": at(1.0), "n": ms.len() })
}

/// The corpus as a feed: documents are generated when asked for, so any size fits in memory.
pub struct CorpusFeed {
    pub docs: usize,
}

#[async_trait]
impl Feed for CorpusFeed {
    async fn changes_after(&self, cursor: i64, _limit: usize) -> Result<ChangeBatch, FeedError> {
        Ok(ChangeBatch { changes: Vec::new(), read_to: cursor })
    }

    async fn head(&self) -> Result<i64, FeedError> {
        Ok(0)
    }

    async fn documents_after(&self, key: Option<&str>, limit: usize) -> Result<Vec<MessageDoc>, FeedError> {
        let start = match key {
            None => 0,
            Some(k) => k.trim_start_matches('m').parse::<usize>()? + 1,
        };
        Ok((start..self.docs.min(start.saturating_add(limit))).map(|i| generate(i, self.docs)).collect())
    }
}

/// SplitMix64: small, fast, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One language's material: sentences with `{name}`, `{order}`, `{flight}`, `{city}`,
/// `{days}` and `{item}` slots, and what fills them.
struct Language {
    code: &'static str,
    weight: u64,
    sentences: &'static [&'static str],
    names: &'static [&'static str],
    items: &'static [&'static str],
    cities: &'static [&'static str],
}

const LANGUAGES: &[Language] = &[
    Language {
        code: "en",
        weight: 30,
        sentences: &[
            "Hi, my luggage was lost on flight {flight} to {city}.",
            "I still haven't received my refund for order {order}.",
            "Your app keeps crashing when I try to check in.",
            "Can I change my booking to {days} days later?",
            "The flight was delayed for {days} hours and nobody told us anything.",
            "Please cancel my order {order}, I don't need the {item} anymore.",
            "Thanks {name}, that solved it!",
            "Where is my boarding pass? I can't find it in the email.",
            "I want compensation for the delayed flight {flight}.",
            "The wifi not working on board was really annoying.",
            "My {item} arrived damaged, what should I do?",
            "We have escalated your case to our baggage team, {name}.",
            "Sorry for the trouble, could you DM us your booking reference?",
            "Is there a lounge at {city} airport?",
            "Worst customer service ever, waiting {days} days for an answer.",
            "Great crew on {flight} today, thank you!",
        ],
        names: &["Emma", "Oliver", "Liam", "Sophia", "Noah", "Ava", "James", "Mia", "Lucas", "Chloe"],
        items: &["suitcase", "backpack", "laptop", "phone", "stroller", "guitar", "headphones", "jacket"],
        cities: &["London", "Madrid", "Athens", "Berlin", "New York", "Dubai", "Lisbon", "Istanbul"],
    },
    Language {
        code: "ru",
        weight: 15,
        sentences: &[
            "Здравствуйте, мой багаж потерялся на рейсе {flight} в {city}.",
            "Возврат денег за заказ {order} до сих пор не пришёл.",
            "Задержка рейса {days} часа, никто ничего не объясняет.",
            "Посылка не пришла уже {days} дней, номер заказа {order}.",
            "Спасибо, {name}, всё решилось!",
            "Хочу отменить бронирование, как это сделать?",
            "Требую компенсацию за задержку рейса {flight}.",
            "Ваше приложение не работает, не могу зарегистрироваться на рейс.",
            "Мой {item} приехал сломанным.",
            "Мы передали ваше обращение в службу багажа, {name}.",
            "Купили ёлку на распродаже, а доставку так и не привезли.",
            "Когда будет отмена рейса в {city}?",
        ],
        names: &["Анна", "Иван", "Мария", "Дмитрий", "Ольга", "Сергей", "Екатерина", "Алексей"],
        items: &["чемодан", "рюкзак", "ноутбук", "телефон", "коляска", "планшет"],
        cities: &["Москву", "Казань", "Сочи", "Новосибирск", "Стамбул", "Ереван"],
    },
    Language {
        code: "zh",
        weight: 12,
        sentences: &[
            "你好，我的行李在{flight}航班上丢了。",
            "订单{order}的退款什么时候到账？",
            "航班延误了{days}个小时，没有任何通知。",
            "我想取消预订，请问怎么操作？",
            "客服电话一直打不通。",
            "谢谢{name}，问题解决了！",
            "我的{item}到了以后是坏的。",
            "机票改签需要多少钱？",
            "去{city}的航班为什么取消了？",
            "我们已经把您的问题转给行李部门了。",
        ],
        names: &["王伟", "李娜", "张敏", "刘洋", "陈静", "杨帆"],
        items: &["行李箱", "背包", "手机", "电脑", "婴儿车"],
        cities: &["北京", "上海", "广州", "成都", "香港", "雅典"],
    },
    Language {
        code: "el",
        weight: 8,
        sentences: &[
            "Γεια σας, η αποσκευή μου χάθηκε στην πτήση {flight}.",
            "Περιμένω ακόμα την επιστροφή χρημάτων για την παραγγελία {order}.",
            "Η καθυστέρηση της πτήσης ήταν {days} ώρες.",
            "Θέλω ακύρωση της κράτησης μου για {city}.",
            "Ευχαριστώ πολύ {name}, λύθηκε!",
            "Δεν βρίσκω το εισιτήριο μου στο email.",
            "Η {item} μου έφτασε χαλασμένη.",
            "ΚΑΘΥΣΤΕΡΗΣΗ ΞΑΝΑ, απαράδεκτο!",
        ],
        names: &["Γιώργος", "Μαρία", "Νίκος", "Ελένη", "Δημήτρης", "Κατερίνα"],
        items: &["βαλίτσα", "τσάντα", "συσκευή"],
        cities: &["Αθήνα", "Θεσσαλονίκη", "Ηράκλειο", "Ρόδο"],
    },
    Language {
        code: "es",
        weight: 10,
        sentences: &[
            "Hola, mi equipaje se perdió en el vuelo {flight} a {city}.",
            "Todavía no he recibido el reembolso del pedido {order}.",
            "El vuelo salió con {days} horas de retraso.",
            "Quiero cancelar mi reserva, ¿cómo lo hago?",
            "Gracias {name}, ¡ya está solucionado!",
            "Mi {item} llegó roto.",
        ],
        names: &["Lucía", "Mateo", "Sofía", "Hugo", "Martina", "Pablo"],
        items: &["maleta", "mochila", "móvil", "portátil"],
        cities: &["Madrid", "Barcelona", "Sevilla", "México", "Bogotá"],
    },
    Language {
        code: "pt",
        weight: 5,
        sentences: &[
            "Olá, minha bagagem foi extraviada no voo {flight}.",
            "Ainda não recebi o reembolso do pedido {order}.",
            "O voo atrasou {days} horas, que decepção.",
            "Obrigado {name}, resolvido!",
        ],
        names: &["João", "Ana", "Pedro", "Beatriz"],
        items: &["mala", "mochila", "celular"],
        cities: &["Lisboa", "Porto", "São Paulo"],
    },
    Language {
        code: "fr",
        weight: 5,
        sentences: &[
            "Bonjour, ma valise a été perdue sur le vol {flight}.",
            "Je n'ai toujours pas reçu le remboursement de la commande {order}.",
            "Le vol a été retardé de {days} heures, c'est inacceptable.",
            "Merci {name}, c'est réglé !",
        ],
        names: &["Léa", "Hugo", "Chloé", "Théo"],
        items: &["valise", "sac", "téléphone"],
        cities: &["Paris", "Lyon", "Marseille", "Genève"],
    },
    Language {
        code: "de",
        weight: 5,
        sentences: &[
            "Hallo, mein Gepäck ist auf dem Flug {flight} verloren gegangen.",
            "Ich warte immer noch auf die Erstattung für Bestellung {order}.",
            "Der Flug hatte {days} Stunden Verspätung.",
            "Danke {name}, das hat geholfen!",
        ],
        names: &["Lena", "Jonas", "Müller", "Jürgen"],
        items: &["Koffer", "Rucksack", "Handy"],
        cities: &["München", "Düsseldorf", "Köln", "Zürich"],
    },
    Language {
        code: "tr",
        weight: 4,
        sentences: &[
            "Merhaba, {flight} uçuşunda bavulum kayboldu.",
            "{order} numaralı siparişin iadesi hâlâ gelmedi.",
            "Uçuş {days} saat rötar yaptı.",
            "Teşekkürler {name}, sorun çözüldü!",
        ],
        names: &["Ayşe", "Mehmet", "İbrahim", "Çağla"],
        items: &["bavul", "çanta", "telefon"],
        cities: &["İstanbul", "Ankara", "İzmir"],
    },
    Language {
        code: "ar",
        weight: 3,
        sentences: &[
            "مرحبا، فقدت حقيبتي في الرحلة {flight}.",
            "لم أستلم استرداد المبلغ للطلب {order} حتى الآن.",
            "تأخرت الرحلة {days} ساعات.",
            "شكرًا {name}، تم حل المشكلة!",
        ],
        names: &["أحمد", "فاطمة", "محمد", "ليلى"],
        items: &["حقيبة", "هاتف"],
        cities: &["دبي", "القاهرة", "الرياض"],
    },
];

const EMOJI: &[&str] = &["😡", "🙏", "👍", "😢", "✈️", "🧳", "❤️", "🤬", "😊"];
const TAGS: &[&str] = &["#lostluggage", "#fail", "#refund", "#travel", "#customerservice", "#航班延误", "#багаж"];
const HANDLES: &[&str] = &["@AirHark", "@HarkSupport", "@travel_news"];

/// Message `i` of the corpus: the same every time.
pub fn generate(i: usize, docs: usize) -> MessageDoc {
    let mut rng = Rng(SEED ^ (i as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let total: u64 = LANGUAGES.iter().map(|l| l.weight).sum();
    let mut roll = rng.below(total);
    let language = LANGUAGES
        .iter()
        .find(|l| {
            let hit = roll < l.weight;
            roll = roll.saturating_sub(l.weight);
            hit
        })
        .unwrap_or(&LANGUAGES[0]);

    let mut text = String::new();
    for n in 0..1 + rng.below(3) {
        if n > 0 {
            text.push(' ');
        }
        let sentence = rng.pick(language.sentences);
        fill(sentence, language, &mut rng, &mut text);
    }
    if rng.chance(15) {
        text.push(' ');
        text.push_str(rng.pick(EMOJI));
    }
    if rng.chance(8) {
        text.push(' ');
        text.push_str(rng.pick(TAGS));
    }
    if rng.chance(6) {
        text.insert_str(0, &format!("{} ", rng.pick(HANDLES)));
    }

    let channel = rng.below(12);
    let conversation = i / 8 + (rng.below(3) as usize); // neighbours share conversations
    let visibility = match rng.below(100) {
        0..=59 => Visibility::Public,
        60..=94 => Visibility::Private,
        _ => Visibility::Note,
    };
    let direction = if rng.chance(70) { Direction::Inbound } else { Direction::Outbound };
    MessageDoc {
        message_id: format!("m{i:010}"),
        conversation_id: format!("c{conversation:09}"),
        workspace_id: if rng.chance(5) { OTHER_WORKSPACE } else { WORKSPACE }.to_owned(),
        channel_id: format!("ch-{channel:02}"),
        network: NETWORKS[(channel % 6) as usize].to_owned(),
        visibility,
        direction,
        author: if direction == Direction::Inbound {
            format!("contact-{}", conversation % 200_000)
        } else {
            format!("user-{}", rng.below(40))
        },
        language: Some(language.code.to_owned()),
        // A year of messages in feed order, with a little jitter.
        created_at: START_MS
            + (YEAR_MS as f64 * (i as f64 + rng.below(100) as f64 / 100.0) / docs.max(1) as f64) as i64,
        text,
    }
}

fn fill(sentence: &str, language: &Language, rng: &mut Rng, out: &mut String) {
    let mut rest = sentence;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else { break };
        match &rest[open + 1..open + close] {
            "name" => out.push_str(rng.pick(language.names)),
            "item" => out.push_str(rng.pick(language.items)),
            "city" => out.push_str(rng.pick(language.cities)),
            "days" => out.push_str(&(2 + rng.below(12)).to_string()),
            "flight" => {
                let airline = rng.pick(&["HK", "SU", "A3", "CA", "IB", "TK"]);
                out.push_str(&format!("{airline}{}", 100 + rng.below(9900)));
            }
            "order" => {
                let a = (b'A' + rng.below(26) as u8) as char;
                let b = (b'A' + rng.below(26) as u8) as char;
                out.push_str(&format!("{a}{b}{:06}", rng.below(1_000_000)));
            }
            other => out.push_str(other),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_is_deterministic_and_varied() {
        assert_eq!(generate(12345, 20_000), generate(12345, 20_000));
        let languages: std::collections::HashSet<String> = (0..500).filter_map(|i| generate(i, 500).language).collect();
        for code in ["en", "ru", "zh", "el", "es", "ar"] {
            assert!(languages.contains(code), "{code} missing");
        }
        assert!((0..500).all(|i| !generate(i, 500).text.contains('{')));
    }

    #[tokio::test]
    async fn a_small_run_reports_every_figure() -> Result<(), SearchError> {
        let figures = run(3_000, 60).await?;
        assert_eq!(figures["docs"], 3_000);
        assert_eq!(figures["queries"]["count"], 60);
        for script in ["en", "ru", "zh", "el"] {
            assert!(figures["queries"]["by_script"][script]["n"].as_u64().unwrap_or(0) > 0, "{script}");
        }
        // The corpus matches what the queries look for in every script.
        for q in ["en: refund", "ru: багаж", "zh: 行李", "el: καθυστέρηση", "zh: 票", "en: lugg"] {
            let found = figures["queries"]["matches"][q].as_str().unwrap_or("0").trim_end_matches('+').parse::<u64>();
            assert!(found.unwrap_or(0) > 0, "{q} finds nothing");
        }
        assert!(figures["build"]["index_bytes"].as_u64().unwrap_or(0) > 0);
        Ok(())
    }
}
