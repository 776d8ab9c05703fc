//! Local token counting with OpenAI's tokenizers (tiktoken), for `POST /tokens/count`, quota
//! pre-checks, and usage when a vendor reports none.
//!
//! Counting is CPU work proportional to the text (roughly a microsecond per few bytes); callers
//! on an async executor should move very large texts to `spawn_blocking`.

use aihub_domain::{ChatMessage, Usage};
use std::sync::OnceLock;
use tiktoken_rs::CoreBPE;

/// Framing tokens OpenAI adds around every chat message (`<|start|>{role}<|message|>…<|end|>`),
/// per the OpenAI cookbook "How to count tokens with tiktoken" for current chat models.
pub const TOKENS_PER_MESSAGE: u32 = 3;

/// Tokens that prime the assistant's reply (`<|start|>assistant<|message|>`), added once.
pub const REPLY_PRIMING_TOKENS: u32 = 3;

/// A token count and whether it is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCount {
    /// The number of tokens.
    pub tokens: u32,
    /// False when the model's own tokenizer was used (OpenAI families); true when the count is
    /// an approximation with another model's tokenizer.
    pub estimated: bool,
}

/// The BPE encodings this crate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// GPT-4o, GPT-4.1, GPT-4.5, GPT-5 and the o-series.
    O200kBase,
    /// GPT-4, GPT-3.5 and the OpenAI embedding models.
    Cl100kBase,
}

/// Which encoding counts `model`, and whether that count is exact. Provider prefixes
/// (`openai/`, `openrouter/openai/`) are ignored.
fn encoding_for(model: &str) -> (Encoding, bool) {
    let lower = model.trim().to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or_default();
    let o_series = name.len() >= 2
        && name.starts_with('o')
        && name.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
    let o200k = o_series
        || ["gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5"]
            .iter()
            .any(|p| name.starts_with(p));
    if o200k {
        return (Encoding::O200kBase, false);
    }
    let cl100k = [
        "gpt-4",
        "gpt-3.5",
        "gpt-35",
        "text-embedding-3",
        "text-embedding-ada-002",
    ]
    .iter()
    .any(|p| name.starts_with(p));
    if cl100k {
        return (Encoding::Cl100kBase, false);
    }
    // Anthropic, Gemini, Llama, Mistral, … publish no offline tokenizer this crate can embed.
    // cl100k is a stand-in, not a measurement: other vendors' tokenizers can differ from it by
    // tens of percent (Claude's usually counts more), so the count is marked estimated.
    (Encoding::Cl100kBase, true)
}

/// The name of the tiktoken encoding that counts `model`: `o200k_base` or `cl100k_base`
/// (the stand-in for models without an offline tokenizer, whose counts are estimates).
pub fn encoding_name(model: &str) -> &'static str {
    match encoding_for(model).0 {
        Encoding::O200kBase => "o200k_base",
        Encoding::Cl100kBase => "cl100k_base",
    }
}

/// The encoding's BPE, built once per process (building o200k takes tens of milliseconds).
/// `None` only if the embedded table failed to load, which tests rule out.
fn bpe(encoding: Encoding) -> Option<&'static CoreBPE> {
    static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    let cell = match encoding {
        Encoding::O200kBase => &O200K,
        Encoding::Cl100kBase => &CL100K,
    };
    cell.get_or_init(|| {
        let built = match encoding {
            Encoding::O200kBase => tiktoken_rs::o200k_base(),
            Encoding::Cl100kBase => tiktoken_rs::cl100k_base(),
        };
        match built {
            Ok(bpe) => Some(bpe),
            Err(e) => {
                tracing::error!(?encoding, error = %e, "loading tokenizer failed; counting bytes/4");
                None
            }
        }
    })
    .as_ref()
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Counts `text` as `encoding` would, with special-token markers (`<|endoftext|>`) counted as
/// ordinary text, the way the vendor treats user content.
fn count_with(encoding: Encoding, text: &str) -> (u32, bool) {
    match bpe(encoding) {
        Some(bpe) => (saturate(bpe.count_ordinary(text)), false),
        // Roughly four bytes of English per token.
        None => (saturate(text.len().div_ceil(4)), true),
    }
}

