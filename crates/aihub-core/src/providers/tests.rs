use super::*;

#[test]
fn slugs() {
    assert_eq!(slugify("OpenAI GPT-4"), "openai-gpt-4");
    assert_eq!(slugify("  Local  SmolLM2! "), "local-smollm2");
    assert!(valid_slug("my-openai").is_ok());
    assert!(valid_slug("-bad").is_err());
    assert!(valid_slug("Bad").is_err());
}
