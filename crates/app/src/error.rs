use hark_domain::InvalidValue;
use hark_store::StoreError;
use thiserror::Error;

pub type AppResult<T> = Result<T, AppError>;

/// What can go wrong in a use case, in terms a client can act on. Each
/// variant has a stable `code` that the API returns and the UI translates.
#[derive(Debug, Error)]
pub enum AppError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("your role may not do this")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(#[from] InvalidValue),
    #[error("{0}")]
    Conflict(String),
    #[error("{0} already exists")]
    Duplicate(String),
    #[error("wrong email or password")]
    BadCredentials,
    #[error("internal error")]
    Internal(#[source] StoreError),
    #[error("internal error: {0}")]
    Crypto(String),
    /// Hark cannot take this now (shutting down, database unavailable): try again.
    #[error("{0}")]
    Unavailable(String),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Invalid(_) => "invalid_input",
            AppError::Conflict(_) => "conflict",
            AppError::Duplicate(_) => "duplicate",
            AppError::BadCredentials => "bad_credentials",
            AppError::Internal(_) | AppError::Crypto(_) => "internal",
            AppError::Unavailable(_) => "unavailable",
        }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid(InvalidValue::new(field, message))
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => AppError::NotFound(what),
            StoreError::Conflict(what) => {
                AppError::Conflict(format!("{what} was changed by someone else; reload and try again"))
            }
            StoreError::Duplicate { constraint } => AppError::Duplicate(duplicate_subject(&constraint).to_owned()),
            StoreError::BadCursor(_) => {
                AppError::invalid("cursor", "not a cursor from this list; start from the first page")
            }
            other => AppError::Internal(other),
        }
    }
}

/// Names what collided, from the constraint's name (PostgreSQL) or columns (SQLite).
fn duplicate_subject(constraint: &str) -> &'static str {
    let c = constraint.to_ascii_lowercase();
    if c.contains("users") {
        "a user with this email"
    } else if c.contains("teams") {
        "a team with this name"
    } else if c.contains("labels") {
        "a label with this name"
    } else if c.contains("channels") {
        "a channel for this account"
    } else if c.contains("identities") {
        "this network identity"
    } else if c.contains("messages") {
        "this platform message"
    } else {
        "this record"
    }
}
