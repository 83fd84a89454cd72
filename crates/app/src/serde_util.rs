use serde::{Deserialize, Deserializer};

/// For partial updates: tells "field absent" (`None`, via `#[serde(default)]`)
/// from "field is null" (`Some(None)`).
pub(crate) fn explicit_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
