//! Model preferences: a user's saved model, token cap, temperature
//! and system prompt per provider kind, with at most one default per kind.
//!
//! Switching the default is one transaction that locks the owner (so one user's switches run
//! one at a time), unsets the kind's old default and then sets the new one, so the partial
//! unique index (`model_preferences_one_default_idx`) never sees two defaults. Should a write
//! still trip the index (an update that read the row's kind just before another switch moved
//! it), the switch is retried from the start; two defaults can never be committed.

use crate::auth::CurrentUser;
use crate::error::OrNotFound;
use crate::page::{Page, PageRequest};
use crate::{App, Error, Result, validate};
use aihub_domain::{Id, ProviderKind, time};
use aihub_store::model_preferences::{
    self as store, ModelPreferenceChanges, ModelPreferenceRow, NewModelPreference,
};
use chrono::NaiveDateTime;

/// Longest accepted model id, in characters.
const MODEL_MAX_CHARS: usize = 200;
/// Longest accepted system prompt, in characters.
const SYSTEM_PROMPT_MAX_CHARS: usize = 100_000;
/// How often a default switch that lost a race is retried.
const SWITCH_ATTEMPTS: usize = 5;

/// A saved model preference.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPreference {
    /// Id.
    pub id: Id,
    /// Owner.
    pub user_id: Id,
    /// Provider kind the preference applies to.
    pub provider_kind: ProviderKind,
    /// Model id as the vendor names it (`gpt-4o-mini`).
    pub model: String,
    /// Cap on completion tokens, 1–1,000,000.
    pub max_tokens: Option<i64>,
    /// Sampling temperature, 0–2.
    pub temperature: Option<f64>,
    /// System prompt, at most 100,000 characters.
    pub system_prompt: Option<String>,
    /// Whether this is the owner's default for `provider_kind`.
    pub is_default: bool,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

