//! Prompt templates: saved texts with `{name}` placeholders, optionally filed under
//! one of the owner's categories, rendered with values on request ([`template`] holds the
//! syntax). A template is checked on every write, so a stored one always parses.

pub mod template;

use crate::auth::CurrentUser;
use crate::categories::CategoryRef;
use crate::error::OrNotFound;
use crate::page::{Page, PageRequest};
use crate::{App, Error, Result, categories, validate};
use aihub_domain::{Id, time};
use aihub_store::prompts::{self as store, NewPrompt, PromptChanges, PromptWithCategory};
use chrono::NaiveDateTime;
use std::collections::HashMap;
use template::TemplateError;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest template text, in characters.
pub const MAX_CONTENT_CHARS: usize = 100_000;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// A prompt template as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// Id.
    pub id: Id,
    /// Owner.
    pub user_id: Id,
    /// One of the owner's categories (`None`: uncategorised, also after it was deleted).
    pub category_id: Option<Id>,
    /// Its category's id, name and colour, if it has one.
    pub category: Option<CategoryRef>,
    /// Title, 1–200 characters.
    pub title: String,
    /// Template text with `{name}` placeholders ([`template`]).
    pub content: String,
    /// Free text, up to 1000 characters.
    pub description: Option<String>,
    /// The placeholder names of `content`, each once, in order of first appearance.
    pub variables: Vec<String>,
    /// Marked as a favourite.
    pub is_favorite: bool,
    /// Times the template was rendered.
    pub usage_count: i64,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC; rendering does not change it).
    pub updated_at: NaiveDateTime,
}

impl From<PromptWithCategory> for Prompt {
    fn from(p: PromptWithCategory) -> Self {
        // Stored templates were checked when written; an unparsable one lists no variables.
        let variables = template::parse(&p.prompt.content)
            .map(|t| t.variables())
            .unwrap_or_default();
        let row = p.prompt;
        Prompt {
            id: row.id,
            user_id: row.user_id,
            category_id: row.category_id,
            category: p.category.map(|c| CategoryRef {
                id: c.id,
                name: c.name,
                color: c.color,
            }),
            title: row.title,
            content: row.content,
            description: row.description,
            variables,
            is_favorite: row.is_favorite,
            usage_count: row.usage_count,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Sort order of the prompt listing; `true` is ascending. Ties go to the newest id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptOrder {
    /// By `updated_at`.
    UpdatedAt(bool),
    /// By `created_at`.
    CreatedAt(bool),
    /// By `title`.
    Title(bool),
    /// By `usage_count`.
    UsageCount(bool),
}

impl Default for PromptOrder {
    /// Most recently updated first.
    fn default() -> Self {
        PromptOrder::UpdatedAt(false)
    }
}

impl From<PromptOrder> for store::PromptOrder {
    fn from(o: PromptOrder) -> Self {
        match o {
            PromptOrder::UpdatedAt(asc) => store::PromptOrder::UpdatedAt(asc),
            PromptOrder::CreatedAt(asc) => store::PromptOrder::CreatedAt(asc),
            PromptOrder::Title(asc) => store::PromptOrder::Title(asc),
            PromptOrder::UsageCount(asc) => store::PromptOrder::UsageCount(asc),
        }
    }
}

/// Filters of the prompt listing; `None` does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptFilter {
    /// Only prompts in this category.
    pub category_id: Option<Id>,
    /// Only favourites, or only the others.
    pub is_favorite: Option<bool>,
    /// Substring of the title or the content, case-insensitive for ASCII on both backends
    /// (other letters match in their exact case everywhere, and case-insensitively where the
    /// database's `LOWER` folds them). `%`, `_` and `\` match themselves.
    pub search: Option<String>,
}

impl From<&PromptFilter> for store::PromptFilter {
    fn from(f: &PromptFilter) -> Self {
        store::PromptFilter {
            category_id: f.category_id,
            is_favorite: f.is_favorite,
            search: f.search.clone(),
        }
    }
}

/// Input of `POST /prompts`.
#[derive(Debug, Clone, Default)]
pub struct NewPromptInput {
    /// Title, 1–200 characters after trimming.
    pub title: String,
    /// Template, 1–100,000 characters after trimming, well-formed ([`template::parse`]).
    pub content: String,
    /// Up to 1000 characters; blank means none.
    pub description: Option<String>,
    /// One of the caller's categories.
    pub category_id: Option<Id>,
    /// Favourite (default false).
    pub is_favorite: Option<bool>,
}

/// Input of `PUT|PATCH /prompts/{id}`; `None` leaves a field as it is, `Some(None)` clears a
/// nullable one.
#[derive(Debug, Clone, Default)]
pub struct PromptUpdate {
    /// Title.
    pub title: Option<String>,
    /// Template.
    pub content: Option<String>,
    /// Description.
    pub description: Option<Option<String>>,
    /// Category; `Some(None)` uncategorises.
    pub category_id: Option<Option<Id>>,
    /// Favourite.
    pub is_favorite: Option<bool>,
}

/// The answer of `POST /prompts/{id}/render`.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedPrompt {
    /// The filled text (placeholders without a value stay as `{name}`).
    pub text: String,
    /// Placeholder names without a value, in order of first appearance.
    pub missing: Vec<String>,
    /// Placeholder names filled, in order of first appearance.
    pub used: Vec<String>,
    /// The prompt's `usage_count` after this render.
    pub usage_count: i64,
}

/// Checks a title.
fn valid_title(title: &str) -> Result<String> {
    validate::text("title", title, 1, MAX_TITLE_CHARS)
}

/// Checks a template's length and syntax; malformed is a 422 naming `content`.
fn valid_content(content: &str) -> Result<String> {
    let content = validate::text("content", content, 1, MAX_CONTENT_CHARS)?;
    template::parse(&content).map_err(malformed)?;
    Ok(content)
}

fn malformed(e: TemplateError) -> Error {
    Error::validation("content", format!("malformed template: {e}"))
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

impl App {
    /// Creates a prompt template.
    ///
    /// # Errors
    /// `validation_error` naming `title`, `content` (also for a malformed template) or
    /// `description`; `not_found` naming `category_id` when it is not one of the caller's
    /// categories.
    pub async fn create_prompt(&self, user: &CurrentUser, input: NewPromptInput) -> Result<Prompt> {
        let title = valid_title(&input.title)?;
        let content = valid_content(&input.content)?;
        let description = valid_description(input.description.as_deref())?;
        let user_id = user.id;
        let now = time::now();
        let row = self
            .db()
            .transaction::<_, Error, _>(move |mut tx| {
                Box::pin(async move {
                    if let Some(cid) = input.category_id {
                        categories::check_owned(&mut tx, user_id, cid).await?;
                    }
                    let new = NewPrompt {
                        user_id,
                        category_id: input.category_id,
                        title: &title,
                        content: &content,
                        description: description.as_deref(),
                        is_favorite: input.is_favorite.unwrap_or(false),
                        created_at: now,
                        updated_at: now,
                    };
                    let row = store::insert(&mut tx, &new).await?;
                    Ok(store::find_owned_with_category(&mut tx, row.id, user_id).await?)
                })
            })
            .await?;
        Ok(row.into())
    }

    /// The caller's prompts, filtered, ordered (default: most recently updated first) and paged.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn list_prompts(
        &self,
        user: &CurrentUser,
        filter: &PromptFilter,
        order: PromptOrder,
        page: PageRequest,
    ) -> Result<Page<Prompt>> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let rows = store::list(
            &mut conn,
            user.id,
            &filter.into(),
            order.into(),
            page.into(),
        )
        .await?;
        Ok(crate::page::from_store(rows))
    }

