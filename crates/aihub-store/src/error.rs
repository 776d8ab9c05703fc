//! Storage errors.

use aihub_domain::ErrorCode;

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL or pool settings are unusable.
    #[error("database configuration: {0}")]
    Config(String),
    /// The database cannot be reached or the pool is exhausted.
    #[error("database connection: {0}")]
    Connect(String),
    /// A migration failed.
    #[error("database migration: {0}")]
    Migration(String),
    /// The row does not exist (diesel's `NotFound`, mapped in this one place).
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated; holds the constraint or column diesel reported.
    #[error("unique violation: {0}")]
    UniqueViolation(String),
    /// Any other query failure.
    #[error("database query: {0}")]
    Query(diesel::result::Error),
    /// A stored value could not be decoded (e.g. malformed JSON in a TEXT column).
    #[error("stored data: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The wire error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::NotFound => ErrorCode::NotFound,
            StoreError::UniqueViolation(_) => ErrorCode::Conflict,
            StoreError::Connect(_) => ErrorCode::ServiceUnavailable,
            _ => ErrorCode::InternalError,
        }
    }
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => StoreError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::UniqueViolation(
                    info.constraint_name()
                        .or(info.column_name())
                        .unwrap_or(info.message())
                        .to_owned(),
                )
            }
            other => StoreError::Query(other),
        }
    }
}
