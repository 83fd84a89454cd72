//! Satisfaction surveys (CSAT): the question in the customer's language and
//! the parsing of answers written as digits, stars, emoji or words.
//!
//! An answer must *start* with the rating; whatever follows (after spaces or
//! punctuation) is kept as the customer's comment. Anything else is not an
//! answer, so an ordinary message that happens to contain a digit is never
//! mistaken for a rating. The word lists are below, per language; matching
//! ignores case and accents and prefers the longest phrase ("very good"
//! before "good", "不好" before "好").

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::InvalidValue;
use crate::known_issues::FoldedText;

/// A score from 1 (very dissatisfied) to 5 (very satisfied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "u8", into = "u8")]
#[schema(value_type = u8, minimum = 1, maximum = 5)]
pub struct Rating(u8);

impl Rating {
    pub fn new(score: u8) -> Result<Self, InvalidValue> {
        if (1..=5).contains(&score) {
            Ok(Self(score))
        } else {
            Err(InvalidValue::new("rating", format!("{score} is not a rating from 1 to 5")))
        }
    }

    pub fn score(self) -> u8 {
        self.0
    }

    /// 4 or 5: what the CSAT share counts.
    pub fn is_satisfied(self) -> bool {
        self.0 >= 4
    }
}

impl TryFrom<u8> for Rating {
    type Error = InvalidValue;
    fn try_from(score: u8) -> Result<Self, InvalidValue> {
        Self::new(score)
    }
}

impl From<Rating> for u8 {
    fn from(rating: Rating) -> u8 {
        rating.0
    }
}

/// A recognised answer: the rating and the comment written after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CsatAnswer {
    pub rating: Rating,
    /// The rest of the message after the rating, trimmed; `None` when empty.
    pub comment: Option<String>,
}

/// What a reply to the survey turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedAnswer {
    Rated(CsatAnswer),
    /// A rating on another scale or outside 1–5 (`10/10`, `0`, `6`, six stars):
    /// ask again rather than guess. `given` is the part that was read.
    OutOfRange {
        given: String,
    },
    /// Not an answer to the survey.
    Unrecognised,
}

impl ParsedAnswer {
    pub fn answer(&self) -> Option<&CsatAnswer> {
        match self {
            ParsedAnswer::Rated(answer) => Some(answer),
            _ => None,
        }
    }
}

/// The answer's rating and comment, or `None` when it is not a 1–5 rating
/// (see [`parse_answer`] to tell "out of range" from "not an answer").
pub fn parse_rating(text: &str) -> Option<CsatAnswer> {
    match parse_answer(text) {
        ParsedAnswer::Rated(answer) => Some(answer),
        _ => None,
    }
}

/// Reads a reply to the survey. See the module documentation for the rules.
pub fn parse_answer(text: &str) -> ParsedAnswer {
    let trimmed = text.trim_start();
    let folded = FoldedText::new(trimmed);
    let read = read_digits(trimmed)
        .or_else(|| read_symbols(trimmed))
        .or_else(|| read_words(&folded))
        .or_else(|| read_han_numeral(trimmed));
    let Some((reading, end)) = read else {
        return ParsedAnswer::Unrecognised;
    };
    match reading {
        Reading::Score(score) => match Rating::new(score) {
            Ok(rating) => ParsedAnswer::Rated(CsatAnswer { rating, comment: comment_after(&trimmed[end..]) }),
            Err(_) => ParsedAnswer::OutOfRange { given: trimmed[..end].trim().to_owned() },
        },
        Reading::OutOfRange => ParsedAnswer::OutOfRange { given: trimmed[..end].trim().to_owned() },
    }
}

enum Reading {
    Score(u8),
    OutOfRange,
}

fn comment_after(rest: &str) -> Option<String> {
    let comment = rest.trim_start_matches(|c: char| c.is_whitespace() || SEPARATORS.contains(&c)).trim_end();
    (!comment.is_empty()).then(|| comment.to_owned())
}

const SEPARATORS: &[char] =
    &['.', ',', ';', ':', '!', '?', '-', '–', '—', ')', '(', '/', '，', '。', '！', '、', '：', '；', '؛', '،', '·'];

