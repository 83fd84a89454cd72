//! Language identification of short social text, script first.
//!
//! The writing system settles most languages alone: Han is Chinese, Greek
//! letters are Greek, Arabic letters are Arabic. Only texts in Cyrillic
//! (Russian or Ukrainian) and Latin letters (English, Spanish, Portuguese,
//! French, German, Italian, Turkish) need the model, and it then chooses only
//! among the languages of that script. Links, handles, e-mails and numbers
//! are ignored; a text without letters has no language.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::features::FeatureVector;
use crate::model::{LinearModel, ModelError, softmax};
use crate::text::{Normalized, TokenKind};

/// The languages Hark identifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    Arabic,
    Chinese,
    English,
    French,
    German,
    Greek,
    Italian,
    Portuguese,
    Russian,
    Spanish,
    Turkish,
    Ukrainian,
}

impl Language {
    /// Every supported language.
    pub const ALL: [Language; 12] = [
        Language::Arabic,
        Language::Chinese,
        Language::English,
        Language::French,
        Language::German,
        Language::Greek,
        Language::Italian,
        Language::Portuguese,
        Language::Russian,
        Language::Spanish,
        Language::Turkish,
        Language::Ukrainian,
    ];

    /// The ISO 639-1 code ("en", "ru", …).
    pub fn code(self) -> &'static str {
        match self {
            Language::Arabic => "ar",
            Language::Chinese => "zh",
            Language::English => "en",
            Language::French => "fr",
            Language::German => "de",
            Language::Greek => "el",
            Language::Italian => "it",
            Language::Portuguese => "pt",
            Language::Russian => "ru",
            Language::Spanish => "es",
            Language::Turkish => "tr",
            Language::Ukrainian => "uk",
        }
    }

    /// The language with this ISO 639-1 code.
    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(code))
    }

    /// The script the language is written in.
    pub fn script(self) -> Script {
        match self {
            Language::Arabic => Script::Arabic,
            Language::Chinese => Script::Han,
            Language::Greek => Script::Greek,
            Language::Russian | Language::Ukrainian => Script::Cyrillic,
            _ => Script::Latin,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::from_code(s).ok_or_else(|| format!("unsupported language code {s:?}"))
    }
}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// Writing systems, as far as language identification cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    Latin,
    Cyrillic,
    Greek,
    Arabic,
    Han,
    /// Japanese kana or Korean Hangul: ideographic, but not Chinese.
    OtherIdeographic,
    Other,
}

/// The script of one letter, if it is a letter.
pub fn script_of(c: char) -> Option<Script> {
    if !c.is_alphabetic() {
        return None;
    }
    Some(match c as u32 {
        0x0041..=0x024F | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xFF21..=0xFF5A => Script::Latin,
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
        0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Script::Arabic,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F => Script::Han,
        0x3040..=0x30FF | 0x31F0..=0x31FF | 0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F => {
            Script::OtherIdeographic
        }
        _ => Script::Other,
    })
}

/// Letters per script in a normalised text, ignoring placeholders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptCounts {
    pub latin: u32,
    pub cyrillic: u32,
    pub greek: u32,
    pub arabic: u32,
    pub han: u32,
    pub other_ideographic: u32,
    pub other: u32,
}

impl ScriptCounts {
    /// Counts the letters of `normalized`'s words and ideographs.
    pub fn of(normalized: &Normalized) -> Self {
        let mut counts = ScriptCounts::default();
        for token in &normalized.tokens {
            if !matches!(token.kind, TokenKind::Word | TokenKind::Ideograph) {
                continue;
            }
            for c in normalized.token_text(token).chars() {
                match script_of(c) {
                    Some(Script::Latin) => counts.latin += 1,
                    Some(Script::Cyrillic) => counts.cyrillic += 1,
                    Some(Script::Greek) => counts.greek += 1,
                    Some(Script::Arabic) => counts.arabic += 1,
                    Some(Script::Han) => counts.han += 1,
                    Some(Script::OtherIdeographic) => counts.other_ideographic += 1,
                    Some(Script::Other) => counts.other += 1,
                    None => {}
                }
            }
        }
        counts
    }

    /// The script most of the text is written in; `None` without letters.
    /// An ideograph weighs as much as two letters (it is often a whole word),
    /// and Han text with kana or Hangul is Japanese or Korean, not Chinese.
    pub fn dominant(&self) -> Option<Script> {
        let ideographic = 2 * (self.han + self.other_ideographic);
        let candidates = [
            (self.latin, Script::Latin),
            (self.cyrillic, Script::Cyrillic),
            (self.greek, Script::Greek),
            (self.arabic, Script::Arabic),
            (ideographic, Script::Han),
            (self.other, Script::Other),
        ];
        let (count, script) =
            candidates.into_iter().fold((0, Script::Other), |best, c| if c.0 > best.0 { c } else { best });
        if count == 0 {
            return None;
        }
        if script == Script::Han && self.other_ideographic * 5 > self.han {
            return Some(Script::OtherIdeographic);
        }
        Some(script)
    }
}

