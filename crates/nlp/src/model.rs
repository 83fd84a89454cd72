//! A linear classifier over hashed features, stored compactly.
//!
//! Weights are quantised to one signed byte per bucket and class (with one
//! scale per class) and laid out bucket-major, so that scoring one feature
//! touches one cache line for all classes. On disk, only buckets with a
//! non-zero weight are written.

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
    #[serde(default)]
    idf: bool,
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
    /// Per-bucket inverse document frequency in steps of 1/[`IDF_STEPS`], if the model uses it.
    idf: Option<Vec<u8>>,
}

/// Inverse document frequencies are stored as multiples of 1/16.
pub const IDF_STEPS: f32 = 16.0;

/// Weighs hashed features (already mapped to buckets) by their inverse
/// document frequency and scales them back to unit length.
pub fn apply_idf(features: &mut [(u32, f32)], idf: &[u8]) {
    let mut norm = 0.0f32;
    for (bucket, value) in features.iter_mut() {
        *value *= idf.get(*bucket as usize).copied().unwrap_or(16) as f32 / IDF_STEPS;
        norm += *value * *value;
    }
    if norm > 0.0 {
        let scale = 1.0 / norm.sqrt();
        features.iter_mut().for_each(|(_, v)| *v *= scale);
    }
}

/// The most buckets a model may have (2^24), which bounds the memory a
/// model file can make us allocate.
pub const MAX_BUCKET_BITS: u8 = 24;

impl LinearModel {
    /// Quantises trained weights (`[bucket * labels + class]`) into a model.
    pub fn from_weights(
        task: &str,
        labels: Vec<String>,
        features: FeatureConfig,
        bucket_bits: u8,
        weights: &[f32],
        bias: Vec<f32>,
    ) -> Result<Self, ModelError> {
        let classes = labels.len();
        check_shape(classes, bucket_bits, &features)?;
        if weights.len() != (1usize << bucket_bits) * classes || bias.len() != classes {
            return Err(ModelError::Invalid("weights do not match buckets x labels".into()));
        }
        let mut scales = vec![0.0f32; classes];
        for row in weights.chunks_exact(classes) {
            for (scale, w) in scales.iter_mut().zip(row) {
                *scale = scale.max(w.abs());
            }
        }
        scales.iter_mut().for_each(|s| *s = if *s > 0.0 { *s / 127.0 } else { 1.0 });
        let quantised = weights
            .chunks_exact(classes)
            .flat_map(|row| row.iter().zip(&scales).map(|(w, s)| (w / s).round().clamp(-127.0, 127.0) as i8))
            .collect();
        Ok(Self {
            task: task.to_owned(),
            labels: labels.into_iter().map(Arc::from).collect(),
            features,
            bucket_bits,
            weights: quantised,
            scales,
            bias,
            reject: None,
            metadata: BTreeMap::new(),
            idf: None,
        })
    }

    /// Makes the model weigh features by these per-bucket inverse document frequencies.
    pub fn set_idf(&mut self, idf: Vec<u8>) -> Result<(), ModelError> {
        if idf.len() != 1usize << self.bucket_bits {
            return Err(ModelError::Invalid("one inverse document frequency per bucket is needed".into()));
        }
        self.idf = Some(idf);
        Ok(())
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
        out.clear();
        out.resize(classes, 0.0);
        let mask = (1u32 << self.bucket_bits) - 1;
        let mut norm = 1.0f32;
        match &self.idf {
            None => {
                for feature in &features.features {
                    let bucket = (feature.hash & mask) as usize;
                    self.accumulate(bucket, feature.value, out);
                }
            }
            Some(idf) => {
                let mut squares = 0.0f32;
                for feature in &features.features {
                    let bucket = (feature.hash & mask) as usize;
                    let value = feature.value * idf.get(bucket).copied().unwrap_or(16) as f32 / IDF_STEPS;
                    squares += value * value;
                    self.accumulate(bucket, value, out);
                }
                if squares > 0.0 {
                    norm = 1.0 / squares.sqrt();
                }
            }
        }
        for ((acc, scale), bias) in out.iter_mut().zip(&self.scales).zip(&self.bias) {
            *acc = *acc * norm * scale + bias;
        }
    }

    #[inline]
    fn accumulate(&self, bucket: usize, value: f32, out: &mut [f32]) {
        let classes = out.len();
        let Some(weights) = self.weights.get(bucket * classes..(bucket + 1) * classes) else { return };
        for (acc, &w) in out.iter_mut().zip(weights) {
            *acc += value * w as f32;
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
            idf: self.idf.is_some(),
        };
        // Serialising plain data to JSON cannot fail.
        let header = serde_json::to_vec(&header).unwrap_or_default();
        let classes = self.labels.len();
        let mut out = Vec::with_capacity(header.len() + 16 + self.weights.len() / 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        let mut previous = 0usize;
        let mut rows = 0u32;
        let mut body = Vec::new();
        for (bucket, row) in self.weights.chunks_exact(classes).enumerate() {
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
        if let Some(idf) = &self.idf {
            out.extend_from_slice(idf);
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
        check_shape(classes, header.bucket_bits, &header.features)?;
        if header.scales.len() != classes || header.bias.len() != classes {
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
        let mut weights = vec![0i8; buckets * classes];
        let mut bucket = 0usize;
        for i in 0..rows {
            let delta = reader.varint()? as usize;
            bucket = bucket
                .checked_add(delta)
                .filter(|&b| b < buckets && (i == 0 || delta > 0))
                .ok_or_else(|| ModelError::Corrupt("weight rows out of order or out of range".into()))?;
            let row = reader.take(classes)?;
            for (w, &b) in weights[bucket * classes..(bucket + 1) * classes].iter_mut().zip(row) {
                *w = b as i8;
            }
        }
        let idf = if header.idf { Some(reader.take(buckets)?.to_vec()) } else { None };
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
            idf,
        })
    }
}

fn check_shape(classes: usize, bucket_bits: u8, features: &FeatureConfig) -> Result<(), ModelError> {
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
