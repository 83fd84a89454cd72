//! `hark nlp …` as the operator runs it: detect one text, train and evaluate
//! models on small labelled files, and clear errors on bad input.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn hark() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hark"))
}

fn run(args: &[&str]) -> Output {
    hark().args(args).output().unwrap_or_else(|e| panic!("cannot run hark: {e}"))
}

/// Runs a command that must succeed and print one JSON value.
fn json(args: &[&str]) -> Value {
    let output = run(args);
    assert!(output.status.success(), "hark {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("hark {args:?} did not print JSON ({e}): {}", String::from_utf8_lossy(&output.stdout))
    })
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_else(|| panic!("non-UTF-8 temporary path"))
}

fn write(dir: &Path, name: &str, content: &str) -> std::path::PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, content).unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
    file
}

#[test]
fn detect_prints_language_sentiment_intent_and_personal_data() {
    let text = "Where is my parcel? I paid with card 4111 1111 1111 1111, order AB123456, call me on +44 20 7946 0958";
    let out = json(&["nlp", "detect", text, "--order-pattern", r"\b[A-Z]{2}[0-9]{6}\b"]);
    assert_eq!(out["language"]["code"], "en");
    assert!(out["sentiment"]["label"].is_string());
    let sentiment_total: f64 = ["negative", "neutral", "positive"]
        .iter()
        .map(|k| out["sentiment"]["scores"][k].as_f64().unwrap_or(f64::NAN))
        .sum();
    assert!((sentiment_total - 1.0).abs() < 0.01, "{sentiment_total}");
    assert_eq!(out["intent"]["scores"].as_object().map(|m| m.len()), Some(11));
    let spans = out["personal_data"].as_array().cloned().unwrap_or_default();
    let kinds: Vec<&str> = spans.iter().filter_map(|s| s["kind"].as_str()).collect();
    assert_eq!(kinds, ["card_number", "order_number", "phone"]);
    let card = &spans[0];
    let (start, end) = (card["start"].as_u64().unwrap_or(0) as usize, card["end"].as_u64().unwrap_or(0) as usize);
    assert_eq!(&text[start..end], "4111 1111 1111 1111");
}

#[test]
fn detect_handles_other_scripts_and_text_without_letters() {
    assert_eq!(json(&["nlp", "detect", "我的订单在哪里？已经一周了。"])["language"]["code"], "zh");
    assert_eq!(json(&["nlp", "detect", "Где мой заказ? Жду уже неделю."])["language"]["code"], "ru");
    let emoji = json(&["nlp", "detect", "😂😂 https://t.co/x"]);
    assert_eq!(emoji["language"]["code"], "und");
    assert_eq!(emoji["personal_data"].as_array().map(Vec::len), Some(0));
}

#[test]
fn train_then_eval_intent_on_small_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut rows = String::from("text,label\n");
    for item in ["phone", "laptop", "tablet", "camera", "watch", "speaker"] {
        rows.push_str(&format!("\"Where is my {item}, it has not arrived\",delivery\n"));
        rows.push_str(&format!("I want a refund for the {item},refund\n"));
        rows.push_str(&format!("\"Charge for the {item} was wrong, money back please\",refund\n"));
        rows.push_str(&format!("my {item} delivery is late,delivery\n"));
    }
    let train = write(dir.path(), "train.csv", &rows);
    let extra = write(dir.path(), "corrections.csv", "text,label\nparcel missing,delivery\nrefund me,refund\n");
    let test = write(
        dir.path(),
        "test.csv",
        "text,label\nWhere is my fridge? it has not arrived,delivery\nI want a refund for the fridge,refund\nwhat is the weather,oos\n",
    );
    let model = dir.path().join("intent.model");
    let report = json(&[
        "nlp",
        "train",
        "intent",
        "--csv",
        path(&train),
        "--csv",
        path(&extra),
        "--out",
        path(&model),
        "--epochs",
        "8",
        "--bucket-bits",
        "12",
    ]);
    assert_eq!(report["examples"], 26);
    assert_eq!(report["labels"], serde_json::json!(["delivery", "refund"]));
    assert!(model.exists());

    let eval = json(&["nlp", "eval", "intent", "--model", path(&model), "--csv", path(&test)]);
    assert_eq!(eval["n"], 3);
    assert_eq!(eval["per_class"]["delivery"]["recall"], 1.0);
    assert_eq!(eval["per_class"]["refund"]["recall"], 1.0);
    // "oos" is in the gold labels, so in-scope accuracy and out-of-scope recall are reported.
    assert_eq!(eval["in_scope_accuracy"], 1.0);
    assert_eq!(eval["oos_recall"], 0.0);
    for key in ["accuracy", "macro_f1"] {
        assert!(eval[key].is_number(), "{key} missing: {eval}");
    }
}

