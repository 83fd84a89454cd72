//! Training: multinomial logistic regression (softmax cross-entropy with L2)
//! on hashed features, optimised by AdaGrad over shuffled examples.
//!
//! Deterministic: the same examples, configuration and seed give the same
//! model byte for byte.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::features::{Extractor, FeatureConfig};
use crate::model::{LinearModel, MAX_BUCKET_BITS, ModelError, Parameters, Reject};

/// One labelled text.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    pub text: String,
    pub label: String,
    /// How much this example counts (1.0 normally).
    pub weight: f32,
}

impl Example {
    pub fn new(text: impl Into<String>, label: impl Into<String>) -> Self {
        Self { text: text.into(), label: label.into(), weight: 1.0 }
    }
}

/// How to train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub features: FeatureConfig,
    /// log2 of the number of hash buckets.
    pub bucket_bits: u8,
    pub epochs: u32,
    /// AdaGrad's base learning rate.
    pub learning_rate: f32,
    /// L2 penalty per example update.
    pub l2: f32,
    /// Weigh classes inversely to their frequency, so that a rare class counts as much as a common one.
    pub balance_classes: bool,
    /// Average the weights of the second half of the epochs (smoother, generalises better).
    pub average: bool,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Hidden rectified units beside the linear part (0: a linear model).
    pub hidden: usize,
    /// Share of hidden units dropped at each training step.
    pub dropout: f32,
    /// Share of the target probability spread over the other classes (0: none).
    #[serde(default)]
    pub label_smoothing: f32,
    /// Features seen in fewer training examples than this are dropped (0 or 1: none).
    #[serde(default)]
    pub min_count: u32,
    /// Scale each feature, per class, by its naive Bayes log-count ratio
    /// (NB-LR): informative n-grams learn faster, uninformative ones barely move.
    #[serde(default)]
    pub nb_scaling: bool,
    /// Share of an example's features dropped at each step (the others scaled up to match):
    /// noise that keeps the model from leaning on a few n-grams.
    #[serde(default)]
    pub feature_dropout: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            features: FeatureConfig::default(),
            bucket_bits: 20,
            epochs: 12,
            learning_rate: 0.4,
            l2: 1e-6,
            balance_classes: false,
            average: true,
            seed: 42,
            hidden: 0,
            dropout: 0.0,
            label_smoothing: 0.0,
            min_count: 0,
            nb_scaling: false,
            feature_dropout: 0.0,
        }
    }
}

impl TrainConfig {
    /// The learner's settings for intents (tuned on BANKING77 and CLINC150):
    /// the linear part plus 128 hidden units with 30% dropout, 2^18 buckets,
    /// L2 3e-5, AdaGrad rate 0.05, 10 epochs.
    pub fn intent() -> Self {
        Self {
            bucket_bits: 18,
            epochs: 10,
            learning_rate: 0.05,
            l2: 3e-5,
            hidden: 128,
            dropout: 0.3,
            ..Self::default()
        }
    }

    /// The learner's settings for sentiment (tuned on the XLM-T validation splits):
    /// 2^21 buckets, L2 3e-5, AdaGrad rate 0.1, 10 epochs.
    pub fn sentiment() -> Self {
        Self { bucket_bits: 21, epochs: 10, learning_rate: 0.1, l2: 3e-5, ..Self::default() }
    }
}

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("no training examples")]
    NoExamples,
    #[error("training needs at least two distinct labels, found {0}")]
    TooFewLabels(usize),
    #[error("invalid training configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Model(#[from] ModelError),
}

struct Prepared {
    features: Vec<(u32, f32)>,
    label: usize,
    weight: f32,
}

