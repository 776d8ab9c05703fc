//! Canonical → the `/v1` replies a client gets: `chat.completion` objects, stream chunks,
//! in-stream errors, embeddings and the model list, shaped as OpenAI sends them.

use crate::openai::wire::{
    ChatCompletion, ChatCompletionChunk, Choice, ChunkChoice, ChunkDelta, Embedding,
    EmbeddingVector, EmbeddingsResponse, EmbeddingsUsage, FunctionCallChunk, FunctionCallWire,
    Model, ModelList, ResponseMessage, StreamError, StreamErrorObject, ToolCallChunk, ToolCallWire,
    WireUsage,
};
use aihub_domain::{ChatChunk, ChatResponse, EmbeddingResponse, FinishReason, Usage};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The wire `finish_reason` of a canonical one. `stopped` (the caller stopped) and `error`
/// have no OpenAI spelling and read as `stop`.
pub fn finish_reason_to_wire(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop | FinishReason::Stopped | FinishReason::Error => "stop",
        FinishReason::Length => "length",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::ToolCalls => "tool_calls",
    }
}

fn usage_to_wire(usage: Option<Usage>) -> WireUsage {
    let u = usage.unwrap_or_default();
    WireUsage {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        total_tokens: u.total_tokens(),
    }
}

/// The `chat.completion` object for a canonical reply: one choice; `content` is `null` when
/// the model only called tools; `finish_reason` from the reply (or `tool_calls`/`stop` when it
/// has none); `usage` from the reply, zeros when it has none; `refusal` and `logprobs` `null`.
/// `id` is the completion id (`chatcmpl-…`), `created` Unix seconds, `model` the id the client
/// asked for.
pub fn chat_completion_to_wire(
    response: &ChatResponse,
    id: &str,
    created: i64,
    model: &str,
) -> ChatCompletion {
    let has_tools = !response.tool_calls.is_empty();
    let content = if has_tools && response.content.is_empty() {
        None
    } else {
        Some(response.content.clone())
    };
    let finish = response.finish_reason.map_or(
        if has_tools { "tool_calls" } else { "stop" },
        finish_reason_to_wire,
    );
    ChatCompletion {
        id: id.to_owned(),
        object: "chat.completion".to_owned(),
        created,
        model: model.to_owned(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".to_owned(),
                content,
                refusal: None,
                tool_calls: has_tools.then(|| {
                    response
                        .tool_calls
                        .iter()
                        .map(|c| ToolCallWire {
                            id: c.id.clone(),
                            kind: "function".to_owned(),
                            function: FunctionCallWire {
                                name: c.name.clone(),
                                arguments: c.arguments.clone(),
                            },
                        })
                        .collect()
                }),
            },
            logprobs: None,
            finish_reason: Some(finish.to_owned()),
        }],
        usage: usage_to_wire(response.usage),
        system_fingerprint: None,
    }
}

/// Turns canonical stream chunks into `chat.completion.chunk` events, as OpenAI streams them.
///
/// The first event carries `delta.role: "assistant"` (with `content: ""` when the first chunk
/// has no text); text goes to `delta.content`; tool-call pieces to `delta.tool_calls` (with
/// `type: "function"` on the first piece of each call); a finish reason is an event of its own
/// with an empty delta; usage is a final event with `choices: []`, sent only when the client
/// asked for it (`include_usage`) and dropped otherwise.
#[derive(Debug, Clone)]
pub struct ChunkEncoder {
    id: String,
    created: i64,
    model: String,
    include_usage: bool,
    started: bool,
    started_calls: Vec<u32>,
}

impl ChunkEncoder {
    /// An encoder for one stream: every event gets this `id` (`chatcmpl-…`), `created` (Unix
    /// seconds) and `model`.
    pub fn new(id: String, created: i64, model: String, include_usage: bool) -> Self {
        ChunkEncoder {
            id,
            created,
            model,
            include_usage,
            started: false,
            started_calls: Vec::new(),
        }
    }

