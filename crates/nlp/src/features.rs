//! Hashed word and character n-gram features.
//!
//! A message becomes a sparse vector: word n-grams (over every token) and
//! character n-grams of each word with its boundaries marked, each hashed to
//! 32 bits. Counts are damped (1 + ln tf), each group is scaled to a set
//! norm, and the whole vector to unit length, so that long and short
//! messages weigh the same and neither group drowns the other. Models map
//! the 32-bit hashes into their own number of buckets, so several models
//! with the same [`FeatureConfig`] share one extraction.

use serde::{Deserialize, Serialize};

use crate::text::{Normalized, TokenKind};

/// Which n-grams a model reads and how the groups are weighted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Word n-grams from 1 to this (0: no word features).
    pub word_ngrams: u8,
    /// Shortest character n-gram (0 or greater than `char_max`: no character features).
    pub char_min: u8,
    /// Longest character n-gram.
    pub char_max: u8,
    /// Norm of the word group before the whole vector is normalised.
    pub word_weight: f32,
    /// Norm of the character group before the whole vector is normalised.
    pub char_weight: f32,
    /// Squash elongations ("soooo" reads as "soo"). Absent in older model files: off.
    #[serde(default)]
    pub squash: bool,
    /// Words shortly after a negation ("not", "nie", "не", "nahi", "不", …) also
    /// count as negated words ("not good" yields "good" and "NOT good").
    /// Absent in older model files: off.
    #[serde(default)]
    pub negation: bool,
    /// Pairs of words up to this many positions apart with words between
    /// them skipped ("balance … checking"), beside the contiguous n-grams
    /// (0 or 1: none). Absent in older model files: none.
    #[serde(default)]
    pub skip_window: u8,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            word_ngrams: 2,
            char_min: 1,
            char_max: 5,
            word_weight: 1.0,
            char_weight: 1.0,
            squash: false,
            negation: true,
            skip_window: 0,
        }
    }
}

impl FeatureConfig {
    /// Rejects settings no model can use.
    pub fn validate(&self) -> Result<(), String> {
        if self.skip_window > 8 {
            return Err("word pairs at most 8 positions apart are supported".into());
        }
        if self.word_ngrams > 4 || self.char_max > 8 {
            return Err("word n-grams up to 4 and character n-grams up to 8 are supported".into());
        }
        let words = self.word_ngrams > 0 && self.word_weight > 0.0;
        let chars = self.has_chars() && self.char_weight > 0.0;
        if !words && !chars {
            return Err("the feature configuration selects no features".into());
        }
        if !(self.word_weight.is_finite() && self.char_weight.is_finite())
            || self.word_weight < 0.0
            || self.char_weight < 0.0
        {
            return Err("feature group weights must be finite and non-negative".into());
        }
        Ok(())
    }

    fn has_chars(&self) -> bool {
        self.char_min >= 1 && self.char_min <= self.char_max
    }
}

/// One non-zero feature: its 32-bit hash and its value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Feature {
    pub hash: u32,
    pub value: f32,
}

/// A message's feature vector, unit length (empty for a message without tokens).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeatureVector {
    pub features: Vec<Feature>,
}

/// Extracts feature vectors, keeping its buffers between messages.
#[derive(Debug, Default, Clone)]
pub struct Extractor {
    normalized: Normalized,
    hashes: Vec<u32>,
    offsets: Vec<u32>,
}

const WORD_SEED: u64 = 0x9E37_79B9_7F4A_7C15;
const CHAR_SEED: u64 = 0xC2B2_AE3D_27D4_EB4F;
const SKIP_SEED: u64 = 0x27D4_EB2F_1656_67C5;
const NEGATED_SEED: u64 = 0x1656_67B1_9E37_79F9;
/// How many words after a negation are read as negated (up to the next punctuation mark or emoji).
const NEGATION_SCOPE: u8 = 3;
const BOUNDARY_START: u8 = 0x02;
const BOUNDARY_END: u8 = 0x03;

impl Extractor {
    /// The features of `text` under `config`.
    pub fn extract(&mut self, text: &str, config: &FeatureConfig) -> FeatureVector {
        let mut out = FeatureVector::default();
        self.extract_into(text, config, &mut out);
        out
    }

    /// Like [`Extractor::extract`], reusing `out`'s allocation.
    pub fn extract_into(&mut self, text: &str, config: &FeatureConfig, out: &mut FeatureVector) {
        out.features.clear();
        self.normalized.fill_with(text, config.squash);
        let mut groups = [(0.0f32, 0usize); 2];
        if config.word_ngrams > 0 && config.word_weight > 0.0 {
            self.word_hashes(config.word_ngrams, config.negation);
            self.skip_hashes(config.skip_window);
            groups[0] = (config.word_weight, push_counted(&mut self.hashes, &mut out.features));
        }
        if config.has_chars() && config.char_weight > 0.0 {
            self.char_hashes(config.char_min, config.char_max);
            groups[1] = (config.char_weight, push_counted(&mut self.hashes, &mut out.features));
        }
        // Scale each group to its norm, then the whole vector to unit length.
        let mut start = 0;
        let mut total = 0.0f32;
        for (weight, len) in groups {
            let group = &mut out.features[start..start + len];
            let norm = group.iter().map(|f| f.value * f.value).sum::<f32>().sqrt();
            if norm > 0.0 {
                let scale = weight / norm;
                group.iter_mut().for_each(|f| f.value *= scale);
                total += weight * weight;
            }
            start += len;
        }
        if total > 0.0 {
            let scale = 1.0 / total.sqrt();
            out.features.iter_mut().for_each(|f| f.value *= scale);
        }
    }