/// Digits (ASCII, full-width, Arabic-Indic), then an optional unit ("stars",
/// "分") and an optional scale ("/5", "out of 5", "из 5").
fn read_digits(text: &str) -> Option<(Reading, usize)> {
    let (value, mut end) = leading_number(text)?;
    // "4.5" or "4,5": not a whole rating.
    if let Some(after) = text[end..].strip_prefix(['.', ','])
        && after.starts_with(|c: char| digit_value(c).is_some())
    {
        let (_, decimals) = leading_number(after)?;
        return Some((Reading::OutOfRange, end + 1 + decimals));
    }
    end += unit_length(&text[end..]);
    let mut scale = None;
    if let Some((denominator, length)) = scale_suffix(&text[end..]) {
        scale = Some(denominator);
        end += length;
        end += unit_length(&text[end..]);
    }
    if !ends_word(&text[end..]) {
        return None; // "5am", "3rd": not a rating
    }
    let reading = match (u8::try_from(value), scale) {
        (Ok(score), None | Some(5)) => Reading::Score(score),
        _ => Reading::OutOfRange,
    };
    Some((reading, end))
}

fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        '０'..='９' => Some(c as u32 - '０' as u32),
        '٠'..='٩' => Some(c as u32 - '٠' as u32),
        '۰'..='۹' => Some(c as u32 - '۰' as u32),
        _ => None,
    }
}

fn leading_number(text: &str) -> Option<(u32, usize)> {
    let mut value: u32 = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        let Some(d) = digit_value(c) else { break };
        value = value.saturating_mul(10).saturating_add(d);
        end = i + c.len_utf8();
    }
    (end > 0).then_some((value, end))
}

/// Words that may follow the number of a rating without changing it.
const UNITS: &[&str] = &[
    "stars",
    "star",
    "points",
    "pts",
    "звезд",
    "звёзд",
    "звезды",
    "звезда",
    "зірок",
    "зірки",
    "зірка",
    "бал",
    "балла",
    "баллов",
    "бали",
    "αστέρια",
    "αστέρι",
    "estrellas",
    "estrella",
    "estrelas",
    "estrela",
    "étoiles",
    "étoile",
    "sterne",
    "stern",
    "stelle",
    "stella",
    "yıldız",
    "puan",
    "نجوم",
    "نجمة",
    "星",
    "分",
    "颗星",
    "⭐",
    "★",
    "🌟",
];

fn unit_length(text: &str) -> usize {
    let trimmed = text.trim_start();
    let skipped = text.len() - trimmed.len();
    let lower = trimmed.to_lowercase();
    UNITS
        .iter()
        .filter(|unit| lower.starts_with(*unit) && lower.len() == trimmed.len())
        .map(|unit| unit.len())
        .filter(|&length| ends_word(&trimmed[length..]))
        .max()
        .map_or(0, |length| skipped + length)
}

/// "/5", "out of 5", "of 5", "из 5", "з 5", "sur 5", "von 5", "de 5", "su 5", "από 5", "من 5".
fn scale_suffix(text: &str) -> Option<(u32, usize)> {
    const WORDS: &[&str] = &["/", "out of", "of", "из", "із", "з", "sur", "von", "de", "su", "από", "من", "／"];
    let trimmed = text.trim_start();
    let skipped = text.len() - trimmed.len();
    let lower = trimmed.to_lowercase();
    if lower.len() != trimmed.len() {
        return None;
    }
    WORDS.iter().filter(|word| lower.starts_with(*word)).find_map(|word| {
        let rest = &trimmed[word.len()..];
        let spaced = rest.trim_start();
        let (denominator, length) = leading_number(spaced)?;
        Some((denominator, skipped + word.len() + (rest.len() - spaced.len()) + length))
    })
}

/// Whether the rating token ends here (end of text, space, punctuation or an emoji), not in the middle of a word.
fn ends_word(rest: &str) -> bool {
    rest.chars().next().is_none_or(|c| !c.is_alphanumeric())
}

