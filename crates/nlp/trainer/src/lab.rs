//! Measurements behind the choices in docs/nlp.md: variants of the
//! sentiment recipe scored on the XLM-T validation splits (trained on the
//! train splits only), printed one line per variant.
//!
//! `--lab sentiment [--variant NAME]` runs them; nothing is written.

use std::collections::BTreeMap;
use std::time::Instant;

use hark_nlp::{Evaluation, Example, Extractor, LinearModel, TrainConfig, train};

use crate::corpora::{Corpora, Labelled};

/// Log-probabilities of every class for every text.
fn log_probabilities(model: &LinearModel, items: &[Labelled]) -> Vec<Vec<f32>> {
    let mut extractor = Extractor::default();
    let mut out = Vec::new();
    items
        .iter()
        .map(|item| {
            model.probabilities_into(&extractor.extract(&item.text, model.feature_config()), &mut out);
            out.iter().map(|p| p.max(1e-9).ln()).collect()
        })
        .collect()
}

/// Macro-F1 per language of the argmax of `weight · log p + offset`, summed over models.
fn score(
    models: &[(&LinearModel, f32)],
    val: &BTreeMap<String, Vec<Labelled>>,
    offsets: &[f32; 3],
) -> (f64, BTreeMap<String, f64>) {
    let labels = ["negative", "neutral", "positive"];
    let mut per = BTreeMap::new();
    for (language, items) in val {
        let mut combined = vec![[0.0f32; 3]; items.len()];
        for (model, weight) in models {
            for (row, lp) in combined.iter_mut().zip(log_probabilities(model, items)) {
                for c in 0..3 {
                    row[c] += weight * lp[c];
                }
            }
        }
        let predicted: Vec<&str> = combined
            .iter()
            .map(|row| {
                let mut best = 0;
                for c in 1..3 {
                    if row[c] + offsets[c] > row[best] + offsets[best] {
                        best = c;
                    }
                }
                labels[best]
            })
            .collect();
        let gold: Vec<&str> = items.iter().map(|l| l.label.as_str()).collect();
        per.insert(language.clone(), Evaluation::of(&gold, &predicted, None).macro_f1);
    }
    let mean = per.values().sum::<f64>() / per.len().max(1) as f64;
    (mean, per)
}

fn examples(items: &[&Labelled], weight: impl Fn(&Labelled) -> f32) -> Vec<Example> {
    items
        .iter()
        .map(|l| Example { text: l.text.clone(), label: l.label.clone(), weight: l.weight * weight(l) })
        .collect()
}

fn report(name: &str, started: Instant, (mean, per): (f64, BTreeMap<String, f64>)) {
    let per: Vec<String> = per.iter().map(|(l, f)| format!("{}={:.3}", &l[..2], f)).collect();
    println!("{name:<40} mean={mean:.4}  {}  ({:.0}s)", per.join(" "), started.elapsed().as_secs_f32());
}

fn is_xlmt(l: &Labelled) -> bool {
    l.source == "xlmt"
}

