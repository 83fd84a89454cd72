//! Loading the labelled corpora into training and test sets.

use std::collections::BTreeMap;
use std::path::Path;

use hark_nlp::Sentiment;
use hark_nlp::language::{Language, ScriptCounts};
use hark_nlp::text::Normalized;

/// One labelled text with its language (ISO 639-1, or the corpus's language name).
#[derive(Clone, Debug)]
pub struct Labelled {
    pub text: String,
    pub label: String,
    pub language: String,
    pub weight: f32,
    /// Which corpus it comes from ("xlmt", "rusentitweet", …; empty for derived sets).
    pub source: &'static str,
}

impl Labelled {
    fn new(text: impl Into<String>, label: impl Into<String>, language: &str) -> Self {
        Self { text: text.into(), label: label.into(), language: language.to_owned(), weight: 1.0, source: "" }
    }

    fn from(mut self, source: &'static str) -> Self {
        self.source = source;
        self
    }
}

pub struct Corpora {
    pub language_train: Vec<Labelled>,
    pub language_sources: String,
    pub language_test: Vec<Labelled>,
    pub language_test_sources: String,
    pub sentiment_train: Vec<Labelled>,
    /// XLM-T validation splits by language name, plus other held-out splits used only by the shipped model.
    pub sentiment_val: BTreeMap<String, Vec<Labelled>>,
    pub sentiment_extra: Vec<Labelled>,
    pub sentiment_sources: String,
    pub intent: Vec<Labelled>,
    /// Real brand tweets from the shared TWCS sample, labelled for Hark (intent; sentiment in `language`'s place is not needed).
    pub twcs_check: Vec<(Labelled, String)>,
}

/// XLM-T language folders and their codes.
const XLMT: [(&str, &str); 8] = [
    ("arabic", "ar"),
    ("english", "en"),
    ("french", "fr"),
    ("german", "de"),
    ("hindi", "hi"),
    ("italian", "it"),
    ("portuguese", "pt"),
    ("spanish", "es"),
];

/// The languages whose hand-written examples exist (data/intent/<code>.csv).
const OWN_LANGUAGES: [&str; 12] = ["ar", "de", "el", "en", "es", "fr", "it", "pt", "ru", "tr", "uk", "zh"];

impl Corpora {
    pub fn load(data: &Path, own: &Path) -> Result<Self, String> {
        let mut xlmt_train = Vec::new();
        let mut sentiment_val = BTreeMap::new();
        for (folder, code) in XLMT {
            let dir = data.join("xlm-t-umsab").join(folder);
            xlmt_train.extend(read_xlmt(&dir, "train", code)?);
            sentiment_val.insert(folder.to_owned(), read_xlmt(&dir, "val", code)?);
        }
        let rusenti_train = read_rusentitweet(&data.join("rusentitweet/rusentitweet_train.csv"))?;
        let rusenti_test = read_rusentitweet(&data.join("rusentitweet/rusentitweet_test.csv"))?;
        let waimai = read_waimai(&data.join("waimai_10k/waimai_10k.csv"))?;
        let mut sentimp = Vec::new();
        for (file, code) in [("gr_simple.csv", "el"), ("sp_simple.csv", "es"), ("uk_simple.csv", "en")] {
            sentimp.extend(read_sentimp(&data.join("sentimp21").join(file), code)?);
        }
        let mut intent = Vec::new();
        let mut own_sentiment = Vec::new();
        for code in OWN_LANGUAGES {
            let (intents, sentiments) = read_own_intents(&own.join("intent").join(format!("{code}.csv")), code)?;
            intent.extend(intents);
            own_sentiment.extend(sentiments);
        }

        // Language: everything with a known language, in the script of that language.
        let mut language_train: Vec<Labelled> = Vec::new();
        for item in xlmt_train.iter().chain(&rusenti_train).chain(&intent) {
            language_train.push(Labelled::new(item.text.clone(), item.language.clone(), &item.language));
        }
        for (code, testdata) in lingua_testdata() {
            for file in ["sentences.txt", "word-pairs.txt", "single-words.txt"] {
                let text = testdata.get_file(file).and_then(|f| f.contents_utf8()).unwrap_or_default();
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    language_train.push(Labelled::new(line, code, code));
                }
            }
        }
        language_train.retain(|item| in_script_of_model(&item.text, &item.label));