/// Star runs (⭐⭐⭐⭐, ★★★☆☆) and face or hand emoji.
fn read_symbols(text: &str) -> Option<(Reading, usize)> {
    let mut filled = 0u32;
    let mut stars = false;
    let mut face: Option<u8> = None;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        let next = i + c.len_utf8();
        match c {
            '⭐' | '★' | '🌟' if face.is_none() => {
                stars = true;
                filled += 1;
            }
            '☆' if face.is_none() => stars = true,
            // Variation selectors, skin tones and the joiner decorate the symbol before them.
            '\u{FE0E}' | '\u{FE0F}' | '\u{200D}' | '\u{1F3FB}'..='\u{1F3FF}' if end > 0 => {}
            ' ' if stars => {}
            _ => match emoji_score(c) {
                Some(score) if !stars && face.is_none_or(|f| f == score) => face = Some(score),
                _ => break,
            },
        }
        end = next;
    }
    if stars {
        let reading = if (1..=5).contains(&filled) { Reading::Score(filled as u8) } else { Reading::OutOfRange };
        return Some((reading, text[..end].trim_end().len()));
    }
    face.map(|score| (Reading::Score(score), end))
}

/// Face and hand emoji. Binary answers (👍/👎) take the ends of the scale.
fn emoji_score(c: char) -> Option<u8> {
    Some(match c {
        '😍' | '🤩' | '🥰' | '😁' | '😀' | '😃' | '😄' | '❤' | '💯' | '👏' | '🙌' | '👍' | '💖' | '😻' => {
            5
        }
        '🙂' | '😊' | '☺' | '👌' | '😌' => 4,
        '😐' | '😑' | '😶' | '🤷' | '😕' => 3,
        '🙁' | '☹' | '😞' | '😒' | '😔' | '😟' => 2,
        '😡' | '😠' | '🤬' | '👎' | '😤' | '😭' | '💩' => 1,
        _ => return None,
    })
}

