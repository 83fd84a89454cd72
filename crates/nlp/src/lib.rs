//! Understanding customer messages offline, inside the binary: language,
//! sentiment, intent, personal data and reply similarity.
//!
//! [`Nlp::shared`] holds the models shipped in the binary; [`Nlp::analyze`]
//! reads one message in microseconds. A workspace may replace the sentiment
//! or intent model by one it trained on its own corrections
//! ([`Nlp::with_sentiment`], [`Nlp::with_intent`]). Nothing here does IO:
//! models come from bytes the caller supplies or from the binary itself.

pub mod data;
pub mod features;
pub mod language;
pub mod metrics;
pub mod model;
pub mod pii;
pub mod similarity;
pub mod text;
pub mod train;

#[cfg(test)]
mod test_support;

use std::cell::RefCell;
use std::sync::{Arc, LazyLock};

use serde::Serialize;

pub use crate::features::{Extractor, FeatureConfig, FeatureVector};
pub use crate::language::{Language, LanguageGuess, LanguageIdentifier};
pub use crate::metrics::{ClassScores, Evaluation};
pub use crate::model::{LabelScore, LinearModel, ModelError, Prediction, Reject};
pub use crate::pii::{PiiKind, PiiOptions, PiiSpan, find_pii};
pub use crate::similarity::{ReplySimilarity, SimilarReply};
pub use crate::train::{Example, TrainConfig, TrainError, train};

/// The shipped language model (Latin- and Cyrillic-script languages).
pub const LANGUAGE_MODEL: &[u8] = include_bytes!("../models/language.bin");
/// The shipped sentiment model.
pub const SENTIMENT_MODEL: &[u8] = include_bytes!("../models/sentiment.bin");
/// The shipped intent model.
pub const INTENT_MODEL: &[u8] = include_bytes!("../models/intent.bin");

/// The labels a sentiment model must have, in this order.
pub const SENTIMENT_LABELS: [&str; 3] = ["negative", "neutral", "positive"];

/// The intents of the shipped model.
pub const INTENT_LABELS: [&str; 11] = [
    "account_access",
    "billing_refund",
    "complaint",
    "feedback",
    "order_delivery",
    "other",
    "praise",
    "question",
    "sales_lead",
    "spam",
    "technical_issue",
];

/// Negative, neutral or positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    /// "negative", "neutral" or "positive".
    pub fn name(self) -> &'static str {
        match self {
            Sentiment::Negative => "negative",
            Sentiment::Neutral => "neutral",
            Sentiment::Positive => "positive",
        }
    }

    /// Reads "negative"/"neutral"/"positive" or "0"/"1"/"2" (also "-1" for negative).
    pub fn parse(label: &str) -> Option<Sentiment> {
        match label.trim().to_ascii_lowercase().as_str() {
            "negative" | "0" | "-1" | "neg" => Some(Sentiment::Negative),
            "neutral" | "1" | "neu" => Some(Sentiment::Neutral),
            "positive" | "2" | "pos" => Some(Sentiment::Positive),
            _ => None,
        }
    }
}

/// The sentiment of a message with the probability of each class.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SentimentScores {
    pub label: Sentiment,
    pub confidence: f32,
    pub negative: f32,
    pub neutral: f32,
    pub positive: f32,
}

/// Everything Hark reads from one message.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analysis {
    pub language: LanguageGuess,
    pub sentiment: SentimentScores,
    pub intent: Prediction,
    /// Personal data, in order of position, as byte ranges of the text.
    pub personal_data: Vec<PiiSpan>,
}

/// Why the models could not be set up.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NlpError {
    #[error("{0}")]
    Model(String),
}

impl From<ModelError> for NlpError {
    fn from(e: ModelError) -> Self {
        NlpError::Model(e.to_string())
    }
}

/// The three models together.
#[derive(Clone, Debug)]
pub struct Nlp {
    language: Arc<LanguageIdentifier>,
    sentiment: Arc<LinearModel>,
    intent: Arc<LinearModel>,
}

static SHARED: LazyLock<Result<Nlp, NlpError>> =
    LazyLock::new(|| Nlp::from_bytes(LANGUAGE_MODEL, SENTIMENT_MODEL, INTENT_MODEL));

/// Buffers reused between messages on one thread.
#[derive(Default)]
struct Scratch {
    extractor: Extractor,
    features: FeatureVector,
    other_features: FeatureVector,
    scores: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Nlp {
    /// The models shipped in the binary, loaded once per process.
    pub fn shared() -> Result<&'static Nlp, NlpError> {
        SHARED.as_ref().map_err(Clone::clone)
    }

    /// Loads the three models from their bytes (see [`LinearModel::to_bytes`]).
    pub fn from_bytes(language: &[u8], sentiment: &[u8], intent: &[u8]) -> Result<Self, NlpError> {
        let language = LanguageIdentifier::new(LinearModel::from_bytes(language)?)?;
        Self::new(language, LinearModel::from_bytes(sentiment)?, LinearModel::from_bytes(intent)?)
    }

