//! Cost of a generation: an exact integer function of its [`Usage`] and the [`ModelPrice`].

use aihub_domain::{Money, Usage};

use crate::{ModelPrice, PricingCatalog};

/// Tokens per priced unit: catalog prices are per million tokens.
const TOKENS_PER_PRICE_UNIT: i128 = 1_000_000;

/// The cost of `usage` at `price`, in nano-units of the catalog currency.
///
/// `cost = round_half_up((prompt_tokens × input_per_million + completion_tokens ×
/// output_per_million) / 1_000_000)`, computed in `i128` so no product overflows, rounded once
/// on the sum (not per part) so the error is at most half a nano-unit, and saturated at
/// `i64::MAX`. When the price has a [`long_context`](ModelPrice::long_context) tier and
/// `prompt_tokens` is above its threshold, the tier's rates apply to the whole request (the
/// vendors bill it that way).
///
/// Example: gpt-4o-mini at $0.15 / $0.60 per million, 1,000 prompt and 500 completion tokens:
/// `(1_000 × 150_000_000 + 500 × 600_000_000) / 1_000_000 = 450_000` nano-dollars ($0.00045).
pub fn cost(price: &ModelPrice, usage: &Usage) -> Money {
    let (input, output) = match price.long_context {
        Some(tier) if usage.prompt_tokens > tier.above_prompt_tokens => {
            (tier.input_per_million, tier.output_per_million)
        }
        _ => (price.input_per_million, price.output_per_million),
    };
    let scaled = i128::from(usage.prompt_tokens) * i128::from(input.nanos())
        + i128::from(usage.completion_tokens) * i128::from(output.nanos());
    // Half-up rounding; prices are never negative, so the sum is not either and plain
    // truncating division after adding half a unit rounds half up.
    let nanos = (scaled + TOKENS_PER_PRICE_UNIT / 2).div_euclid(TOKENS_PER_PRICE_UNIT);
    Money(i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX }))
}

/// A priced generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priced {
    /// The cost in nano-units of the catalog currency; zero when the price is unknown.
    pub cost: Money,
    /// False when the model is not in the catalog, so `cost` is zero for want of a price
    /// rather than because the generation was free.
    pub price_known: bool,
}

impl PricingCatalog {
    /// Prices `usage` of `model` (resolved as [`PricingCatalog::lookup`] does). An unknown
    /// model costs zero with `price_known: false`.
    pub fn price(&self, model: &str, usage: &Usage) -> Priced {
        match self.lookup(model) {
            Some(price) => Priced {
                cost: cost(price, usage),
                price_known: true,
            },
            None => Priced {
                cost: Money::ZERO,
                price_known: false,
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::LongContextPrice;
    use aihub_domain::ProviderKind;

    fn usage(prompt_tokens: u32, completion_tokens: u32) -> Usage {
        Usage {
            prompt_tokens,
            completion_tokens,
            estimated: false,
        }
    }

    #[test]
    fn builtin_costs_by_hand() {
        let c = PricingCatalog::builtin();
        // (model, prompt, completion, expected nanos), each figure worked out by hand:
        // nanos = prompt × input_nanos_per_M / 1e6 + completion × output_nanos_per_M / 1e6.
        let cases: &[(&str, u32, u32, i64)] = &[
            // $0.15 / $0.60: 1_000 × 150 + 500 × 600 = 150_000 + 300_000.
            ("gpt-4o-mini", 1_000, 500, 450_000),
            // $2.50 / $10: 1M × 2.50 + 1M × 10 = $12.50.
            ("gpt-4o-2024-08-06", 1_000_000, 1_000_000, 12_500_000_000),
            // $3 / $15: 1_234 × 3_000 + 567 × 15_000 = 3_702_000 + 8_505_000.
            ("claude-sonnet-4-5-20250929", 1_234, 567, 12_207_000),
            // $0.80 / $4: 10 × 800 + 0 = 8_000.
            ("claude-3-5-haiku-20241022", 10, 0, 8_000),
            // $0.075 / $0.30: 1 × 75 = 75 nanos.
            ("gemini-1.5-flash", 1, 0, 75),
            // $0.02 embeddings: 3 tokens × 20 nanos = 60.
            ("text-embedding-3-small", 3, 0, 60),
            // $1.25 / $10 at 200_000 prompt tokens (not above the tier): 250_000_000 + 1_000 × 10_000.
            ("gemini-2.5-pro", 200_000, 1_000, 260_000_000),
            // Above 200k the whole request is at $2.50 / $15: 200_001 × 2_500 + 1_000 × 15_000.
            ("gemini-2.5-pro", 200_001, 1_000, 515_002_500),
            // Nothing used costs nothing.
            ("gpt-4.1", 0, 0, 0),
        ];
        for (model, p, q, nanos) in cases {
            let priced = c.price(model, &usage(*p, *q));
            assert_eq!(
                priced,
                Priced {
                    cost: Money(*nanos),
                    price_known: true
                },
                "{model}"
            );
        }
    }

    #[test]
    fn rounds_half_up_once_on_the_sum() {
        let price = ModelPrice {
            provider: ProviderKind::OpenaiCompatible,
            input_per_million: Money(1_500_000), // 1.5 nanos per token
            output_per_million: Money(499_999),  // just under half a nano per token
            context_window: None,
            max_output_tokens: None,
            long_context: None,
        };
        let cases: &[(u32, u32, i64)] = &[
            (1, 0, 2), // 1.5 → 2 (half up)
            (0, 1, 0), // 0.499999 → 0
            (3, 0, 5), // 4.5 → 5
            (1, 1, 2), // 1.5 + 0.499999 = 1.999999 → 2
            (0, 2, 1), // 0.999998 → 1
        ];
        for (p, q, nanos) in cases {
            assert_eq!(cost(&price, &usage(*p, *q)), Money(*nanos), "{p}/{q}");
        }
    }

    #[test]
    fn huge_figures_do_not_overflow() {
        let price = ModelPrice {
            provider: ProviderKind::Openai,
            input_per_million: Money(i64::MAX),
            output_per_million: Money(i64::MAX),
            context_window: None,
            max_output_tokens: None,
            long_context: Some(LongContextPrice {
                above_prompt_tokens: u32::MAX,
                input_per_million: Money::ZERO,
                output_per_million: Money::ZERO,
            }),
        };
        assert_eq!(cost(&price, &usage(u32::MAX, u32::MAX)), Money(i64::MAX));
    }

    #[test]
    fn unknown_model_is_free_but_flagged() {
        let c = PricingCatalog::builtin();
        let priced = c.price("ollama/llama3", &usage(1_000, 1_000));
        assert_eq!(
            priced,
            Priced {
                cost: Money::ZERO,
                price_known: false
            }
        );
    }
}
