//! What Hark reads in every customer message, offline and in microseconds:
//! its language, sentiment, intent and any personal data in it (see the
//! `hark-nlp` crate for the models and how they were trained).

use hark_domain::{PersonalDataSpan, Sentiment};
use hark_nlp::{Nlp, PiiOptions};

use crate::{AppError, AppResult};

/// The models and what counts as an order number.
pub struct Understanding {
    /// `None` only if the shipped models failed to load (a broken build,
    /// which the tests catch); messages are then stored without a reading.
    nlp: Option<&'static Nlp>,
    pii: PiiOptions,
}

/// What was read in one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// ISO 639-1, or `None` when the text has no words to tell by.
    pub language: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub intent: Option<String>,
    pub personal_data: Vec<PersonalDataSpan>,
}

impl Understanding {
    /// The models shipped in the binary; `order_pattern` is a regular
    /// expression for the workspace's order numbers (none when empty).
    pub fn shipped(order_pattern: &str) -> AppResult<Understanding> {
        let nlp = Nlp::shared().map_err(|e| AppError::Unavailable(format!("the language models did not load: {e}")))?;
        let pii = if order_pattern.trim().is_empty() {
            PiiOptions::default()
        } else {
            PiiOptions::with_order_pattern(order_pattern)
                .map_err(|e| AppError::invalid("order_number_pattern", format!("not a regular expression: {e}")))?
        };
        Ok(Understanding { nlp: Some(nlp), pii })
    }

    /// Reads with a workspace's own models (trained with `hark nlp train`,
    /// e.g. on the shipped data plus `hark nlp corrections export`) in place
    /// of the shipped sentiment and/or intent model. Loaded once at start.
    pub fn with_models(mut self, sentiment: Option<&[u8]>, intent: Option<&[u8]>) -> AppResult<Understanding> {
        let Some(shipped) = self.nlp else { return Ok(self) };
        if sentiment.is_none() && intent.is_none() {
            return Ok(self);
        }
        let load = |bytes: &[u8], what: &'static str| {
            hark_nlp::LinearModel::from_bytes(bytes)
                .map_err(|e| AppError::invalid(what, format!("not a usable model: {e}")))
        };
        let mut nlp = shipped.clone();
        if let Some(bytes) = sentiment {
            nlp = nlp
                .with_sentiment(load(bytes, "sentiment_model")?)
                .map_err(|e| AppError::invalid("sentiment_model", e.to_string()))?;
        }
        if let Some(bytes) = intent {
            nlp = nlp.with_intent(load(bytes, "intent_model")?);
        }
        // One per process, kept for its whole life like the shipped models.
        self.nlp = Some(Box::leak(Box::new(nlp)));
        Ok(self)
    }

    /// Reads nothing: for when the models cannot load.
    pub fn without_models() -> Understanding {
        Understanding { nlp: None, pii: PiiOptions::default() }
    }

    pub fn read(&self, text: &str) -> Reading {
        let Some(nlp) = self.nlp else {
            return Reading { language: None, sentiment: None, intent: None, personal_data: vec![] };
        };
        let analysis = nlp.analyze(text, &self.pii);
        Reading {
            language: analysis.language.language.map(|l| l.code().to_owned()),
            sentiment: Some(match analysis.sentiment.label {
                hark_nlp::Sentiment::Negative => Sentiment::Negative,
                hark_nlp::Sentiment::Neutral => Sentiment::Neutral,
                hark_nlp::Sentiment::Positive => Sentiment::Positive,
            }),
            intent: Some(analysis.intent.label.to_string()),
            personal_data: analysis
                .personal_data
                .iter()
                .map(|s| PersonalDataSpan { kind: s.kind.name().to_owned(), start: s.start, end: s.end })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complaint_with_a_card_number_is_read_as_such() {
        let u = Understanding::shipped(r"\bNW-\d{5}\b").unwrap_or_else(|e| panic!("{e}"));
        let r = u.read("This is terrible, you charged my card 4111 1111 1111 1111 twice for order NW-48213!");
        assert_eq!(r.language.as_deref(), Some("en"));
        assert_eq!(r.sentiment, Some(Sentiment::Negative));
        let kinds: Vec<&str> = r.personal_data.iter().map(|p| p.kind.as_str()).collect();
        assert!(kinds.contains(&"card_number") && kinds.contains(&"order_number"), "{kinds:?}");
        assert!(Understanding::shipped("([unclosed").is_err());
        assert_eq!(u.read("👍👍").language, None);
    }

    #[test]
    fn a_retrained_model_replaces_the_shipped_one() {
        let examples: Vec<hark_nlp::Example> = [
            ("I want my money back", "money_back"),
            ("refund me now", "money_back"),
            ("hello there", "greeting"),
            ("good morning team", "greeting"),
        ]
        .iter()
        .map(|(t, l)| hark_nlp::Example::new(*t, *l))
        .collect();
        let model =
            hark_nlp::train("intent", &examples, &hark_nlp::TrainConfig::intent()).unwrap_or_else(|e| panic!("{e}"));
        let u = Understanding::shipped("")
            .and_then(|u| u.with_models(None, Some(&model.to_bytes())))
            .unwrap_or_else(|e| panic!("{e}"));
        let intent = u.read("please refund me my money").intent.unwrap_or_default();
        assert!(intent == "money_back" || intent == "greeting", "{intent}");
        let broken = Understanding::shipped("").and_then(|u| u.with_models(None, Some(b"not a model")));
        assert!(broken.is_err());
    }
}
