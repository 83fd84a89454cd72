//! Rebuilds the models shipped in hark-nlp and scores them.
//!
//! ```sh
//! cargo run --release --manifest-path crates/nlp/trainer/Cargo.toml -- \
//!     --data ../shared/data --out crates/nlp/models
//! ```
//!
//! Reads the labelled corpora (see crates/nlp/models/PROVENANCE.md), the
//! intent examples in crates/nlp/data/intent, the language test sentences in
//! crates/nlp/data/language-test and lingua's test sentences, trains the
//! language, sentiment and intent models, writes them with a scores.json,
//! and prints the scores. `--only language|sentiment|intent` rebuilds one.

mod corpora;
mod lab;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use hark_nlp::language::{Language, ScriptCounts};
use hark_nlp::text::Normalized;
use hark_nlp::{Evaluation, Example, Extractor, FeatureConfig, LanguageIdentifier, LinearModel, TrainConfig, train};
use serde_json::{Value, json};

use crate::corpora::{Corpora, Labelled};

struct Args {
    data: PathBuf,
    out: PathBuf,
    only: Option<String>,
    lab: Option<String>,
    variant: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut data = None;
    let mut out = None;
    let mut only = None;
    let mut lab = None;
    let mut variant = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--data" => data = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--only" => only = Some(value()?),
            "--lab" => lab = Some(value()?),
            "--variant" => variant = Some(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        data: data.ok_or("--data DIR (the shared labelled corpora) is required")?,
        out: out.ok_or("--out DIR (crates/nlp/models) is required")?,
        only,
        lab,
        variant,
    })
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Where this crate's hand-written data lives.
fn own_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data")
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let corpora = Corpora::load(&args.data, &own_data())?;
    match args.lab.as_deref() {
        Some("sentiment") => return lab::sentiment(&corpora, args.variant.as_deref()),
        Some(set @ ("clinc" | "banking")) => return lab::intent(&args.data, set, args.variant.as_deref()),
        Some(other) => return Err(format!("unknown lab {other} (sentiment, clinc, banking)")),
        None => {}
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let scores_path = args.out.join("scores.json");
    let mut scores: BTreeMap<String, Value> =
        std::fs::read_to_string(&scores_path).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
    let wanted = |name: &str| args.only.as_deref().is_none_or(|only| only == name);
    if wanted("language") {
        let (model, report) = language(&corpora)?;
        write_model(&args.out.join("language.bin"), &model)?;
        scores.insert("language".into(), report);
    }
    if wanted("sentiment") {
        let (model, report) = sentiment(&corpora)?;
        write_model(&args.out.join("sentiment.bin"), &model)?;
        scores.insert("sentiment".into(), report);
    }
    if wanted("intent") {
        let (model, mut report) = intent(&corpora)?;
        write_model(&args.out.join("intent.bin"), &model)?;
        let sentiment_model = LinearModel::from_bytes(
            &std::fs::read(args.out.join("sentiment.bin")).map_err(|e| format!("sentiment.bin: {e}"))?,
        )
        .map_err(|e| e.to_string())?;
        report["twcs_check"] = twcs_check(&corpora, &model, &sentiment_model);
        scores.insert("intent".into(), report);
    }
    let text = serde_json::to_string_pretty(&scores).map_err(|e| e.to_string())?;
    std::fs::write(&scores_path, text + "\n").map_err(|e| format!("{}: {e}", scores_path.display()))?;
    println!("{}", serde_json::to_string_pretty(&scores).map_err(|e| e.to_string())?);
    Ok(())
}

/// The one command that rebuilds the shipped models, from the repository root.
const REBUILD: &str = "cargo run --release --manifest-path crates/nlp/trainer/Cargo.toml -- --data ../shared/data --out crates/nlp/models";