pub fn sentiment(corpora: &Corpora, variant: Option<&str>) -> Result<(), String> {
    let wanted = |name: &str| variant.is_none_or(|v| name.starts_with(v));
    let val = &corpora.sentiment_val;
    let all: Vec<&Labelled> = corpora.sentiment_train.iter().collect();
    let xlmt: Vec<&Labelled> = all.iter().copied().filter(|l| is_xlmt(l)).collect();
    let base = TrainConfig::sentiment();
    let none = [0.0f32; 3];
    let run = |name: &str, items: &[&Labelled], weight: &dyn Fn(&Labelled) -> f32, config: &TrainConfig| {
        let started = Instant::now();
        let model = train("sentiment", &examples(items, weight), config).map_err(|e| e.to_string())?;
        report(name, started, score(&[(&model, 1.0)], val, &none));
        Ok::<LinearModel, String>(model)
    };
    if wanted("base") {
        run("base (all corpora)", &all, &|_| 1.0, &base)?;
    }
    if wanted("xlmt-only") {
        run("xlmt only", &xlmt, &|_| 1.0, &base)?;
    }
    for k in [2.0f32, 4.0] {
        let name = format!("xlmt-weight-{k}");
        if wanted(&name) {
            run(&name, &all, &|l| if is_xlmt(l) { k } else { 1.0 }, &base)?;
        }
    }
    let tweet = {
        let mut c = base.clone();
        c.features.squash = true;
        c.features.negation = true;
        c
    };
    if wanted("squash") {
        let mut c = base.clone();
        c.features.squash = true;
        run("squash", &all, &|_| 1.0, &c)?;
    }
    if wanted("negation") {
        let mut c = base.clone();
        c.features.negation = true;
        run("negation", &all, &|_| 1.0, &c)?;
    }
    if wanted("tweet") {
        run("squash + negation", &all, &|_| 1.0, &tweet)?;
    }
    if wanted("trigrams") {
        let mut c = tweet.clone();
        c.features.word_ngrams = 3;
        run("squash + negation + word 3-grams", &all, &|_| 1.0, &c)?;
    }
    for (name, negation, weight, epochs) in [
        ("combo-neg-w4", true, 4.0f32, 10u32),
        ("combo-neg-w4-e5", true, 4.0, 5),
        ("combo-w4-e5", false, 4.0, 5),
        ("combo-neg-w2", true, 2.0, 10),
    ] {
        if wanted(name) {
            let mut c = TrainConfig { epochs, ..base.clone() };
            c.features.negation = negation;
            run(name, &all, &|l| if is_xlmt(l) { weight } else { 1.0 }, &c)?;
        }
    }
    if wanted("balanced") {
        run("balanced classes", &all, &|_| 1.0, &TrainConfig { balance_classes: true, ..base.clone() })?;
    }
    if wanted("ensemble") {
        let started = Instant::now();
        let mut words = base.clone();
        words.features.char_min = 0;
        words.features.char_max = 0;
        let mut chars = base.clone();
        chars.features.word_ngrams = 0;
        let w = train("sentiment", &examples(&all, |_| 1.0), &words).map_err(|e| e.to_string())?;
        report("words only", started, score(&[(&w, 1.0)], val, &none));
        let c = train("sentiment", &examples(&all, |_| 1.0), &chars).map_err(|e| e.to_string())?;
        report("chars only", started, score(&[(&c, 1.0)], val, &none));
        for a in [0.3f32, 0.5, 0.7] {
            report(&format!("ensemble words {a}"), started, score(&[(&w, a), (&c, 1.0 - a)], val, &none));
        }
    }
    for (name, l2, epochs, rate) in [
        ("hp-l2-1e-4", 1e-4, 10, 0.1),
        ("hp-l2-1e-5", 1e-5, 10, 0.1),
        ("hp-epochs-5", 3e-5, 5, 0.1),
        ("hp-epochs-20", 3e-5, 20, 0.1),
        ("hp-rate-0.3", 3e-5, 10, 0.3),
        ("hp-rate-0.03", 3e-5, 10, 0.03),
    ] {
        if wanted(name) {
            run(name, &all, &|_| 1.0, &TrainConfig { l2, epochs, learning_rate: rate, ..base.clone() })?;
        }
    }
    for (name, min_count, nb) in
        [("min-count-2", 2, false), ("min-count-3", 3, false), ("nb", 0, true), ("nb-min-count-2", 2, true)]
    {
        if wanted(name) {
            run(name, &all, &|_| 1.0, &TrainConfig { min_count, nb_scaling: nb, ..base.clone() })?;
        }
    }
    for (name, hidden, rate) in [("hidden-64", 64usize, 0.05f32), ("hidden-32", 32, 0.1)] {
        if wanted(name) {
            run(name, &all, &|_| 1.0, &TrainConfig { hidden, dropout: 0.3, learning_rate: rate, ..base.clone() })?;
        }
    }
    if wanted("smoothing") {
        run("label smoothing 0.1", &all, &|_| 1.0, &TrainConfig { label_smoothing: 0.1, ..base.clone() })?;
    }
    if wanted("mixture") {
        // The joint model and one model per language, log-probabilities averaged.
        let started = Instant::now();
        let joint = train("sentiment", &examples(&all, |_| 1.0), &base).map_err(|e| e.to_string())?;
        let mut per: Vec<BTreeMap<String, f64>> = vec![BTreeMap::new(); 4];
        for (language, items) in val {
            let own: Vec<&Labelled> = xlmt.iter().copied().filter(|l| l.language == items[0].language).collect();
            let model = train("sentiment", &examples(&own, |_| 1.0), &base).map_err(|e| e.to_string())?;
            let one: BTreeMap<String, Vec<Labelled>> = [(language.clone(), items.clone())].into();
            for (i, a) in [0.3f32, 0.5, 0.7, 1.0].iter().enumerate() {
                per[i].extend(score(&[(&joint, *a), (&model, 1.0 - a)], &one, &none).1);
            }
        }
        for (i, a) in [0.3f32, 0.5, 0.7, 1.0].iter().enumerate() {
            let mean = per[i].values().sum::<f64>() / per[i].len() as f64;
            report(&format!("mixture joint weight {a}"), started, (mean, per[i].clone()));
        }
    }
    if wanted("per-language") {
        let started = Instant::now();
        let mut per = BTreeMap::new();
        for (language, items) in val {
            let own: Vec<&Labelled> = xlmt.iter().copied().filter(|l| l.language == items[0].language).collect();
            let model = train("sentiment", &examples(&own, |_| 1.0), &base).map_err(|e| e.to_string())?;
            let one: BTreeMap<String, Vec<Labelled>> = [(language.clone(), items.clone())].into();
            per.extend(score(&[(&model, 1.0)], &one, &none).1);
        }
        let mean = per.values().sum::<f64>() / per.len() as f64;
        report("per-language models (xlmt only)", started, (mean, per));
    }
    Ok(())
}

