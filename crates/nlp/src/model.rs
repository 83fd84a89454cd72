//! A linear classifier over hashed features, stored compactly.
//!
//! Optionally with one hidden layer of rectified units beside the linear
//! part ("wide and deep"): the logits are the linear scores plus a small
//! dense layer over the hidden units.
//!
//! Weights are quantised to one signed byte per bucket and column (with one
//! scale per column) and laid out bucket-major, so that scoring one feature
//! reads one contiguous row. On disk, only buckets with a non-zero weight
//! are written.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::features::{FeatureConfig, FeatureVector};

const MAGIC: &[u8; 8] = b"HARKLIN1";

/// Why a model could not be read, trained or used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("not a Hark model file (bad magic bytes)")]
    BadMagic,
    #[error("the model file is truncated or corrupt: {0}")]
    Corrupt(String),
    #[error("invalid model: {0}")]
    Invalid(String),
}

/// When the best class is less probable than `threshold`, the model answers
/// `label` instead: how an intent model says "none of these".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reject {
    pub threshold: f32,
    pub label: String,
}

/// A label and its probability.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LabelScore {
    pub label: Arc<str>,
    pub score: f32,
}

/// A model's answer for one message: the label, its probability and every
/// label's probability (in the model's label order).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    pub label: Arc<str>,
    pub confidence: f32,
    pub scores: Vec<LabelScore>,
}

/// The header of a model file: everything but the weights.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Header {
    task: String,
    labels: Vec<String>,
    features: FeatureConfig,
    bucket_bits: u8,
    scales: Vec<f32>,
    bias: Vec<f32>,
    reject: Option<Reject>,
    metadata: BTreeMap<String, String>,
    /// Hidden units (0: a purely linear model).
    #[serde(default)]
    hidden: usize,
}

/// A trained linear classifier.
#[derive(Clone, Debug)]
pub struct LinearModel {
    task: String,
    labels: Vec<Arc<str>>,
    features: FeatureConfig,
    bucket_bits: u8,
    /// `[bucket * labels + class]`.
    weights: Vec<i8>,
    scales: Vec<f32>,
    bias: Vec<f32>,
    reject: Option<Reject>,
    metadata: BTreeMap<String, String>,
    /// Hidden units; each bucket's row holds the class weights, then the hidden units' input weights.
    hidden: usize,
    hidden_bias: Vec<f32>,
    /// `[class * hidden + unit]`: from the hidden units to the classes.
    output: Vec<f32>,
}

/// Trained parameters, before quantisation.
#[derive(Clone, Debug, Default)]
pub struct Parameters {
    /// `[bucket * (labels + hidden) + column]`: the class weights, then the hidden units' input weights.
    pub weights: Vec<f32>,
    /// One per class.
    pub bias: Vec<f32>,
    /// Hidden units (0: linear).
    pub hidden: usize,
    /// One per hidden unit.
    pub hidden_bias: Vec<f32>,
    /// `[class * hidden + unit]`.
    pub output: Vec<f32>,
}

/// The most buckets a model may have (2^24), which bounds the memory a
/// model file can make us allocate.
pub const MAX_BUCKET_BITS: u8 = 24;

impl LinearModel {
    /// Quantises trained weights of a linear model (`[bucket * labels + class]`).
    pub fn from_weights(
        task: &str,
        labels: Vec<String>,
        features: FeatureConfig,
        bucket_bits: u8,
        weights: &[f32],
        bias: Vec<f32>,
    ) -> Result<Self, ModelError> {
        let parameters = Parameters { weights: weights.to_vec(), bias, ..Parameters::default() };
        Self::from_parameters(task, labels, features, bucket_bits, parameters)
    }