    /// Puts models together; the sentiment model must have the labels negative, neutral and positive.
    pub fn new(language: LanguageIdentifier, sentiment: LinearModel, intent: LinearModel) -> Result<Self, NlpError> {
        check_sentiment_labels(&sentiment)?;
        Ok(Self { language: Arc::new(language), sentiment: Arc::new(sentiment), intent: Arc::new(intent) })
    }

    /// The same models with another sentiment model (e.g. a workspace's own).
    pub fn with_sentiment(&self, sentiment: LinearModel) -> Result<Self, NlpError> {
        check_sentiment_labels(&sentiment)?;
        Ok(Self { sentiment: Arc::new(sentiment), ..self.clone() })
    }

    /// The same models with another intent model (any label set).
    pub fn with_intent(&self, intent: LinearModel) -> Self {
        Self { intent: Arc::new(intent), ..self.clone() }
    }

    /// The language identifier.
    pub fn language_identifier(&self) -> &LanguageIdentifier {
        &self.language
    }

    /// The sentiment model.
    pub fn sentiment_model(&self) -> &LinearModel {
        &self.sentiment
    }

    /// The intent model.
    pub fn intent_model(&self) -> &LinearModel {
        &self.intent
    }

    /// Language, sentiment, intent and personal data of one message.
    pub fn analyze(&self, text: &str, options: &PiiOptions) -> Analysis {
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => self.analyze_with(text, options, &mut scratch),
            // Re-entered on this thread (cannot happen today): use fresh buffers.
            Err(_) => self.analyze_with(text, options, &mut Scratch::default()),
        })
    }

    fn analyze_with(&self, text: &str, options: &PiiOptions, scratch: &mut Scratch) -> Analysis {
        let Scratch { extractor, features, other_features, scores } = scratch;
        // One extraction serves every model that reads the same features.
        let shared = *self.sentiment.feature_config();
        extractor.extract_into(text, &shared, features);
        let language = if *self.language.model().feature_config() == shared {
            self.language.identify(extractor.normalized(), features, scores)
        } else {
            let mut own = Extractor::default();
            own.extract_into(text, self.language.model().feature_config(), other_features);
            self.language.identify(own.normalized(), other_features, scores)
        };
        self.sentiment.probabilities_into(features, scores);
        let sentiment = sentiment_scores(scores);
        let intent = if *self.intent.feature_config() == shared {
            self.intent.probabilities_into(features, scores);
            self.intent.prediction_from(scores)
        } else {
            extractor.extract_into(text, self.intent.feature_config(), other_features);
            self.intent.probabilities_into(other_features, scores);
            self.intent.prediction_from(scores)
        };
        Analysis { language, sentiment, intent, personal_data: find_pii(text, options) }
    }

    /// The sentiment of one message alone.
    pub fn sentiment(&self, text: &str) -> SentimentScores {
        let mut extractor = Extractor::default();
        let mut scores = Vec::new();
        self.sentiment.probabilities_into(&extractor.extract(text, self.sentiment.feature_config()), &mut scores);
        sentiment_scores(&scores)
    }

    /// The language of one message alone.
    pub fn language(&self, text: &str) -> LanguageGuess {
        let mut extractor = Extractor::default();
        let features = extractor.extract(text, self.language.model().feature_config());
        self.language.identify(extractor.normalized(), &features, &mut Vec::new())
    }
}

fn check_sentiment_labels(model: &LinearModel) -> Result<(), NlpError> {
    let labels: Vec<&str> = model.labels().iter().map(|l| l.as_ref()).collect();
    if labels != SENTIMENT_LABELS {
        return Err(NlpError::Model(format!(
            "a sentiment model needs the labels negative, neutral, positive; this one has {labels:?}"
        )));
    }
    Ok(())
}

