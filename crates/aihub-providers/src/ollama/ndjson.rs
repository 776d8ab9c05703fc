//! Newline-delimited JSON framing (`application/x-ndjson`, Ollama's streaming format): a
//! response body cut into lines, whatever the read boundaries.

use crate::ProviderError;
use crate::http;
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// The longest line accepted (1 MiB). A longer one is treated as a malformed stream rather
/// than buffered without bound.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// A line exceeded the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineTooLong;

/// Accumulates bytes and hands out complete lines. A line may arrive split over any number of
/// reads, and one read may hold many lines.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    buf: BytesMut,
    /// How much of `buf` is known to hold no `\n` (so it is not searched again).
    searched: usize,
    max: usize,
}

impl LineSplitter {
    /// A splitter refusing lines longer than `max` bytes (without the line end).
    pub(crate) fn new(max: usize) -> Self {
        LineSplitter {
            buf: BytesMut::new(),
            searched: 0,
            max,
        }
    }

    /// Appends the bytes of one read.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line without its `\n` (or `\r\n`); `Ok(None)` until one is complete.
    ///
    /// # Errors
    /// [`LineTooLong`] when a line (complete or not) is longer than the limit.
    pub(crate) fn next_line(&mut self) -> Result<Option<Bytes>, LineTooLong> {
        let Some(offset) = self.buf[self.searched..].iter().position(|&b| b == b'\n') else {
            self.searched = self.buf.len();
            // A trailing `\r` may be the first half of a `\r\n` split over two reads: it is
            // not counted, or a line of exactly `max` bytes would be refused for where the read
            // happened to end.
            let pending = self.buf.len() - usize::from(self.buf.last() == Some(&b'\r'));
            return if pending > self.max {
                Err(LineTooLong)
            } else {
                Ok(None)
            };
        };
        let end = self.searched + offset;
        self.searched = 0;
        let mut line = self.buf.split_to(end + 1);
        line.truncate(end);
        if line.last() == Some(&b'\r') {
            line.truncate(end - 1);
        }
        if line.len() > self.max {
            return Err(LineTooLong);
        }
        Ok(Some(line.freeze()))
    }

    /// At the end of the body: the last line when it had no `\n`, if any. A `\r` ending it
    /// is dropped like the `\r` of `\r\n` (the body was cut inside its line end), so the line
    /// is never longer than [`Self::next_line`] allowed.
    pub(crate) fn finish(&mut self) -> Option<Bytes> {
        let mut rest = self.buf.split();
        self.searched = 0;
        if rest.last() == Some(&b'\r') {
            rest.truncate(rest.len() - 1);
        }
        (!rest.is_empty()).then(|| rest.freeze())
    }
}

/// The non-blank lines of a body, in order. A transport failure yields
/// [`http::from_stream_reqwest`] and a line over [`MAX_LINE`] `malformed_chunk("Ollama")`, each
/// followed by nothing. At EOF the stream simply ends (a final line without `\n` is still
/// yielded); deciding whether the body was complete is the caller's job. Dropping the stream
/// drops `body` (closing the connection).
pub(crate) fn lines<S>(body: S) -> impl Stream<Item = Result<Bytes, ProviderError>> + Send
where
    S: Stream<Item = Result<Bytes, reqwest::Error>> + Send + 'static,
{
    struct State<S> {
        body: std::pin::Pin<Box<S>>,
        splitter: LineSplitter,
        ended: bool,
    }
    let state = State {
        body: Box::pin(body),
        splitter: LineSplitter::new(MAX_LINE),
        ended: false,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        if st.ended {
            return None;
        }
        loop {
            match st.splitter.next_line() {
                Ok(Some(line)) if line.trim_ascii().is_empty() => continue,
                Ok(Some(line)) => return Some((Ok(line), st)),
                Ok(None) => {}
                Err(LineTooLong) => {
                    st.ended = true;
                    return Some((Err(http::malformed_chunk("Ollama")), st));
                }
            }
            match st.body.next().await {
                Some(Ok(bytes)) => st.splitter.push(&bytes),
                Some(Err(e)) => {
                    st.ended = true;
                    return Some((Err(http::from_stream_reqwest(&e)), st));
                }
                None => {
                    st.ended = true;
                    let rest = st.splitter.finish()?;
                    if rest.trim_ascii().is_empty() {
                        return None;
                    }
                    return Some((Ok(rest), st));
                }
            }
        }
    })
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(s: &mut LineSplitter) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(line) = s.next_line().expect("within the limit") {
            out.push(String::from_utf8_lossy(&line).into_owned());
        }
        out
    }

    #[test]
    fn lines_split_across_reads_are_joined() {
        let body = "{\"a\":1}\n{\"b\":\"two\"}\r\n{\"c\":3}\n";
        // Every way of cutting the body into two reads, and byte-by-byte reads.
        for cut in 0..=body.len() {
            let mut s = LineSplitter::new(MAX_LINE);
            let mut got = Vec::new();
            s.push(&body.as_bytes()[..cut]);
            got.extend(drain(&mut s));
            s.push(&body.as_bytes()[cut..]);
            got.extend(drain(&mut s));
            assert_eq!(
                got,
                ["{\"a\":1}", "{\"b\":\"two\"}", "{\"c\":3}"],
                "cut at {cut}"
            );
            assert_eq!(s.finish(), None);
        }
        let mut s = LineSplitter::new(MAX_LINE);
        let mut got = Vec::new();
        for b in body.bytes() {
            s.push(&[b]);
            got.extend(drain(&mut s));
        }
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn a_last_line_without_newline_is_returned_at_the_end() {
        let mut s = LineSplitter::new(MAX_LINE);
        s.push(b"{\"a\":1}\n{\"done\":tr");
        assert_eq!(drain(&mut s), ["{\"a\":1}"]);
        s.push(b"ue}");
        assert_eq!(drain(&mut s), Vec::<String>::new());
        assert_eq!(s.finish().as_deref(), Some(&b"{\"done\":true}"[..]));
    }

    #[test]
    fn over_long_lines_are_refused_complete_or_not() {
        let mut s = LineSplitter::new(8);
        s.push(b"12345678\n");
        assert_eq!(drain(&mut s), ["12345678"]);
        s.push(b"123456789");
        assert_eq!(s.next_line(), Err(LineTooLong));
        let mut s = LineSplitter::new(8);
        s.push(b"123456789\n");
        assert_eq!(s.next_line(), Err(LineTooLong));
    }

    #[tokio::test]
    async fn the_stream_skips_blank_lines_and_yields_the_tail() {
        let reads = ["{\"a\"", ":1}\n\n  \n{\"b\":2}\n{\"c\"", ":3}"];
        let body = futures_util::stream::iter(
            reads.map(|r| Ok::<_, reqwest::Error>(Bytes::from_static(r.as_bytes()))),
        );
        let got: Vec<String> = lines(body)
            .map(|l| String::from_utf8_lossy(&l.expect("line")).into_owned())
            .collect()
            .await;
        assert_eq!(got, ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]);
    }
}
