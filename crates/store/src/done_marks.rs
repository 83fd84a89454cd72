//! Inbound events' done-marks held back for the intake file's next write.
//!
//! On SQLite, marking the events of an ingestion round done was a synced
//! commit of its own inside every round. The marks wait here instead and go
//! into the next claim's transaction (or a purge's, or before a count). They
//! live only in this process: if it stops first, those events are claimed
//! again on restart and ingesting them only finds them stored.

use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;

/// The marks not written yet: each event's id and when it was handled.
#[derive(Default)]
pub(crate) struct DoneMarks {
    held: Mutex<Vec<(i64, Timestamp)>>,
}

impl DoneMarks {
    fn lock(&self) -> MutexGuard<'_, Vec<(i64, Timestamp)>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn hold(&self, marks: impl IntoIterator<Item = (i64, Timestamp)>) {
        self.lock().extend(marks);
    }

    /// Takes the held marks to write; unless [`Taken::written`] is called,
    /// they are held again (the transaction that was to write them failed).
    pub(crate) fn take(&self) -> Taken<'_> {
        Taken { from: Some(self), marks: std::mem::take(&mut *self.lock()) }
    }
}

/// Marks taken out to be written in a transaction.
pub(crate) struct Taken<'a> {
    from: Option<&'a DoneMarks>,
    pub(crate) marks: Vec<(i64, Timestamp)>,
}

impl Taken<'_> {
    /// None to write (a backend that holds no marks).
    pub(crate) fn none<'a>() -> Taken<'a> {
        Taken { from: None, marks: vec![] }
    }

    /// Their transaction committed.
    pub(crate) fn written(mut self) {
        self.from = None;
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if let Some(from) = self.from
            && !self.marks.is_empty()
        {
            from.hold(std::mem::take(&mut self.marks));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_not_written_are_held_again() {
        let marks = DoneMarks::default();
        marks.hold([(1, Timestamp::UNIX_EPOCH), (2, Timestamp::UNIX_EPOCH)]);
        drop(marks.take());
        assert_eq!(marks.take().marks.len(), 2, "a failed write hands them back");
        let taken = marks.take();
        taken.written();
        assert!(marks.take().marks.is_empty());
    }
}
