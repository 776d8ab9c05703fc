#![doc = include_str!("../README.md")]
//! Pure types of AI Hub: ids, roles, provider kinds, the canonical chat request, response and
//! streaming chunk every provider adapter shares, [`Usage`], [`Money`] and the [`ErrorCode`]
//! vocabulary of the wire format.
//!
//! This crate knows nothing of HTTP, SQL or any vendor: every other crate depends on it.

pub mod chat;
pub mod error;
pub mod money;
pub mod provider;
pub mod time;
pub mod usage;
pub mod user;

pub use chat::{
    ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChatRole, ContentPart, EmbeddingRequest,
    EmbeddingResponse, FinishReason, ImagePart, MessageContent, MessageStatus, ResponseFormat,
    ToolCall, ToolCallDelta, ToolChoice, ToolDefinition, Usage, UsageStatus,
};
pub use error::ErrorCode;
pub use money::Money;
pub use provider::{ModelInfo, ProviderConfig, ProviderKind, ProviderScope};
pub use usage::UsageRecord;
pub use user::Role;

/// Database identity of every entity: a 64-bit integer, also on the wire.
pub type Id = i64;