    /// Quantises trained parameters into a model: the bucket weights to one
    /// signed byte with one scale per column; the small hidden-to-class layer stays in floats.
    pub fn from_parameters(
        task: &str,
        labels: Vec<String>,
        features: FeatureConfig,
        bucket_bits: u8,
        parameters: Parameters,
    ) -> Result<Self, ModelError> {
        let classes = labels.len();
        check_shape(classes, parameters.hidden, bucket_bits, &features)?;
        let width = classes + parameters.hidden;
        if parameters.weights.len() != (1usize << bucket_bits) * width
            || parameters.bias.len() != classes
            || parameters.hidden_bias.len() != parameters.hidden
            || parameters.output.len() != classes * parameters.hidden
        {
            return Err(ModelError::Invalid("parameters do not match buckets, labels and hidden units".into()));
        }
        let mut scales = vec![0.0f32; width];
        for row in parameters.weights.chunks_exact(width) {
            for (scale, w) in scales.iter_mut().zip(row) {
                *scale = scale.max(w.abs());
            }
        }
        scales.iter_mut().for_each(|s| *s = if *s > 0.0 { *s / 127.0 } else { 1.0 });
        let quantised = parameters
            .weights
            .chunks_exact(width)
            .flat_map(|row| row.iter().zip(&scales).map(|(w, s)| (w / s).round().clamp(-127.0, 127.0) as i8))
            .collect();
        Ok(Self {
            task: task.to_owned(),
            labels: labels.into_iter().map(Arc::from).collect(),
            features,
            bucket_bits,
            weights: quantised,
            scales,
            bias: parameters.bias,
            reject: None,
            metadata: BTreeMap::new(),
            hidden: parameters.hidden,
            hidden_bias: parameters.hidden_bias,
            output: parameters.output,
        })
    }

    /// Hidden units (0 for a linear model).
    pub fn hidden_units(&self) -> usize {
        self.hidden
    }

    /// What the model classifies ("sentiment", "intent", "language", …).
    pub fn task(&self) -> &str {
        &self.task
    }

    /// The labels, in the order of [`Prediction::scores`].
    pub fn labels(&self) -> &[Arc<str>] {
        &self.labels
    }

    /// The features the model reads.
    pub fn feature_config(&self) -> &FeatureConfig {
        &self.features
    }

    /// log2 of the number of hash buckets.
    pub fn bucket_bits(&self) -> u8 {
        self.bucket_bits
    }

    /// The reject rule, if any.
    pub fn reject(&self) -> Option<&Reject> {
        self.reject.as_ref()
    }

    /// Sets (or clears) the reject rule; its label need not be one of the model's labels.
    pub fn set_reject(&mut self, reject: Option<Reject>) {
        self.reject = reject;
    }

    /// Free-form provenance: training data, command, scores.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Records one provenance entry.
    pub fn set_metadata(&mut self, key: &str, value: String) {
        self.metadata.insert(key.to_owned(), value);
    }

    /// Raw scores (logits) of every class for `features`, written to `out`.
    pub fn logits_into(&self, features: &FeatureVector, out: &mut Vec<f32>) {
        let classes = self.labels.len();
        let width = classes + self.hidden;
        out.clear();
        out.resize(width, 0.0);
        let mask = (1u32 << self.bucket_bits) - 1;
        for feature in &features.features {
            let bucket = (feature.hash & mask) as usize;
            let Some(weights) = self.weights.get(bucket * width..(bucket + 1) * width) else { continue };
            for (acc, &w) in out.iter_mut().zip(weights) {
                *acc += feature.value * w as f32;
            }
        }
        for (acc, scale) in out.iter_mut().zip(&self.scales) {
            *acc *= scale;
        }
        if self.hidden > 0 {
            let (logits, hidden) = out.split_at_mut(classes);
            for (h, bias) in hidden.iter_mut().zip(&self.hidden_bias) {
                *h = (*h + bias).max(0.0);
            }
            for (logit, weights) in logits.iter_mut().zip(self.output.chunks_exact(self.hidden)) {
                *logit += weights.iter().zip(hidden.iter()).map(|(w, h)| w * h).sum::<f32>();
            }
        }
        out.truncate(classes);
        for (acc, bias) in out.iter_mut().zip(&self.bias) {
            *acc += bias;
        }
    }

    /// Class probabilities for `features` (softmax of the logits), written to `out`.
    pub fn probabilities_into(&self, features: &FeatureVector, out: &mut Vec<f32>) {
        self.logits_into(features, out);
        softmax(out);
    }