/// The language of a text and how sure the identifier is (0..1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LanguageGuess {
    /// `None` when the text has no letters or is in a script none of the supported languages uses.
    pub language: Option<Language>,
    pub confidence: f32,
}

impl LanguageGuess {
    /// The ISO 639-1 code, or "und" (undetermined).
    pub fn code(&self) -> &'static str {
        self.language.map(Language::code).unwrap_or("und")
    }

    const UNDETERMINED: LanguageGuess = LanguageGuess { language: None, confidence: 0.0 };
}

/// Identifies languages with a model over the Latin- and Cyrillic-script
/// languages and the script rules for the others.
#[derive(Clone, Debug)]
pub struct LanguageIdentifier {
    model: LinearModel,
    /// For each of the model's labels, its language.
    languages: Vec<Language>,
}

impl LanguageIdentifier {
    /// Wraps a model whose labels are ISO 639-1 codes of Latin- or Cyrillic-script languages.
    pub fn new(model: LinearModel) -> Result<Self, ModelError> {
        let languages = model
            .labels()
            .iter()
            .map(|label| {
                Language::from_code(label)
                    .filter(|l| matches!(l.script(), Script::Latin | Script::Cyrillic))
                    .ok_or_else(|| {
                        ModelError::Invalid(format!(
                            "language model label {label:?} is not a supported Latin or Cyrillic language"
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { model, languages })
    }

    /// The underlying model.
    pub fn model(&self) -> &LinearModel {
        &self.model
    }

    /// The language of a text, given its normalised form and its features
    /// (extracted with the model's feature configuration).
    pub fn identify(&self, normalized: &Normalized, features: &FeatureVector, scratch: &mut Vec<f32>) -> LanguageGuess {
        let script = match ScriptCounts::of(normalized).dominant() {
            None | Some(Script::Other) | Some(Script::OtherIdeographic) => return LanguageGuess::UNDETERMINED,
            Some(Script::Han) => return LanguageGuess { language: Some(Language::Chinese), confidence: 1.0 },
            Some(Script::Greek) => return LanguageGuess { language: Some(Language::Greek), confidence: 1.0 },
            Some(Script::Arabic) => return LanguageGuess { language: Some(Language::Arabic), confidence: 1.0 },
            Some(script) => script,
        };
        self.model.logits_into(features, scratch);
        // Only the languages of this script compete.
        let mut candidates: Vec<(Language, f32)> = Vec::with_capacity(self.languages.len());
        for (language, &logit) in self.languages.iter().zip(scratch.iter()) {
            if language.script() == script {
                candidates.push((*language, logit));
            }
        }
        if candidates.is_empty() {
            return LanguageGuess::UNDETERMINED;
        }
        let mut probabilities: Vec<f32> = candidates.iter().map(|c| c.1).collect();
        softmax(&mut probabilities);
        let (best, confidence) =
            probabilities.iter().enumerate().fold((0, f32::MIN), |b, (i, &p)| if p > b.1 { (i, p) } else { b });
        LanguageGuess { language: Some(candidates[best].0), confidence }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dominant(text: &str) -> Option<Script> {
        ScriptCounts::of(&Normalized::of(text)).dominant()
    }

    #[test]
    fn scripts_decide_before_any_model() {
        assert_eq!(dominant("我的订单在哪里？"), Some(Script::Han));
        assert_eq!(dominant("Πού είναι η παραγγελία μου;"), Some(Script::Greek));
        assert_eq!(dominant("أين طلبي؟"), Some(Script::Arabic));
        assert_eq!(dominant("Где мой заказ? #delivery"), Some(Script::Cyrillic));
        assert_eq!(dominant("注文はどこですか？まだ届きません"), Some(Script::OtherIdeographic));
    }

    #[test]
    fn text_without_letters_has_no_script() {
        assert_eq!(dominant("😂😂 👍 https://t.co/abc @user 12345 !!!"), None);
        assert_eq!(dominant(""), None);
    }

    #[test]
    fn codes_round_trip() {
        for language in Language::ALL {
            assert_eq!(Language::from_code(language.code()), Some(language));
        }
        assert_eq!("RU".parse::<Language>(), Ok(Language::Russian));
        assert!("xx".parse::<Language>().is_err());
    }
}