/// Trains a model for `task` on `examples`. Labels are sorted by name.
pub fn train(task: &str, examples: &[Example], config: &TrainConfig) -> Result<LinearModel, TrainError> {
    if examples.is_empty() {
        return Err(TrainError::NoExamples);
    }
    config.features.validate().map_err(TrainError::Config)?;
    if !(4..=MAX_BUCKET_BITS).contains(&config.bucket_bits) {
        return Err(TrainError::Config(format!("bucket bits must be 4..={MAX_BUCKET_BITS}")));
    }
    if config.hidden > 1024 || !(0.0..0.9).contains(&config.dropout) {
        return Err(TrainError::Config("at most 1024 hidden units, dropout in 0..0.9".into()));
    }
    if !(0.0..0.9).contains(&config.feature_dropout) {
        return Err(TrainError::Config("feature dropout in 0..0.9".into()));
    }
    if !(0.0..0.5).contains(&config.label_smoothing) {
        return Err(TrainError::Config("label smoothing in 0..0.5".into()));
    }
    if config.epochs == 0
        || !(config.learning_rate.is_finite() && config.learning_rate > 0.0)
        || !(config.l2.is_finite() && config.l2 >= 0.0)
    {
        return Err(TrainError::Config("epochs and learning rate must be positive, l2 non-negative".into()));
    }
    let labels: Vec<String> = {
        let mut set: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
        set.sort();
        set.dedup();
        set
    };
    if labels.len() < 2 {
        return Err(TrainError::TooFewLabels(labels.len()));
    }
    let index: BTreeMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
    let classes = labels.len();

    let mut counts = vec![0.0f32; classes];
    for example in examples {
        counts[index[example.label.as_str()]] += example.weight.max(0.0);
    }
    let total: f32 = counts.iter().sum();
    let class_weight: Vec<f32> = counts
        .iter()
        .map(|&c| if config.balance_classes && c > 0.0 { total / (classes as f32 * c) } else { 1.0 })
        .collect();

    let mask = (1u32 << config.bucket_bits) - 1;
    let mut extractor = Extractor::default();
    let prepared: Vec<Prepared> = examples
        .iter()
        .filter(|e| e.weight > 0.0 && e.weight.is_finite())
        .map(|e| {
            let vector = extractor.extract(&e.text, &config.features);
            let label = index[e.label.as_str()];
            Prepared {
                features: vector.features.iter().map(|f| (f.hash & mask, f.value)).collect(),
                label,
                weight: e.weight * class_weight[label],
            }
        })
        .collect();
    if prepared.is_empty() {
        return Err(TrainError::NoExamples);
    }
    let mut prepared = prepared;
    if config.min_count > 1 {
        drop_rare(&mut prepared, config.bucket_bits, config.min_count);
    }
    let scaling = config.nb_scaling.then(|| nb_ratios(&prepared, classes, config.bucket_bits));
    let parameters = optimise(&prepared, classes, config, scaling.as_deref());
    let mut model = LinearModel::from_parameters(task, labels, config.features, config.bucket_bits, parameters)?;
    model.set_metadata("train_examples", prepared.len().to_string());
    model.set_metadata("train_config", serde_json::to_string(config).map_err(|e| TrainError::Config(e.to_string()))?);
    Ok(model)
}

/// Removes the features whose bucket occurs in fewer than `min_count` examples.
fn drop_rare(prepared: &mut [Prepared], bucket_bits: u8, min_count: u32) {
    let mut counts = vec![0u32; 1usize << bucket_bits];
    for example in prepared.iter() {
        for &(bucket, _) in &example.features {
            counts[bucket as usize] = counts[bucket as usize].saturating_add(1);
        }
    }
    for example in prepared.iter_mut() {
        example.features.retain(|&(bucket, _)| counts[bucket as usize] >= min_count);
    }
}

