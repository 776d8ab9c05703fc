//! Prompt templates: `{name}` placeholders in plain text, in any script (`{тема}`). Pure
//! functions, no I/O.
//!
//! The syntax:
//! - `{name}` is a placeholder. `name` is 1–64 characters, each a Unicode letter or digit
//!   (`char::is_alphanumeric`) or `_`, so `{тема}`, `{название_продукта}` and `{topic2}` work.
//! - `{{` is a literal `{` and `}}` a literal `}`. A lone `}` is also literal text.
//! - Anything else after a `{` makes the template malformed: the end of the text before the
//!   closing `}` (unclosed), `{}` (empty), a character that cannot be in a name (`{a b}`,
//!   `{"json": 1}`), or a name over 64 characters. Literal braces must be doubled.

use std::collections::HashMap;

/// Longest placeholder name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Largest rendered text, in bytes (10 MiB, the default request body limit): a short template
/// that repeats a placeholder could otherwise multiply a large value without bound.
pub const MAX_RENDERED_BYTES: usize = 10 * 1024 * 1024;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal text, escapes already resolved (`{{` is `{` here).
    Text(String),
    /// A placeholder's name, without braces.
    Placeholder(String),
}

/// A parsed template: literal text and placeholders in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    /// The pieces, in order. Adjacent text is merged into one [`Segment::Text`].
    pub segments: Vec<Segment>,
}

/// Why a template is malformed, or its rendering too large. Positions are 1-based character
/// offsets into the template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{` with no closing `}`.
    #[error("unclosed `{{` at character {at} (write `{{{{` for a literal brace)")]
    Unclosed {
        /// Position of the `{`.
        at: usize,
    },
    /// `{}`.
    #[error("empty placeholder `{{}}` at character {at} (write `{{{{}}}}` for literal braces)")]
    Empty {
        /// Position of the `{`.
        at: usize,
    },
    /// A character that cannot be part of a placeholder name.
    #[error(
        "invalid character {found:?} in the placeholder at character {at}: names are letters, digits and `_` (write `{{{{` for a literal brace)"
    )]
    InvalidName {
        /// Position of the `{`.
        at: usize,
        /// The offending character.
        found: char,
    },
    /// A name over [`MAX_NAME_CHARS`].
    #[error("placeholder name at character {at} is longer than {MAX_NAME_CHARS} characters")]
    NameTooLong {
        /// Position of the `{`.
        at: usize,
    },
    /// The rendered text would exceed [`MAX_RENDERED_BYTES`].
    #[error("the rendered text would be larger than {MAX_RENDERED_BYTES} bytes")]
    TooLarge,
}

/// The result of [`Template::render`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rendered {
    /// The text with every placeholder that had a value replaced by it; placeholders without
    /// a value stay as `{name}`.
    pub text: String,
    /// Placeholder names without a value, in order of first appearance.
    pub missing: Vec<String>,
    /// Placeholder names that were filled, in order of first appearance.
    pub used: Vec<String>,
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Parses `template`.
///
/// # Errors
/// [`TemplateError`] (not `TooLarge`) when the template is malformed; see the module docs.
pub fn parse(template: &str) -> Result<Template, TemplateError> {
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        let at = i + 1;
        match c {
            '{' if chars.peek().is_some_and(|&(_, n)| n == '{') => {
                chars.next();
                text.push('{');
            }
            '}' => {
                // `}}` is one literal brace; a lone `}` is literal too.
                if chars.peek().is_some_and(|&(_, n)| n == '}') {
                    chars.next();
                }
                text.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        None => return Err(TemplateError::Unclosed { at }),
                        Some((_, '}')) => break,
                        Some((_, n)) if is_name_char(n) => name.push(n),
                        Some((_, found)) => return Err(TemplateError::InvalidName { at, found }),
                    }
                }
                if name.is_empty() {
                    return Err(TemplateError::Empty { at });
                }
                if name.chars().count() > MAX_NAME_CHARS {
                    return Err(TemplateError::NameTooLong { at });
                }
                if !text.is_empty() {
                    segments.push(Segment::Text(std::mem::take(&mut text)));
                }
                segments.push(Segment::Placeholder(name));
            }
            other => text.push(other),
        }
    }
    if !text.is_empty() {
        segments.push(Segment::Text(text));
    }
    Ok(Template { segments })
}

impl Template {
    /// The placeholder names, each once, in order of first appearance.
    pub fn variables(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in &self.segments {
            if let Segment::Placeholder(name) = s
                && !out.contains(name)
            {
                out.push(name.clone());
            }
        }
        out
    }