        let mut language_test: Vec<Labelled> = Vec::new();
        for items in sentiment_val.values() {
            language_test.extend(
                items
                    .iter()
                    .filter(|i| i.language != "hi")
                    .map(|i| Labelled::new(i.text.clone(), i.language.clone(), &i.language)),
            );
        }
        language_test.extend(rusenti_test.iter().map(|i| Labelled::new(i.text.clone(), "ru", "ru")));
        language_test.extend(waimai.iter().step_by(20).map(|i| Labelled::new(i.text.clone(), "zh", "zh")));
        language_test.extend(sentimp.iter().map(|i| Labelled::new(i.text.clone(), i.language.clone(), &i.language)));
        for code in ["tr", "uk"] {
            let path = own.join("language-test").join(format!("{code}.txt"));
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            language_test.extend(text.lines().filter(|l| !l.trim().is_empty()).map(|l| Labelled::new(l, code, code)));
        }

        let mut sentiment_train = xlmt_train;
        sentiment_train.extend(rusenti_train);
        sentiment_train.extend(waimai);
        sentiment_train.extend(sentimp);
        sentiment_train.extend(own_sentiment);

        let twcs_check = read_twcs_check(&data.join("twcs-sample"), &own.join("twcs-check/labels.csv"))?;

        Ok(Self {
            language_train,
            language_sources: "XLM-T train texts (en fr de it pt es), RuSentiTweet train texts (ru), lingua 1.8 test sentences, word pairs and words (en fr de it pt es ru tr uk), the hand-written intent examples".into(),
            language_test,
            language_test_sources: "XLM-T validation texts (ar en fr de it pt es), RuSentiTweet test texts (ru), every 20th waimai_10k review (zh), SentiMP-21 (el es en), hand-written held-out messages (tr uk)".into(),
            sentiment_train,
            sentiment_val,
            sentiment_extra: rusenti_test,
            sentiment_sources: "XLM-T/UMSAB train+val (ar en fr de hi it pt es), RuSentiTweet train+test (ru), waimai_10k (zh), SentiMP-21 (el es en), the hand-written customer-care examples (all 12 languages)".into(),
            intent,
            twcs_check,
        })
    }
}

/// Whether `text` is written in the script of language `code`'s model (Latin or Cyrillic).
fn in_script_of_model(text: &str, code: &str) -> bool {
    let Some(language) = Language::from_code(code) else { return false };
    let script = ScriptCounts::of(&Normalized::of(text)).dominant();
    script == Some(language.script())
        && matches!(language.script(), hark_nlp::language::Script::Latin | hark_nlp::language::Script::Cyrillic)
}

