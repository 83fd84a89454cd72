//! `hark nlp …` and `hark bench nlp`: read, train and measure the message
//! understanding models from the command line. Every command prints JSON.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use hark_nlp::{
    Evaluation, Example, Extractor, LinearModel, Nlp, PiiOptions, Prediction, Sentiment, SentimentScores, TrainConfig,
};
use serde_json::{Map, Value, json};

#[derive(Subcommand)]
pub enum NlpCommand {
    /// Language, sentiment, intent and personal data of one text, as JSON.
    Detect(DetectArgs),
    /// Score a model on labelled data: n, accuracy, macro-F1, per-class F1.
    Eval {
        #[command(subcommand)]
        task: EvalTask,
    },
    /// Train a model from labelled CSV files (columns text,label with a header).
    Train {
        #[command(subcommand)]
        task: TrainTask,
    },
    /// The workspace's corrections of sentiment or intent, as training CSV.
    Corrections {
        #[command(subcommand)]
        command: CorrectionsCommand,
    },
    /// Convert CLINC150's data_full.json into train.csv, val.csv and test.csv (out-of-scope labelled "oos").
    ClincCsv {
        /// The data_full.json file.
        #[arg(long, value_name = "FILE")]
        json: PathBuf,
        /// Directory to write the three CSV files to.
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum CorrectionsCommand {
    /// Print the corrections agents made, as CSV with columns text,label (for `hark nlp train … --csv`).
    Export {
        /// `intent` or `sentiment`.
        #[arg(long, default_value = "intent")]
        field: String,
        /// Only this workspace (id or name); default every workspace.
        #[arg(long)]
        workspace: Option<String>,
        /// Directory of the SQLite database [env: HARK_DATA_DIR].
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// postgres://… to read PostgreSQL instead [env: HARK_DATABASE_URL].
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
}

#[derive(Args)]
pub struct DetectArgs {
    /// The message text.
    text: String,
    /// Regular expression for the workspace's order numbers, e.g. '\b[A-Z]{2}[0-9]{6}\b'.
    #[arg(long, value_name = "REGEX")]
    order_pattern: Option<String>,
    /// A sentiment model trained with `hark nlp train sentiment` instead of the shipped one.
    #[arg(long, value_name = "FILE")]
    sentiment_model: Option<PathBuf>,
    /// An intent model trained with `hark nlp train intent` instead of the shipped one.
    #[arg(long, value_name = "FILE")]
    intent_model: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum EvalTask {
    /// One text per line in --text, one label per line in --labels (0 negative, 1 neutral, 2 positive).
    Sentiment {
        #[arg(long, value_name = "FILE")]
        text: PathBuf,
        #[arg(long, value_name = "FILE")]
        labels: PathBuf,
        /// A trained sentiment model (default: the shipped one).
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
    },
    /// A CSV with columns text,label.
    Intent {
        /// A trained intent model (default: the shipped one).
        #[arg(long, value_name = "FILE")]
        model: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        csv: PathBuf,
        /// The label meaning "none of the intents": reports in-scope accuracy and its recall.
        #[arg(long, default_value = "oos")]
        oos_label: String,
    },
}

#[derive(Subcommand)]
pub enum TrainTask {
    /// Train an intent model; its labels are whatever the CSV files hold.
    Intent(TrainArgs),
    /// Train a sentiment model; labels negative/neutral/positive or 0/1/2.
    Sentiment(TrainArgs),
}

#[derive(Args)]
pub struct TrainArgs {
    /// Labelled CSV file (text,label); repeat to train on several.
    #[arg(long = "csv", value_name = "FILE", required = true)]
    csv: Vec<PathBuf>,
    /// Where to write the model.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Held-out CSV with out-of-scope examples (labelled --oos-label) to choose a reject threshold on.
    #[arg(long, value_name = "FILE")]
    tune_csv: Option<PathBuf>,
    /// The out-of-scope label, in the training data and/or --tune-csv.
    #[arg(long, default_value = "oos")]
    oos_label: String,
    /// Passes over the data (default: the task's preset).
    #[arg(long)]
    epochs: Option<u32>,
    /// log2 of the number of hash buckets (default: the task's preset).
    #[arg(long)]
    bucket_bits: Option<u8>,
    /// L2 penalty (default: the task's preset).
    #[arg(long)]
    l2: Option<f32>,
    /// AdaGrad learning rate (default: the task's preset).
    #[arg(long)]
    learning_rate: Option<f32>,
    /// Hidden units beside the linear part (0: a linear model; default: the task's preset).
    #[arg(long, value_name = "N")]
    hidden: Option<usize>,
    /// Share of hidden units dropped at each training step (default: the task's preset).
    #[arg(long)]
    dropout: Option<f32>,
    /// Word n-grams from 1 to N (0: none; default: the task's preset).
    #[arg(long, value_name = "N")]
    word_ngrams: Option<u8>,
    /// Character n-gram lengths as MIN-MAX, e.g. 1-5, or 0 for none (default: the task's preset).
    #[arg(long, value_name = "MIN-MAX")]
    char_ngrams: Option<String>,
    /// Shuffling seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Args)]
pub struct BenchNlpArgs {
    /// How many messages to analyse.
    #[arg(long, default_value_t = 200_000)]
    messages: usize,
}

pub fn run(command: NlpCommand) -> anyhow::Result<()> {
    let output = match command {
        NlpCommand::Detect(args) => detect(args)?,
        NlpCommand::Eval { task: EvalTask::Sentiment { text, labels, model } } => {
            eval_sentiment(&text, &labels, model)?
        }
        NlpCommand::Eval { task: EvalTask::Intent { model, csv, oos_label } } => eval_intent(model, &csv, &oos_label)?,
        NlpCommand::Train { task: TrainTask::Intent(args) } => train(Task::Intent, args)?,
        NlpCommand::Train { task: TrainTask::Sentiment(args) } => train(Task::Sentiment, args)?,
        NlpCommand::ClincCsv { json, out_dir } => clinc_csv(&json, &out_dir)?,
        // Reading the database needs the runtime and configuration (main.rs runs it).
        NlpCommand::Corrections { .. } => bail!("hark nlp corrections runs from the hark command"),
    };
    // A closed pipe (`| head`) is an error to report, not a reason to panic.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", serde_json::to_string_pretty(&output)?)?;
    Ok(())
}

fn shipped() -> anyhow::Result<&'static Nlp> {
    Nlp::shared().map_err(|e| anyhow::anyhow!("the shipped models cannot be loaded: {e}"))
}

fn load_model(path: &Path) -> anyhow::Result<LinearModel> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read the model {}", path.display()))?;
    LinearModel::from_bytes(&bytes).with_context(|| format!("{} is not a usable model", path.display()))
}

fn detect(args: DetectArgs) -> anyhow::Result<Value> {
    let options = match &args.order_pattern {
        Some(pattern) => PiiOptions::with_order_pattern(pattern).context("invalid --order-pattern")?,
        None => PiiOptions::default(),
    };
    let mut nlp = shipped()?.clone();
    if let Some(path) = &args.sentiment_model {
        nlp = nlp.with_sentiment(load_model(path)?)?;
    }
    if let Some(path) = &args.intent_model {
        nlp = nlp.with_intent(load_model(path)?);
    }
    let analysis = nlp.analyze(&args.text, &options);
    let personal_data: Vec<Value> = analysis
        .personal_data
        .iter()
        .map(|span| {
            json!({
                "kind": span.kind.name(),
                "start": span.start,
                "end": span.end,
                "text": &args.text[span.start..span.end],
            })
        })
        .collect();
    Ok(json!({
        "language": {"code": analysis.language.code(), "confidence": round4(analysis.language.confidence)},
        "sentiment": sentiment_json(&analysis.sentiment),
        "intent": prediction_json(&analysis.intent),
        "personal_data": personal_data,
    }))
}

fn sentiment_json(s: &SentimentScores) -> Value {
    json!({
        "label": s.label.name(),
        "confidence": round4(s.confidence),
        "scores": {"negative": round4(s.negative), "neutral": round4(s.neutral), "positive": round4(s.positive)},
    })
}

fn prediction_json(p: &Prediction) -> Value {
    let scores: Map<String, Value> = p.scores.iter().map(|s| (s.label.to_string(), json!(round4(s.score)))).collect();
    json!({"label": p.label.as_ref(), "confidence": round4(p.confidence), "scores": scores})
}

fn round4(x: f32) -> f64 {
    (x as f64 * 10_000.0).round() / 10_000.0
}

fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text.lines().map(|l| l.trim_end_matches('\r').to_owned()).collect())
}

fn eval_sentiment(text: &Path, labels_file: &Path, model: Option<PathBuf>) -> anyhow::Result<Value> {
    let texts = read_lines(text)?;
    let mut labels = read_lines(labels_file)?;
    // A trailing empty line is not a label.
    while labels.last().is_some_and(|l| l.trim().is_empty()) && labels.len() > texts.len() {
        labels.pop();
    }
    if texts.len() != labels.len() {
        bail!("{} has {} lines but {} has {}", text.display(), texts.len(), labels_file.display(), labels.len());
    }
    let gold = labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Sentiment::parse(l)
                .map(Sentiment::name)
                .with_context(|| format!("{} line {}: label {l:?} is not 0, 1 or 2", labels_file.display(), i + 1))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let nlp = match model {
        Some(path) => shipped()?.with_sentiment(load_model(&path)?)?,
        None => shipped()?.clone(),
    };
    let predicted: Vec<&str> = texts.iter().map(|t| nlp.sentiment(t).label.name()).collect();
    Ok(evaluation_json(&Evaluation::of(&gold, &predicted, None)))
}

fn evaluation_json(e: &Evaluation) -> Value {
    let per_class: Map<String, Value> = e
        .per_class
        .iter()
        .map(|(label, c)| {
            let scores = json!({
                "f1": round8(c.f1),
                "precision": round8(c.precision),
                "recall": round8(c.recall),
                "support": c.support,
            });
            (label.clone(), scores)
        })
        .collect();
    let mut out = json!({
        "n": e.n,
        "accuracy": round8(e.accuracy),
        "macro_f1": round8(e.macro_f1),
        "per_class": per_class,
    });
    if let (Some(in_scope), Some(oos)) = (e.in_scope_accuracy, e.oos_recall) {
        out["in_scope_accuracy"] = json!(round8(in_scope));
        out["oos_recall"] = json!(round8(oos));
    }
    out
}

fn round8(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Label columns each task reads, in order of preference.
const INTENT_COLUMNS: [&str; 3] = ["label", "intent", "category"];
const SENTIMENT_COLUMNS: [&str; 2] = ["label", "sentiment"];

fn read_csv(path: &Path, label_columns: &[&str]) -> anyhow::Result<Vec<Example>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    hark_nlp::data::read_labelled_csv_with(std::io::BufReader::new(file), label_columns)
        .with_context(|| format!("in {}", path.display()))
}

fn eval_intent(model: Option<PathBuf>, csv: &Path, oos_label: &str) -> anyhow::Result<Value> {
    let model = match model {
        Some(path) => load_model(&path)?,
        None => shipped()?.intent_model().clone(),
    };
    let examples = read_csv(csv, &INTENT_COLUMNS)?;
    let predicted = predict_all(&model, &examples);
    let gold: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
    Ok(evaluation_json(&Evaluation::of(&gold, &predicted, Some(oos_label))))
}

fn predict_all(model: &LinearModel, examples: &[Example]) -> Vec<String> {
    let mut extractor = Extractor::default();
    let mut features = hark_nlp::FeatureVector::default();
    examples
        .iter()
        .map(|e| {
            extractor.extract_into(&e.text, model.feature_config(), &mut features);
            model.predict(&features).label.to_string()
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Task {
    Intent,
    Sentiment,
}

fn train(task: Task, args: TrainArgs) -> anyhow::Result<Value> {
    let columns: &[&str] = match task {
        Task::Intent => &INTENT_COLUMNS,
        Task::Sentiment => &SENTIMENT_COLUMNS,
    };
    let mut examples = Vec::new();
    for path in &args.csv {
        examples.extend(read_csv(path, columns)?);
    }
    let (name, mut config) = match task {
        Task::Intent => ("intent", TrainConfig::intent()),
        Task::Sentiment => ("sentiment", TrainConfig::sentiment()),
    };
    if let Task::Sentiment = task {
        for (i, example) in examples.iter_mut().enumerate() {
            let sentiment = Sentiment::parse(&example.label).with_context(|| {
                format!(
                    "example {}: sentiment label {:?} is not negative/neutral/positive or 0/1/2",
                    i + 1,
                    example.label
                )
            })?;
            example.label = sentiment.name().to_owned();
        }
    }
    config.epochs = args.epochs.unwrap_or(config.epochs);
    config.bucket_bits = args.bucket_bits.unwrap_or(config.bucket_bits);
    config.l2 = args.l2.unwrap_or(config.l2);
    config.learning_rate = args.learning_rate.unwrap_or(config.learning_rate);
    config.seed = args.seed;
    config.hidden = args.hidden.unwrap_or(config.hidden);
    config.dropout = args.dropout.unwrap_or(config.dropout);
    if let Some(n) = args.word_ngrams {
        config.features.word_ngrams = n;
    }
    if let Some(range) = &args.char_ngrams {
        (config.features.char_min, config.features.char_max) = parse_range(range)?;
    }
    let started = Instant::now();
    let mut model = hark_nlp::train(name, &examples, &config)?;
    if let Task::Sentiment = task {
        // Fails early, with the reason, when a class is missing.
        shipped()?.with_sentiment(model.clone())?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut report = json!({
        "task": name,
        "examples": examples.len(),
        "labels": model.labels().iter().map(|l| l.as_ref()).collect::<Vec<_>>(),
        "train_seconds": (seconds * 100.0).round() / 100.0,
    });
    if let Some(tune) = &args.tune_csv {
        let held_out = read_csv(tune, columns)?;
        match hark_nlp::train::tune_reject(&model, &held_out, &args.oos_label, 0.01) {
            Some(reject) => {
                report["reject_threshold"] = json!(reject.threshold);
                report["reject_chosen_on"] = json!(tune.display().to_string());
                model.set_reject(Some(reject));
            }
            None => bail!("{} needs both in-scope examples and examples labelled {:?}", tune.display(), args.oos_label),
        }
    } else if let Task::Intent = task {
        // Without a held-out file, training data that holds out-of-scope examples still gets a
        // reject threshold: chosen on answers of models that did not see the examples they answer.
        let reject = hark_nlp::train::cross_validated_reject(
            &examples,
            &config,
            &args.oos_label,
            REJECT_FOLDS,
            REJECT_MAX_IN_SCOPE_LOSS,
        )?;
        if let Some(reject) = reject {
            report["reject_threshold"] = json!(reject.threshold);
            report["reject_chosen_on"] = json!(format!("{REJECT_FOLDS}-fold cross-validation on the training CSV"));
            model.set_reject(Some(reject));
        }
        report["train_seconds"] = json!((started.elapsed().as_secs_f64() * 100.0).round() / 100.0);
    }
    let sources: Vec<String> = args.csv.iter().map(|p| p.display().to_string()).collect();
    model.set_metadata("trained_on", sources.join(", "));
    let bytes = model.to_bytes();
    std::fs::write(&args.out, &bytes).with_context(|| format!("cannot write {}", args.out.display()))?;
    report["out"] = json!(args.out.display().to_string());
    report["model_bytes"] = json!(bytes.len());
    // The figures on the training data, to show the model learnt something (not a generalisation estimate).
    let predicted = predict_all(&model, &examples);
    let gold: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
    report["train_accuracy"] = json!(round8(Evaluation::of(&gold, &predicted, None).accuracy));
    Ok(report)
}

/// Folds of the training data that choose the reject threshold when no `--tune-csv` is given.
const REJECT_FOLDS: usize = 3;
/// How much in-scope accuracy (on the out-of-fold answers) the reject threshold may cost.
const REJECT_MAX_IN_SCOPE_LOSS: f32 = 0.005;

/// "1-5" as (1, 5); "0" as no character n-grams.
fn parse_range(range: &str) -> anyhow::Result<(u8, u8)> {
    if range.trim() == "0" {
        return Ok((0, 0));
    }
    let parsed = range.split_once('-').and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
    match parsed {
        Some((min, max)) if min >= 1 && min <= max => Ok((min, max)),
        _ => bail!("--char-ngrams takes MIN-MAX with 1 <= MIN <= MAX (e.g. 1-5), or 0"),
    }
}

fn clinc_csv(json_path: &Path, out_dir: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(json_path).with_context(|| format!("cannot read {}", json_path.display()))?;
    let data: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", json_path.display()))?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut counts = Map::new();
    for (name, parts) in
        [("train", ["train", "oos_train"]), ("val", ["val", "oos_val"]), ("test", ["test", "oos_test"])]
    {
        let path = out_dir.join(format!("{name}.csv"));
        let mut writer = csv::Writer::from_path(&path).with_context(|| format!("cannot write {}", path.display()))?;
        writer.write_record(["text", "label"])?;
        let mut rows = 0;
        for part in parts {
            let items =
                data[part].as_array().with_context(|| format!("{} has no list {part:?}", json_path.display()))?;
            for item in items {
                match (item.get(0).and_then(Value::as_str), item.get(1).and_then(Value::as_str)) {
                    (Some(text), Some(label)) => writer.write_record([text, label])?,
                    _ => bail!("{}: an item of {part:?} is not [text, intent]", json_path.display()),
                }
                rows += 1;
            }
        }
        writer.flush()?;
        counts.insert(name.into(), json!(rows));
    }
    Ok(json!({"out_dir": out_dir.display().to_string(), "rows": counts}))
}

/// Messages for the benchmark: short customer-care texts in the twelve
/// languages, with handles, links, emoji and personal data mixed in.
const BENCH_TEXTS: &[&str] = &[
    "@airline My flight was delayed 5 hours and nobody told us anything. Worst service ever",
    "Where is my order #AB123456? It was supposed to arrive on Monday",
    "Thanks so much to the crew of BA117, you were amazing! ❤️",
    "I was charged twice, card 4111 1111 1111 1111, please refund",
    "Can't log into the app since the update, password reset email never comes",
    "Где мой заказ? Жду уже неделю. Телефон +7 912 345 67 89",
    "Списали деньги дважды, верните пожалуйста",
    "Спасибо за быструю помощь!",
    "Де моя посилка? Чекаю вже тиждень",
    "Дякую, все вирішили дуже швидко",
    "我的订单在哪里？已经一周了。",
    "退款什么时候到账？",
    "客服态度很好，谢谢！",
    "Πού είναι η παραγγελία μου; Περιμένω δύο εβδομάδες",
    "Ευχαριστώ πολύ για τη γρήγορη απάντηση!",
    "¿Dónde está mi pedido? Llevo diez días esperando",
    "Me habéis cobrado dos veces, IBAN ES91 2100 0418 4502 0005 1332",
    "Cadê meu pedido? Já faz duas semanas",
    "O aplicativo fecha sozinho toda vez que abro",
    "Où est ma commande ? Elle devait arriver lundi",
    "Merci beaucoup pour votre aide, super service",
    "Wo bleibt meine Bestellung? Schreibt mir an max.mustermann@example.de",
    "Die App stürzt ständig ab, bitte beheben",
    "Dov'è il mio ordine? Doveva arrivare ieri",
    "Grazie mille, servizio eccellente!",
    "أين طلبي؟ أنتظر منذ أسبوع",
    "شكرا جزيلا على المساعدة",
    "Siparişim nerede? Bir haftadır bekliyorum",
    "Harika hizmet, çok teşekkürler!",
    "FREE iPhone giveaway!! Click https://spam.example/win now 🔥🔥",
    "Do you have a family plan for 4 lines? Interested in switching",
    "lol 😂😂",
];

pub fn bench(args: BenchNlpArgs) -> anyhow::Result<Value> {
    let nlp = shipped()?;
    let options = PiiOptions::with_order_pattern(r"\b[A-Z]{2}[0-9]{6}\b")?;
    let messages = args.messages.max(1);
    // Warm up: page the models in.
    for text in BENCH_TEXTS {
        std::hint::black_box(nlp.analyze(text, &options));
    }
    let started = Instant::now();
    let mut checksum = 0usize;
    for i in 0..messages {
        let analysis = nlp.analyze(BENCH_TEXTS[i % BENCH_TEXTS.len()], &options);
        checksum += analysis.personal_data.len() + analysis.intent.label.len();
    }
    let elapsed = started.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    // Each part alone, on the same mix, for where the time goes.
    let part = |f: &dyn Fn(&str)| {
        let n = (messages / 4).max(1);
        let started = Instant::now();
        for i in 0..n {
            f(BENCH_TEXTS[i % BENCH_TEXTS.len()]);
        }
        started.elapsed().as_secs_f64() * 1e6 / n as f64
    };
    let language_us = part(&|t| {
        std::hint::black_box(nlp.language(t));
    });
    let sentiment_us = part(&|t| {
        std::hint::black_box(nlp.sentiment(t));
    });
    let pii_us = part(&|t| {
        std::hint::black_box(hark_nlp::find_pii(t, &options));
    });
    let mean_chars = BENCH_TEXTS.iter().map(|t| t.chars().count()).sum::<usize>() as f64 / BENCH_TEXTS.len() as f64;
    let per_second = messages as f64 / elapsed;
    Ok(json!({
        "messages": messages,
        "threads": 1,
        "messages_per_s_per_core": per_second.round(),
        "microseconds_per_message": (elapsed * 1e6 / messages as f64 * 100.0).round() / 100.0,
        "parts_microseconds_alone": {
            "language": (language_us * 100.0).round() / 100.0,
            "sentiment": (sentiment_us * 100.0).round() / 100.0,
            "personal_data": (pii_us * 100.0).round() / 100.0,
        },
        "mix": {"distinct_texts": BENCH_TEXTS.len(), "languages": 12, "mean_chars": (mean_chars * 10.0).round() / 10.0},
        "model_bytes": {
            "language": hark_nlp::LANGUAGE_MODEL.len(),
            "sentiment": hark_nlp::SENTIMENT_MODEL.len(),
            "intent": hark_nlp::INTENT_MODEL.len(),
        },
    }))
}