    fn event(
        &self,
        delta: ChunkDelta,
        finish: Option<&str>,
        usage: Option<WireUsage>,
    ) -> ChatCompletionChunk {
        let choices = if usage.is_some() {
            Vec::new()
        } else {
            vec![ChunkChoice {
                index: 0,
                delta,
                logprobs: None,
                finish_reason: finish.map(str::to_owned),
            }]
        };
        ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created,
            model: self.model.clone(),
            system_fingerprint: None,
            choices,
            usage,
        }
    }

    /// The events for one canonical chunk (none for an empty chunk or a usage-only chunk when
    /// usage was not asked for).
    pub fn encode(&mut self, chunk: &ChatChunk) -> Vec<ChatCompletionChunk> {
        let mut out = Vec::new();
        let mut delta = ChunkDelta {
            content: chunk.delta.clone().filter(|d| !d.is_empty()),
            ..ChunkDelta::default()
        };
        if !chunk.tool_calls.is_empty() {
            let calls = chunk
                .tool_calls
                .iter()
                .map(|c| {
                    let first = !self.started_calls.contains(&c.index);
                    if first {
                        self.started_calls.push(c.index);
                    }
                    ToolCallChunk {
                        index: c.index,
                        id: c.id.clone(),
                        kind: first.then(|| "function".to_owned()),
                        function: Some(FunctionCallChunk {
                            name: c.name.clone(),
                            arguments: c.arguments.clone().or_else(|| first.then(String::new)),
                        }),
                    }
                })
                .collect();
            delta.tool_calls = Some(calls);
        }
        let has_delta = delta.content.is_some() || delta.tool_calls.is_some();
        if !self.started && (has_delta || chunk.finish_reason.is_some()) {
            self.started = true;
            if has_delta {
                delta.role = Some("assistant".to_owned());
                if delta.content.is_none() {
                    delta.content = Some(String::new());
                }
            } else {
                out.push(self.event(
                    ChunkDelta {
                        role: Some("assistant".to_owned()),
                        content: Some(String::new()),
                        ..ChunkDelta::default()
                    },
                    None,
                    None,
                ));
            }
        }
        if has_delta {
            out.push(self.event(delta, None, None));
        }
        if let Some(reason) = chunk.finish_reason {
            out.push(self.event(
                ChunkDelta::default(),
                Some(finish_reason_to_wire(reason)),
                None,
            ));
        }
        if self.include_usage
            && let Some(usage) = chunk.usage
        {
            out.push(self.event(
                ChunkDelta::default(),
                None,
                Some(usage_to_wire(Some(usage))),
            ));
        }
        out
    }
}

/// OpenAI's in-stream error object, sent as a `data:` event when a stream fails after it
/// started: `{"error": {"code", "message", "param": null, "type"}}`. `code` is the gateway's
/// error code (`upstream_unavailable`, …), `kind` its error type (`server_error`, …).
pub fn error_event(code: &str, message: &str, kind: &str) -> StreamError {
    StreamError {
        error: StreamErrorObject {
            code: code.to_owned(),
            message: message.to_owned(),
            param: None,
            kind: kind.to_owned(),
        },
    }
}

/// A vector as OpenAI's `encoding_format: "base64"` sends it: its little-endian `f32` bytes in
/// standard base64 (with padding).
pub fn embedding_to_base64(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
    BASE64.encode(bytes)
}

/// The embeddings reply for a canonical one: one `embedding` object per vector, indexed in
/// order, as floats or (`base64`) [`embedding_to_base64`]; `usage.total_tokens` equals
/// `prompt_tokens`. `model` is the id the client asked for.
pub fn embeddings_to_wire(
    response: &EmbeddingResponse,
    model: &str,
    base64: bool,
) -> EmbeddingsResponse {
    let data = response
        .embeddings
        .iter()
        .enumerate()
        .map(|(i, v)| Embedding {
            object: "embedding".to_owned(),
            index: u32::try_from(i).unwrap_or(u32::MAX),
            embedding: if base64 {
                EmbeddingVector::Base64(embedding_to_base64(v))
            } else {
                EmbeddingVector::Float(v.clone())
            },
        })
        .collect();
    EmbeddingsResponse {
        object: "list".to_owned(),
        data,
        model: model.to_owned(),
        usage: EmbeddingsUsage {
            prompt_tokens: response.usage.prompt_tokens,
            total_tokens: response.usage.prompt_tokens,
        },
    }
}

/// The `GET /v1/models` list for `(id, owned_by)` pairs, every model with the same `created`
/// (Unix seconds).
pub fn model_list_to_wire(models: &[(String, String)], created: i64) -> ModelList {
    ModelList {
        object: "list".to_owned(),
        data: models
            .iter()
            .map(|(id, owned_by)| Model {
                id: id.clone(),
                object: "model".to_owned(),
                created,
                owned_by: owned_by.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
