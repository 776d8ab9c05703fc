//! Provider kinds, scopes and configuration.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The vendor wire family a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI's API (`https://api.openai.com/v1`).
    Openai,
    /// Anthropic's Messages API (`https://api.anthropic.com`).
    Anthropic,
    /// Google Gemini (`https://generativelanguage.googleapis.com`).
    Gemini,
    /// OpenRouter, OpenAI wire with its own headers (`https://openrouter.ai/api/v1`).
    Openrouter,
    /// Ollama (`http://localhost:11434`); reached through its OpenAI-compatible `/v1` endpoint.
    Ollama,
    /// Any server speaking OpenAI's chat completions (llama.cpp, vLLM, LM Studio, …).
    OpenaiCompatible,
}

impl ProviderKind {
    /// Every kind, in display order.
    pub const ALL: [ProviderKind; 6] = [
        ProviderKind::Openai,
        ProviderKind::Anthropic,
        ProviderKind::Gemini,
        ProviderKind::Openrouter,
        ProviderKind::Ollama,
        ProviderKind::OpenaiCompatible,
    ];

    /// The stored and wire form (`openai`, `openai_compatible`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Openrouter => "openrouter",
            ProviderKind::Ollama => "ollama",
            ProviderKind::OpenaiCompatible => "openai_compatible",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The vendor's public base URL, following its SDK's convention.
    /// `None` for `openai_compatible`, which has no public default and needs a `base_url`.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::Openai => Some("https://api.openai.com/v1"),
            ProviderKind::Anthropic => Some("https://api.anthropic.com"),
            ProviderKind::Gemini => Some("https://generativelanguage.googleapis.com"),
            ProviderKind::Openrouter => Some("https://openrouter.ai/api/v1"),
            ProviderKind::Ollama => Some("http://localhost:11434"),
            ProviderKind::OpenaiCompatible => None,
        }
    }

    /// Whether the vendor refuses requests without an API key.
    pub fn requires_api_key(self) -> bool {
        !matches!(self, ProviderKind::Ollama | ProviderKind::OpenaiCompatible)
    }
}

/// Who a provider belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderScope {
    /// Owned and used by one account.
    Personal,
    /// Created by an admin and distributed to accounts; may point at private addresses.
    Organization,
}

impl ProviderScope {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderScope::Personal => "personal",
            ProviderScope::Organization => "organization",
        }
    }

    /// Parses the stored form; unknown values are `personal` (the stricter scope).
    pub fn parse(s: &str) -> Self {
        if s == "organization" {
            ProviderScope::Organization
        } else {
            ProviderScope::Personal
        }
    }
}

/// A provider's settings, stored as JSON. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Model used when a request names none, e.g. `gpt-4o-mini`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_model: Option<String>,
    /// Default sampling temperature, 0–2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Default cap on completion tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Extra HTTP headers sent upstream with every request (not secrets: they are returned).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Models this provider offers, when its model list endpoint is not to be trusted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Whole-request timeout in seconds (default 120); for streams, the longest silence
    /// between two reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<u32>,
    /// Streams: seconds to wait for the first chunk before the attempt counts as failed and
    /// is retried or falls back (default: the deployment's `first_byte_timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_byte_timeout_s: Option<u32>,
    /// Retries of a retryable failure (connect error, 429, 5xx, timeout) before the first
    /// byte reached the client, 0–5 (default: the deployment's `max_retries`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Models to try, in order, when this provider fails before the first byte, as
    /// `"<provider slug or kind>/<model>"` (e.g. `["anthropic/claude-3-5-haiku-latest"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<String>,
}

/// A model as a provider lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModelInfo {
    /// The vendor's model id, e.g. `gpt-4o-mini`.
    pub id: String,
    /// The vendor's `owned_by`, when it reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
}

/// A public model name, `"<provider slug or kind>/<model>"`, split at the first `/`:
/// `openrouter/x-ai/grok-beta` is provider `openrouter`, model `x-ai/grok-beta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelRef<'a> {
    /// The provider slug or kind before the first `/`.
    pub provider: &'a str,
    /// The vendor's model id after it (may itself contain `/`).
    pub model: &'a str,
}

impl<'a> ModelRef<'a> {
    /// Splits `name`; `None` when there is no `/` or either side is empty (a bare model name).
    pub fn parse(name: &'a str) -> Option<ModelRef<'a>> {
        let (provider, model) = name.split_once('/')?;
        (!provider.is_empty() && !model.is_empty()).then_some(ModelRef { provider, model })
    }
}

#[cfg(test)]
mod model_ref_tests {
    use super::ModelRef;

    #[test]
    fn model_names_split_at_the_first_slash() {
        let split = |n| ModelRef::parse(n).map(|r| (r.provider, r.model));
        assert_eq!(split("openai/gpt-4o"), Some(("openai", "gpt-4o")));
        assert_eq!(
            split("openrouter/x-ai/grok-beta"),
            Some(("openrouter", "x-ai/grok-beta"))
        );
        assert_eq!(split("gpt-4o"), None);
        assert_eq!(split("/gpt-4o"), None);
        assert_eq!(split("openai/"), None);
    }
}
