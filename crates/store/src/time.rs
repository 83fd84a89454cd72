//! Instants are stored as integer milliseconds since the Unix epoch (UTC) on
//! both backends, so ordering, cursors and arithmetic are identical.

use jiff::Timestamp;

use crate::StoreError;

pub(crate) fn to_ms(ts: Timestamp) -> i64 {
    ts.as_millisecond()
}

pub(crate) fn opt_to_ms(ts: Option<Timestamp>) -> Option<i64> {
    ts.map(to_ms)
}

pub(crate) fn from_ms(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::Corrupt(format!("instant {ms}: {e}")))
}

pub(crate) fn opt_from_ms(ms: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    ms.map(from_ms).transpose()
}
