//! The trait every vendor adapter implements.

use crate::ProviderError;
use aihub_domain::{
    ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ErrorCode,
    ModelInfo, ProviderKind,
};
use futures_util::stream::BoxStream;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A stream of canonical chunks. Dropping it cancels the upstream request (the HTTP connection
/// is closed), which is how a stopped reply stops costing tokens.
pub type ChatStream = BoxStream<'static, Result<ChatChunk, ProviderError>>;

/// A live client for one upstream. Object-safe: the gateway holds `Arc<dyn ChatProvider>`.
#[async_trait::async_trait]
pub trait ChatProvider: Send + Sync {
    /// The wire family this client speaks.
    fn kind(&self) -> ProviderKind;

    /// One non-streaming chat completion.
    ///
    /// # Errors
    /// A [`ProviderError`] with the mapped [`ErrorCode`].
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError>;

    /// A streaming chat completion. The returned future resolves once the upstream has answered
    /// with a success status (errors before the first byte surface here, mapped); chunk errors
    /// after that arrive in the stream. The stream asks the vendor for usage
    /// (`stream_options.include_usage` on the OpenAI wire) and yields it in a chunk.
    ///
    /// # Errors
    /// A [`ProviderError`] with the mapped code.
    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ProviderError>;

    /// The models the upstream lists (`GET /models` on the OpenAI wire). Also the cheapest real
    /// call to check a provider's key and reachability.
    ///
    /// # Errors
    /// A [`ProviderError`] with the mapped code.
    async fn list_models(&self) -> Result<Vec<ModelInfo>, ProviderError>;

    /// Embeddings for every input, in order (OpenAI `POST /embeddings`, Gemini
    /// `batchEmbedContents`, Ollama `/api/embed`).
    ///
    /// # Errors
    /// A [`ProviderError`] with the mapped code; `unsupported_operation` by default, for vendors
    /// without an embeddings API (Anthropic).
    async fn embed(&self, request: &EmbeddingRequest) -> Result<EmbeddingResponse, ProviderError> {
        let _ = request;
        Err(ProviderError::new(
            ErrorCode::UnsupportedOperation,
            format!(
                "provider kind `{}` has no embeddings API",
                self.kind().as_str()
            ),
        ))
    }
}

/// Everything needed to build a client for one stored provider. The API key is a
/// [`SecretString`]: its `Debug` prints `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Wire family.
    pub kind: ProviderKind,
    /// Base URL following the vendor SDK's convention (OpenAI family includes `/v1`);
    /// `None` uses [`ProviderKind::default_base_url`].
    pub base_url: Option<String>,
    /// Decrypted API key, if the provider has one.
    pub api_key: Option<SecretString>,
    /// Extra headers sent with every request.
    pub headers: BTreeMap<String, String>,
    /// Whole-request timeout (non-streaming) and connect timeout bound.
    pub timeout: Duration,
    /// Whether the base URL may resolve to private/loopback addresses (organization providers).
    /// Metadata addresses are refused regardless.
    pub allow_private_network: bool,
}

/// Builds the client for `settings`.
///
/// # Errors
/// [`ProviderError`] with `validation_error` for settings the adapter cannot use (e.g. an
/// `openai_compatible` provider without `base_url`, an invalid header), or
/// `unsafe_base_url` for a base URL that fails the SSRF policy.
pub fn build_provider(settings: ProviderSettings) -> Result<Arc<dyn ChatProvider>, ProviderError> {
    match settings.kind {
        ProviderKind::Openai | ProviderKind::OpenaiCompatible | ProviderKind::Openrouter => {
            Ok(Arc::new(crate::openai::OpenAiProvider::new(settings)?))
        }
        ProviderKind::Ollama => Ok(Arc::new(crate::ollama::OllamaProvider::new(settings)?)),
        ProviderKind::Anthropic => Ok(Arc::new(crate::anthropic::AnthropicProvider::new(
            settings,
        )?)),
        ProviderKind::Gemini => Ok(Arc::new(crate::gemini::GeminiProvider::new(settings)?)),
    }
}
