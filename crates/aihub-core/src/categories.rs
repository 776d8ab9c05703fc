//! Categories: a user's labels for conversations and prompt templates. Names are
//! unique per user; deleting a category leaves its conversations and prompts uncategorised.

use crate::auth::CurrentUser;
use crate::error::OrNotFound;
use crate::page::{self, Page, PageRequest};
use crate::{App, Error, Result, validate};
use aihub_domain::{ErrorCode, Id, time};
use aihub_store::categories::{self as store, CategoryChanges, CategoryRow, NewCategory};
use aihub_store::{DbConn, StoreError};
use chrono::NaiveDateTime;

/// Longest category name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest category description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// A category: one user's label for conversations and prompt templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// Id.
    pub id: Id,
    /// Owner.
    pub user_id: Id,
    /// Name, 1–100 characters, unique per owner.
    pub name: String,
    /// `#RRGGBB`, upper-case hex.
    pub color: Option<String>,
    /// Free text, up to 1000 characters.
    pub description: Option<String>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

impl From<CategoryRow> for Category {
    fn from(c: CategoryRow) -> Self {
        Category {
            id: c.id,
            user_id: c.user_id,
            name: c.name,
            color: c.color,
            description: c.description,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A category with the number of conversations and prompts filed under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryWithCounts {
    /// The category.
    pub category: Category,
    /// Conversations filed under it.
    pub conversation_count: i64,
    /// Prompt templates filed under it.
    pub prompt_count: i64,
}

impl From<store::CategoryWithCounts> for CategoryWithCounts {
    fn from(c: store::CategoryWithCounts) -> Self {
        CategoryWithCounts {
            category: c.category.into(),
            conversation_count: c.conversation_count,
            prompt_count: c.prompt_count,
        }
    }
}

/// The short form of a category shown inside another resource (a prompt's `category`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRef {
    /// Id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// `#RRGGBB`, upper-case hex.
    pub color: Option<String>,
}

/// Input of `POST /categories`.
#[derive(Debug, Clone, Default)]
pub struct NewCategoryInput {
    /// Name, 1–100 characters after trimming; unique per user.
    pub name: String,
    /// `#RRGGBB` (hex digits in either case; stored upper-case).
    pub color: Option<String>,
    /// Up to 1000 characters; blank means none.
    pub description: Option<String>,
}

/// Input of `PUT|PATCH /categories/{id}`; `None` leaves a field as it is, `Some(None)` clears
/// a nullable one.
#[derive(Debug, Clone, Default)]
pub struct CategoryUpdate {
    /// Name.
    pub name: Option<String>,
    /// Colour.
    pub color: Option<Option<String>>,
    /// Description.
    pub description: Option<Option<String>>,
}

/// Checks a `#RRGGBB` colour and returns it upper-cased.
fn valid_color(color: &str) -> Result<String> {
    let c = color.trim();
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
    if !ok {
        return Err(Error::validation(
            "color",
            "color must be a hex colour `#RRGGBB`, e.g. `#4B0082`",
        ));
    }
    Ok(c.to_ascii_uppercase())
}

/// Trims an optional description; blank is none.
fn valid_description(d: Option<&str>) -> Result<Option<String>> {
    match d.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => Ok(Some(validate::text(
            "description",
            d,
            1,
            MAX_DESCRIPTION_CHARS,
        )?)),
        None => Ok(None),
    }
}

fn name_conflict(e: StoreError) -> Error {
    match e {
        StoreError::UniqueViolation(_) => Error {
            param: Some("name".into()),
            ..Error::new(
                ErrorCode::Conflict,
                "you already have a category with this name",
            )
        },
        other => other.into(),
    }
}

/// Checks that `category_id` (a field of another resource's body) is one of `user_id`'s
/// categories.
///
/// # Errors
/// `not_found` (404) with `param: "category_id"` when it is missing or someone else's.
pub(crate) async fn check_owned(conn: &mut DbConn<'_>, user_id: Id, category_id: Id) -> Result<()> {
    match store::find_owned(conn, category_id, user_id).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(Error {
            param: Some("category_id".into()),
            ..Error::not_found("category")
        }),
        Err(e) => Err(e.into()),
    }
}