    /// One of the caller's prompts.
    ///
    /// # Errors
    /// `not_found` for another user's or a missing id.
    pub async fn get_prompt(&self, user: &CurrentUser, id: Id) -> Result<Prompt> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        Ok(store::find_owned_with_category(&mut conn, id, user.id)
            .await
            .or_not_found("prompt")?
            .into())
    }

    /// Updates one of the caller's prompts.
    ///
    /// # Errors
    /// `not_found` for another user's or a missing id (checked first; nothing changes);
    /// `validation_error` naming the field (a malformed template names `content`);
    /// `not_found` naming `category_id` for a category that is not the caller's.
    pub async fn update_prompt(
        &self,
        user: &CurrentUser,
        id: Id,
        update: PromptUpdate,
    ) -> Result<Prompt> {
        {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            store::find_owned(&mut conn, id, user.id)
                .await
                .or_not_found("prompt")?;
        }
        let title = update.title.as_deref().map(valid_title).transpose()?;
        let content = update.content.as_deref().map(valid_content).transpose()?;
        let description = match &update.description {
            Some(d) => Some(valid_description(d.as_deref())?),
            None => None,
        };
        let user_id = user.id;
        let now = time::now();
        let row = self
            .db()
            .transaction::<_, Error, _>(move |mut tx| {
                Box::pin(async move {
                    if let Some(Some(cid)) = update.category_id {
                        categories::check_owned(&mut tx, user_id, cid).await?;
                    }
                    let changes = PromptChanges {
                        category_id: update.category_id,
                        title: title.as_deref(),
                        content: content.as_deref(),
                        description: description.as_ref().map(|d| d.as_deref()),
                        is_favorite: update.is_favorite,
                        updated_at: Some(now),
                    };
                    store::update_owned(&mut tx, id, user_id, &changes)
                        .await
                        .or_not_found("prompt")?;
                    Ok(store::find_owned_with_category(&mut tx, id, user_id).await?)
                })
            })
            .await?;
        Ok(row.into())
    }

    /// Deletes one of the caller's prompts.
    ///
    /// # Errors
    /// `not_found` for another user's or a missing id.
    pub async fn delete_prompt(&self, user: &CurrentUser, id: Id) -> Result<()> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        if !store::delete_owned(&mut conn, id, user.id).await? {
            return Err(Error::not_found("prompt"));
        }
        Ok(())
    }

    /// Fills one of the caller's templates with `variables` (name → value) and counts the use
    /// (`usage_count` + 1; `updated_at` is unchanged).
    ///
    /// # Errors
    /// `not_found` for another user's or a missing id (nothing is counted);
    /// `validation_error` naming `content` for a malformed template, or `variables` when the
    /// text would exceed [`template::MAX_RENDERED_BYTES`].
    pub async fn render_prompt(
        &self,
        user: &CurrentUser,
        id: Id,
        variables: &HashMap<String, String>,
    ) -> Result<RenderedPrompt> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let row = store::find_owned(&mut conn, id, user.id)
            .await
            .or_not_found("prompt")?;
        let rendered = template::parse(&row.content)
            .map_err(malformed)?
            .render(variables)
            .map_err(|e| Error::validation("variables", e.to_string()))?;
        let usage_count = store::increment_usage(&mut conn, id, user.id)
            .await
            .or_not_found("prompt")?;
        Ok(RenderedPrompt {
            text: rendered.text,
            missing: rendered.missing,
            used: rendered.used,
            usage_count,
        })
    }
}