impl ModelPreference {
    pub(crate) fn from_row(row: ModelPreferenceRow) -> Result<Self> {
        Ok(ModelPreference {
            provider_kind: ProviderKind::parse(&row.provider_kind).ok_or_else(|| {
                Error::internal(format!(
                    "stored model preference {} has unknown kind",
                    row.id
                ))
            })?,
            id: row.id,
            user_id: row.user_id,
            model: row.model,
            max_tokens: row.max_tokens,
            temperature: row.temperature,
            system_prompt: row.system_prompt,
            is_default: row.is_default,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Input of `POST /model-preferences`.
#[derive(Debug, Clone)]
pub struct NewModelPreferenceInput {
    /// Provider kind.
    pub provider_kind: ProviderKind,
    /// Model id, 1–200 characters (trimmed).
    pub model: String,
    /// Token cap, 1–1,000,000.
    pub max_tokens: Option<i64>,
    /// Temperature, 0–2.
    pub temperature: Option<f64>,
    /// System prompt, at most 100,000 characters.
    pub system_prompt: Option<String>,
    /// Make it the default of its kind (the old default is unset).
    pub is_default: bool,
}

/// Input of `PUT|PATCH /model-preferences/{id}`: `None` leaves a field as it is, `Some(None)`
/// clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct ModelPreferenceUpdate {
    /// Provider kind.
    pub provider_kind: Option<ProviderKind>,
    /// Model id.
    pub model: Option<String>,
    /// Token cap.
    pub max_tokens: Option<Option<i64>>,
    /// Temperature.
    pub temperature: Option<Option<f64>>,
    /// System prompt.
    pub system_prompt: Option<Option<String>>,
    /// Default flag; `true` unsets the kind's old default.
    pub is_default: Option<bool>,
}

fn valid_model(model: &str) -> Result<String> {
    validate::text("model", model, 1, MODEL_MAX_CHARS)
}

fn valid_system_prompt(prompt: Option<&str>) -> Result<()> {
    if prompt.is_some_and(|p| p.chars().count() > SYSTEM_PROMPT_MAX_CHARS) {
        return Err(Error::validation(
            "system_prompt",
            format!("system_prompt must be at most {SYSTEM_PROMPT_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Whether `e` is the partial unique index refusing a second default (a lost race).
fn lost_default_race(e: &Error) -> bool {
    e.code == aihub_domain::ErrorCode::Conflict
}

impl App {
    /// Creates a preference. With `is_default`, the kind's previous default is unset in the
    /// same transaction.
    ///
    /// # Errors
    /// `validation_error` naming `model`, `max_tokens`, `temperature` or `system_prompt`.
    pub async fn create_model_preference(
        &self,
        user: &CurrentUser,
        input: NewModelPreferenceInput,
    ) -> Result<ModelPreference> {
        let model = valid_model(&input.model)?;
        validate::max_tokens("max_tokens", input.max_tokens)?;
        validate::temperature("temperature", input.temperature)?;
        valid_system_prompt(input.system_prompt.as_deref())?;
        let user_id = user.id;
        let kind = input.provider_kind.as_str();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let model = model.clone();
            let system_prompt = input.system_prompt.clone();
            let (max_tokens, temperature, is_default) =
                (input.max_tokens, input.temperature, input.is_default);
            let result = self
                .db()
                .transaction::<_, Error, _>(move |mut tx| {
                    Box::pin(async move {
                        let now = time::now();
                        if is_default {
                            store::lock_owner(&mut tx, user_id).await?;
                            store::clear_default(&mut tx, user_id, kind, None, now).await?;
                        }
                        let new = NewModelPreference {
                            user_id,
                            provider_kind: kind,
                            model: &model,
                            max_tokens,
                            temperature,
                            system_prompt: system_prompt.as_deref(),
                            is_default,
                            created_at: now,
                            updated_at: now,
                        };
                        Ok(store::insert(&mut tx, &new).await?)
                    })
                })
                .await;
            match result {
                Err(e) if lost_default_race(&e) && attempt < SWITCH_ATTEMPTS => continue,
                other => return ModelPreference::from_row(other?),
            }
        }
    }

    /// The caller's preferences, optionally of one kind, paged, oldest first.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn list_model_preferences(
        &self,
        user: &CurrentUser,
        provider_kind: Option<ProviderKind>,
        page: PageRequest,
    ) -> Result<Page<ModelPreference>> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let rows = store::list_owned(
            &mut conn,
            user.id,
            provider_kind.map(ProviderKind::as_str),
            page.into(),
        )
        .await?;
        Ok(Page {
            items: rows
                .items
                .into_iter()
                .map(ModelPreference::from_row)
                .collect::<Result<_>>()?,
            total: rows.total,
        })
    }

    /// One of the caller's preferences.
    ///
    /// # Errors
    /// `not_found` for a missing id or another user's.
    pub async fn get_model_preference(
        &self,
        user: &CurrentUser,
        id: Id,
    ) -> Result<ModelPreference> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let row = store::find_owned(&mut conn, id, user.id)
            .await
            .or_not_found("model preference")?;
        ModelPreference::from_row(row)
    }

    /// The caller's default preference of every kind that has one (`GET
    /// /model-preferences/defaults`), at most one per kind, ordered by kind.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn default_model_preferences(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<ModelPreference>> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        store::list_defaults(&mut conn, user.id)
            .await?
            .into_iter()
            .map(ModelPreference::from_row)
            .collect()
    }

    /// The default preference of `user_id` for `kind`, if any. Conversations and direct chat
    /// use it to fill model settings a request leaves out.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn default_preference(
        &self,
        user_id: Id,
        kind: ProviderKind,
    ) -> Result<Option<ModelPreference>> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        store::find_default(&mut conn, user_id, kind.as_str())
            .await?
            .map(ModelPreference::from_row)
            .transpose()
    }

    /// Updates one of the caller's preferences. When it ends up the default of its (possibly
    /// new) kind, the kind's other default is unset in the same transaction.
    ///
    /// # Errors
    /// `not_found` (nothing changes); `validation_error` naming the field.
    pub async fn update_model_preference(
        &self,
        user: &CurrentUser,
        id: Id,
        update: ModelPreferenceUpdate,
    ) -> Result<ModelPreference> {
        let model = update.model.as_deref().map(valid_model).transpose()?;
        if let Some(n) = update.max_tokens {
            validate::max_tokens("max_tokens", n)?;
        }
        if let Some(t) = update.temperature {
            validate::temperature("temperature", t)?;
        }
        if let Some(p) = &update.system_prompt {
            valid_system_prompt(p.as_deref())?;
        }
        let user_id = user.id;
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Read first, outside the transaction: the kind and flag decide which default to
            // unset, and SQLite cannot upgrade a read transaction to a write one under
            // contention (the write below then retries from here).
            let current = {
                let mut pooled = self.db().get().await?;
                let mut conn = pooled.conn();
                store::find_owned(&mut conn, id, user_id)
                    .await
                    .or_not_found("model preference")?
            };
            let kind = update
                .provider_kind
                .map(ProviderKind::as_str)
                .unwrap_or(current.provider_kind.as_str())
                .to_owned();
            let becomes_default = update.is_default.unwrap_or(current.is_default);
            let kind_changes = update.provider_kind.map(|k| k.as_str());
            let model = model.clone();
            let update = update.clone();
            let result = self
                .db()
                .transaction::<_, Error, _>(move |mut tx| {
                    Box::pin(async move {
                        let now = time::now();
                        if becomes_default {
                            store::lock_owner(&mut tx, user_id).await?;
                            store::clear_default(&mut tx, user_id, &kind, Some(id), now).await?;
                        }
                        let changes = ModelPreferenceChanges {
                            provider_kind: kind_changes,
                            model: model.as_deref(),
                            max_tokens: update.max_tokens,
                            temperature: update.temperature,
                            system_prompt: update.system_prompt.as_ref().map(|p| p.as_deref()),
                            is_default: update.is_default,
                            updated_at: Some(now),
                        };
                        store::update_owned(&mut tx, id, user_id, &changes)
                            .await
                            .or_not_found("model preference")
                    })
                })
                .await;
            match result {
                Err(e) if lost_default_race(&e) && attempt < SWITCH_ATTEMPTS => continue,
                other => return ModelPreference::from_row(other?),
            }
        }
    }

    /// Deletes one of the caller's preferences. Deleting a default leaves its kind without one.
    ///
    /// # Errors
    /// `not_found` for a missing id or another user's.
    pub async fn delete_model_preference(&self, user: &CurrentUser, id: Id) -> Result<()> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        if store::delete_owned(&mut conn, id, user.id).await? {
            Ok(())
        } else {
            Err(Error::not_found("model preference"))
        }
    }
}
