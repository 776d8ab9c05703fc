//! Fuzz targets of the NDJSON line framing: arbitrary bytes in arbitrary reads give the lines
//! of a simple model of the format, whatever the read boundaries.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::fuzzing::config;
use futures_util::FutureExt;
use proptest::prelude::*;
use proptest::sample::Index;

/// What framing a body produced: its lines in order, and whether it stopped at a line over
/// the limit (after the lines before it).
#[derive(Debug, PartialEq)]
struct Framed {
    lines: Vec<Vec<u8>>,
    too_long: bool,
}

/// The model: lines end at `\n`, a `\r` before it is part of the line end, the text after the
/// last `\n` is a last line when not empty (its trailing `\r` dropped too), and framing stops
/// at the first line longer than `max`.
fn model(body: &[u8], max: usize) -> Framed {
    let strip = |l: &[u8]| l.strip_suffix(b"\r").unwrap_or(l).to_vec();
    let mut pieces: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    let tail = pieces.pop().unwrap(); // `split` yields at least one piece
    let mut lines = Vec::new();
    for line in pieces.into_iter().map(strip).chain([strip(tail)]) {
        if line.len() > max {
            return Framed {
                lines,
                too_long: true,
            };
        }
        lines.push(line);
    }
    // The last piece is a line only when something follows the last `\n`.
    if lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    Framed {
        lines,
        too_long: false,
    }
}

/// Pushes `body` cut at `cuts` into a splitter, taking every complete line after each read,
/// then the last line at the end.
fn frame(body: &[u8], cuts: &[usize], max: usize) -> Framed {
    let mut splitter = LineSplitter::new(max);
    let mut lines = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain([body.len()]) {
        splitter.push(&body[start..end]);
        start = end;
        loop {
            match splitter.next_line() {
                Ok(Some(line)) => lines.push(line.to_vec()),
                Ok(None) => break,
                Err(LineTooLong) => {
                    return Framed {
                        lines,
                        too_long: true,
                    };
                }
            }
        }
    }
    lines.extend(splitter.finish().map(|l| l.to_vec()));
    Framed {
        lines,
        too_long: false,
    }
}

/// Bodies rich in line ends: `\n`, `\r`, letters and any byte.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => Just(b'\n'),
        3 => Just(b'\r'),
        5 => b'a'..=b'c',
        1 => Just(b' '),
        2 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..160)
}

/// Read boundaries: sorted offsets into a body of `len` bytes.
fn cuts_of(indexes: &[Index], len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = indexes.iter().map(|i| i.index(len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

proptest! {
    #![proptest_config(config())]

    /// Any split gives the model's lines, the same as pushing the whole body at once, and
    /// `LineTooLong` exactly when a line exceeds the limit.
    #[test]
    fn fuzz_lines_do_not_depend_on_read_boundaries(
        body in body(),
        indexes in prop::collection::vec(any::<Index>(), 0..24),
        max in 0usize..12,
    ) {
        let cuts = cuts_of(&indexes, body.len());
        let got = frame(&body, &cuts, max);
        prop_assert_eq!(&got, &frame(&body, &[], max));
        prop_assert_eq!(got, model(&body, max));
    }

    /// Byte-by-byte reads, the worst split, agree with the model too.
    #[test]
    fn fuzz_byte_by_byte_reads_agree(body in body(), max in 0usize..12) {
        let cuts: Vec<usize> = (1..body.len()).collect();
        prop_assert_eq!(frame(&body, &cuts, max), model(&body, max));
    }

    /// The stream of a body: its non-blank lines in order, however the body was read.
    #[test]
    fn fuzz_the_line_stream_yields_the_non_blank_lines(
        body in body(),
        indexes in prop::collection::vec(any::<Index>(), 0..16),
    ) {
        let cuts = cuts_of(&indexes, body.len());
        let mut reads = Vec::new();
        let mut start = 0;
        for end in cuts.iter().copied().chain([body.len()]) {
            reads.push(Ok::<_, reqwest::Error>(Bytes::copy_from_slice(&body[start..end])));
            start = end;
        }
        let got: Vec<Vec<u8>> = lines(futures_util::stream::iter(reads))
            .map(|l| l.unwrap().to_vec())
            .collect::<Vec<_>>()
            .now_or_never()
            .unwrap();
        let want: Vec<Vec<u8>> = model(&body, MAX_LINE)
            .lines
            .into_iter()
            .filter(|l| !l.trim_ascii().is_empty())
            .collect();
        prop_assert_eq!(got, want);
    }
}

/// Found by `fuzz_lines_do_not_depend_on_read_boundaries`: a line of exactly the limit ending
/// in `\r\n` was refused as too long when a read ended between the `\r` and the `\n` (the
/// pending `\r` counted as part of the line), yet accepted when read at once.
#[test]
fn a_crlf_split_across_reads_does_not_count_against_the_limit() {
    let mut s = LineSplitter::new(3);
    s.push(b"abc\r");
    assert_eq!(s.next_line(), Ok(None));
    s.push(b"\n");
    assert_eq!(s.next_line().unwrap().as_deref(), Some(&b"abc"[..]));
    assert_eq!(frame(b"abc\r\n", &[4], 3), frame(b"abc\r\n", &[], 3));
}

/// Found with the above: a `\r` at the very end of the body stays a line end (the body was
/// cut off inside `\r\n`), so the last line neither keeps it nor exceeds the limit by it.
#[test]
fn a_cr_at_the_end_of_the_body_is_not_part_of_the_last_line() {
    let mut s = LineSplitter::new(1);
    s.push(b"a\r");
    assert_eq!(s.next_line(), Ok(None));
    assert_eq!(s.finish().as_deref(), Some(&b"a"[..]));
    let mut s = LineSplitter::new(0);
    s.push(b"\r");
    assert_eq!(s.next_line(), Ok(None));
    assert_eq!(s.finish(), None);
}