/// CLINC150 (train + oos_train, test + oos_test) or BANKING77 (train, test) as examples.
fn intent_data(data: &std::path::Path, set: &str) -> Result<(Vec<Example>, Vec<Example>), String> {
    let read =
        |path: std::path::PathBuf| std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()));
    if set == "banking" {
        let parse = |name: &str| -> Result<Vec<Example>, String> {
            let text = read(data.join("banking77").join(name))?;
            hark_nlp::data::read_labelled_csv(text.as_bytes()).map_err(|e| e.to_string())
        };
        return Ok((parse("train.csv")?, parse("test.csv")?));
    }
    let json: serde_json::Value =
        serde_json::from_str(&read(data.join("clinc150/data_full.json"))?).map_err(|e| e.to_string())?;
    let part = |names: [&str; 2]| -> Vec<Example> {
        names
            .iter()
            .flat_map(|name| json[*name].as_array().cloned().unwrap_or_default())
            .filter_map(|item| Some(Example::new(item.get(0)?.as_str()?, item.get(1)?.as_str()?)))
            .collect()
    };
    Ok((part(["train", "oos_train"]), part(["test", "oos_test"])))
}

fn intent_report(name: &str, started: Instant, model: &LinearModel, test: &[Example]) {
    let mut extractor = Extractor::default();
    let predicted: Vec<String> = test
        .iter()
        .map(|e| model.predict(&extractor.extract(&e.text, model.feature_config())).label.to_string())
        .collect();
    let gold: Vec<&str> = test.iter().map(|e| e.label.as_str()).collect();
    let e = Evaluation::of(&gold, &predicted, Some("oos"));
    if let Ok(path) = std::env::var("LAB_ERRORS") {
        let lines: Vec<String> = test
            .iter()
            .zip(&predicted)
            .filter(|(e, p)| e.label != **p)
            .map(|(e, p)| format!("{}\t{}\t{}", e.label, p, e.text))
            .collect();
        std::fs::write(path, lines.join("\n")).ok();
    }
    let in_scope_as_oos = gold.iter().zip(&predicted).filter(|(g, p)| **g != "oos" && p.as_str() == "oos").count();
    println!(
        "{name:<44} acc={:.4} in_scope={:.4} oos_recall={:.4} in_scope_as_oos={in_scope_as_oos} threshold={:?} ({:.0}s)",
        e.accuracy,
        e.in_scope_accuracy.unwrap_or(f64::NAN),
        e.oos_recall.unwrap_or(f64::NAN),
        model.reject().map(|r| r.threshold),
        started.elapsed().as_secs_f32()
    );
}