    /// Fills the placeholders from `values` (names are matched exactly; values are inserted
    /// as they are, never parsed as templates). Values whose name is not a placeholder are
    /// ignored.
    ///
    /// # Errors
    /// [`TemplateError::TooLarge`] when the text would exceed [`MAX_RENDERED_BYTES`].
    pub fn render(&self, values: &HashMap<String, String>) -> Result<Rendered, TemplateError> {
        let mut out = Rendered::default();
        for s in &self.segments {
            let piece: std::borrow::Cow<'_, str> = match s {
                Segment::Text(t) => t.into(),
                Segment::Placeholder(name) => match values.get(name) {
                    Some(v) => {
                        if !out.used.contains(name) {
                            out.used.push(name.clone());
                        }
                        v.into()
                    }
                    None => {
                        if !out.missing.contains(name) {
                            out.missing.push(name.clone());
                        }
                        format!("{{{name}}}").into()
                    }
                },
            };
            if out.text.len() + piece.len() > MAX_RENDERED_BYTES {
                return Err(TemplateError::TooLarge);
            }
            out.text.push_str(&piece);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn seed_template_with_a_unicode_name() {
        let t = parse("Предложи 5 креативных идей для статьи на тему {тема}").expect("valid");
        assert_eq!(t.variables(), vec!["тема"]);
        let r = t.render(&vars(&[("тема", "Rust")])).expect("renders");
        assert_eq!(r.text, "Предложи 5 креативных идей для статьи на тему Rust");
        assert_eq!(r.used, vec!["тема"]);
        assert!(r.missing.is_empty());
    }

    #[test]
    fn names_in_order_of_first_appearance_each_once() {
        let t = parse("{b} {a_1} {b} {名前} {x2}").expect("valid");
        assert_eq!(t.variables(), vec!["b", "a_1", "名前", "x2"]);
        let r = t
            .render(&vars(&[("b", "B"), ("x2", "X")]))
            .expect("renders");
        assert_eq!(r.text, "B {a_1} B {名前} X");
        assert_eq!(r.used, vec!["b", "x2"]);
        assert_eq!(r.missing, vec!["a_1", "名前"]);
    }

    #[test]
    fn escapes_are_literal_braces() {
        let t = parse("{{not}} {{{x}}} a}b }}").expect("valid");
        assert_eq!(t.variables(), vec!["x"]);
        let r = t.render(&vars(&[("x", "1")])).expect("renders");
        assert_eq!(r.text, "{not} {1} a}b }");
        let json = parse(r#"{{"k": "{v}"}}"#).expect("valid");
        assert_eq!(
            json.render(&vars(&[("v", "ok")])).expect("renders").text,
            r#"{"k": "ok"}"#
        );
    }

    #[test]
    fn values_are_not_parsed_and_extra_values_are_ignored() {
        let t = parse("[{a}]").expect("valid");
        let r = t
            .render(&vars(&[("a", "{b} {{"), ("unused", "x")]))
            .expect("renders");
        assert_eq!(r.text, "[{b} {{]");
        assert_eq!(r.used, vec!["a"]);
    }

    #[test]
    fn text_without_placeholders() {
        assert_eq!(parse("").expect("valid").variables(), Vec::<String>::new());
        let t = parse("plain text").expect("valid");
        assert_eq!(t.segments, vec![Segment::Text("plain text".into())]);
        assert_eq!(
            t.render(&HashMap::new()).expect("renders").text,
            "plain text"
        );
    }

    #[test]
    fn malformed_templates() {
        assert_eq!(parse("a {b"), Err(TemplateError::Unclosed { at: 3 }));
        assert_eq!(parse("{"), Err(TemplateError::Unclosed { at: 1 }));
        assert_eq!(parse("x {}"), Err(TemplateError::Empty { at: 3 }));
        assert_eq!(
            parse("{a b}"),
            Err(TemplateError::InvalidName { at: 1, found: ' ' })
        );
        assert_eq!(
            parse("тема {тема-2}"),
            Err(TemplateError::InvalidName { at: 6, found: '-' })
        );
        assert_eq!(
            parse(r#"{"json": 1}"#),
            Err(TemplateError::InvalidName { at: 1, found: '"' })
        );
        assert_eq!(
            parse("{a{b}}"),
            Err(TemplateError::InvalidName { at: 1, found: '{' })
        );
        let long = format!("{{{}}}", "я".repeat(MAX_NAME_CHARS + 1));
        assert_eq!(parse(&long), Err(TemplateError::NameTooLong { at: 1 }));
        let longest = format!("{{{}}}", "я".repeat(MAX_NAME_CHARS));
        assert_eq!(parse(&longest).expect("valid").variables().len(), 1);
    }

    #[test]
    fn errors_explain_the_escape() {
        let msg = parse("{").expect_err("malformed").to_string();
        assert_eq!(
            msg,
            "unclosed `{` at character 1 (write `{{` for a literal brace)"
        );
    }

    #[test]
    fn rendering_is_bounded() {
        let t = parse(&"{a}".repeat(100)).expect("valid");
        let big = "x".repeat(MAX_RENDERED_BYTES / 50);
        assert_eq!(
            t.render(&vars(&[("a", &big)])),
            Err(TemplateError::TooLarge)
        );
    }
}
