//! Fuzz targets of the prompt template parser (proptest: cargo-fuzz needs nightly). Case
//! counts come from `PROPTEST_CASES` (proptest's default: 256), so
//! `PROPTEST_CASES=20000 cargo test -p aihub-core --lib template::fuzz` is a longer run.

#![allow(clippy::unwrap_used)]

use super::*;
use proptest::prelude::*;
use proptest::test_runner::Config;

/// proptest's defaults (cases from `PROPTEST_CASES`) without failure files: a failure found
/// is kept as a plain regression test.
fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

/// A placeholder name: ASCII, any Unicode letters and digits, or the longest allowed.
fn name() -> impl Strategy<Value = String> {
    // Name characters of several scripts (generated, not filtered: filtering any char
    // rejects too many at 20000 cases).
    let name_char = prop_oneof![
        proptest::char::range('a', 'z'),
        proptest::char::range('A', 'Z'),
        proptest::char::range('0', '9'),
        Just('_'),
        proptest::char::range('à', 'ö'),
        proptest::char::range('а', 'я'),
        proptest::char::range('α', 'ω'),
        proptest::char::range('क', 'ह'),
        proptest::char::range('٠', '٩'),
        proptest::char::range('\u{4e00}', '\u{9fa5}'),
    ];
    prop_oneof![
        4 => "[a-z_][a-z0-9_]{0,6}",
        2 => prop::sample::select(&["тема", "名前", "x2", "é", "_", "Ⅻ", "٣"][..]).prop_map(str::to_owned),
        2 => prop::collection::vec(name_char, 1..8).prop_map(String::from_iter),
        1 => Just("n".repeat(MAX_NAME_CHARS)),
    ]
}

/// Template-ish text: braces, escapes, names (some too long) and any text, run together.
fn template_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        3 => prop::sample::select(&["{", "}", "{{", "}}", "{}", " ", "-", "\"", "\n"][..])
            .prop_map(str::to_owned),
        3 => name(),
        1 => "[a-z]{65,70}",
        2 => any::<String>(),
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(token, 0..16).prop_map(|t| t.concat())
}

/// A piece of a template built by the model: literal text or a placeholder.
#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Var(String),
}

fn pieces() -> impl Strategy<Value = Vec<Piece>> {
    let text = prop_oneof![
        any::<String>(),
        "[{}a ]{0,6}",
        Just("{".to_owned()),
        Just("}".to_owned()),
    ];
    let piece = prop_oneof![
        text.prop_map(Piece::Text),
        prop::sample::select(&["a", "b", "тема", "x_1"][..]).prop_map(|n| Piece::Var(n.to_owned())),
        name().prop_map(Piece::Var),
    ];
    prop::collection::vec(piece, 0..12)
}

/// Literal text as a template writes it: braces doubled.
fn escape(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

/// The template text of `pieces`.
fn write(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => escape(t),
            Piece::Var(n) => format!("{{{n}}}"),
        })
        .collect()
}

/// The template text of parsed segments (the inverse of [`parse`]).
fn unparse(t: &Template) -> String {
    t.segments
        .iter()
        .map(|s| match s {
            Segment::Text(t) => escape(t),
            Segment::Placeholder(n) => format!("{{{n}}}"),
        })
        .collect()
}

/// Each name once, in order of first appearance.
fn distinct<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

/// The characters from 1-based position `at` on.
fn from(template: &str, at: usize) -> Vec<char> {
    template.chars().skip(at - 1).collect()
}