/// Rating words and phrases per language, as people write them; matching
/// folds both sides (case, accents, final sigma, Turkish dotless i).
/// Likert scale: very good/excellent 5, good 4, so-so 3, bad 2, very bad 1.
/// "很好" is 5: in a reply to a rating question it answers "very good"
/// (好 alone is 4, 非常好 is 5 too).
pub const RATING_WORDS: &[(&str, &[(&str, u8)])] = &[
    (
        "en",
        &[
            ("excellent", 5),
            ("perfect", 5),
            ("amazing", 5),
            ("awesome", 5),
            ("great", 5),
            ("fantastic", 5),
            ("outstanding", 5),
            ("superb", 5),
            ("wonderful", 5),
            ("brilliant", 5),
            ("very good", 5),
            ("very satisfied", 5),
            ("good", 4),
            ("satisfied", 4),
            ("not bad", 4),
            ("ok", 3),
            ("okay", 3),
            ("fine", 3),
            ("average", 3),
            ("so so", 3),
            ("so-so", 3),
            ("meh", 3),
            ("not good", 2),
            ("bad", 2),
            ("poor", 2),
            ("dissatisfied", 2),
            ("unsatisfied", 2),
            ("very bad", 1),
            ("very poor", 1),
            ("terrible", 1),
            ("awful", 1),
            ("horrible", 1),
            ("worst", 1),
            ("very dissatisfied", 1),
        ],
    ),
    (
        "ru",
        &[
            ("отлично", 5),
            ("отличный", 5),
            ("отличное", 5),
            ("превосходно", 5),
            ("прекрасно", 5),
            ("замечательно", 5),
            ("супер", 5),
            ("великолепно", 5),
            ("очень хорошо", 5),
            ("хорошо", 4),
            ("неплохо", 4),
            ("нормально", 3),
            ("средне", 3),
            ("так себе", 3),
            ("не очень", 2),
            ("плохо", 2),
            ("очень плохо", 1),
            ("ужасно", 1),
            ("отвратительно", 1),
            ("кошмар", 1),
        ],
    ),
    (
        "uk",
        &[
            ("відмінно", 5),
            ("чудово", 5),
            ("прекрасно", 5),
            ("дуже добре", 5),
            ("добре", 4),
            ("непогано", 4),
            ("нормально", 3),
            ("так собі", 3),
            ("погано", 2),
            ("не дуже", 2),
            ("дуже погано", 1),
            ("жахливо", 1),
        ],
    ),
    (
        "zh",
        &[
            ("非常好", 5),
            ("很好", 5),
            ("太好了", 5),
            ("好极了", 5),
            ("完美", 5),
            ("非常满意", 5),
            ("十分满意", 5),
            ("很满意", 5),
            ("满意", 4),
            ("好", 4),
            ("不错", 4),
            ("还不错", 4),
            ("还行", 3),
            ("还可以", 3),
            ("一般", 3),
            ("马马虎虎", 3),
            ("不太好", 2),
            ("不好", 2),
            ("差", 2),
            ("不满意", 2),
            ("很差", 1),
            ("非常差", 1),
            ("太差了", 1),
            ("太差", 1),
            ("糟糕", 1),
            ("非常不满意", 1),
            ("很不满意", 1),
        ],
    ),
    (
        "el",
        &[
            ("αριστα", 5),
            ("εξαιρετικα", 5),
            ("εξαιρετικο", 5),
            ("τελεια", 5),
            ("τελειο", 5),
            ("πολυ καλα", 5),
            ("πολυ καλο", 5),
            ("καλα", 4),
            ("καλο", 4),
            ("μετρια", 3),
            ("ετσι κι ετσι", 3),
            ("οχι καλα", 2),
            ("κακα", 2),
            ("κακο", 2),
            ("ασχημα", 2),
            ("πολυ κακο", 1),
            ("πολυ ασχημα", 1),
            ("απαισια", 1),
            ("χαλια", 1),
        ],
    ),
    (
        "es",
        &[
            ("excelente", 5),
            ("perfecto", 5),
            ("genial", 5),
            ("muy bien", 5),
            ("muy bueno", 5),
            ("fantastico", 5),
            ("bien", 4),
            ("bueno", 4),
            ("regular", 3),
            ("mas o menos", 3),
            ("normal", 3),
            ("mal", 2),
            ("malo", 2),
            ("muy mal", 1),
            ("muy malo", 1),
            ("pesimo", 1),
            ("horrible", 1),
        ],
    ),
    (
        "pt",
        &[
            ("otimo", 5),
            ("excelente", 5),
            ("perfeito", 5),
            ("muito bom", 5),
            ("muito bem", 5),
            ("bom", 4),
            ("bem", 4),
            ("razoavel", 3),
            ("mais ou menos", 3),
            ("ruim", 2),
            ("mau", 2),
            ("muito ruim", 1),
            ("pessimo", 1),
            ("horrivel", 1),
            ("terrivel", 1),
        ],
    ),
    (
        "fr",
        &[
            ("excellent", 5),
            ("parfait", 5),
            ("genial", 5),
            ("super", 5),
            ("tres bien", 5),
            ("tres bon", 5),
            ("bien", 4),
            ("bon", 4),
            ("pas mal", 4),
            ("moyen", 3),
            ("correct", 3),
            ("bof", 3),
            ("passable", 3),
            ("pas bien", 2),
            ("mauvais", 2),
            ("tres mauvais", 1),
            ("nul", 1),
            ("horrible", 1),
            ("terrible", 1),
        ],
    ),
    (
        "de",
        &[
            ("ausgezeichnet", 5),
            ("hervorragend", 5),
            ("perfekt", 5),
            ("sehr gut", 5),
            ("toll", 5),
            ("super", 5),
            ("gut", 4),
            ("geht so", 3),
            ("mittel", 3),
            ("mittelmassig", 3),
            ("nicht gut", 2),
            ("schlecht", 2),
            ("sehr schlecht", 1),
            ("schrecklich", 1),
            ("furchtbar", 1),
            ("miserabel", 1),
        ],
    ),
    (
        "it",
        &[
            ("eccellente", 5),
            ("ottimo", 5),
            ("perfetto", 5),
            ("fantastico", 5),
            ("molto bene", 5),
            ("molto buono", 5),
            ("bene", 4),
            ("buono", 4),
            ("cosi cosi", 3),
            ("discreto", 3),
            ("normale", 3),
            ("non bene", 2),
            ("male", 2),
            ("cattivo", 2),
            ("molto male", 1),
            ("pessimo", 1),
            ("terribile", 1),
            ("orribile", 1),
        ],
    ),
    (
        "ar",
        &[
            ("ممتاز", 5),
            ("رائع", 5),
            ("جيد جدا", 5),
            ("ممتازة", 5),
            ("جيد", 4),
            ("مقبول", 3),
            ("عادي", 3),
            ("سيء", 2),
            ("سيئ", 2),
            ("سيء جدا", 1),
            ("سيئ جدا", 1),
            ("فظيع", 1),
            ("سيئة جدا", 1),
        ],
    ),
    (
        "tr",
        &[
            ("mukemmel", 5),
            ("harika", 5),
            ("cok iyi", 5),
            ("super", 5),
            ("iyi", 4),
            ("fena degil", 4),
            ("idare eder", 3),
            ("orta", 3),
            ("vasat", 3),
            ("kotu", 2),
            ("iyi degil", 2),
            ("cok kotu", 1),
            ("berbat", 1),
        ],
    ),
];

