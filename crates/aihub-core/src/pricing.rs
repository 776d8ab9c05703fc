//! The deployment's price list, as callers of core build and read it: the built-in catalog
//! with the configuration's overrides. Usage is billed with it and `GET /pricing` shows it.

use crate::{Error, Result};
use aihub_billing::{PricingCatalog, PricingError, PricingOverrides};
use aihub_domain::{ErrorCode, Money, Usage};

/// The price list: list prices per million tokens, in nano-units of [`Pricing::currency`].
#[derive(Debug, Clone)]
pub struct Pricing {
    catalog: PricingCatalog,
}

impl Pricing {
    /// The built-in catalog (aihub-billing's `data/pricing.json`).
    pub fn builtin() -> Pricing {
        Pricing {
            catalog: PricingCatalog::builtin(),
        }
    }

    /// This price list with an overrides file applied. `json` has the shape of
    /// `data/pricing.json`: optional `currency` (a change of currency drops every price not
    /// listed), `as_of`, `source`, `notes`, and `models` by id, each replacing the entry of the
    /// same id (prices as decimal strings per million tokens; `provider`, `context_window` and
    /// `max_output_tokens` are kept when omitted).
    ///
    /// # Errors
    /// `validation_error` for malformed JSON, an unknown field, a bad price or currency.
    pub fn with_overrides_json(self, json: &str) -> Result<Pricing> {
        let invalid = |e: PricingError| Error::new(ErrorCode::ValidationError, e.to_string());
        let overrides: PricingOverrides = serde_json::from_str(json)
            .map_err(PricingError::from)
            .map_err(invalid)?;
        Ok(Pricing {
            catalog: self.catalog.with_overrides(overrides).map_err(invalid)?,
        })
    }

    /// ISO 4217 code of the currency prices and costs are in, upper case (`USD`).
    pub fn currency(&self) -> &str {
        &self.catalog.currency
    }

    /// When the prices were checked, as the catalog says (free text).
    pub fn as_of(&self) -> Option<&str> {
        self.catalog.as_of.as_deref()
    }

    /// Where the prices come from, as the catalog says (free text).
    pub fn source(&self) -> Option<&str> {
        self.catalog.source.as_deref()
    }

    /// Number of priced models.
    pub fn model_count(&self) -> usize {
        self.catalog.models.len()
    }

    /// The cost of `usage` of `model` (matched as billing matches it: case-insensitive, a
    /// `provider/` prefix ignored), in nano-units of the currency; `None` when the model has
    /// no price.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<Money> {
        let priced = self.catalog.price(model, usage);
        priced.price_known.then_some(priced.cost)
    }

    pub(crate) fn catalog(&self) -> &PricingCatalog {
        &self.catalog
    }
}