    /// The normalised text of the last message extracted.
    pub fn normalized(&self) -> &Normalized {
        &self.normalized
    }

    fn word_hashes(&mut self, max_n: u8, negation: bool) {
        self.hashes.clear();
        let tokens = &self.normalized.tokens;
        // Words still in the scope of the last negation.
        let mut negated = 0u8;
        for i in 0..tokens.len() {
            if negation {
                let token = &tokens[i];
                let text = self.normalized.token_text(token);
                match token.kind {
                    TokenKind::Symbol => negated = 0,
                    TokenKind::Word | TokenKind::Ideograph if is_negation(text) => negated = NEGATION_SCOPE,
                    TokenKind::Word | TokenKind::Ideograph if negated > 0 => {
                        negated -= 1;
                        self.hashes.push(finish(feed(NEGATED_SEED, text.as_bytes())));
                    }
                    _ => {}
                }
            }
            let mut h = WORD_SEED;
            for n in 0..max_n as usize {
                let Some(token) = tokens.get(i + n) else { break };
                if n > 0 {
                    h = feed(h, &[0x1F]);
                }
                h = feed(h, self.normalized.token_text(token).as_bytes());
                self.hashes.push(finish(h ^ (n as u64 + 1)));
            }
        }
    }

    /// Appends the pairs of word tokens 2 to `window` positions apart.
    fn skip_hashes(&mut self, window: u8) {
        let tokens = &self.normalized.tokens;
        for i in 0..tokens.len() {
            if tokens[i].kind != TokenKind::Word {
                continue;
            }
            let first = feed(SKIP_SEED, self.normalized.token_text(&tokens[i]).as_bytes());
            for other in tokens.iter().skip(i + 2).take((window as usize).saturating_sub(1)) {
                if other.kind == TokenKind::Word {
                    let h = feed(feed(first, &[0x1F]), self.normalized.token_text(other).as_bytes());
                    self.hashes.push(finish(h));
                }
            }
        }
    }

    fn char_hashes(&mut self, min_n: u8, max_n: u8) {
        self.hashes.clear();

        let (min_n, max_n) = (min_n as usize, max_n as usize);
        for token in &self.normalized.tokens {
            if token.kind != TokenKind::Word {
                continue;
            }
            let word = self.normalized.token_text(token).as_bytes();
            // Byte offsets of the characters, plus the end.
            self.offsets.clear();
            self.offsets.extend(
                self.normalized.token_text(token).char_indices().map(|(at, _)| at as u32).chain([word.len() as u32]),
            );
            let chars = self.offsets.len() - 1;
            // Padded positions: 0 is the start boundary, 1..=chars the characters, chars + 1 the end.
            for first in 0..=chars + 1 {
                let mut h = CHAR_SEED;
                for (n, position) in (first..=chars + 1).enumerate().map(|(i, p)| (i + 1, p)) {
                    if n > max_n {
                        break;
                    }
                    h = if position == 0 {
                        feed(h, &[BOUNDARY_START])
                    } else if position == chars + 1 {
                        feed(h, &[BOUNDARY_END])
                    } else {
                        let from = self.offsets[position - 1] as usize;
                        let to = self.offsets[position] as usize;
                        feed(h, &word[from..to])
                    };
                    // A boundary alone says nothing; a whole short word with both boundaries is kept.
                    let only_boundaries = n == 1 && (position == 0 || position == chars + 1);
                    if n >= min_n && !only_boundaries {
                        self.hashes.push(finish(h ^ ((n as u64) << 8)));
                    }
                }
            }
        }
    }
}

/// Whether a lower-cased word negates what follows, in one of the languages Hark reads
/// (and romanised Hindi, common in Indian social posts).
fn is_negation(word: &str) -> bool {
    if word.len() > 12 {
        return false;
    }
    if word.ends_with("n't") || word.starts_with("n'") {
        return true;
    }
    matches!(
        word,
        // English
        "not" | "no" | "never" | "cannot" | "cant" | "dont" | "didnt" | "doesnt" | "isnt" | "wont" | "wasnt"
            | "nothing" | "nobody" | "nor" | "without"
            // Spanish, Portuguese, Italian, French
            | "nunca" | "jamás" | "ni" | "nada" | "sin" | "tampoco" | "não" | "nao" | "jamais" | "nem" | "sem"
            | "non" | "mai" | "niente" | "senza" | "ne" | "pas" | "rien" | "aucun" | "aucune" | "sans"
            // German
            | "nicht" | "kein" | "keine" | "keinen" | "keiner" | "nie" | "niemals" | "nichts" | "ohne"
            // Russian, Ukrainian
            | "не" | "нет" | "ни" | "никогда" | "ничего" | "без" | "ні" | "ніколи" | "нічого"
            // Turkish, Greek, Arabic
            | "değil" | "yok" | "asla" | "δεν" | "μην" | "όχι" | "ποτέ" | "χωρίς" | "لا" | "لم" | "لن" | "ليس"
            | "بدون"
            // Romanised Hindi
            | "nahi" | "nahin" | "nhi" | "nai" | "mat"
            // Chinese (one character at a time)
            | "不" | "没" | "別" | "别"
    )
}