/// Scores in the order of [`SENTIMENT_LABELS`].
fn sentiment_scores(p: &[f32]) -> SentimentScores {
    let [negative, neutral, positive] = [0, 1, 2].map(|i| p.get(i).copied().unwrap_or(0.0));
    let (label, confidence) = if negative >= neutral && negative >= positive {
        (Sentiment::Negative, negative)
    } else if positive >= neutral {
        (Sentiment::Positive, positive)
    } else {
        (Sentiment::Neutral, neutral)
    };
    SentimentScores { label, confidence, negative, neutral, positive }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::OrPanic;

    fn nlp() -> &'static Nlp {
        match Nlp::shared() {
            Ok(nlp) => nlp,
            Err(e) => panic!("the shipped models must load: {e}"),
        }
    }

    #[test]
    fn shipped_models_have_the_documented_labels() {
        let nlp = nlp();
        let intents: Vec<&str> = nlp.intent_model().labels().iter().map(|l| l.as_ref()).collect();
        assert_eq!(intents, INTENT_LABELS);
        assert_eq!(nlp.sentiment_model().labels().len(), 3);
    }

    #[test]
    fn clear_sentences_in_every_language() {
        let cases = [
            ("en", "Hello, my suitcase did not arrive with my flight from London yesterday evening"),
            ("ru", "Здравствуйте, мой чемодан не прилетел вчера вечером вместе с рейсом из Лондона"),
            ("uk", "Доброго дня, моя валіза не прилетіла вчора ввечері разом із рейсом з Лондона"),
            ("zh", "你好，我的行李昨天晚上没有跟伦敦的航班一起到达"),
            ("el", "Γεια σας, η βαλίτσα μου δεν έφτασε χθες το βράδυ με την πτήση από το Λονδίνο"),
            ("es", "Hola, mi maleta no llegó ayer por la noche con el vuelo desde Londres"),
            ("pt", "Olá, a minha mala não chegou ontem à noite com o voo de Londres"),
            ("fr", "Bonjour, ma valise n'est pas arrivée hier soir avec le vol de Londres"),
            ("de", "Hallo, mein Koffer ist gestern Abend nicht mit dem Flug aus London angekommen"),
            ("it", "Buongiorno, la mia valigia non è arrivata ieri sera con il volo da Londra"),
            ("ar", "مرحبا، حقيبتي لم تصل مساء أمس مع الرحلة القادمة من لندن"),
            ("tr", "Merhaba, bavulum dün akşam Londra'dan gelen uçakla birlikte gelmedi"),
        ];
        for (code, text) in cases {
            assert_eq!(nlp().language(text).code(), code, "{text}");
        }
    }

    #[test]
    fn text_without_letters_has_no_language() {
        for text in ["😂😂😂", "https://t.co/abc123 @someone", "12345 !!! ???", ""] {
            assert_eq!(nlp().language(text).language, None, "{text:?}");
            assert_eq!(nlp().language(text).code(), "und");
        }
    }

    #[test]
    fn unambiguous_sentiment() {
        let negative = [
            "This is the worst service ever, I am furious and disgusted",
            "Ужасный сервис, никогда больше не полечу с вами",
        ];
        let positive = [
            "Thank you so much, the crew was wonderful and kind!",
            "Muchas gracias, el servicio fue excelente y muy amable",
        ];
        for text in negative {
            assert_eq!(nlp().sentiment(text).label, Sentiment::Negative, "{text}");
        }
        for text in positive {
            assert_eq!(nlp().sentiment(text).label, Sentiment::Positive, "{text}");
        }
    }

    #[test]
    fn clear_intents() {
        let cases = [
            ("order_delivery", "Where is my parcel? The tracking has not moved for a week"),
            ("billing_refund", "You charged my card twice, I want a refund"),
            ("account_access", "I forgot my password and cannot log in to my account"),
            ("praise", "Thank you so much, your team was amazing!"),
            ("spam", "Earn $5000 a week from home, click the link in my bio"),
            ("order_delivery", "Где моя посылка? Трек-номер не обновляется"),
        ];
        for (intent, text) in cases {
            assert_eq!(nlp().analyze(text, &PiiOptions::default()).intent.label.as_ref(), intent, "{text}");
        }
    }

    #[test]
    fn social_posts_read_as_written() {
        // Worded differently from the hand-written training examples.
        let cases = [
            ("complaint", Sentiment::Negative, "Ужасный сервис, уже второй день не могу до вас дозвониться"),
            ("order_delivery", Sentiment::Negative, "Где мой заказ?? Прошла уже неделя"),
            ("complaint", Sentiment::Negative, "@telco honestly the worst customer service I have ever had"),
            ("praise", Sentiment::Positive, "@telco honestly the best customer service I have ever had, thank you!"),
        ];
        for (intent, sentiment, text) in cases {
            let analysis = nlp().analyze(text, &PiiOptions::default());
            assert_eq!(analysis.intent.label.as_ref(), intent, "{text}");
            assert_eq!(analysis.sentiment.label, sentiment, "{text}");
        }
    }

    #[test]
    fn analysis_combines_everything() {
        let text = "Where is my order? Card 4111 1111 1111 1111 was charged, call +44 20 7946 0958";
        let analysis = nlp().analyze(text, &PiiOptions::default());
        assert_eq!(analysis.language.code(), "en");
        let kinds: Vec<PiiKind> = analysis.personal_data.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [PiiKind::CardNumber, PiiKind::Phone]);
        let total: f32 = analysis.intent.scores.iter().map(|s| s.score).sum();
        assert!((total - 1.0).abs() < 1e-3);
        let s = analysis.sentiment;
        assert!((s.negative + s.neutral + s.positive - 1.0).abs() < 1e-3);
    }

    #[test]
    fn a_workspace_model_replaces_the_shipped_one() {
        let examples: Vec<Example> = ["refund please", "money back now", "love it", "great job"]
            .iter()
            .zip(["money", "money", "happy", "happy"])
            .map(|(t, l)| Example::new(*t, l))
            .collect();
        let config = TrainConfig { bucket_bits: 10, ..TrainConfig::intent() };
        let own = train("intent", &examples, &config).or_panic("trains");
        let custom = nlp().with_intent(LinearModel::from_bytes(&own.to_bytes()).or_panic("round trip"));
        assert_eq!(custom.analyze("refund my money", &PiiOptions::default()).intent.label.as_ref(), "money");
        assert!(nlp().with_sentiment(own).is_err(), "a sentiment model needs the three sentiment labels");
    }
}