    /// The index of the best class and its probability, before any reject rule.
    pub fn best(&self, probabilities: &[f32]) -> (usize, f32) {
        probabilities
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::MIN), |best, (i, p)| if p > best.1 { (i, p) } else { best })
    }

    /// The prediction for `features`, with the reject rule applied.
    pub fn predict(&self, features: &FeatureVector) -> Prediction {
        let mut probabilities = Vec::with_capacity(self.labels.len());
        self.probabilities_into(features, &mut probabilities);
        self.prediction_from(&probabilities)
    }

    /// Builds the prediction from probabilities computed by [`LinearModel::probabilities_into`].
    pub fn prediction_from(&self, probabilities: &[f32]) -> Prediction {
        let (best, confidence) = self.best(probabilities);
        let label = match &self.reject {
            Some(reject) if confidence < reject.threshold => Arc::from(reject.label.as_str()),
            _ => self.labels.get(best).cloned().unwrap_or_else(|| Arc::from("")),
        };
        let scores = self
            .labels
            .iter()
            .zip(probabilities)
            .map(|(label, &score)| LabelScore { label: label.clone(), score })
            .collect();
        Prediction { label, confidence, scores }
    }

    /// The model as bytes: a JSON header and the non-zero weight rows.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = Header {
            task: self.task.clone(),
            labels: self.labels.iter().map(|l| l.to_string()).collect(),
            features: self.features,
            bucket_bits: self.bucket_bits,
            scales: self.scales.clone(),
            bias: self.bias.clone(),
            reject: self.reject.clone(),
            metadata: self.metadata.clone(),
            hidden: self.hidden,
        };
        // Serialising plain data to JSON cannot fail.
        let header = serde_json::to_vec(&header).unwrap_or_default();
        let width = self.labels.len() + self.hidden;
        let mut out = Vec::with_capacity(header.len() + 16 + self.weights.len() / 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        let mut previous = 0usize;
        let mut rows = 0u32;
        let mut body = Vec::new();
        for (bucket, row) in self.weights.chunks_exact(width).enumerate() {
            if row.iter().all(|&w| w == 0) {
                continue;
            }
            write_varint(&mut body, (bucket - previous) as u64);
            body.extend(row.iter().map(|&w| w as u8));
            previous = bucket;
            rows += 1;
        }
        out.extend_from_slice(&rows.to_le_bytes());
        out.extend_from_slice(&body);
        for value in self.hidden_bias.iter().chain(&self.output) {
            out.extend_from_slice(&value.to_le_bytes());
        }
        out
    }

    /// Reads a model written by [`LinearModel::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.take(8)? != MAGIC {
            return Err(ModelError::BadMagic);
        }
        let header_len = u32::from_le_bytes(reader.array()?) as usize;
        let header: Header = serde_json::from_slice(reader.take(header_len)?)
            .map_err(|e| ModelError::Corrupt(format!("header: {e}")))?;
        let classes = header.labels.len();
        check_shape(classes, header.hidden, header.bucket_bits, &header.features)?;
        let width = classes + header.hidden;
        if header.scales.len() != width || header.bias.len() != classes {
            return Err(ModelError::Corrupt("scales or biases do not match the labels".into()));
        }
        if header.scales.iter().chain(&header.bias).any(|v| !v.is_finite()) {
            return Err(ModelError::Corrupt("non-finite scale or bias".into()));
        }
        let buckets = 1usize << header.bucket_bits;
        let rows = u32::from_le_bytes(reader.array()?) as usize;
        if rows > buckets {
            return Err(ModelError::Corrupt("more weight rows than buckets".into()));
        }
        let mut weights = vec![0i8; buckets * width];
        let mut bucket = 0usize;
        for i in 0..rows {
            let delta = reader.varint()? as usize;
            bucket = bucket
                .checked_add(delta)
                .filter(|&b| b < buckets && (i == 0 || delta > 0))
                .ok_or_else(|| ModelError::Corrupt("weight rows out of order or out of range".into()))?;
            let row = reader.take(width)?;
            for (w, &b) in weights[bucket * width..(bucket + 1) * width].iter_mut().zip(row) {
                *w = b as i8;
            }
        }
        let hidden_bias = reader.floats(header.hidden)?;
        let output = reader.floats(classes * header.hidden)?;
        if reader.at != bytes.len() {
            return Err(ModelError::Corrupt("trailing bytes after the weights".into()));
        }
        Ok(Self {
            task: header.task,
            labels: header.labels.into_iter().map(Arc::from).collect(),
            features: header.features,
            bucket_bits: header.bucket_bits,
            weights,
            scales: header.scales,
            bias: header.bias,
            reject: header.reject,
            metadata: header.metadata,
            hidden: header.hidden,
            hidden_bias,
            output,
        })
    }
}