fn lingua_testdata() -> [(&'static str, &'static include_dir::Dir<'static>); 9] {
    [
        ("en", &lingua_english_language_model::ENGLISH_TESTDATA_DIRECTORY),
        ("fr", &lingua_french_language_model::FRENCH_TESTDATA_DIRECTORY),
        ("de", &lingua_german_language_model::GERMAN_TESTDATA_DIRECTORY),
        ("it", &lingua_italian_language_model::ITALIAN_TESTDATA_DIRECTORY),
        ("pt", &lingua_portuguese_language_model::PORTUGUESE_TESTDATA_DIRECTORY),
        ("es", &lingua_spanish_language_model::SPANISH_TESTDATA_DIRECTORY),
        ("ru", &lingua_russian_language_model::RUSSIAN_TESTDATA_DIRECTORY),
        ("tr", &lingua_turkish_language_model::TURKISH_TESTDATA_DIRECTORY),
        ("uk", &lingua_ukrainian_language_model::UKRAINIAN_TESTDATA_DIRECTORY),
    ]
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `\u2019`-style escapes (an artefact of the SemEval export) back to characters.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\\u") {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 2..at + 6).and_then(|h| u32::from_str_radix(h, 16).ok()).and_then(char::from_u32);
        match code {
            Some(c) => {
                out.push(c);
                rest = &rest[at + 6..];
            }
            None => {
                out.push_str("\\u");
                rest = &rest[at + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn read_xlmt(dir: &Path, split: &str, code: &str) -> Result<Vec<Labelled>, String> {
    let texts = read(&dir.join(format!("{split}_text.txt")))?;
    let labels = read(&dir.join(format!("{split}_labels.txt")))?;
    let texts: Vec<&str> = texts.lines().collect();
    let labels: Vec<&str> = labels.lines().collect();
    if texts.len() != labels.len() {
        return Err(format!("{}: {} texts but {} labels", dir.display(), texts.len(), labels.len()));
    }
    texts
        .iter()
        .zip(labels)
        .map(|(text, label)| {
            let sentiment = Sentiment::parse(label).ok_or_else(|| format!("{}: bad label {label:?}", dir.display()))?;
            Ok(Labelled::new(unescape(text.trim()), sentiment.name(), code).from("xlmt"))
        })
        .collect()
}

fn csv_rows(path: &Path) -> Result<(csv::StringRecord, Vec<csv::StringRecord>), String> {
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = reader.headers().map_err(|e| format!("{}: {e}", path.display()))?.clone();
    let rows = reader.records().collect::<Result<Vec<_>, _>>().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((headers, rows))
}

fn column(headers: &csv::StringRecord, name: &str, path: &Path) -> Result<usize, String> {
    headers.iter().position(|h| h == name).ok_or_else(|| format!("{}: no column {name}", path.display()))
}

/// RuSentiTweet's five classes as three: "speech" (greetings, thanks) counts
/// as positive, "skip" (unclear, noise) is dropped.
fn read_rusentitweet(path: &Path) -> Result<Vec<Labelled>, String> {
    let (headers, rows) = csv_rows(path)?;
    let (text, label) = (column(&headers, "text", path)?, column(&headers, "label", path)?);
    Ok(rows
        .iter()
        .filter_map(|row| {
            let sentiment = match row.get(label)? {
                "positive" | "speech" => "positive",
                "neutral" => "neutral",
                "negative" => "negative",
                _ => return None,
            };
            Some(Labelled::new(row.get(text)?, sentiment, "ru").from("rusentitweet"))
        })
        .collect())
}

fn read_waimai(path: &Path) -> Result<Vec<Labelled>, String> {
    let (headers, rows) = csv_rows(path)?;
    let (text, label) = (column(&headers, "review", path)?, column(&headers, "label", path)?);
    Ok(rows
        .iter()
        .filter_map(|row| {
            let sentiment = if row.get(label)? == "1" { "positive" } else { "negative" };
            Some(Labelled::new(row.get(text)?, sentiment, "zh").from("waimai"))
        })
        .collect())
}

fn read_sentimp(path: &Path, code: &str) -> Result<Vec<Labelled>, String> {
    let (headers, rows) = csv_rows(path)?;
    let (text, label) = (column(&headers, "full_text", path)?, column(&headers, "final_label", path)?);
    Ok(rows
        .iter()
        .filter_map(|row| {
            let sentiment = Sentiment::parse(row.get(label)?)?;
            Some(Labelled::new(row.get(text)?, sentiment.name(), code).from("sentimp"))
        })
        .collect())
}

/// The hand-written examples: `text,intent,sentiment`.
fn read_own_intents(path: &Path, code: &str) -> Result<(Vec<Labelled>, Vec<Labelled>), String> {
    let (headers, rows) = csv_rows(path)?;
    let text = column(&headers, "text", path)?;
    let intent = column(&headers, "intent", path)?;
    let sentiment = column(&headers, "sentiment", path)?;
    let mut intents = Vec::new();
    let mut sentiments = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let (Some(t), Some(label), Some(s)) = (row.get(text), row.get(intent), row.get(sentiment)) else {
            return Err(format!("{}: row {} is incomplete", path.display(), i + 2));
        };
        if !hark_nlp::INTENT_LABELS.contains(&label) {
            return Err(format!("{}: row {}: unknown intent {label:?}", path.display(), i + 2));
        }
        let s = Sentiment::parse(s).ok_or_else(|| format!("{}: row {}: bad sentiment {s:?}", path.display(), i + 2))?;
        intents.push(Labelled::new(t, label, code).from("own"));
        sentiments.push(Labelled::new(t, s.name(), code).from("own"));
    }
    Ok((intents, sentiments))
}

/// The hand-labelled check set: tweet ids of the shared TWCS sample with an
/// intent and a sentiment. Returns (text with its intent, sentiment).
fn read_twcs_check(sample: &Path, labels: &Path) -> Result<Vec<(Labelled, String)>, String> {
    let mut texts = BTreeMap::new();
    for file in ["kaggle_sample.csv", "twcs_head.csv"] {
        let path = sample.join(file);
        let (headers, rows) = csv_rows(&path)?;
        let (id, text) = (column(&headers, "tweet_id", &path)?, column(&headers, "text", &path)?);
        for row in rows {
            if let (Some(id), Some(text)) = (row.get(id), row.get(text)) {
                texts.insert((file.to_owned(), id.to_owned()), text.to_owned());
            }
        }
    }
    let (headers, rows) = csv_rows(labels)?;
    let [file, id, intent, sentiment] =
        ["file", "tweet_id", "intent", "sentiment"].map(|name| column(&headers, name, labels));
    let (file, id, intent, sentiment) = (file?, id?, intent?, sentiment?);
    rows.iter()
        .map(|row| {
            let key = (row.get(file).unwrap_or_default().to_owned(), row.get(id).unwrap_or_default().to_owned());
            let text =
                texts.get(&key).ok_or_else(|| format!("{}: no tweet {key:?} in the sample", labels.display()))?;
            let s = row
                .get(sentiment)
                .and_then(Sentiment::parse)
                .ok_or_else(|| format!("{}: bad sentiment", labels.display()))?;
            Ok((Labelled::new(text.clone(), row.get(intent).unwrap_or_default(), "en"), s.name().to_owned()))
        })
        .collect()
}
