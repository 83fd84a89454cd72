use thiserror::Error;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A row the write refers to does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was hit: the constraint's name says which.
    #[error("already exists ({constraint})")]
    Duplicate { constraint: String },
    /// Someone else changed the row since it was read (optimistic concurrency).
    #[error("{0} was changed by someone else; reload and try again")]
    Conflict(&'static str),
    /// A stored value could not be read back (a bug or a hand-edited database).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// A page cursor that this store did not hand out.
    #[error("invalid page cursor {0:?}")]
    BadCursor(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
        {
            let constraint = db.constraint().map(str::to_owned).unwrap_or_else(|| {
                // SQLite does not name the constraint; its message names the columns.
                db.message().trim_start_matches("UNIQUE constraint failed: ").to_owned()
            });
            return StoreError::Duplicate { constraint };
        }
        StoreError::Database(err)
    }
}

impl From<hark_domain::InvalidValue> for StoreError {
    fn from(err: hark_domain::InvalidValue) -> Self {
        StoreError::Corrupt(err.to_string())
    }
}
