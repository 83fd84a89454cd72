//! How close a draft public reply is to the brand's recent public replies,
//! for the "be human, not a template" nudge.
//!
//! Replies are compared as sets of character 5-shingles of their normalised
//! words (lower-cased, without punctuation or emoji; handles, links and
//! numbers replaced by placeholders,
//! so "@anna thanks, DM us" and "@ben thanks, DM us" are the same reply),
//! by exact Jaccard similarity. A brand's recent replies number in the
//! hundreds, so exact comparison is cheap and needs no sketching.

use std::collections::VecDeque;

use serde::Serialize;

use crate::text::Normalized;

const SHINGLE: usize = 5;

/// The recent reply most similar to a draft.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimilarReply {
    /// The id the reply was added with.
    pub id: String,
    /// Jaccard similarity of the shingle sets, 0 (nothing shared) to 1 (the same text).
    pub similarity: f32,
}

#[derive(Clone, Debug)]
struct StoredReply {
    id: String,
    shingles: Vec<u64>,
}

/// The last `capacity` public replies, oldest forgotten first.
#[derive(Clone, Debug)]
pub struct ReplySimilarity {
    capacity: usize,
    replies: VecDeque<StoredReply>,
}

impl ReplySimilarity {
    /// Keeps at most `capacity` replies (at least one).
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), replies: VecDeque::new() }
    }

    /// Remembers a published reply under the caller's id (e.g. the message id).
    pub fn add(&mut self, id: impl Into<String>, text: &str) {
        if self.replies.len() == self.capacity {
            self.replies.pop_front();
        }
        self.replies.push_back(StoredReply { id: id.into(), shingles: shingles(text) });
    }

    /// How many replies are remembered.
    pub fn len(&self) -> usize {
        self.replies.len()
    }

    /// Whether no reply is remembered.
    pub fn is_empty(&self) -> bool {
        self.replies.is_empty()
    }

    /// The remembered reply closest to `draft` (the most recent one on a tie),
    /// or `None` when nothing is remembered or the draft has no text.
    pub fn closest(&self, draft: &str) -> Option<SimilarReply> {
        let draft = shingles(draft);
        if draft.is_empty() {
            return None;
        }
        let mut best: Option<(usize, f32)> = None;
        for (i, reply) in self.replies.iter().enumerate() {
            let similarity = jaccard(&draft, &reply.shingles);
            if best.is_none_or(|(_, s)| similarity >= s) {
                best = Some((i, similarity));
            }
        }
        best.map(|(i, similarity)| SimilarReply { id: self.replies[i].id.clone(), similarity })
    }

    /// How many remembered replies are at least `threshold` similar to `draft`.
    pub fn count_similar(&self, draft: &str, threshold: f32) -> usize {
        let draft = shingles(draft);
        if draft.is_empty() {
            return 0;
        }
        self.replies.iter().filter(|r| jaccard(&draft, &r.shingles) >= threshold).count()
    }
}

/// Sorted, distinct hashes of the character shingles of the normalised text.
fn shingles(text: &str) -> Vec<u64> {
    let normalized = Normalized::of(text);
    let mut joined = String::with_capacity(normalized.text.len());
    // Punctuation and emoji do not make a template personal.
    for token in normalized.tokens.iter().filter(|t| t.kind != crate::text::TokenKind::Symbol) {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(normalized.token_text(token));
    }
    let chars: Vec<char> = joined.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<u64> = if chars.len() <= SHINGLE {
        vec![hash_chars(&chars)]
    } else {
        chars.windows(SHINGLE).map(hash_chars).collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

fn hash_chars(chars: &[char]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for &c in chars {
        h ^= c as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// |a ∩ b| / |a ∪ b| of two sorted, distinct lists.
fn jaccard(a: &[u64], b: &[u64]) -> f32 {
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - shared;
    if union == 0 { 0.0 } else { shared as f32 / union as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::OrPanic;

    #[test]
    fn the_same_template_to_different_customers_is_identical() {
        let mut recent = ReplySimilarity::new(10);
        recent.add("m1", "@anna We're sorry to hear that! Please DM us your booking reference.");
        recent.add("m2", "Thanks for flying with us, see you soon!");
        let closest =
            recent.closest("@ben we're sorry to hear that!! Please DM us your booking reference").or_panic("some");
        assert_eq!(closest.id, "m1");
        assert!(closest.similarity > 0.95, "{}", closest.similarity);
    }

    #[test]
    fn a_personal_reply_is_not_close() {
        let mut recent = ReplySimilarity::new(10);
        recent.add("m1", "We're sorry to hear that! Please DM us your booking reference.");
        let closest =
            recent.closest("Anna, the 14:05 to Lisbon leaves from gate 12, your bag is on it.").or_panic("some");
        assert!(closest.similarity < 0.2, "{}", closest.similarity);
        assert_eq!(recent.count_similar("We're sorry to hear that! Please DM us your booking reference.", 0.9), 1);
    }

    #[test]
    fn capacity_forgets_the_oldest() {
        let mut recent = ReplySimilarity::new(2);
        recent.add("a", "first reply text");
        recent.add("b", "second reply text");
        recent.add("c", "third reply text");
        assert_eq!(recent.len(), 2);
        assert_ne!(recent.closest("first reply text").map(|r| r.id), Some("a".to_owned()));
        assert_eq!(ReplySimilarity::new(3).closest("anything"), None);
        assert_eq!(recent.closest("   "), None);
    }
}
