#![doc = include_str!("../README.md")]

mod cost;
mod decimal;
mod pricing;
pub mod rate;
mod tokens;
mod writer;

pub use cost::{Priced, cost};
pub use decimal::parse_money;
pub use pricing::{
    LongContextPrice, ModelPrice, ModelPriceOverride, PricingCatalog, PricingError,
    PricingOverrides,
};
pub use tokens::{
    REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE, TokenCount, count_messages, count_text,
    encoding_name, estimate_usage,
};
pub use writer::{BoxFuture, UsageSink, UsageWriter, UsageWriterHandle, WriterConfig, WriterStats};