/// The longest rating phrase the folded text starts with, ending at a word boundary.
fn read_words(folded: &FoldedText) -> Option<(Reading, usize)> {
    let text = folded.folded();
    let mut best: Option<(usize, u8)> = None;
    for (_, words) in RATING_WORDS {
        for &(phrase, score) in *words {
            let phrase = crate::known_issues::fold(phrase);
            if !text.starts_with(&phrase) {
                continue;
            }
            let rest = &text[phrase.len()..];
            let extra = if phrase.chars().last().is_some_and(crate::spikes::is_han) {
                han_phrase_end(rest)
            } else {
                ends_word(rest).then_some(0)
            };
            let Some(extra) = extra else { continue };
            if best.is_none_or(|(length, _)| phrase.len() + extra > length) {
                best = Some((phrase.len() + extra, score));
            }
        }
    }
    best.map(|(length, score)| (Reading::Score(score), folded.original_end(length)))
}

/// Chinese has no spaces, so a Han phrase must be followed by the end, a
/// non-Han character, or one sentence-final particle (很好啊): "好的，…" ("OK, …")
/// is not a rating. Returns the particle's length.
fn han_phrase_end(rest: &str) -> Option<usize> {
    match rest.chars().next() {
        None => Some(0),
        Some(c @ ('啊' | '呀' | '哦' | '喔')) => Some(c.len_utf8()),
        Some(c) if crate::spikes::is_han(c) || c.is_alphanumeric() => None,
        Some(_) => Some(0),
    }
}

/// "五星", "四分": a Han numeral with a unit.
fn read_han_numeral(text: &str) -> Option<(Reading, usize)> {
    let mut chars = text.char_indices();
    let (_, numeral) = chars.next()?;
    let score = match numeral {
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        _ => return None,
    };
    let (at, unit) = chars.next()?;
    matches!(unit, '星' | '分').then(|| (Reading::Score(score), at + unit.len_utf8()))
}

/// The survey's question and its invitation to comment, in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct SurveyText {
    pub language: &'static str,
    pub question: &'static str,
    pub comment_invitation: &'static str,
}

/// Languages the survey is written in; others fall back to English.
pub const SURVEY_LANGUAGES: &[&str] = &["en", "ru", "uk", "zh", "el", "es", "pt", "fr", "de", "it", "ar", "tr"];

