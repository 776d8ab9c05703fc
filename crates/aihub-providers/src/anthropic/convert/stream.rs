//! Anthropic's typed stream events (`message_start`, `content_block_delta`, …) → canonical
//! chunks (<https://docs.anthropic.com/en/api/messages-streaming>).

use super::{VENDOR, finish_reason, in_band_error, usage};
use crate::ProviderError;
use crate::anthropic::wire::{BlockDelta, ResponseBlock, StreamEvent, WireUsage};
use crate::http::{self};
use aihub_domain::{ChatChunk, FinishReason, ToolCallDelta};

/// What one stream event means for the canonical stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// Nothing to yield (ping, block stop, message start, an unknown event, empty text).
    Skip,
    /// Yield this chunk and go on.
    Chunk(ChatChunk),
    /// `message_stop`: yield this last chunk (finish reason and usage) and end.
    End(ChatChunk),
    /// Yield this error and end (an in-band error or an event not in Anthropic's format).
    Fail(ProviderError),
}

/// Converts a Messages stream event by event
/// (<https://docs.anthropic.com/en/docs/build-with-claude/streaming>).
///
/// `message_start` carries the input usage; `message_delta` carries the stop reason and usage
/// that is cumulative (each value replaces the previous one, never added). The finish reason
/// and usage are yielded together in the chunk for `message_stop`. Tool calls are numbered by
/// their own ordinal (0, 1, …), not by Anthropic's content block index, which also counts text
/// and thinking blocks.
#[derive(Debug, Default)]
pub(crate) struct StreamConverter {
    /// `(content block index, tool ordinal)` of every `tool_use` block so far.
    tool_blocks: Vec<(u32, u32)>,
    /// Usage so far, each field the latest value reported.
    usage: WireUsage,
    /// Any usage was reported.
    saw_usage: bool,
    /// The latest `stop_reason`.
    stop_reason: Option<String>,
}

impl StreamConverter {
    /// Handles one event's `data` (JSON whose `type` names the event; the SSE `event:` line
    /// repeats it and is not needed).
    pub(crate) fn on_event(&mut self, data: &str) -> Step {
        if data.trim().is_empty() {
            return Step::Skip;
        }
        let Some(event) = http::parse_event::<StreamEvent>(data.as_bytes()) else {
            return Step::Fail(http::malformed_chunk(VENDOR));
        };
        match event {
            StreamEvent::MessageStart { message } => {
                self.merge_usage(&message.usage);
                Step::Skip
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                ResponseBlock::Text { text } => text_chunk(text),
                ResponseBlock::ToolUse { id, name, .. } => {
                    let ordinal = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                    self.tool_blocks.push((index, ordinal));
                    Step::Chunk(ChatChunk {
                        tool_calls: vec![ToolCallDelta {
                            index: ordinal,
                            id: Some(id),
                            name: Some(name),
                            arguments: None,
                        }],
                        ..ChatChunk::default()
                    })
                }
                ResponseBlock::Other => Step::Skip,
            },
            StreamEvent::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => text_chunk(text),
                BlockDelta::InputJsonDelta { partial_json } => {
                    let Some(&(_, ordinal)) = self.tool_blocks.iter().find(|(b, _)| *b == index)
                    else {
                        // Input JSON for a block that never started as a tool call.
                        return Step::Fail(http::malformed_chunk(VENDOR));
                    };
                    if partial_json.is_empty() {
                        return Step::Skip;
                    }
                    Step::Chunk(ChatChunk {
                        tool_calls: vec![ToolCallDelta {
                            index: ordinal,
                            arguments: Some(partial_json),
                            ..ToolCallDelta::default()
                        }],
                        ..ChatChunk::default()
                    })
                }
                BlockDelta::Other => Step::Skip,
            },
            StreamEvent::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                self.merge_usage(&usage);
                Step::Skip
            }
            StreamEvent::MessageStop => Step::End(ChatChunk {
                finish_reason: Some(
                    self.stop_reason
                        .as_deref()
                        .map_or(FinishReason::Stop, finish_reason),
                ),
                usage: self.saw_usage.then(|| usage(&self.usage)),
                ..ChatChunk::default()
            }),
            StreamEvent::Error { error } => Step::Fail(in_band_error(&error)),
            StreamEvent::ContentBlockStop { .. } | StreamEvent::Ping | StreamEvent::Other => {
                Step::Skip
            }
        }
    }

    /// Each reported field replaces the one before (Anthropic's counts are cumulative).
    fn merge_usage(&mut self, reported: &WireUsage) {
        let fields = [
            (&mut self.usage.input_tokens, reported.input_tokens),
            (
                &mut self.usage.cache_creation_input_tokens,
                reported.cache_creation_input_tokens,
            ),
            (
                &mut self.usage.cache_read_input_tokens,
                reported.cache_read_input_tokens,
            ),
            (&mut self.usage.output_tokens, reported.output_tokens),
        ];
        for (field, value) in fields {
            if value.is_some() {
                *field = value;
                self.saw_usage = true;
            }
        }
    }
}

fn text_chunk(text: String) -> Step {
    if text.is_empty() {
        return Step::Skip;
    }
    Step::Chunk(ChatChunk {
        delta: Some(text),
        ..ChatChunk::default()
    })
}