/// Tokens in `text` for `model`: o200k_base for GPT-4o, GPT-4.1, GPT-4.5, GPT-5 and the
/// o-series; cl100k_base for GPT-4, GPT-3.5 and embeddings (both exact, `estimated: false`);
/// any other model is approximated with cl100k_base (`estimated: true`).
pub fn count_text(model: &str, text: &str) -> TokenCount {
    let (encoding, approximate) = encoding_for(model);
    let (tokens, fallback) = count_with(encoding, text);
    TokenCount {
        tokens,
        estimated: approximate || fallback,
    }
}

/// Tokens counted per image when estimating a prompt (OpenAI's low-detail image cost).
pub const IMAGE_TOKENS: u32 = 85;

/// Prompt tokens of a chat request, following the OpenAI cookbook: for each message
/// [`TOKENS_PER_MESSAGE`] plus the tokens of its role and content, then
/// [`REPLY_PRIMING_TOKENS`] once. Exact for OpenAI chat models on text-only messages; other
/// vendors frame messages differently, so theirs are estimates.
pub fn count_messages(model: &str, messages: &[ChatMessage]) -> TokenCount {
    let (encoding, approximate) = encoding_for(model);
    let mut estimated = approximate;
    let mut total = REPLY_PRIMING_TOKENS;
    for m in messages {
        let (role, f1) = count_with(encoding, m.role.as_str());
        let (content, f2) = count_with(encoding, &m.text());
        estimated |= f1 || f2;
        total = total
            .saturating_add(TOKENS_PER_MESSAGE)
            .saturating_add(role)
            .saturating_add(content);
        for call in &m.tool_calls {
            let (name, f3) = count_with(encoding, &call.name);
            let (args, f4) = count_with(encoding, &call.arguments);
            estimated |= f3 || f4;
            total = total.saturating_add(name).saturating_add(args);
        }
        // Images are billed by size and detail, which are not known here: OpenAI's low-detail
        // price per image is the floor, and the count is an estimate.
        let images = m.content.images().count() as u32;
        if images > 0 {
            estimated = true;
            total = total.saturating_add(images.saturating_mul(IMAGE_TOKENS));
        }
    }
    TokenCount {
        tokens: total,
        estimated,
    }
}

