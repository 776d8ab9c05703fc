//! `GenerateContentResponse` → canonical: whole replies, and the state that turns the SSE
//! stream into chunks. Usage and finish reasons are mapped here too.

use super::errors::{map_status, status_code};
use super::{invalid_response, prompt_blocked, reply_blocked};
use crate::ProviderError;
use crate::gemini::wire::{Candidate, GenerateContentResponse, Part, UsageMetadata};
use crate::http::{Op, tool_call_id};
use aihub_domain::{ChatChunk, ChatResponse, FinishReason, ToolCall, ToolCallDelta, Usage};
use serde_json::json;

/// The canonical usage of Gemini's counts: thinking tokens are billed as output.
pub(crate) fn usage(meta: &UsageMetadata) -> Usage {
    Usage {
        prompt_tokens: meta.prompt_token_count.unwrap_or(0),
        completion_tokens: meta
            .candidates_token_count
            .unwrap_or(0)
            .saturating_add(meta.thoughts_token_count.unwrap_or(0)),
        estimated: false,
    }
}

/// Maps a `finishReason`. `STOP` reads as `tool_calls` when the reply called a function; the
/// safety family (`SAFETY`, `RECITATION`, `PROHIBITED_CONTENT`, `BLOCKLIST`, `SPII`,
/// `IMAGE_SAFETY`) is `content_filter`; anything else (`OTHER`, `MALFORMED_FUNCTION_CALL`,
/// unknown values) reads as `stop`.
pub(crate) fn finish_reason(reason: &str, called_tools: bool) -> FinishReason {
    match reason {
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "PROHIBITED_CONTENT" | "BLOCKLIST" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        _ if called_tools => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

/// The reply text (thought summaries left out) and the calls of a candidate's parts.
fn read_parts(parts: &[Part]) -> (String, Vec<ToolCall>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in parts {
        if let Some(t) = &part.text
            && part.thought != Some(true)
        {
            text.push_str(t);
        }
        if let Some(call) = &part.function_call {
            calls.push(ToolCall {
                id: tool_call_id(),
                name: call.name.clone(),
                arguments: call.args.as_ref().unwrap_or(&json!({})).to_string(),
            });
        }
    }
    (text, calls)
}

fn first_candidate_parts(candidate: &Candidate) -> &[Part] {
    candidate
        .content
        .as_ref()
        .map_or(&[], |c| c.parts.as_slice())
}

fn is_blocked(response: &GenerateContentResponse) -> bool {
    response
        .prompt_feedback
        .as_ref()
        .and_then(|f| f.block_reason.as_deref())
        .is_some_and(|r| !r.is_empty())
}

/// The canonical reply of a `generateContent` answer; `requested_model` names the model when
/// the answer has no `modelVersion`.
///
/// # Errors
/// `content_filtered` when the prompt was blocked or the reply was stopped by a safety reason
/// before any output; `upstream_invalid_response` when there is no candidate.
pub(crate) fn from_wire_response(
    response: GenerateContentResponse,
    requested_model: &str,
) -> Result<ChatResponse, ProviderError> {
    if is_blocked(&response) {
        return Err(prompt_blocked());
    }
    let candidate = response
        .candidates
        .first()
        .ok_or_else(|| invalid_response("the upstream reply has no candidate"))?;
    let (content, tool_calls) = read_parts(first_candidate_parts(candidate));
    let finish = candidate
        .finish_reason
        .as_deref()
        .map(|r| finish_reason(r, !tool_calls.is_empty()));
    if finish == Some(FinishReason::ContentFilter) && content.is_empty() && tool_calls.is_empty() {
        return Err(reply_blocked());
    }
    Ok(ChatResponse {
        id: response.response_id,
        model: response
            .model_version
            .unwrap_or_else(|| requested_model.to_owned()),
        content,
        tool_calls,
        finish_reason: finish,
        usage: response.usage_metadata.as_ref().map(usage),
    })
}

/// What one streamed event produced.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct StreamStep {
    /// The chunk to yield, if the event carried anything.
    pub chunk: Option<ChatChunk>,
    /// The event ended the reply (a candidate had a `finishReason`): nothing more is read.
    pub finished: bool,
}

/// Turns the events of `streamGenerateContent?alt=sse` into canonical chunks.
///
/// Each event is a whole `GenerateContentResponse` holding the new text parts; its
/// `usageMetadata` is cumulative, so the last one seen is reported, on the chunk of the event
/// with a `finishReason` (the end marker: Gemini sends no `[DONE]`). A function call arrives
/// whole in one event and becomes one [`ToolCallDelta`] with id, name and all arguments.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    next_tool_index: u32,
    saw_output: bool,
    called_tools: bool,
    usage: Option<Usage>,
}

impl StreamState {
    /// Converts one event.
    ///
    /// # Errors
    /// The mapped error of an in-band `error` object; `content_filtered` when the prompt was
    /// blocked, or the reply finished for a safety reason before producing anything.
    pub(crate) fn on_event(
        &mut self,
        event: GenerateContentResponse,
    ) -> Result<StreamStep, ProviderError> {
        if let Some(status) = &event.error {
            return Err(map_status(status, status_code(status), None, Op::Chat));
        }
        if is_blocked(&event) {
            return Err(prompt_blocked());
        }
        if let Some(meta) = &event.usage_metadata {
            self.usage = Some(usage(meta));
        }
        let Some(candidate) = event.candidates.first() else {
            return Ok(StreamStep::default());
        };
        let (text, calls) = read_parts(first_candidate_parts(candidate));
        self.saw_output |= !text.is_empty() || !calls.is_empty();
        self.called_tools |= !calls.is_empty();
        let mut chunk = ChatChunk {
            delta: (!text.is_empty()).then_some(text),
            tool_calls: calls
                .into_iter()
                .map(|call| {
                    let index = self.next_tool_index;
                    self.next_tool_index = self.next_tool_index.saturating_add(1);
                    ToolCallDelta {
                        index,
                        id: Some(call.id),
                        name: Some(call.name),
                        arguments: Some(call.arguments),
                    }
                })
                .collect(),
            ..ChatChunk::default()
        };
        let mut finished = false;
        if let Some(reason) = candidate.finish_reason.as_deref() {
            let reason = finish_reason(reason, self.called_tools);
            if reason == FinishReason::ContentFilter && !self.saw_output {
                return Err(reply_blocked());
            }
            chunk.finish_reason = Some(reason);
            chunk.usage = self.usage;
            finished = true;
        }
        let empty = chunk == ChatChunk::default();
        Ok(StreamStep {
            chunk: (!empty).then_some(chunk),
            finished,
        })
    }
}
