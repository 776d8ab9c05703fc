//! Accounts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an account may do. The first account ever registered is an `admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A regular account: owns its providers, conversations and keys.
    User,
    /// May create organization providers and manage other accounts.
    Admin,
}

impl Role {
    /// The stored and wire form (`user`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Parses the stored form; anything unknown is a plain `user` (least privilege).
    pub fn parse(s: &str) -> Self {
        if s == "admin" {
            Role::Admin
        } else {
            Role::User
        }
    }
}