/// Naive Bayes log-count ratios per bucket and class (`[bucket * classes + class]`):
/// how much more often a feature occurs in the class than outside it, with
/// add-one smoothing, clamped so that no feature is switched off entirely.
fn nb_ratios(prepared: &[Prepared], classes: usize, bucket_bits: u8) -> Vec<f32> {
    let buckets = 1usize << bucket_bits;
    let mut inside = vec![0.0f32; buckets * classes];
    let mut all = vec![0.0f32; buckets];
    let mut class_total = vec![0.0f32; classes];
    for example in prepared {
        for &(bucket, value) in &example.features {
            inside[bucket as usize * classes + example.label] += value;
            all[bucket as usize] += value;
            class_total[example.label] += value;
        }
    }
    let total: f32 = class_total.iter().sum();
    const ALPHA: f32 = 1.0;
    let mut ratios = vec![1.0f32; buckets * classes];
    for bucket in 0..buckets {
        if all[bucket] == 0.0 {
            continue;
        }
        for c in 0..classes {
            let p = (inside[bucket * classes + c] + ALPHA) / (class_total[c] + ALPHA * buckets as f32);
            let q = (all[bucket] - inside[bucket * classes + c] + ALPHA)
                / (total - class_total[c] + ALPHA * buckets as f32);
            ratios[bucket * classes + c] = (p / q).ln().abs().clamp(0.05, 5.0);
        }
    }
    ratios
}

