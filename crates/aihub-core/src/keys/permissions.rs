//! What a key may be used for: [`Permission`] and the set of them a key holds, stored as a
//! JSON array of names.

use crate::{Error, Result};

/// One thing a key may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// `POST /v1/chat/completions` and the other generation routes.
    Chat,
    /// `GET /v1/models`.
    Models,
    /// Reading usage and quota.
    Usage,
}

impl Permission {
    /// Every permission, in wire order.
    pub const ALL: [Permission; 3] = [Permission::Chat, Permission::Models, Permission::Usage];

    /// The stored and wire form (`chat`, `models`, `usage`).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Chat => "chat",
            Permission::Models => "models",
            Permission::Usage => "usage",
        }
    }

    /// Parses the wire form; `None` for anything else.
    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }

    fn bit(self) -> u8 {
        match self {
            Permission::Chat => 1,
            Permission::Models => 2,
            Permission::Usage => 4,
        }
    }
}

/// A set of [`Permission`]s (a bit set; iterates in [`Permission::ALL`] order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions(u8);

impl Permissions {
    /// Every permission.
    pub fn all() -> Self {
        Permission::ALL.into_iter().collect()
    }

    /// Whether `p` is in the set.
    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions in the set, in [`Permission::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }

    /// Parses request values (duplicates collapse).
    ///
    /// # Errors
    /// `validation_error` naming `field` for an unknown value or an empty list.
    pub fn parse_names(field: &str, names: &[String]) -> Result<Self> {
        let mut set = Permissions::default();
        for name in names {
            let p = Permission::parse(name.trim()).ok_or_else(|| {
                Error::validation(
                    field,
                    format!("unknown permission `{name}`; allowed: chat, models, usage"),
                )
            })?;
            set.0 |= p.bit();
        }
        if set.is_empty() {
            return Err(Error::validation(
                field,
                format!("{field} must name at least one of chat, models, usage"),
            ));
        }
        Ok(set)
    }

    /// The stored form: a JSON array of names, e.g. `["chat","models"]`.
    pub fn to_json(self) -> String {
        let names: Vec<&str> = self.iter().map(Permission::as_str).collect();
        serde_json::Value::from(names).to_string()
    }

    /// Reads the stored form; unknown or malformed entries grant nothing (least privilege).
    pub fn from_json(s: &str) -> Self {
        serde_json::from_str::<Vec<String>>(s)
            .unwrap_or_default()
            .iter()
            .filter_map(|n| Permission::parse(n))
            .collect()
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Permissions(iter.into_iter().fold(0, |acc, p| acc | p.bit()))
    }
}
