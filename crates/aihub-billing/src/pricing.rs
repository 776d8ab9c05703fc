//! The pricing catalog: list prices per million tokens, keyed by model id, with the built-in
//! catalog embedded from `data/pricing.json` and overridable from configuration.

use aihub_domain::{ErrorCode, Money, ProviderKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use crate::decimal::deserialize_price;

/// The built-in catalog file, USD list prices (see its `as_of` and `source` fields).
const BUILTIN_JSON: &str = include_str!("../data/pricing.json");

/// Errors building a [`PricingCatalog`].
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// A price is not a non-negative decimal with at most nine decimal places.
    #[error("invalid price {value:?}: {reason}")]
    InvalidPrice {
        /// The text as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The currency is not a three-letter ISO 4217 code.
    #[error("invalid currency {0:?}: expected a three-letter ISO 4217 code such as \"USD\"")]
    InvalidCurrency(String),
    /// The pricing JSON does not match the schema (this includes bad prices inside it).
    #[error("invalid pricing JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl PricingError {
    /// The wire error code: pricing data comes from configuration or an admin, so it is a
    /// validation failure.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::ValidationError
    }
}

/// A higher rate billed for the whole request once the prompt passes a threshold (Gemini 1.5
/// above 128k prompt tokens, Gemini 2.5 Pro and Claude Sonnet 4/4.5 above 200k).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongContextPrice {
    /// The tier applies when `prompt_tokens` is strictly greater than this.
    pub above_prompt_tokens: u32,
    /// Price of one million input tokens in this tier, in nano-units of the catalog currency.
    #[serde(deserialize_with = "deserialize_price")]
    pub input_per_million: Money,
    /// Price of one million output tokens in this tier, in nano-units of the catalog currency.
    #[serde(deserialize_with = "deserialize_price")]
    pub output_per_million: Money,
}

/// The price and limits of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ModelPrice {
    /// The vendor family that publishes the model.
    pub provider: ProviderKind,
    /// Price of one million input (prompt) tokens, in nano-units of the catalog currency.
    pub input_per_million: Money,
    /// Price of one million output (completion) tokens, in nano-units of the catalog currency.
    pub output_per_million: Money,
    /// Maximum prompt plus completion tokens, when known.
    pub context_window: Option<u32>,
    /// Maximum completion tokens per request, when known (0 for embedding models).
    pub max_output_tokens: Option<u32>,
    /// A higher rate for long prompts, when the vendor has one.
    pub long_context: Option<LongContextPrice>,
}

/// Pricing as configuration or a JSON file gives it: the shape of `data/pricing.json` and of the
/// `[pricing]` configuration section. Every field is optional so it can serve as an override.
///
/// ```json
/// { "currency": "CNY",
///   "models": { "gpt-4o": { "input_per_million": "18.00", "output_per_million": "72.00" } } }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingOverrides {
    /// ISO 4217 code of the currency the prices are in. Changing the currency of a catalog
    /// discards all its prices (see [`PricingCatalog::with_overrides`]).
    #[serde(default)]
    pub currency: Option<String>,
    /// When the prices were checked, free text (`2025-11-25`).
    #[serde(default)]
    pub as_of: Option<String>,
    /// Where the prices come from, free text.
    #[serde(default)]
    pub source: Option<String>,
    /// Caveats, free text.
    #[serde(default)]
    pub notes: Option<String>,
    /// Prices by model id (matched case-insensitively).
    #[serde(default)]
    pub models: BTreeMap<String, ModelPriceOverride>,
}

/// One model's price in a [`PricingOverrides`]. Prices are decimal strings (`"2.50"`) in
/// currency units per million tokens; numbers are accepted too.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPriceOverride {
    /// Vendor family; defaults to the replaced entry's, else `openai_compatible`.
    #[serde(default)]
    pub provider: Option<ProviderKind>,
    /// Price of one million input tokens.
    #[serde(deserialize_with = "deserialize_price")]
    pub input_per_million: Money,
    /// Price of one million output tokens.
    #[serde(deserialize_with = "deserialize_price")]
    pub output_per_million: Money,
    /// Context window; defaults to the replaced entry's.
    #[serde(default)]
    pub context_window: Option<u32>,
    /// Output cap; defaults to the replaced entry's.
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    /// Long-prompt tier. Never inherited: an override replaces all of an entry's prices.
    #[serde(default)]
    pub long_context: Option<LongContextPrice>,
}

/// Model prices in one currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PricingCatalog {
    /// ISO 4217 code, upper case (`USD`).
    pub currency: String,
    /// When the prices were checked, as the source file says.
    pub as_of: Option<String>,
    /// Where the prices come from, as the source file says.
    pub source: Option<String>,
    /// Prices by lower-case model id.
    pub models: HashMap<String, ModelPrice>,
}

static BUILTIN: LazyLock<PricingCatalog> = LazyLock::new(|| {
    // The embedded file is checked by the `builtin_catalog_parses` test, so this cannot fail
    // in a tested build.
    PricingCatalog::from_json_str(BUILTIN_JSON).expect("embedded data/pricing.json is valid")
});

impl PricingCatalog {
    /// An empty catalog in `currency` (upper-cased).
    ///
    /// # Errors
    /// [`PricingError::InvalidCurrency`] unless `currency` is three ASCII letters.
    pub fn empty(currency: &str) -> Result<Self, PricingError> {
        Ok(PricingCatalog {
            currency: normalize_currency(currency)?,
            as_of: None,
            source: None,
            models: HashMap::new(),
        })
    }