/// Sorts and counts `hashes`, appending one damped-count feature per distinct hash.
fn push_counted(hashes: &mut [u32], out: &mut Vec<Feature>) -> usize {
    hashes.sort_unstable();
    let before = out.len();
    let mut i = 0;
    while i < hashes.len() {
        let hash = hashes[i];
        let mut j = i + 1;
        while j < hashes.len() && hashes[j] == hash {
            j += 1;
        }
        let count = (j - i) as f32;
        out.push(Feature { hash, value: 1.0 + count.ln() });
        i = j;
    }
    out.len() - before
}

/// FNV-1a over bytes, finished by a multiply-xorshift mix.
#[inline]
fn feed(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

#[inline]
fn finish(mut h: u64) -> u32 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_unit_length_and_deterministic() {
        let mut extractor = Extractor::default();
        let config = FeatureConfig::default();
        let a = extractor.extract("My order never arrived!! @shop", &config);
        let b = extractor.extract("My order never arrived!! @shop", &config);
        assert_eq!(a, b);
        let norm: f32 = a.features.iter().map(|f| f.value * f.value).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }

    #[test]
    fn empty_text_has_no_features() {
        let mut extractor = Extractor::default();
        assert!(extractor.extract("   ", &FeatureConfig::default()).features.is_empty());
    }

    #[test]
    fn character_ngrams_count_as_expected() {
        // "ab" padded is [^ a b $]: n-grams of length 1..=2 without lone
        // boundaries are a, b, ^a, ab, b$ (5), each once.
        let mut extractor = Extractor::default();
        let config = FeatureConfig {
            word_ngrams: 0,
            char_min: 1,
            char_max: 2,
            word_weight: 0.0,
            char_weight: 1.0,
            ..FeatureConfig::default()
        };
        let v = extractor.extract("ab", &config);
        assert_eq!(v.features.len(), 5);
    }

    #[test]
    fn negation_adds_negated_words_up_to_punctuation() {
        let mut extractor = Extractor::default();
        let words =
            FeatureConfig { word_ngrams: 1, char_min: 0, char_max: 0, negation: false, ..FeatureConfig::default() };
        let negating = FeatureConfig { negation: true, ..words };
        let count = |e: &mut Extractor, text: &str, config: &FeatureConfig| e.extract(text, config).features.len();
        // "not" negates "very" and "good"; "!" ends the scope, so "ok" is not negated.
        assert_eq!(count(&mut extractor, "not very good ! ok", &words), 5);
        assert_eq!(count(&mut extractor, "not very good ! ok", &negating), 7);
        assert_eq!(count(&mut extractor, "very good", &negating), 2);
        assert_eq!(count(&mut extractor, "это не работает", &negating), 4);
    }

    #[test]
    fn skipped_pairs_join_words_a_few_positions_apart() {
        let mut extractor = Extractor::default();
        let words =
            FeatureConfig { word_ngrams: 1, char_min: 0, char_max: 0, negation: false, ..FeatureConfig::default() };
        let skipping = FeatureConfig { skip_window: 3, ..words };
        // a b c d: unigrams 4; pairs (a,c) (a,d) (b,d).
        assert_eq!(extractor.extract("a b c d", &words).features.len(), 4);
        assert_eq!(extractor.extract("a b c d", &skipping).features.len(), 7);
    }

    #[test]
    fn older_model_headers_read_without_the_newer_options() {
        let old = r#"{"word_ngrams":2,"char_min":1,"char_max":5,"word_weight":1.0,"char_weight":1.0}"#;
        let config: FeatureConfig = serde_json::from_str(old).unwrap_or_default();
        assert!(!config.squash && !config.negation);
        assert_eq!(config.char_max, 5);
    }

    #[test]
    fn case_does_not_change_features() {
        let mut extractor = Extractor::default();
        let config = FeatureConfig::default();
        assert_eq!(extractor.extract("HELLO World", &config), extractor.extract("hello world", &config));
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let none = FeatureConfig { word_ngrams: 0, char_min: 0, char_max: 0, ..FeatureConfig::default() };
        assert!(none.validate().is_err());
        assert!(FeatureConfig { word_ngrams: 9, ..FeatureConfig::default() }.validate().is_err());
        assert!(FeatureConfig::default().validate().is_ok());
    }
}