pub fn intent(data: &std::path::Path, set: &str, variant: Option<&str>) -> Result<(), String> {
    let wanted = |name: &str| variant.is_none_or(|v| v.split(',').any(|v| name.starts_with(v)));
    let (train_set, test) = intent_data(data, set)?;
    let preset = TrainConfig::intent();
    let linear = TrainConfig { hidden: 0, dropout: 0.0, learning_rate: 0.2, epochs: 12, ..preset.clone() };
    let mut variants: Vec<(String, TrainConfig)> =
        vec![("preset".into(), preset.clone()), ("linear".into(), linear.clone())];
    for (name, base) in [("preset", &preset), ("linear", &linear)] {
        let mut c = base.clone();
        c.features.word_ngrams = 3;
        variants.push((format!("{name}-w3"), c.clone()));
        c.features.char_min = 2;
        variants.push((format!("{name}-w3-c2"), c.clone()));
        let mut c = base.clone();
        c.features.squash = true;
        c.features.negation = true;
        variants.push((format!("{name}-tweet"), c));
        let mut c = base.clone();
        c.epochs = base.epochs * 2;
        variants.push((format!("{name}-long"), c));
    }
    for p in [0.2f32, 0.4] {
        variants.push((format!("linear-fd{p}"), TrainConfig { feature_dropout: p, ..linear.clone() }));
    }
    for window in [3u8, 4] {
        let mut c = linear.clone();
        c.features.skip_window = window;
        variants.push((format!("linear-skip{window}"), c));
    }
    for l2 in [1e-5f32, 1e-4] {
        variants.push((format!("linear-l2-{l2}"), TrainConfig { l2, ..linear.clone() }));
    }
    let mut c6 = linear.clone();
    c6.features.char_max = 6;
    variants.push(("linear-c6".into(), c6));
    variants.push(("linear-b20".into(), TrainConfig { bucket_bits: 20, ..linear.clone() }));
    variants.push(("linear-smooth".into(), TrainConfig { label_smoothing: 0.1, ..linear.clone() }));
    if wanted("wide-ens") {
        // The linear model and the wide-and-deep preset, log-probabilities averaged.
        let started = Instant::now();
        let a = train("intent", &train_set, &linear).map_err(|e| e.to_string())?;
        let b = train("intent", &train_set, &preset).map_err(|e| e.to_string())?;
        intent_report("linear", started, &a, &test);
        intent_report("preset", started, &b, &test);
        let mut extractor = Extractor::default();
        let mut p = Vec::new();
        let mut logp = |m: &LinearModel, text: &str| -> Vec<f32> {
            m.probabilities_into(&extractor.extract(text, m.feature_config()), &mut p);
            p.iter().map(|x| x.max(1e-9).ln()).collect()
        };
        let la: Vec<Vec<f32>> = test.iter().map(|e| logp(&a, &e.text)).collect();
        let lb: Vec<Vec<f32>> = test.iter().map(|e| logp(&b, &e.text)).collect();
        for w in [0.3f32, 0.5, 0.7] {
            let predicted: Vec<&str> = la
                .iter()
                .zip(&lb)
                .map(|(x, y)| {
                    let (best, _) = x
                        .iter()
                        .zip(y)
                        .map(|(x, y)| w * x + (1.0 - w) * y)
                        .enumerate()
                        .fold((0, f32::MIN), |b, (i, v)| if v > b.1 { (i, v) } else { b });
                    a.labels()[best].as_ref()
                })
                .collect();
            let gold: Vec<&str> = test.iter().map(|e| e.label.as_str()).collect();
            let e = Evaluation::of(&gold, &predicted, Some("oos"));
            println!(
                "wide ensemble linear {w}: acc={:.4} in_scope={:.4} oos_recall={:.4}",
                e.accuracy,
                e.in_scope_accuracy.unwrap_or(f64::NAN),
                e.oos_recall.unwrap_or(f64::NAN)
            );
        }
    }
    if wanted("linear-ens") {
        let started = Instant::now();
        let mut words = linear.clone();
        (words.features.char_min, words.features.char_max) = (0, 0);
        let mut chars = linear.clone();
        chars.features.word_ngrams = 0;
        let w = train("intent", &train_set, &words).map_err(|e| e.to_string())?;
        intent_report("linear words only", started, &w, &test);
        let c = train("intent", &train_set, &chars).map_err(|e| e.to_string())?;
        intent_report("linear chars only", started, &c, &test);
        let mut extractor = Extractor::default();
        let mut p = Vec::new();
        let mut logp = |m: &LinearModel, text: &str| -> Vec<f32> {
            m.probabilities_into(&extractor.extract(text, m.feature_config()), &mut p);
            p.iter().map(|x| x.max(1e-9).ln()).collect()
        };
        let lw: Vec<Vec<f32>> = test.iter().map(|e| logp(&w, &e.text)).collect();
        let lc: Vec<Vec<f32>> = test.iter().map(|e| logp(&c, &e.text)).collect();
        for a in [0.3f32, 0.5, 0.7] {
            let predicted: Vec<&str> = lw
                .iter()
                .zip(&lc)
                .map(|(x, y)| {
                    let (best, _) = x
                        .iter()
                        .zip(y)
                        .map(|(x, y)| a * x + (1.0 - a) * y)
                        .enumerate()
                        .fold((0, f32::MIN), |b, (i, v)| if v > b.1 { (i, v) } else { b });
                    w.labels()[best].as_ref()
                })
                .collect();
            let gold: Vec<&str> = test.iter().map(|e| e.label.as_str()).collect();
            let e = Evaluation::of(&gold, &predicted, Some("oos"));
            println!(
                "ensemble words {a}: in_scope={:.4} oos_recall={:.4}",
                e.in_scope_accuracy.unwrap_or(f64::NAN),
                e.oos_recall.unwrap_or(f64::NAN)
            );
        }
    }
    for (name, config) in variants {
        if !wanted(&name) {
            continue;
        }
        let started = Instant::now();
        let model = train("intent", &train_set, &config).map_err(|e| e.to_string())?;
        intent_report(&name, started, &model, &test);
    }
    if wanted("auto") {
        // The recipe `hark nlp train intent` follows: a threshold from out-of-fold answers.
        for loss in [0.005f32, 0.01] {
            let started = Instant::now();
            let mut model = train("intent", &train_set, &linear).map_err(|e| e.to_string())?;
            let reject = hark_nlp::train::cross_validated_reject(&train_set, &linear, "oos", 3, loss)
                .map_err(|e| e.to_string())?;
            model.set_reject(reject);
            intent_report(&format!("linear auto threshold, loss {loss}"), started, &model, &test);
        }
    }
    if wanted("in-scope-only") {
        let started = Instant::now();
        let in_scope: Vec<Example> = train_set.iter().filter(|e| e.label != "oos").cloned().collect();
        let mut model = train("intent", &in_scope, &linear).map_err(|e| e.to_string())?;
        intent_report("linear in-scope only", started, &model, &test);
        let reject =
            hark_nlp::train::cross_validated_reject(&train_set, &linear, "oos", 3, 0.005).map_err(|e| e.to_string())?;
        model.set_reject(reject);
        intent_report("linear in-scope only + threshold", started, &model, &test);
    }
    Ok(())
}