proptest! {
    #![proptest_config(config())]

    /// Any text: no panic. A refusal points at the `{` that opened the bad placeholder and
    /// says truly what follows it; an accepted template is canonical (no empty or adjacent
    /// text, valid names) and writes back to a template that parses the same.
    #[test]
    fn fuzz_parse_any_text(template in template_text()) {
        match parse(&template) {
            Err(e) => {
                let at = match e {
                    TemplateError::Unclosed { at }
                    | TemplateError::Empty { at }
                    | TemplateError::InvalidName { at, .. }
                    | TemplateError::NameTooLong { at } => at,
                    TemplateError::TooLarge => {
                        return Err(TestCaseError::fail("parse never says TooLarge"));
                    }
                };
                let rest = from(&template, at);
                prop_assert_eq!(rest.first(), Some(&'{'), "{:?} at {}", e, at);
                let inner: Vec<char> = rest[1..].iter().copied().take_while(|&c| is_name_char(c)).collect();
                let after = rest.get(1 + inner.len()).copied();
                match e {
                    TemplateError::Unclosed { .. } => prop_assert_eq!(after, None),
                    TemplateError::Empty { .. } => {
                        prop_assert!(inner.is_empty());
                        prop_assert_eq!(after, Some('}'));
                    }
                    TemplateError::InvalidName { found, .. } => {
                        prop_assert_eq!(after, Some(found));
                        prop_assert!(found != '}' && !is_name_char(found), "{:?} can be in a name", found);
                    }
                    TemplateError::NameTooLong { .. } => {
                        prop_assert!(inner.len() > MAX_NAME_CHARS);
                        prop_assert_eq!(after, Some('}'));
                    }
                    TemplateError::TooLarge => {}
                }
                // Everything before the `{` parses: the error is the first one.
                let before: String = template.chars().take(at - 1).collect();
                prop_assert!(parse(&before).is_ok(), "an earlier error in {:?}", before);
            }
            Ok(t) => {
                for pair in t.segments.windows(2) {
                    prop_assert!(
                        !matches!(pair, [Segment::Text(_), Segment::Text(_)]),
                        "adjacent text segments: {:?}", t
                    );
                }
                for s in &t.segments {
                    match s {
                        Segment::Text(text) => prop_assert!(!text.is_empty()),
                        Segment::Placeholder(n) => prop_assert!(
                            (1..=MAX_NAME_CHARS).contains(&n.chars().count())
                                && n.chars().all(is_name_char),
                            "an invalid name {:?}", n
                        ),
                    }
                }
                prop_assert_eq!(parse(&unparse(&t)).unwrap(), t.clone());
                let names = t.segments.iter().filter_map(|s| match s {
                    Segment::Placeholder(n) => Some(n),
                    Segment::Text(_) => None,
                });
                prop_assert_eq!(t.variables(), distinct(names));
            }
        }
    }

    /// Templates of literal text and `{var}` placeholders: the variables are exactly the
    /// placeholders, and rendering substitutes every supplied value (never parsed itself)
    /// and leaves the others as `{name}`, reporting which were used and which missing.
    #[test]
    fn fuzz_render_matches_the_model(
        pieces in pieces(),
        values in prop::collection::vec(prop_oneof![any::<String>(), "[{}a]{0,4}"], 8),
        supplied in prop::collection::vec(any::<bool>(), 8),
    ) {
        let template = write(&pieces);
        let parsed = parse(&template).unwrap();
        let names: Vec<String> = distinct(pieces.iter().filter_map(|p| match p {
            Piece::Var(n) => Some(n),
            Piece::Text(_) => None,
        }));
        prop_assert_eq!(parsed.variables(), names.clone());

        // Every variable supplied.
        let all: HashMap<String, String> = names
            .iter()
            .zip(values.iter().cycle())
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        let want: String = pieces.iter().map(|p| match p {
            Piece::Text(t) => t.clone(),
            Piece::Var(n) => all[n].clone(),
        }).collect();
        let got = parsed.render(&all).unwrap();
        prop_assert_eq!(got.text, want);
        prop_assert_eq!(&got.used, &names);
        prop_assert!(got.missing.is_empty());

        // Some supplied (plus one no placeholder has, ignored).
        let mut some: HashMap<String, String> = names
            .iter()
            .zip(supplied.iter().cycle())
            .filter(|(_, s)| **s)
            .map(|(n, _)| (n.clone(), all[n].clone()))
            .collect();
        some.insert("not used anywhere".to_owned(), "x".to_owned());
        let want: String = pieces.iter().map(|p| match p {
            Piece::Text(t) => t.clone(),
            Piece::Var(n) => some.get(n).cloned().unwrap_or_else(|| format!("{{{n}}}")),
        }).collect();
        let got = parsed.render(&some).unwrap();
        prop_assert_eq!(got.text, want);
        prop_assert_eq!(got.used, names.iter().filter(|n| some.contains_key(*n)).cloned().collect::<Vec<_>>());
        prop_assert_eq!(got.missing, names.iter().filter(|n| !some.contains_key(*n)).cloned().collect::<Vec<_>>());
    }
}

proptest! {
    #![proptest_config(Config { cases: config().cases.div_ceil(16), ..config() })]

    /// Rendering is refused as too large exactly when the text would exceed the limit.
    #[test]
    fn fuzz_render_size_limit(
        prefix in "[a-z]{0,8}",
        repeats in 1usize..4,
        delta in -2i64..=2,
    ) {
        let template = format!("{prefix}{}", "{v}".repeat(repeats));
        let size = (MAX_RENDERED_BYTES - prefix.len()) / repeats;
        let size = usize::try_from(size as i64 + delta).unwrap();
        let values = HashMap::from([("v".to_owned(), "x".repeat(size))]);
        let total = prefix.len() + repeats * size;
        let got = parse(&template).unwrap().render(&values);
        if total > MAX_RENDERED_BYTES {
            prop_assert_eq!(got, Err(TemplateError::TooLarge));
        } else {
            prop_assert_eq!(got.unwrap().text.len(), total);
        }
    }
}