fn check_shape(classes: usize, hidden: usize, bucket_bits: u8, features: &FeatureConfig) -> Result<(), ModelError> {
    if hidden > 1024 {
        return Err(ModelError::Invalid("too many hidden units (at most 1024)".into()));
    }
    if classes < 2 {
        return Err(ModelError::Invalid("a model needs at least two labels".into()));
    }
    if classes > 4096 {
        return Err(ModelError::Invalid("too many labels (at most 4096)".into()));
    }
    if !(4..=MAX_BUCKET_BITS).contains(&bucket_bits) {
        return Err(ModelError::Invalid(format!("bucket bits must be 4..={MAX_BUCKET_BITS}")));
    }
    features.validate().map_err(ModelError::Invalid)
}

/// Softmax in place, stable for large logits.
pub fn softmax(values: &mut [f32]) {
    let max = values.iter().copied().fold(f32::MIN, f32::max);
    let mut sum = 0.0;
    for v in values.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    if sum > 0.0 {
        values.iter_mut().for_each(|v| *v /= sum);
    }
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| ModelError::Corrupt("unexpected end of file".into()))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ModelError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn floats(&mut self, n: usize) -> Result<Vec<f32>, ModelError> {
        let bytes = self.take(n.checked_mul(4).ok_or_else(|| ModelError::Corrupt("size overflow".into()))?)?;
        let values: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        if values.iter().all(|v| v.is_finite()) {
            Ok(values)
        } else {
            Err(ModelError::Corrupt("non-finite hidden-layer weight".into()))
        }
    }

    fn varint(&mut self) -> Result<u64, ModelError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            value |= ((byte & 0x7F) as u64) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ModelError::Corrupt("varint too long".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Feature;
    use crate::test_support::OrPanic;

    fn toy() -> LinearModel {
        let bits = 4;
        let mut weights = vec![0.0f32; (1 << bits) * 2];
        weights[3 * 2] = 1.5;
        weights[3 * 2 + 1] = -1.5;
        weights[9 * 2 + 1] = 0.75;
        let mut model = LinearModel::from_weights(
            "toy",
            vec!["a".into(), "b".into()],
            FeatureConfig::default(),
            bits,
            &weights,
            vec![0.1, -0.1],
        )
        .or_panic("valid toy model");
        model.set_reject(Some(Reject { threshold: 0.2, label: "none".into() }));
        model.set_metadata("trained_on", "nothing".into());
        model
    }

    #[test]
    fn bytes_round_trip_keeps_predictions() {
        let model = toy();
        let back = LinearModel::from_bytes(&model.to_bytes()).or_panic("readable");
        let features =
            FeatureVector { features: vec![Feature { hash: 3, value: 1.0 }, Feature { hash: 25, value: 0.5 }] };
        assert_eq!(model.predict(&features), back.predict(&features));
        assert_eq!(back.predict(&features).label.as_ref(), "a");
        assert_eq!(back.reject(), model.reject());
        assert_eq!(back.metadata().get("trained_on").map(String::as_str), Some("nothing"));
    }

    #[test]
    fn corrupt_bytes_are_errors_not_panics() {
        let bytes = toy().to_bytes();
        assert!(matches!(LinearModel::from_bytes(b"nonsense"), Err(ModelError::BadMagic)));
        for cut in [9, 20, bytes.len() - 1] {
            assert!(LinearModel::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(LinearModel::from_bytes(&extra).is_err());
    }

    #[test]
    fn reject_rule_answers_its_label_below_the_threshold() {
        let mut model = toy();
        model.set_reject(Some(Reject { threshold: 0.99, label: "none".into() }));
        let prediction = model.predict(&FeatureVector::default());
        assert_eq!(prediction.label.as_ref(), "none");
        assert!((prediction.scores.iter().map(|s| s.score).sum::<f32>() - 1.0).abs() < 1e-5);
    }
}
