//! A cassette read through a window of a few megabytes: [`super::stream()`] reads the punctuation of the
//! cassette object itself and has serde parse each value where it starts in the window, reading on when serde
//! meets the window's end first. A cassette of gigabytes is read in the memory of its largest interaction and
//! the window, with no buffer the size of the file for the kernel to zero page by page (that was a third of the
//! time to load a 1,000,000-interaction cassette).
//!
//! Serde judges every value; the window only says "not what a cassette holds here" ([`Stop::Syntax`]), and the
//! caller answers that by reading the file the whole-document way, whose error names the line and column.

use std::io::{self, Read};

/// Bytes the window starts with; it doubles for an interaction that does not fit.
const START: usize = 8 << 20;

/// Why a scan stopped early.
#[derive(Debug)]
pub(super) enum Stop<E> {
    /// The text is not what the scan expects here (JSON syntax, or a cassette's shape): re-read to explain.
    Syntax,
    /// The file could not be read.
    Io(io::Error),
    /// The consumer stopped with its error.
    Stopped(E),
}

impl<E> From<io::Error> for Stop<E> {
    fn from(e: io::Error) -> Stop<E> {
        Stop::Io(e)
    }
}

/// A window onto a byte source: the unread bytes are `buf[pos..end]`, and `buf[0]` is at offset `base` of the
/// source.
pub(super) struct Window<R> {
    src: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    base: u64,
    eof: bool,
}

impl<R: Read> Window<R> {
    pub(super) fn new(src: R) -> Window<R> {
        Window { src, buf: vec![0; START], pos: 0, end: 0, base: 0, eof: false }
    }

    /// Reads more of the source after the unread bytes, moving them to the front first (and growing the
    /// buffer when they fill it). `false` at the end of the source.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next byte that is not JSON whitespace, left unread; `None` at the end of the source.
    pub(super) fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            while self.pos < self.end {
                match self.buf[self.pos] {
                    b' ' | b'\n' | b'\r' | b'\t' => self.pos += 1,
                    b => return Ok(Some(b)),
                }
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Reads `byte` after any whitespace, or stops with [`Stop::Syntax`].
    pub(super) fn expect<E>(&mut self, byte: u8) -> Result<(), Stop<E>> {
        if self.peek()? != Some(byte) {
            return Err(Stop::Syntax);
        }
        self.pos += 1;
        Ok(())
    }

    /// Reads the value that starts after any whitespace with `parse`, which is handed the unread text (the
    /// value first) and its offset in the source, and returns what it made of the value and how many bytes
    /// that took. A value the window holds only part of is read again with more: `parse` sees serde's
    /// end-of-input error then, and must have done nothing else.
    pub(super) fn read<T, E>(
        &mut self,
        mut parse: impl FnMut(&[u8], u64) -> Result<(T, usize), serde_json::Error>,
    ) -> Result<T, Stop<E>> {
        let Some(first) = self.peek()? else { return Err(Stop::Syntax) };
        // A number or literal ends where the text does, for serde: it may go on past the window.
        let delimited = matches!(first, b'{' | b'[' | b'"');
        loop {
            let text = &self.buf[self.pos..self.end];
            match parse(text, self.base + self.pos as u64) {
                Ok((value, used)) if delimited || used < text.len() || self.eof => {
                    self.pos += used;
                    return Ok(value);
                }
                Ok(_) => {}
                Err(e) if e.is_eof() && !self.eof => {}
                Err(_) => return Err(Stop::Syntax),
            }
            self.fill()?;
        }
    }
}

/// Parses one JSON value from the start of `text` as a `T`: the value and the bytes it took (for
/// [`Window::read`]).
pub(super) fn one<'a, T: serde::Deserialize<'a>>(text: &'a [u8]) -> Result<(T, usize), serde_json::Error> {
    let mut values = serde_json::Deserializer::from_slice(text).into_iter::<T>();
    match values.next() {
        Some(Ok(value)) => Ok((value, values.byte_offset())),
        Some(Err(e)) => Err(e),
        // Only whitespace, which `Window::read` never hands over.
        None => Err(serde::de::Error::custom("expected a value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_smaller_than_a_value_refills_and_grows_and_keeps_offsets() {
        // A source that hands over three bytes a read, through a window far smaller than the values.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = out.len().min(3).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let big = "x".repeat(100);
        let text = format!(r#"  [ {{"a": "{big}"}}, [1, 2] , "{big}" ]"#);
        let mut w = Window { buf: vec![0; 4], ..Window::new(Trickle(text.as_bytes())) };
        w.expect::<()>(b'[').unwrap();
        let mut seen = Vec::new();
        loop {
            let (value, at) = w
                .read::<_, ()>(|text, at| {
                    let (v, used) = one::<&serde_json::value::RawValue>(text)?;
                    Ok(((v.get().to_string(), at), used))
                })
                .unwrap();
            seen.push((at as usize, value));
            match w.peek().unwrap() {
                Some(b',') => w.pos += 1,
                Some(b']') => break,
                other => panic!("{other:?}"),
            }
        }
        for (at, value) in &seen {
            assert!(text[*at..].starts_with(value.as_str()), "{at} {value}");
        }
        let values: Vec<&str> = seen.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(values, [format!(r#"{{"a": "{big}"}}"#), "[1, 2]".into(), format!(r#""{big}""#)]);
        w.pos += 1;
        assert_eq!(w.peek().unwrap(), None);
        assert!(matches!(w.expect::<()>(b'}'), Err(Stop::Syntax)));
        // A number the window ends inside is read whole.
        let mut w = Window { buf: vec![0; 4], ..Window::new(Trickle(b"1234567, 8")) };
        assert_eq!(w.read::<u64, ()>(|t, _| one(t)).unwrap(), 1_234_567);
        // Not JSON: a syntax stop, not a hang.
        let mut w = Window { buf: vec![0; 4], ..Window::new(Trickle(b"{\"a\" 1}")) };
        assert!(matches!(w.read::<serde_json::Value, ()>(|t, _| one(t)), Err(Stop::Syntax)));
    }
}