/// The survey in `language` (a tag such as `pt-BR` or `zh-Hans` uses its
/// primary subtag); English when the language has no translation.
pub fn survey_text(language: &str) -> SurveyText {
    let primary = language.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    let (question, comment_invitation) = match primary.as_str() {
        "ru" => (
            "Как бы вы оценили нашу помощь по шкале от 1 до 5 (5 — отлично)?",
            "Если хотите, добавьте пару слов о том, что можно улучшить.",
        ),
        "uk" => (
            "Як би ви оцінили нашу допомогу за шкалою від 1 до 5 (5 — відмінно)?",
            "За бажанням додайте кілька слів про те, що можна покращити.",
        ),
        "zh" => ("您对我们的服务满意吗？请回复 1 到 5 分（5 分为非常满意）。", "欢迎在评分后留下您的意见或建议。"),
        "el" => (
            "Πώς θα βαθμολογούσατε τη βοήθειά μας από το 1 έως το 5 (5 = άριστα);",
            "Αν θέλετε, γράψτε μας και ένα σχόλιο για το τι μπορούμε να βελτιώσουμε.",
        ),
        "es" => (
            "¿Cómo valorarías nuestra ayuda del 1 al 5 (5 = excelente)?",
            "Si quieres, añade un comentario sobre lo que podemos mejorar.",
        ),
        "pt" => (
            "Como você avaliaria o nosso atendimento de 1 a 5 (5 = excelente)?",
            "Se quiser, deixe também um comentário sobre o que podemos melhorar.",
        ),
        "fr" => (
            "Comment évalueriez-vous notre aide, de 1 à 5 (5 = excellent) ?",
            "Si vous le souhaitez, ajoutez un commentaire sur ce que nous pourrions améliorer.",
        ),
        "de" => (
            "Wie bewerten Sie unsere Hilfe auf einer Skala von 1 bis 5 (5 = ausgezeichnet)?",
            "Wenn Sie möchten, schreiben Sie uns gern, was wir besser machen können.",
        ),
        "it" => (
            "Come valuteresti il nostro aiuto da 1 a 5 (5 = eccellente)?",
            "Se vuoi, aggiungi un commento su cosa possiamo migliorare.",
        ),
        "ar" => ("كيف تقيّم مساعدتنا من 1 إلى 5 (5 = ممتاز)؟", "يسعدنا أيضًا أن تكتب لنا تعليقًا عمّا يمكننا تحسينه."),
        "tr" => (
            "Yardımımızı 1 ile 5 arasında nasıl puanlarsınız (5 = mükemmel)?",
            "İsterseniz neyi daha iyi yapabileceğimizi de yazabilirsiniz.",
        ),
        _ => (
            "How would you rate our help from 1 to 5 (5 = excellent)?",
            "If you like, add a comment on what we could do better.",
        ),
    };
    let language = SURVEY_LANGUAGES.iter().find(|l| **l == primary).copied().unwrap_or("en");
    SurveyText { language, question, comment_invitation }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(text: &str) -> Option<u8> {
        parse_rating(text).map(|a| a.rating.score())
    }

    fn comment(text: &str) -> Option<String> {
        parse_rating(text).and_then(|a| a.comment)
    }

    #[test]
    fn the_four_answers_the_issue_names_get_their_scores() {
        assert_eq!(score("5"), Some(5));
        assert_eq!(score("⭐⭐⭐⭐"), Some(4));
        assert_eq!(score("отлично"), Some(5));
        assert_eq!(score("很好"), Some(5));
    }

    #[test]
    fn digits_with_scales_units_and_other_numerals() {
        assert_eq!(score("4/5"), Some(4));
        assert_eq!(score("4 / 5"), Some(4));
        assert_eq!(score("5 out of 5"), Some(5));
        assert_eq!(score("3 из 5"), Some(3));
        assert_eq!(score("5 stars"), Some(5));
        assert_eq!(score("5⭐"), Some(5));
        assert_eq!(score("4分"), Some(4));
        assert_eq!(score("５"), Some(5), "full-width digits from Chinese and Japanese keyboards");
        assert_eq!(score("٤"), Some(4), "Arabic-Indic digits");
        assert_eq!(score("  2.  "), Some(2));
        assert_eq!(score("1!!!"), Some(1));
    }

    #[test]
    fn out_of_range_and_other_scales_are_reported_not_guessed() {
        for text in ["10/10", "8/10", "0", "6", "4.5", "4,5", "6/5", "⭐⭐⭐⭐⭐⭐", "☆☆☆☆☆", "10 out of 10"]
        {
            assert!(
                matches!(parse_answer(text), ParsedAnswer::OutOfRange { .. }),
                "{text:?} should be out of range, got {:?}",
                parse_answer(text)
            );
        }
        assert_eq!(parse_answer("10/10 amazing"), ParsedAnswer::OutOfRange { given: "10/10".into() });
    }

    #[test]
    fn stars_count_the_filled_ones() {
        assert_eq!(score("★★★☆☆"), Some(3));
        assert_eq!(score("⭐️⭐️⭐️⭐️⭐️"), Some(5), "with variation selectors");
        assert_eq!(score("⭐ ⭐"), Some(2));
        assert_eq!(score("🌟🌟🌟🌟"), Some(4));
        assert_eq!(
            comment("★★★★☆ fast, but the first answer was wrong").as_deref(),
            Some("fast, but the first answer was wrong")
        );
    }

    #[test]
    fn faces_and_hands() {
        assert_eq!(score("😍"), Some(5));
        assert_eq!(score("🙂"), Some(4));
        assert_eq!(score("😐"), Some(3));
        assert_eq!(score("🙁"), Some(2));
        assert_eq!(score("😡"), Some(1));
        assert_eq!(score("👍"), Some(5));
        assert_eq!(score("👍🏽"), Some(5), "skin tones are ignored");
        assert_eq!(score("👎"), Some(1));
        assert_eq!(score("😍😍😍"), Some(5));
        assert_eq!(score("☺️ thanks"), Some(4));
        assert_eq!(score("😍😡"), Some(5), "the first face answers; the rest is a comment");
        assert_eq!(comment("😍😡").as_deref(), Some("😡"));
    }

    #[test]
    fn words_in_every_survey_language() {
        let cases = [
            ("Excellent", 5),
            ("very good", 5),
            ("Good", 4),
            ("not good", 2),
            ("terrible!", 1),
            ("ok", 3),
            ("Отлично, спасибо", 5),
            ("очень плохо", 1),
            ("хорошо", 4),
            ("не очень", 2),
            ("дуже добре", 5),
            ("жахливо", 1),
            ("很好", 5),
            ("非常满意", 5),
            ("不好", 2),
            ("不错", 4),
            ("好", 4),
            ("还行", 3),
            ("很差", 1),
            ("Άριστα", 5),
            ("αριστα", 5),
            ("ΠΟΛΥ ΚΑΛΑ", 5),
            ("καλά", 4),
            ("χάλια", 1),
            ("Muy bien", 5),
            ("bien", 4),
            ("pésimo", 1),
            ("ótimo", 5),
            ("muito ruim", 1),
            ("Très bien", 5),
            ("pas mal", 4),
            ("nul", 1),
            ("sehr gut", 5),
            ("gut", 4),
            ("schlecht", 2),
            ("Ottimo", 5),
            ("così così", 3),
            ("ممتاز", 5),
            ("جيد", 4),
            ("سيء جدا", 1),
            ("Mükemmel", 5),
            ("çok kötü", 1),
            ("İYİ", 4),
            ("五星", 5),
            ("四分", 4),
        ];
        for (text, expected) in cases {
            assert_eq!(score(text), Some(expected), "{text:?}");
        }
    }

    #[test]
    fn the_comment_after_a_rating_is_kept_as_written() {
        assert_eq!(comment("5 - Maria was GREAT").as_deref(), Some("Maria was GREAT"));
        assert_eq!(comment("4/5, but slow").as_deref(), Some("but slow"));
        assert_eq!(comment("Отлично! Очень быстро ответили").as_deref(), Some("Очень быстро ответили"));
        assert_eq!(comment("很好，谢谢").as_deref(), Some("谢谢"));
        assert_eq!(comment("Άριστα, ευχαριστώ").as_deref(), Some("ευχαριστώ"));
        assert_eq!(comment("5"), None);
    }

    #[test]
    fn ordinary_messages_are_not_ratings() {
        for text in [
            "",
            "   ",
            "hello",
            "5am is too early",
            "3rd time I ask",
            "where is my order #5",
            "goodbye",
            "oklahoma",
            "好的，我明天再来",
            "I want a refund",
            "🙈",
            "十分",
        ] {
            assert_eq!(parse_answer(text), ParsedAnswer::Unrecognised, "{text:?}");
        }
    }

    #[test]
    fn every_language_has_a_survey_and_unknown_ones_fall_back_to_english() {
        for language in SURVEY_LANGUAGES {
            let text = survey_text(language);
            assert_eq!(text.language, *language);
            assert!(text.question.contains('1') && text.question.contains('5'), "{language}: {}", text.question);
            assert!(!text.comment_invitation.is_empty());
        }
        assert_eq!(survey_text("pt-BR").language, "pt");
        assert_eq!(survey_text("zh_Hans").language, "zh");
        assert_eq!(survey_text("ja").language, "en");
        assert_eq!(survey_text("").question, survey_text("en").question);
    }

    #[test]
    fn ratings_outside_one_to_five_are_refused() {
        assert!(Rating::new(0).is_err());
        assert!(Rating::new(6).is_err());
        assert!(serde_json::from_str::<Rating>("7").is_err());
        assert_eq!(serde_json::from_str::<Rating>("4").ok().map(Rating::score), Some(4));
        assert!(Rating::new(4).is_ok_and(Rating::is_satisfied));
        assert!(!Rating::new(3).is_ok_and(Rating::is_satisfied));
    }
}