impl App {
    /// Creates a category.
    ///
    /// # Errors
    /// `validation_error` naming `name`, `color` or `description`; `conflict` naming `name`
    /// when the caller already has a category of that name.
    pub async fn create_category(
        &self,
        user: &CurrentUser,
        input: NewCategoryInput,
    ) -> Result<CategoryWithCounts> {
        let name = validate::text("name", &input.name, 1, MAX_NAME_CHARS)?;
        let color = input.color.as_deref().map(valid_color).transpose()?;
        let description = valid_description(input.description.as_deref())?;
        let now = time::now();
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let row = store::insert(
            &mut conn,
            &NewCategory {
                user_id: user.id,
                name: &name,
                color: color.as_deref(),
                description: description.as_deref(),
                created_at: now,
                updated_at: now,
            },
        )
        .await
        .map_err(name_conflict)?;
        // A new category holds nothing yet.
        Ok(CategoryWithCounts {
            category: row.into(),
            conversation_count: 0,
            prompt_count: 0,
        })
    }

    /// The caller's categories with their counts, ordered by name, paged; `search` keeps names
    /// containing it.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn list_categories(
        &self,
        user: &CurrentUser,
        search: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<CategoryWithCounts>> {
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let rows = store::list(&mut conn, user.id, search, page.into()).await?;
        Ok(page::from_store(rows))
    }

    /// One of the caller's categories with its counts.
    ///
    /// # Errors
    /// `not_found` for another user's or a missing id.
    pub async fn get_category(&self, user: &CurrentUser, id: Id) -> Result<CategoryWithCounts> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        store::find_owned_with_counts(&mut conn, id, user.id)
            .await
            .map(CategoryWithCounts::from)
            .or_not_found("category")
    }

    /// Updates one of the caller's categories.
    ///
    /// # Errors
    /// `not_found` for another user's or a missing id (checked first, nothing changes);
    /// `validation_error` naming the field; `conflict` naming `name`.
    pub async fn update_category(
        &self,
        user: &CurrentUser,
        id: Id,
        update: CategoryUpdate,
    ) -> Result<CategoryWithCounts> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        store::find_owned(&mut conn, id, user.id)
            .await
            .or_not_found("category")?;
        let name = update
            .name
            .as_deref()
            .map(|n| validate::text("name", n, 1, MAX_NAME_CHARS))
            .transpose()?;
        let color = match &update.color {
            Some(Some(c)) => Some(Some(valid_color(c)?)),
            Some(None) => Some(None),
            None => None,
        };
        let description = match &update.description {
            Some(d) => Some(valid_description(d.as_deref())?),
            None => None,
        };
        let changes = CategoryChanges {
            name: name.as_deref(),
            color: color.as_ref().map(|c| c.as_deref()),
            description: description.as_ref().map(|d| d.as_deref()),
            updated_at: Some(time::now()),
        };
        store::update_owned(&mut conn, id, user.id, &changes)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => Error::not_found("category"),
                other => name_conflict(other),
            })?;
        store::find_owned_with_counts(&mut conn, id, user.id)
            .await
            .map(CategoryWithCounts::from)
            .or_not_found("category")
    }

    /// Deletes one of the caller's categories; its conversations and prompts stay, uncategorised.
    ///
    /// # Errors
    /// `not_found` for another user's or a missing id.
    pub async fn delete_category(&self, user: &CurrentUser, id: Id) -> Result<()> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        if !store::delete_owned(&mut conn, id, user.id).await? {
            return Err(Error::not_found("category"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_hex_rrggbb_upper_cased() {
        assert_eq!(valid_color("#4b0082").expect("valid"), "#4B0082");
        assert_eq!(valid_color(" #FF5733 ").expect("valid"), "#FF5733");
        for bad in [
            "",
            "#",
            "red",
            "4B0082",
            "#4B008",
            "#4B00821",
            "#GGGGGG",
            "#4B 082",
            "#ＡＢＣ",
        ] {
            let e = valid_color(bad).expect_err(bad);
            assert_eq!(e.param.as_deref(), Some("color"), "{bad}");
        }
    }

    #[test]
    fn blank_descriptions_are_none() {
        assert_eq!(valid_description(Some("  ")).expect("valid"), None);
        assert_eq!(valid_description(None).expect("valid"), None);
        assert_eq!(
            valid_description(Some(" d ")).expect("valid").as_deref(),
            Some("d")
        );
        let long = "d".repeat(MAX_DESCRIPTION_CHARS + 1);
        assert!(valid_description(Some(&long)).is_err());
    }
}
