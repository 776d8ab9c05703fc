//! The OpenAI-compatible entry point (`/v1/chat/completions`): an application's request,
//! routed by its public model name with AI Hub's `fallbacks`, through the generation engine.
//!
//! It runs on the caller's own task (no hop to another runtime): the warm path makes no
//! database call (routes, clients and the API key come from in-memory caches) and the usage
//! record goes to the background writer. Settings the request leaves out come from the
//! provider's config and the catalog only: an OpenAI request is taken as the application sent
//! it, without the caller's workspace preferences.

use crate::generation::{Caller, GenerationStream, Plan, Served};
use crate::routing::dispatch::Targets;
use crate::{App, Result};
use aihub_domain::{ChatRequest, ChatResponse};

/// One chat completion call.
#[derive(Debug, Clone)]
pub struct ChatCompletionInput {
    /// The request; `model` is the public name (`"<provider>/<model>"`, or a bare model the
    /// catalog or a provider's `config.models` knows).
    pub request: ChatRequest,
    /// AI Hub extension: models to try, in order, when the primary fails before the first byte.
    pub fallbacks: Vec<String>,
    /// The HTTP request id, for correlation.
    pub request_id: String,
}

fn plan(caller: Caller, input: ChatCompletionInput) -> Plan {
    Plan {
        caller,
        request_id: input.request_id,
        request: input.request,
        targets: Targets::Named {
            fallbacks: input.fallbacks,
        },
        deadline: None,
        store: None,
    }
}

impl App {
    /// A whole chat completion. A caller that goes away mid-call drops the future; the
    /// generation is then billed once (`stopped`, prompt counted locally) from the app runtime.
    ///
    /// # Errors
    /// The last target's mapped error when every attempt failed; `model_not_found` when the
    /// primary model does not resolve.
    pub async fn chat_completion(
        &self,
        caller: Caller,
        input: ChatCompletionInput,
    ) -> Result<(ChatResponse, Served)> {
        let reply = self.generate(plan(caller, input)).await?;
        Ok((reply.response, reply.served))
    }

    /// A streamed chat completion. Resolves once the first chunk arrived (retries and
    /// fallbacks happen before that); the rest is pulled from the upstream as the stream is
    /// polled. Usage is recorded exactly once when it ends; dropping it closes the upstream
    /// and bills what was generated, as `stopped`.
    ///
    /// # Errors
    /// The last target's mapped error when no target produced a first chunk.
    pub async fn chat_completion_stream(
        &self,
        caller: Caller,
        input: ChatCompletionInput,
    ) -> Result<GenerationStream> {
        self.generate_stream(plan(caller, input)).await
    }
}