#[test]
fn train_and_eval_sentiment_with_numeric_labels() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut rows = String::from("text,label\n");
    for thing in ["flight", "crew", "food", "seat", "app"] {
        rows.push_str(&format!("the {thing} was terrible and awful,0\n"));
        rows.push_str(&format!("the {thing} is at gate five,1\n"));
        rows.push_str(&format!("the {thing} was wonderful and lovely,2\n"));
    }
    let train = write(dir.path(), "sentiment.csv", &rows);
    let model = dir.path().join("sentiment.model");
    json(&["nlp", "train", "sentiment", "--csv", path(&train), "--out", path(&model), "--bucket-bits", "12"]);
    let texts = write(dir.path(), "text.txt", "the movie was terrible and awful\nthe movie was wonderful and lovely\n");
    let labels = write(dir.path(), "labels.txt", "0\n2\n");
    let eval =
        json(&["nlp", "eval", "sentiment", "--text", path(&texts), "--labels", path(&labels), "--model", path(&model)]);
    assert_eq!(eval["n"], 2);
    assert_eq!(eval["accuracy"], 1.0);
    assert_eq!(eval["per_class"]["negative"]["f1"], 1.0);

    // The shipped model, on the same files.
    let shipped = json(&["nlp", "eval", "sentiment", "--text", path(&texts), "--labels", path(&labels)]);
    assert_eq!(shipped["n"], 2);
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let texts = write(dir.path(), "text.txt", "one\ntwo\n");
    let labels = write(dir.path(), "labels.txt", "0\n");
    let output = run(&["nlp", "eval", "sentiment", "--text", path(&texts), "--labels", path(&labels)]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("lines"), "{}", String::from_utf8_lossy(&output.stderr));

    let bad_labels = write(dir.path(), "bad.txt", "0\nseven\n");
    let output = run(&["nlp", "eval", "sentiment", "--text", path(&texts), "--labels", path(&bad_labels)]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 2"));

    let not_csv = write(dir.path(), "x.csv", "words,label\na,b\n");
    let output = run(&["nlp", "train", "intent", "--csv", path(&not_csv), "--out", path(&dir.path().join("m"))]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("text column"));

    let output = run(&["nlp", "eval", "intent", "--model", path(&texts), "--csv", path(&not_csv)]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a usable model"));

    let output = run(&["nlp", "detect", "x", "--order-pattern", "(unclosed"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("order-pattern"));
}

#[test]
fn clinc_json_becomes_three_csv_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = r#"{"train": [["book a table", "restaurant"]], "oos_train": [["sing", "oos"]],
        "val": [["reserve a table", "restaurant"]], "oos_val": [],
        "test": [["table for two", "restaurant"], ["what, is \"this\"", "oos"]], "oos_test": [["hum", "oos"]]}"#;
    let json_file = write(dir.path(), "data_full.json", data);
    let out = json(&["nlp", "clinc-csv", "--json", path(&json_file), "--out-dir", path(dir.path())]);
    assert_eq!(out["rows"]["train"], 2);
    assert_eq!(out["rows"]["test"], 3);
    let eval = json(&["nlp", "eval", "intent", "--csv", path(&dir.path().join("test.csv"))]);
    assert_eq!(eval["n"], 3);
}
