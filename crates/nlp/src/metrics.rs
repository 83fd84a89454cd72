//! Classification figures: accuracy, macro-F1 and per-class precision,
//! recall and F1, plus in-scope accuracy and out-of-scope recall when one
//! label means "none of these".

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Precision, recall and F1 of one class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// How many gold examples have this label.
    pub support: usize,
}

/// Figures for one evaluation run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    pub n: usize,
    pub accuracy: f64,
    /// Mean F1 over the labels that occur in the gold labels.
    pub macro_f1: f64,
    pub per_class: BTreeMap<String, ClassScores>,
    /// With an out-of-scope label: accuracy over the in-scope examples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_scope_accuracy: Option<f64>,
    /// With an out-of-scope label: share of out-of-scope examples answered as such.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oos_recall: Option<f64>,
}

impl Evaluation {
    /// Scores `predicted` against `gold` (same length, same order). When
    /// `out_of_scope` names a label present in `gold`, also reports in-scope
    /// accuracy and out-of-scope recall.
    pub fn of<G: AsRef<str>, P: AsRef<str>>(gold: &[G], predicted: &[P], out_of_scope: Option<&str>) -> Self {
        let n = gold.len().min(predicted.len());
        let pairs: Vec<(&str, &str)> = gold.iter().zip(predicted).map(|(g, p)| (g.as_ref(), p.as_ref())).collect();
        let correct = pairs.iter().filter(|(g, p)| g == p).count();
        let labels: BTreeSet<&str> = pairs.iter().map(|(g, _)| *g).collect();
        let mut per_class = BTreeMap::new();
        for &label in &labels {
            let tp = pairs.iter().filter(|(g, p)| *g == label && *p == label).count() as f64;
            let gold_count = pairs.iter().filter(|(g, _)| *g == label).count();
            let predicted_count = pairs.iter().filter(|(_, p)| *p == label).count() as f64;
            let precision = if predicted_count > 0.0 { tp / predicted_count } else { 0.0 };
            let recall = if gold_count > 0 { tp / gold_count as f64 } else { 0.0 };
            let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
            per_class.insert(label.to_owned(), ClassScores { precision, recall, f1, support: gold_count });
        }
        let macro_f1 = if per_class.is_empty() {
            0.0
        } else {
            per_class.values().map(|c| c.f1).sum::<f64>() / per_class.len() as f64
        };
        let (in_scope_accuracy, oos_recall) = match out_of_scope.filter(|l| labels.contains(l)) {
            Some(oos) => {
                let in_scope: Vec<_> = pairs.iter().filter(|(g, _)| *g != oos).collect();
                let in_correct = in_scope.iter().filter(|(g, p)| g == p).count();
                let in_acc = if in_scope.is_empty() { 0.0 } else { in_correct as f64 / in_scope.len() as f64 };
                (Some(in_acc), per_class.get(oos).map(|c| c.recall))
            }
            None => (None, None),
        };
        Self {
            n,
            accuracy: if n == 0 { 0.0 } else { correct as f64 / n as f64 },
            macro_f1,
            per_class,
            in_scope_accuracy,
            oos_recall,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_match_a_hand_computed_example() {
        let gold = ["a", "a", "b", "b", "c"];
        let predicted = ["a", "b", "b", "b", "a"];
        let e = Evaluation::of(&gold, &predicted, None);
        assert_eq!(e.n, 5);
        assert!((e.accuracy - 0.6).abs() < 1e-9);
        // a: p 1/2 r 1/2 f 0.5; b: p 2/3 r 1 f 0.8; c: 0.
        assert!((e.per_class["a"].f1 - 0.5).abs() < 1e-9);
        assert!((e.per_class["b"].f1 - 0.8).abs() < 1e-9);
        assert!((e.macro_f1 - 1.3 / 3.0).abs() < 1e-9);
        assert_eq!(e.in_scope_accuracy, None);
    }

    #[test]
    fn out_of_scope_figures() {
        let gold = ["x", "y", "oos", "oos"];
        let predicted = ["x", "oos", "oos", "y"];
        let e = Evaluation::of(&gold, &predicted, Some("oos"));
        assert_eq!(e.in_scope_accuracy, Some(0.5));
        assert_eq!(e.oos_recall, Some(0.5));
    }
}
