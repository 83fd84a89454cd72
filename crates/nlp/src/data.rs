//! Reading labelled examples from CSV (`text,label` with a header).
//!
//! The caller opens the file; this module only parses what it is given.

use std::io::Read;

use crate::train::Example;

/// Why labelled data could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("the CSV has no header row")]
    NoHeader,
    #[error("the CSV header has no text column (expected a column named \"text\")")]
    NoTextColumn,
    #[error(
        "the CSV header has no label column (expected \"label\", or \"category\", \"intent\" or \"sentiment\" as the task allows)"
    )]
    NoLabelColumn,
    #[error("row {row}: {message}")]
    Row { row: usize, message: String },
}

/// Names accepted for the label column, in order of preference.
pub const LABEL_COLUMNS: [&str; 4] = ["label", "category", "intent", "sentiment"];

/// Reads `text,label` rows (RFC 4180 quoting; the label column may also be
/// called `category`, `intent` or `sentiment`; other columns are ignored).
/// Rows with an empty text or label are errors, naming the row.
pub fn read_labelled_csv<R: Read>(reader: R) -> Result<Vec<Example>, DataError> {
    read_labelled_csv_with(reader, &LABEL_COLUMNS)
}

/// Like [`read_labelled_csv`], with the label column chosen from
/// `label_columns` in that order (a file of `text,intent,sentiment` trains
/// sentiment with `["label", "sentiment"]`).
pub fn read_labelled_csv_with<R: Read>(reader: R, label_columns: &[&str]) -> Result<Vec<Example>, DataError> {
    let mut csv = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(reader);
    let headers = csv.headers()?.clone();
    if headers.is_empty() {
        return Err(DataError::NoHeader);
    }
    let column =
        |name: &str| headers.iter().position(|h| h.trim().trim_start_matches('\u{feff}').eq_ignore_ascii_case(name));
    let text_at = column("text").ok_or(DataError::NoTextColumn)?;
    let label_at = label_columns.iter().find_map(|name| column(name)).ok_or(DataError::NoLabelColumn)?;
    let mut examples = Vec::new();
    for (i, record) in csv.records().enumerate() {
        let row = i + 2;
        let record = record?;
        let text = record.get(text_at).unwrap_or_default();
        let label = record.get(label_at).unwrap_or_default().trim();
        if text.trim().is_empty() {
            return Err(DataError::Row { row, message: "empty text".into() });
        }
        if label.is_empty() {
            return Err(DataError::Row { row, message: "empty label".into() });
        }
        examples.push(Example::new(text, label));
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::OrPanic;

    #[test]
    fn reads_quoted_fields_and_alternative_label_names() {
        let csv = "text,category\n\"Hello, \"\"world\"\"\nagain\",greeting\nplain,other\n";
        let examples = read_labelled_csv(csv.as_bytes()).or_panic("valid");
        assert_eq!(examples.len(), 2);
        assert_eq!(examples[0].text, "Hello, \"world\"\nagain");
        assert_eq!(examples[0].label, "greeting");
    }

    #[test]
    fn the_task_chooses_among_label_columns() {
        let csv = "text,intent,sentiment\nwhere is it,order_delivery,negative\n";
        assert_eq!(read_labelled_csv(csv.as_bytes()).or_panic("valid")[0].label, "order_delivery");
        let sentiment = read_labelled_csv_with(csv.as_bytes(), &["label", "sentiment"]).or_panic("valid");
        assert_eq!(sentiment[0].label, "negative");
    }

    #[test]
    fn bad_files_are_clear_errors() {
        assert!(matches!(read_labelled_csv("words,label\na,b\n".as_bytes()), Err(DataError::NoTextColumn)));
        assert!(matches!(read_labelled_csv("text,x\na,b\n".as_bytes()), Err(DataError::NoLabelColumn)));
        assert!(matches!(read_labelled_csv("text,label\n,b\n".as_bytes()), Err(DataError::Row { row: 2, .. })));
        assert!(matches!(read_labelled_csv("text,label\na,b,c\n".as_bytes()), Err(DataError::Csv(_))));
    }
}