fn write_model(path: &Path, model: &LinearModel) -> Result<(), String> {
    let mut model = model.clone();
    model.set_metadata("rebuild", REBUILD.into());
    model.set_metadata("provenance", "crates/nlp/models/PROVENANCE.md".into());
    let bytes = model.to_bytes();
    std::fs::write(path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
    Ok(())
}

/// The features every shipped model reads, so that one extraction serves all three.
fn shared_features() -> FeatureConfig {
    FeatureConfig::default()
}

fn language_config() -> TrainConfig {
    TrainConfig {
        features: shared_features(),
        bucket_bits: 18,
        epochs: 6,
        learning_rate: 0.2,
        l2: 1e-6,
        balance_classes: true,
        ..TrainConfig::default()
    }
}

/// The same presets as `hark nlp train sentiment` and `hark nlp train intent`, so that a
/// workspace retraining on the defaults plus its corrections gets the same kind of model.
fn sentiment_config() -> TrainConfig {
    TrainConfig::sentiment()
}

/// The intent preset without its hidden layer: on the small hand-written set
/// the hidden units add a point at most, and the linear model is eleven
/// times smaller and faster.
fn intent_config() -> TrainConfig {
    TrainConfig { hidden: 0, dropout: 0.0, learning_rate: 0.2, epochs: 12, ..TrainConfig::intent() }
}

fn examples(items: &[Labelled]) -> Vec<Example> {
    items.iter().map(|l| Example { text: l.text.clone(), label: l.label.clone(), weight: l.weight }).collect()
}

fn language(corpora: &Corpora) -> Result<(LinearModel, Value), String> {
    let started = Instant::now();
    let training = examples(&corpora.language_train);
    let mut model = train("language", &training, &language_config()).map_err(|e| e.to_string())?;
    model.set_metadata("trained_on", corpora.language_sources.clone());
    let identifier = LanguageIdentifier::new(model.clone()).map_err(|e| e.to_string())?;
    eprintln!("language: trained on {} texts in {:.1}s", training.len(), started.elapsed().as_secs_f32());

    // Our identifier and lingua on the same held-out texts.
    let mut extractor = Extractor::default();
    let mut scratch = Vec::new();
    let lingua = lingua_detector();
    let mut ours = BTreeMap::<String, (usize, usize)>::new();
    let mut theirs = BTreeMap::<String, (usize, usize)>::new();
    let mut errors = Vec::new();
    let timer = Instant::now();
    let mut predicted = Vec::new();
    for item in &corpora.language_test {
        let features = extractor.extract(&item.text, model.feature_config());
        let guess = identifier.identify(extractor.normalized(), &features, &mut scratch);
        predicted.push(guess.code());
    }
    let ours_us = timer.elapsed().as_secs_f64() * 1e6 / corpora.language_test.len().max(1) as f64;
    let timer = Instant::now();
    let mut lingua_predicted = Vec::new();
    for item in &corpora.language_test {
        lingua_predicted.push(lingua_code(&lingua, &item.text));
    }
    let lingua_us = timer.elapsed().as_secs_f64() * 1e6 / corpora.language_test.len().max(1) as f64;
    for ((item, got), lingua_got) in corpora.language_test.iter().zip(&predicted).zip(&lingua_predicted) {
        let entry = ours.entry(item.label.clone()).or_default();
        entry.1 += 1;
        if *got == item.label {
            entry.0 += 1;
        } else if errors.len() < 40 {
            errors.push(format!("{} -> {got}: {}", item.label, item.text.chars().take(80).collect::<String>()));
        }
        let entry = theirs.entry(item.label.clone()).or_default();
        entry.1 += 1;
        if *lingua_got == item.label {
            entry.0 += 1;
        }
    }
    for e in &errors {
        eprintln!("  {e}");
    }
    let accuracy = |m: &BTreeMap<String, (usize, usize)>| {
        let (ok, n) = m.values().fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
        ok as f64 / n.max(1) as f64
    };
    let per = |m: &BTreeMap<String, (usize, usize)>| -> Value {
        m.iter().map(|(k, (ok, n))| (k.clone(), json!({"n": n, "accuracy": round4(*ok as f64 / *n as f64)}))).collect()
    };
    let report = json!({
        "test_set": corpora.language_test_sources,
        "n": corpora.language_test.len(),
        "accuracy": round4(accuracy(&ours)),
        "per_language": per(&ours),
        "microseconds_per_text": round4(ours_us),
        "lingua_1_8_same_texts": {
            "accuracy": round4(accuracy(&theirs)),
            "per_language": per(&theirs),
            "microseconds_per_text": round4(lingua_us),
            "note": "lingua restricted to the same 12 languages, high-accuracy mode, with the script rules for zh, el, ar",
        },
        "train_examples": training.len(),
    });
    Ok((model, report))
}

fn lingua_detector() -> lingua::LanguageDetector {
    use lingua::Language as L;
    let languages =
        [L::English, L::French, L::German, L::Italian, L::Portuguese, L::Russian, L::Spanish, L::Turkish, L::Ukrainian];
    lingua::LanguageDetectorBuilder::from_languages(&languages).with_preloaded_language_models().build()
}

/// Lingua's answer, with the same script rules and link/handle stripping as ours, so that only the
/// Latin and Cyrillic decisions are compared.
fn lingua_code(detector: &lingua::LanguageDetector, text: &str) -> &'static str {
    let normalized = Normalized::of(text);
    match ScriptCounts::of(&normalized).dominant() {
        Some(hark_nlp::language::Script::Han) => return "zh",
        Some(hark_nlp::language::Script::Greek) => return "el",
        Some(hark_nlp::language::Script::Arabic) => return "ar",
        Some(hark_nlp::language::Script::Latin | hark_nlp::language::Script::Cyrillic) => {}
        _ => return "und",
    }
    let words: Vec<&str> =
        normalized.tokens.iter().map(|t| normalized.token_text(t)).filter(|w| !w.starts_with('_')).collect();
    match detector.detect_language_of(words.join(" ")) {
        Some(language) => {
            Language::from_code(&language.iso_code_639_1().to_string()).map(Language::code).unwrap_or("und")
        }
        None => "und",
    }
}