/// AdaGrad on softmax cross-entropy with L2 over shuffled examples. With
/// hidden units, each bucket row also feeds the hidden layer, whose
/// rectified outputs reach the classes through a small dense layer; hidden
/// units start from zero input weights and a small positive bias (so that
/// untouched buckets stay zero and the file stays sparse), the dense layer
/// from small random weights, which breaks the symmetry.
// Index loops over the parallel arrays read like the gradient formulas they implement.
#[allow(clippy::needless_range_loop)]
fn optimise(prepared: &[Prepared], classes: usize, config: &TrainConfig, scaling: Option<&[f32]>) -> Parameters {
    let hidden = config.hidden;
    let width = classes + hidden;
    let buckets = 1usize << config.bucket_bits;
    let mut rng = SplitMix(config.seed);
    let mut p = Parameters {
        weights: vec![0.0; buckets * width],
        bias: vec![0.0; classes],
        hidden,
        hidden_bias: vec![0.1; hidden],
        output: Vec::with_capacity(classes * hidden),
    };
    let limit = (6.0 / (classes + hidden).max(1) as f32).sqrt();
    for _ in 0..classes * hidden {
        p.output.push((rng.unit() * 2.0 - 1.0) * limit);
    }
    let mut squared = vec![0.0f32; buckets * width];
    let mut bias_squared = vec![0.0f32; classes];
    let mut hidden_bias_squared = vec![0.0f32; hidden];
    let mut output_squared = vec![0.0f32; classes * hidden];
    // Weight averaging suits the convex linear model only.
    let average = config.average && hidden == 0;
    let mut averaged: Option<(Vec<f32>, Vec<f32>, u32)> = None;
    let mut order: Vec<usize> = (0..prepared.len()).collect();
    let mut sums = vec![0.0f32; width];
    let mut activations = vec![0.0f32; hidden];
    let mut keep = vec![1.0f32; hidden];
    let mut probabilities = vec![0.0f32; classes];
    let mut gradient = vec![0.0f32; classes];
    let mut hidden_gradient = vec![0.0f32; hidden];
    let eta = config.learning_rate;
    let l2 = config.l2;
    let on_target = 1.0 - config.label_smoothing;
    let off_target = config.label_smoothing / (classes - 1).max(1) as f32;
    const EPSILON: f32 = 1e-8;
    let adagrad = |w: &mut f32, s: &mut f32, g: f32| {
        *s += g * g;
        *w -= eta * g / (s.sqrt() + EPSILON);
    };

    let mut kept: Vec<(u32, f32)> = Vec::new();
    let feature_scale = 1.0 / (1.0 - config.feature_dropout);
    for epoch in 0..config.epochs {
        shuffle(&mut order, &mut rng);
        for &i in &order {
            let example = &prepared[i];
            let features: &[(u32, f32)] = if config.feature_dropout > 0.0 {
                kept.clear();
                for &(bucket, value) in &example.features {
                    if rng.unit() >= config.feature_dropout {
                        kept.push((bucket, value * feature_scale));
                    }
                }
                &kept
            } else {
                &example.features
            };
            sums.iter_mut().for_each(|s| *s = 0.0);
            for &(bucket, value) in features {
                let row = &p.weights[bucket as usize * width..(bucket as usize + 1) * width];
                for (s, w) in sums.iter_mut().zip(row) {
                    *s += value * w;
                }
                if let Some(scaling) = scaling {
                    let ratios = &scaling[bucket as usize * classes..(bucket as usize + 1) * classes];
                    for c in 0..classes {
                        sums[c] += value * row[c] * (ratios[c] - 1.0);
                    }
                }
            }
            for c in 0..classes {
                probabilities[c] = sums[c] + p.bias[c];
            }
            if hidden > 0 {
                let scale = 1.0 / (1.0 - config.dropout);
                for k in 0..hidden {
                    keep[k] = if rng.unit() < config.dropout { 0.0 } else { scale };
                    activations[k] = (sums[classes + k] + p.hidden_bias[k]).max(0.0) * keep[k];
                }
                for (c, weights) in p.output.chunks_exact(hidden).enumerate() {
                    probabilities[c] += weights.iter().zip(&activations).map(|(w, a)| w * a).sum::<f32>();
                }
            }
            crate::model::softmax(&mut probabilities);
            for (c, (g, probability)) in gradient.iter_mut().zip(&probabilities).enumerate() {
                let target = if c == example.label { on_target } else { off_target };
                *g = (probability - target) * example.weight;
            }
            for c in 0..classes {
                adagrad(&mut p.bias[c], &mut bias_squared[c], gradient[c]);
            }
            if hidden > 0 {
                hidden_gradient.iter_mut().for_each(|g| *g = 0.0);
                for c in 0..classes {
                    let g = gradient[c];
                    let at = c * hidden;
                    for k in 0..hidden {
                        hidden_gradient[k] += g * p.output[at + k];
                        let step = g * activations[k] + l2 * p.output[at + k];
                        adagrad(&mut p.output[at + k], &mut output_squared[at + k], step);
                    }
                }
                for k in 0..hidden {
                    // Through the dropout mask and the rectifier.
                    hidden_gradient[k] = if activations[k] > 0.0 { hidden_gradient[k] * keep[k] } else { 0.0 };
                    adagrad(&mut p.hidden_bias[k], &mut hidden_bias_squared[k], hidden_gradient[k]);
                }
            }
            for &(bucket, value) in features {
                let at = bucket as usize * width;
                let row = &mut p.weights[at..at + width];
                let acc = &mut squared[at..at + width];
                for c in 0..classes {
                    let ratio = scaling.map_or(1.0, |s| s[bucket as usize * classes + c]);
                    let step = gradient[c] * value * ratio + l2 * row[c];
                    adagrad(&mut row[c], &mut acc[c], step);
                }
                for k in 0..hidden {
                    let g = hidden_gradient[k];
                    if g != 0.0 || row[classes + k] != 0.0 {
                        let step = g * value + l2 * row[classes + k];
                        adagrad(&mut row[classes + k], &mut acc[classes + k], step);
                    }
                }
            }
        }
        if average && epoch >= config.epochs / 2 {
            let (sum, bias_sum, n) =
                averaged.get_or_insert_with(|| (vec![0.0; p.weights.len()], vec![0.0; classes], 0));
            sum.iter_mut().zip(&p.weights).for_each(|(s, w)| *s += w);
            bias_sum.iter_mut().zip(&p.bias).for_each(|(s, b)| *s += b);
            *n += 1;
        }
    }
    if let Some((mut sum, mut bias_sum, n)) = averaged {
        let scale = 1.0 / n as f32;
        sum.iter_mut().for_each(|w| *w *= scale);
        bias_sum.iter_mut().for_each(|b| *b *= scale);
        p.weights = sum;
        p.bias = bias_sum;
    }
    // The scaled model as a plain linear one: each weight times its ratio.
    if let Some(scaling) = scaling {
        for (row, ratios) in p.weights.chunks_exact_mut(width).zip(scaling.chunks_exact(classes)) {
            for (w, r) in row.iter_mut().zip(ratios) {
                *w *= r;
            }
        }
    }
    p
}