    /// The built-in USD list prices embedded from `data/pricing.json` (parsed once).
    pub fn builtin() -> Self {
        BUILTIN.clone()
    }

    /// Parses a whole catalog in the shape of `data/pricing.json`; `currency` defaults to USD.
    ///
    /// # Errors
    /// [`PricingError::Json`] for malformed JSON, unknown fields or a bad price;
    /// [`PricingError::InvalidCurrency`].
    pub fn from_json_str(json: &str) -> Result<Self, PricingError> {
        let overrides: PricingOverrides = serde_json::from_str(json)?;
        let currency = overrides.currency.as_deref().unwrap_or("USD");
        PricingCatalog::empty(currency)?.with_overrides(overrides)
    }

    /// Applies configuration on top of this catalog.
    ///
    /// - If `overrides.currency` names another currency, every existing price is discarded
    ///   first: prices in one currency must never be billed as another. Models the overrides do
    ///   not list are then unknown (cost 0, `price_known: false`).
    /// - Each listed model replaces the entry of the same id (case-insensitive) entirely, except
    ///   that `provider`, `context_window` and `max_output_tokens` are inherited when omitted.
    /// - `as_of` and `source` replace the catalog's when given.
    ///
    /// # Errors
    /// [`PricingError::InvalidCurrency`].
    pub fn with_overrides(mut self, overrides: PricingOverrides) -> Result<Self, PricingError> {
        if let Some(currency) = overrides.currency.as_deref() {
            let currency = normalize_currency(currency)?;
            if currency != self.currency {
                self.models.clear();
                self.as_of = None;
                self.source = None;
                self.currency = currency;
            }
        }
        if overrides.as_of.is_some() {
            self.as_of = overrides.as_of;
        }
        if overrides.source.is_some() {
            self.source = overrides.source;
        }
        for (id, o) in overrides.models {
            let id = id.trim().to_ascii_lowercase();
            let old = self.models.get(&id);
            let price = ModelPrice {
                provider: o
                    .provider
                    .or(old.map(|p| p.provider))
                    .unwrap_or(ProviderKind::OpenaiCompatible),
                input_per_million: o.input_per_million,
                output_per_million: o.output_per_million,
                context_window: o.context_window.or(old.and_then(|p| p.context_window)),
                max_output_tokens: o
                    .max_output_tokens
                    .or(old.and_then(|p| p.max_output_tokens)),
                long_context: o.long_context,
            };
            self.models.insert(id, price);
        }
        Ok(self)
    }

    /// The price of `model`, or `None` when the catalog does not know it. See
    /// [`PricingCatalog::resolve`] for how names match.
    pub fn lookup(&self, model: &str) -> Option<&ModelPrice> {
        self.resolve(model).map(|(_, price)| price)
    }

    /// The catalog id `model` resolves to, with its price. Matching is case-insensitive and
    /// tries, in order:
    ///
    /// 1. the exact id (`gpt-4o`);
    /// 2. the id with leading `provider/` segments stripped (`openai/gpt-4o`,
    ///    `openrouter/openai/gpt-4o`, Gemini's `models/gemini-2.5-pro`);
    /// 3. the longest known id that the name extends with a version suffix only: `-` followed by
    ///    segments that are all digits, `latest` or `preview` (`gpt-4o-2024-08-06` → `gpt-4o`,
    ///    `gpt-4o-mini-2024-07-18` → `gpt-4o-mini`, `claude-3-5-haiku-20241022` →
    ///    `claude-3-5-haiku`, `gemini-2.5-pro-preview-06-05` → `gemini-2.5-pro`).
    ///
    /// A suffix naming a different product (`o3-pro`, `gemini-2.5-flash-lite`,
    /// `gpt-4o-realtime-preview`) does not match its base model: an unknown price is reported
    /// as such rather than guessed.
    pub fn resolve(&self, model: &str) -> Option<(&str, &ModelPrice)> {
        let lower = model.trim().to_ascii_lowercase();
        let candidates: Vec<&str> = std::iter::once(lower.as_str())
            .chain(lower.match_indices('/').map(|(i, _)| &lower[i + 1..]))
            .filter(|c| !c.is_empty())
            .collect();
        for c in &candidates {
            if let Some((id, price)) = self.models.get_key_value(*c) {
                return Some((id.as_str(), price));
            }
        }
        for c in &candidates {
            let best = self
                .models
                .iter()
                .filter(|(id, _)| is_versioned_variant(c, id))
                .max_by_key(|(id, _)| id.len());
            if let Some((id, price)) = best {
                return Some((id.as_str(), price));
            }
        }
        None
    }
}

/// True when `name` is `base` followed by `-` and version-only segments.
fn is_versioned_variant(name: &str, base: &str) -> bool {
    let Some(rest) = name.strip_prefix(base).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    !rest.is_empty()
        && rest.split('-').all(|seg| {
            (!seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()))
                || seg == "latest"
                || seg == "preview"
        })
}

fn normalize_currency(currency: &str) -> Result<String, PricingError> {
    let c = currency.trim();
    if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(c.to_ascii_uppercase())
    } else {
        Err(PricingError::InvalidCurrency(currency.to_owned()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