fn sentiment(corpora: &Corpora) -> Result<(LinearModel, Value), String> {
    let config = sentiment_config();
    // The reported figures: trained on the train splits only, scored on the XLM-T validation splits.
    let started = Instant::now();
    let report_model = train("sentiment", &examples(&corpora.sentiment_train), &config).map_err(|e| e.to_string())?;
    eprintln!(
        "sentiment: trained on {} texts in {:.1}s",
        corpora.sentiment_train.len(),
        started.elapsed().as_secs_f32()
    );
    let mut per_language = serde_json::Map::new();
    let mut f1s = Vec::new();
    let mut f1s_without_hindi = Vec::new();
    for (language, items) in &corpora.sentiment_val {
        let evaluation = evaluate(&report_model, items);
        f1s.push(evaluation.macro_f1);
        if language != "hindi" {
            f1s_without_hindi.push(evaluation.macro_f1);
        }
        per_language.insert(
            language.clone(),
            json!({"n": evaluation.n, "accuracy": round4(evaluation.accuracy), "macro_f1": round4(evaluation.macro_f1)}),
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    // The shipped model: the same recipe on the train and validation splits.
    let mut all = corpora.sentiment_train.clone();
    all.extend(corpora.sentiment_val.values().flatten().cloned());
    all.extend(corpora.sentiment_extra.iter().cloned());
    let mut model = train("sentiment", &examples(&all), &config).map_err(|e| e.to_string())?;
    model.set_metadata("trained_on", corpora.sentiment_sources.clone());
    let report = json!({
        "evaluation": "trained on the train splits only, scored on the XLM-T (UMSAB) validation splits",
        "xlmt_val_macro_f1_mean": round4(mean(&f1s)),
        "xlmt_val_macro_f1_mean_without_hindi": round4(mean(&f1s_without_hindi)),
        "per_language": per_language,
        "train_examples_report_model": corpora.sentiment_train.len(),
        "train_examples_shipped_model": all.len(),
        "config": config,
    });
    Ok((model, report))
}

fn intent(corpora: &Corpora) -> Result<(LinearModel, Value), String> {
    let config = intent_config();
    // Every fifth hand-written example of each language is held out for the report.
    let (held_out, kept): (Vec<_>, Vec<_>) = corpora.intent.iter().enumerate().partition(|(i, _)| i % 5 == 4);
    let held_out: Vec<Labelled> = held_out.into_iter().map(|(_, l)| l.clone()).collect();
    let kept: Vec<Labelled> = kept.into_iter().map(|(_, l)| l.clone()).collect();
    let report_model = train("intent", &examples(&kept), &config).map_err(|e| e.to_string())?;
    let overall = evaluate(&report_model, &held_out);
    let mut per_language = serde_json::Map::new();
    let mut by_language: BTreeMap<&str, Vec<Labelled>> = BTreeMap::new();
    for item in &held_out {
        by_language.entry(item.language.as_str()).or_default().push(item.clone());
    }
    for (language, items) in by_language {
        let e = evaluate(&report_model, &items);
        per_language
            .insert(language.into(), json!({"n": e.n, "accuracy": round4(e.accuracy), "macro_f1": round4(e.macro_f1)}));
    }
    let started = Instant::now();
    let mut model = train("intent", &examples(&corpora.intent), &config).map_err(|e| e.to_string())?;
    eprintln!("intent: trained on {} texts in {:.1}s", corpora.intent.len(), started.elapsed().as_secs_f32());
    model.set_metadata("trained_on", "crates/nlp/data/intent/*.csv (written for Hark)".into());
    let report = json!({
        "evaluation": "trained on 4/5 of the hand-written examples, scored on the other 1/5 (every fifth line)",
        "held_out": {"n": overall.n, "accuracy": round4(overall.accuracy), "macro_f1": round4(overall.macro_f1)},
        "per_language": per_language,
        "per_class_f1": overall.per_class.iter().map(|(k, v)| (k.clone(), json!(round4(v.f1)))).collect::<serde_json::Map<_, _>>(),
        "train_examples_shipped_model": corpora.intent.len(),
        "config": config,
    });
    Ok((model, report))
}

/// The shipped intent and sentiment models on real brand tweets they never saw.
fn twcs_check(corpora: &Corpora, intent: &LinearModel, sentiment: &LinearModel) -> Value {
    let items: Vec<Labelled> = corpora.twcs_check.iter().map(|(l, _)| l.clone()).collect();
    let intents = evaluate(intent, &items);
    let sentiments: Vec<Labelled> =
        corpora.twcs_check.iter().map(|(l, s)| Labelled { label: s.clone(), ..l.clone() }).collect();
    let sentiments = evaluate(sentiment, &sentiments);
    let mut extractor = Extractor::default();
    for item in &items {
        let got = intent.predict(&extractor.extract(&item.text, intent.feature_config())).label;
        if got.as_ref() != item.label {
            eprintln!("  twcs {} -> {got}: {}", item.label, item.text.chars().take(90).collect::<String>());
        }
    }
    json!({
        "set": "inbound tweets of ../shared/data/twcs-sample, labelled for Hark (crates/nlp/data/twcs-check/labels.csv); not in any training set",
        "n": intents.n,
        "intent_accuracy": round4(intents.accuracy),
        "intent_macro_f1": round4(intents.macro_f1),
        "sentiment_accuracy": round4(sentiments.accuracy),
        "sentiment_macro_f1": round4(sentiments.macro_f1),
    })
}

fn evaluate(model: &LinearModel, items: &[Labelled]) -> Evaluation {
    let mut extractor = Extractor::default();
    let predicted: Vec<String> = items
        .iter()
        .map(|l| model.predict(&extractor.extract(&l.text, model.feature_config())).label.to_string())
        .collect();
    let gold: Vec<&str> = items.iter().map(|l| l.label.as_str()).collect();
    Evaluation::of(&gold, &predicted, None)
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