/// Chooses the reject threshold on held-out examples: the examples labelled
/// `reject_label` should be rejected, the others classified correctly. The
/// threshold kept is the one with the best mean of in-scope accuracy and
/// out-of-scope recall among those that keep in-scope accuracy within
/// `max_in_scope_loss` of its value without rejection.
pub fn tune_reject(
    model: &LinearModel,
    held_out: &[Example],
    reject_label: &str,
    max_in_scope_loss: f32,
) -> Option<Reject> {
    choose_threshold(&reject_evidence(model, held_out, reject_label), reject_label, max_in_scope_loss)
}

/// Chooses the reject threshold from the training examples themselves, for
/// when no separate held-out set is given: each of `folds` interleaved parts
/// is scored by a model trained on the other parts, and the threshold is
/// chosen on all those out-of-fold answers as [`tune_reject`] does. `None`
/// when the examples have no `reject_label` (or nothing else).
pub fn cross_validated_reject(
    examples: &[Example],
    config: &TrainConfig,
    reject_label: &str,
    folds: usize,
    max_in_scope_loss: f32,
) -> Result<Option<Reject>, TrainError> {
    let rejected = examples.iter().filter(|e| e.label == reject_label).count();
    if rejected == 0 || rejected == examples.len() || folds < 2 {
        return Ok(None);
    }
    let mut evidence = Vec::with_capacity(examples.len());
    for fold in 0..folds {
        let (held_out, kept): (Vec<_>, Vec<_>) = examples.iter().enumerate().partition(|(i, _)| i % folds == fold);
        let kept: Vec<Example> = kept.into_iter().map(|(_, e)| e.clone()).collect();
        let held_out: Vec<Example> = held_out.into_iter().map(|(_, e)| e.clone()).collect();
        let model = train("fold", &kept, config)?;
        evidence.extend(reject_evidence(&model, &held_out, reject_label));
    }
    Ok(choose_threshold(&evidence, reject_label, max_in_scope_loss))
}

/// For each example: the model's confidence, whether it is in scope, and
/// whether the answer before rejection is right (the right intent, or the
/// reject label itself).
fn reject_evidence(model: &LinearModel, held_out: &[Example], reject_label: &str) -> Vec<(f32, bool, bool)> {
    let mut extractor = Extractor::default();
    let mut probabilities = Vec::new();
    held_out
        .iter()
        .map(|e| {
            let vector = extractor.extract(&e.text, model.feature_config());
            model.probabilities_into(&vector, &mut probabilities);
            let (best, confidence) = model.best(&probabilities);
            let in_scope = e.label != reject_label;
            let correct = model.labels()[best].as_ref() == e.label;
            (confidence, in_scope, correct)
        })
        .collect()
}

fn choose_threshold(scored: &[(f32, bool, bool)], reject_label: &str, max_in_scope_loss: f32) -> Option<Reject> {
    let in_scope = scored.iter().filter(|s| s.1).count();
    let out_of_scope = scored.len() - in_scope;
    if in_scope == 0 || out_of_scope == 0 {
        return None;
    }
    let evaluate = |threshold: f32| {
        let kept_correct = scored.iter().filter(|s| s.1 && s.2 && s.0 >= threshold).count();
        let rejected_oos = scored.iter().filter(|s| !s.1 && (s.0 < threshold || s.2)).count();
        (kept_correct as f32 / in_scope as f32, rejected_oos as f32 / out_of_scope as f32)
    };
    let (base_accuracy, _) = evaluate(0.0);
    let mut best: Option<(f32, f32)> = None;
    for step in 0..=200 {
        let threshold = step as f32 / 200.0;
        let (accuracy, recall) = evaluate(threshold);
        if accuracy + max_in_scope_loss < base_accuracy {
            continue;
        }
        let score = (accuracy + recall) / 2.0;
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((threshold, score));
        }
    }
    best.map(|(threshold, _)| Reject { threshold, label: reject_label.to_owned() })
}

/// A small, fast, seedable generator for shuffling (SplitMix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