/// Usage counted locally for a generation whose vendor reported none (some streams, failures,
/// stopped replies): the prompt as [`count_messages`], the completion as [`count_text`].
/// Always `estimated: true`, even with the model's own tokenizer, since the vendor's count was
/// not seen.
pub fn estimate_usage(model: &str, prompt: &[ChatMessage], completion: &str) -> Usage {
    Usage {
        prompt_tokens: count_messages(model, prompt).tokens,
        completion_tokens: count_text(model, completion).tokens,
        estimated: true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aihub_domain::ChatRole;
    use tiktoken_rs::tokenizer::{Tokenizer, get_tokenizer};

    #[test]
    fn encoding_matches_tiktoken_for_openai_models() {
        for model in [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4o-2024-08-06",
            "gpt-4.1",
            "gpt-4.1-nano",
            "o1",
            "o3",
            "o3-mini",
            "o4-mini",
            "gpt-5",
            "gpt-4",
            "gpt-4-turbo",
            "gpt-3.5-turbo",
            "gpt-3.5-turbo-0125",
            "text-embedding-3-small",
            "text-embedding-3-large",
            "text-embedding-ada-002",
        ] {
            let want = match get_tokenizer(model).unwrap() {
                Tokenizer::O200kBase => Encoding::O200kBase,
                Tokenizer::Cl100kBase => Encoding::Cl100kBase,
                other => panic!("{model}: unexpected {other:?}"),
            };
            assert_eq!(encoding_for(model), (want, false), "{model}");
            assert_eq!(
                encoding_for(&format!("openai/{model}")),
                (want, false),
                "{model}"
            );
        }
        for model in [
            "claude-sonnet-4-5",
            "gemini-2.5-pro",
            "ollama/llama3",
            "",
            "o",
            "omni",
        ] {
            assert_eq!(encoding_for(model), (Encoding::Cl100kBase, true), "{model}");
        }
    }

    #[test]
    fn counts_text() {
        // (model, text, tokens, estimated)
        let cases: &[(&str, &str, u32, bool)] = &[
            ("gpt-4o", "hello world", 2, false),
            ("gpt-3.5-turbo", "hello world", 2, false),
            ("gpt-4o", "", 0, false),
            ("claude-3-5-haiku", "hello world", 2, true),
        ];
        for (model, text, tokens, estimated) in cases {
            assert_eq!(
                count_text(model, text),
                TokenCount {
                    tokens: *tokens,
                    estimated: *estimated
                },
                "{model} {text:?}"
            );
        }
        // The two encodings differ, and each matches tiktoken's own count.
        let text = "Übersetze bitte: 東京は日本の首都です。 fn main() { println!(\"hi\"); }";
        let o200k = count_text("gpt-4o", text).tokens;
        let cl100k = count_text("gpt-4", text).tokens;
        assert_eq!(
            o200k as usize,
            tiktoken_rs::o200k_base_singleton()
                .encode_ordinary(text)
                .len()
        );
        assert_eq!(
            cl100k as usize,
            tiktoken_rs::cl100k_base_singleton()
                .encode_ordinary(text)
                .len()
        );
        assert_ne!(o200k, cl100k);
        // Special-token markers in user text are counted as text, not rejected.
        assert!(count_text("gpt-4o", "<|endoftext|>").tokens > 1);
    }

    #[test]
    fn counts_messages_like_the_cookbook() {
        let hello = [ChatMessage::new(ChatRole::User, "hello world")];
        // 3 (framing) + 1 ("user") + 2 ("hello world") + 3 (reply priming).
        assert_eq!(
            count_messages("gpt-4o", &hello),
            TokenCount {
                tokens: 9,
                estimated: false
            }
        );
        assert_eq!(count_messages("gpt-4o", &[]).tokens, REPLY_PRIMING_TOKENS);

        let conversation = [
            ChatMessage::new(
                ChatRole::System,
                "You are a helpful, pattern-following assistant.",
            ),
            ChatMessage::new(
                ChatRole::User,
                "Translate 'New synergies will help drive top-line growth.'",
            ),
            ChatMessage::new(
                ChatRole::Assistant,
                "Things working well together will increase revenue.",
            ),
            ChatMessage::new(
                ChatRole::User,
                "Now: 'Let's circle back when we have more bandwidth.'",
            ),
        ];
        let theirs: Vec<tiktoken_rs::ChatCompletionRequestMessage> = conversation
            .iter()
            .map(|m| tiktoken_rs::ChatCompletionRequestMessage {
                role: m.role.as_str().to_owned(),
                content: Some(m.text().into_owned()),
                ..Default::default()
            })
            .collect();
        for model in ["gpt-4o", "gpt-4.1-mini", "gpt-3.5-turbo", "gpt-4"] {
            let want = tiktoken_rs::num_tokens_from_messages(model, &theirs).unwrap();
            let got = count_messages(model, &conversation);
            assert_eq!(
                got,
                TokenCount {
                    tokens: want as u32,
                    estimated: false
                },
                "{model}"
            );
        }
        assert!(count_messages("gemini-2.5-flash", &conversation).estimated);
    }

    #[test]
    fn estimated_usage_is_always_flagged() {
        let prompt = [ChatMessage::new(ChatRole::User, "hello world")];
        let u = estimate_usage("gpt-4o-mini", &prompt, "Hi! How can I help?");
        assert_eq!(u.prompt_tokens, 9);
        assert_eq!(
            u.completion_tokens,
            count_text("gpt-4o-mini", "Hi! How can I help?").tokens
        );
        assert!(u.completion_tokens > 0);
        assert!(u.estimated);
    }
}