fn shuffle(items: &mut [usize], rng: &mut SplitMix) {
    for i in (1..items.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::OrPanic;

    fn toy() -> Vec<Example> {
        let mut examples = Vec::new();
        for (i, fruit) in ["apple", "banana", "cherry", "grape", "melon", "peach"].iter().enumerate() {
            examples.push(Example::new(format!("I love this {fruit} so much"), "positive"));
            examples.push(Example::new(format!("this {fruit} is awful and I hate it"), "negative"));
            if i % 2 == 0 {
                examples.push(Example::new(format!("wonderful {fruit}, love it"), "positive"));
            }
        }
        examples
    }

    fn small() -> TrainConfig {
        TrainConfig { bucket_bits: 12, epochs: 10, ..TrainConfig::default() }
    }

    #[test]
    fn learns_a_separable_toy_set() {
        let model = train("toy", &toy(), &small()).or_panic("trains");
        let mut extractor = Extractor::default();
        let mut predict = |text: &str| model.predict(&extractor.extract(text, model.feature_config())).label;
        assert_eq!(predict("I love this kiwi").as_ref(), "positive");
        assert_eq!(predict("awful kiwi, I hate it").as_ref(), "negative");
        assert_eq!(model.labels().len(), 2);
    }

    #[test]
    fn a_hidden_layer_learns_and_survives_a_round_trip() {
        let config = TrainConfig { hidden: 8, dropout: 0.1, learning_rate: 0.1, epochs: 20, ..small() };
        let model = train("toy", &toy(), &config).or_panic("trains");
        assert_eq!(model.hidden_units(), 8);
        let back = LinearModel::from_bytes(&model.to_bytes()).or_panic("round trip");
        let mut extractor = Extractor::default();
        for (text, label) in [("I love this kiwi", "positive"), ("awful kiwi, I hate it", "negative")] {
            let features = extractor.extract(text, model.feature_config());
            assert_eq!(model.predict(&features).label.as_ref(), label, "{text}");
            assert_eq!(model.predict(&features), back.predict(&features));
        }
    }

    #[test]
    fn training_is_deterministic() {
        let a = train("toy", &toy(), &small()).or_panic("trains");
        let b = train("toy", &toy(), &small()).or_panic("trains");
        assert_eq!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(train("toy", &[], &small()), Err(TrainError::NoExamples)));
        let one = [Example::new("a", "x"), Example::new("b", "x")];
        assert!(matches!(train("toy", &one, &small()), Err(TrainError::TooFewLabels(1))));
        let config = TrainConfig { epochs: 0, ..small() };
        assert!(matches!(train("toy", &toy(), &config), Err(TrainError::Config(_))));
        let config = TrainConfig { hidden: 4, dropout: 0.95, ..small() };
        assert!(matches!(train("toy", &toy(), &config), Err(TrainError::Config(_))));
    }

    #[test]
    fn cross_validation_finds_a_threshold_only_with_out_of_scope_examples() {
        let mut examples = toy();
        let none = cross_validated_reject(&examples, &small(), "oos", 3, 0.01).or_panic("trains");
        assert!(none.is_none());
        for text in ["qwerty zxcv", "lorem ipsum dolor", "1234 5678", "asdf ghjk", "foo bar baz", "zzz yyy"] {
            examples.push(Example::new(text, "oos"));
        }
        let reject = cross_validated_reject(&examples, &small(), "oos", 3, 0.05).or_panic("trains");
        let reject = reject.or_panic("a threshold");
        assert_eq!(reject.label, "oos");
        assert!((0.0..=1.0).contains(&reject.threshold), "{}", reject.threshold);
    }

    #[test]
    fn reject_threshold_rejects_unrelated_text() {
        let model = train("toy", &toy(), &small()).or_panic("trains");
        let mut held_out = toy();
        held_out.truncate(6);
        for text in ["qwerty zxcv", "lorem ipsum dolor", "1234 5678"] {
            held_out.push(Example::new(text, "oos"));
        }
        let reject = tune_reject(&model, &held_out, "oos", 0.0).or_panic("a threshold");
        assert!(reject.threshold > 0.5 && reject.threshold <= 1.0, "{}", reject.threshold);
    }
}
