//! Checking JSON text without building anything. The recording proxy journals every JSON response as text,
//! and a journal line must read back as an interaction when the recording is folded into its cassette: one
//! bad line and the whole recording cannot be finished.
//!
//! [`validate`] accepts a subset of what `serde_json::from_slice::<serde_json::Value>` accepts: everything a
//! service sends in practice, and nothing that parser would refuse. It is stricter than JSON's grammar in three
//! places, where a text is JSON but cannot become a document that is journaled and read back inside a
//! cassette: a `\u` escape naming half a surrogate pair, a number beyond `f64`'s range (`1e400`), and nesting
//! deeper than [`MAX_DEPTH`]. serde_json's `RawValue` check, which this replaces on the proxy's hot path,
//! lets all three through, and says nothing of where the text breaks lines (a pretty-printed answer would
//! have split its journal line); it takes about as long. A text it refuses is not lost: the proxy then takes
//! the document path, which keeps what no parser reads as a string.

/// Deepest nesting accepted. serde_json refuses 128 levels; a body sits four levels down in a cassette.
pub const MAX_DEPTH: usize = 100;

/// Where the value lies in a text that [`validate`] accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value {
    /// The value's first byte (after leading whitespace).
    pub start: usize,
    /// Just past its last byte (before trailing whitespace).
    pub end: usize,
    /// Whether whitespace inside the value holds `\n` or `\r`. Only whitespace can: a string holding a raw
    /// control character is refused. So every `\n` and `\r` between `start` and `end` may become a space.
    pub line_breaks: bool,
}

/// Whether `text` is exactly one JSON value, with optional whitespace around it, that reads back as a
/// document (see the module notes); where the value lies if so.
pub fn validate(text: &[u8]) -> Option<Value> {
    // UTF-8 first, for the whole text (vectorized in std): the scan below then treats bytes >= 0x80 as text.
    std::str::from_utf8(text).ok()?;
    let mut p = Parser { b: text, i: 0, line_breaks: false };
    p.skip_ws();
    let start = p.i;
    p.value()?;
    let end = p.i;
    p.skip_ws();
    (p.i == text.len()).then_some(Value { start, end, line_breaks: p.line_breaks })
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    line_breaks: bool,
}

/// What a container expects next.
#[derive(Clone, Copy, PartialEq)]
enum Frame {
    Array,
    Object,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        // Compact JSON has none: one comparison decides.
        if self.peek().is_none_or(|c| c > b' ') {
            return;
        }
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' => {}
                b'\n' | b'\r' => self.line_breaks = true,
                _ => return,
            }
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// One value, iteratively: containers keep a stack of frames instead of recursing.
    fn value(&mut self) -> Option<()> {
        let mut stack: Vec<Frame> = Vec::new();
        'value: loop {
            // A value starts here.
            match self.peek()? {
                b'{' => {
                    if stack.len() == MAX_DEPTH {
                        return None;
                    }
                    self.i += 1;
                    self.skip_ws();
                    if self.peek()? == b'}' {
                        self.i += 1;
                    } else {
                        stack.push(Frame::Object);
                        self.key()?;
                        continue 'value;
                    }
                }
                b'[' => {
                    if stack.len() == MAX_DEPTH {
                        return None;
                    }
                    self.i += 1;
                    self.skip_ws();
                    if self.peek()? == b']' {
                        self.i += 1;
                    } else {
                        stack.push(Frame::Array);
                        continue 'value;
                    }
                }
                b'"' => {
                    self.i += 1;
                    self.string()?;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => self.number()?,
            }
            // The value ended: close containers until one continues.
            loop {
                let Some(&frame) = stack.last() else { return Some(()) };
                self.skip_ws();
                match (self.peek()?, frame) {
                    (b',', Frame::Array) => {
                        self.i += 1;
                        self.skip_ws();
                        continue 'value;
                    }
                    (b',', Frame::Object) => {
                        self.i += 1;
                        self.skip_ws();
                        self.key()?;
                        continue 'value;
                    }
                    (b']', Frame::Array) | (b'}', Frame::Object) => {
                        self.i += 1;
                        stack.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    /// `"key"` then `:`, leaving the cursor at the member's value.
    fn key(&mut self) -> Option<()> {
        self.eat(b'"')?;
        self.string()?;
        self.skip_ws();
        self.eat(b':')?;
        self.skip_ws();
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b.get(self.i..self.i + word.len()).filter(|w| *w == word)?;
        self.i += word.len();
        Some(())
    }

    /// The rest of a string, after its opening quote.
    #[inline]
    fn string(&mut self) -> Option<()> {
        let b = self.b;
        let mut i = self.i;
        loop {
            // Eight bytes at a time past plain text (no quote, no backslash, no control character; bytes
            // >= 0x80 are text too, the whole input being UTF-8), then byte by byte to the special one.
            loop {
                let Some(chunk) = b.get(i..i + 8) else {
                    while i < b.len() && PLAIN[b[i] as usize] {
                        i += 1;
                    }
                    break;
                };
                let special = special_bytes(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
                if special != 0 {
                    // The lowest marked byte is the first special one (the load is little-endian).
                    i += special.trailing_zeros() as usize / 8;
                    break;
                }
                i += 8;
            }
            match *b.get(i)? {
                b'"' => {
                    self.i = i + 1;
                    return Some(());
                }
                b'\\' => {
                    self.i = i + 1;
                    self.escape()?;
                    i = self.i;
                }
                _ => return None, // a control character
            }
        }
    }

    /// An escape, after its backslash.
    fn escape(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                self.i += 1;
                Some(())
            }
            b'u' => {
                self.i += 1;
                let unit = self.hex4()?;
                match unit {
                    // Half a pair: the other half must follow.
                    0xD800..=0xDBFF => {
                        self.literal(b"\\u")?;
                        (0xDC00..=0xDFFF).contains(&self.hex4()?).then_some(())
                    }
                    0xDC00..=0xDFFF => None,
                    _ => Some(()),
                }
            }
            _ => None,
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.b.get(self.i..self.i + 4)?;
        let mut n = 0;
        for d in digits {
            n = n * 16 + (*d as char).to_digit(16)?;
        }
        self.i += 4;
        Some(n)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, and within `f64`'s range.
    fn number(&mut self) -> Option<()> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        let int_digits = self.i - int_start;
        if self.peek() == Some(b'.') {
            self.i += 1;
            self.digits1()?;
        }
        // Below 10^300 without an exponent, below 10^299 with one of two digits over at most 200 integer
        // digits: such numbers cannot overflow `f64`. Anything else is parsed to find out (rare).
        let mut in_range = int_digits <= 300;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            let exp_start = self.i;
            self.digits1()?;
            in_range = self.i - exp_start <= 2 && int_digits <= 200;
        }
        if !in_range {
            let text = std::str::from_utf8(&self.b[start..self.i]).ok()?;
            return text.parse::<f64>().ok().filter(|f| f.is_finite()).map(|_| ());
        }
        Some(())
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }

    fn digits1(&mut self) -> Option<()> {
        let from = self.i;
        self.digits();
        (self.i > from).then_some(())
    }
}

/// Bytes that stand for themselves inside a string.
static PLAIN: [bool; 256] = {
    let mut t = [true; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = false;
        c += 1;
    }
    t[b'"' as usize] = false;
    t[b'\\' as usize] = false;
    t
};

/// The high bit of each byte of `w` that is `"`, `\\` or below 0x20, and no other bit: exact byte by byte, as
/// no carry or borrow crosses from one byte to the next.
#[inline]
fn special_bytes(w: u64) -> u64 {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HI: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of `x` that is zero.
    let zero = |x: u64| !(((x & LO7) + LO7) | x) & HI;
    // Bytes below 0x20 among those below 0x80: adding 0x60 to the low seven bits carries into the high bit
    // exactly when they are 0x20 or more.
    let control = !((w & LO7) + 0x6060_6060_6060_6060) & !w & HI;
    zero(w ^ 0x2222_2222_2222_2222) | zero(w ^ 0x5c5c_5c5c_5c5c_5c5c) | control
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::SplitMix64;

    fn serde_accepts(text: &[u8]) -> bool {
        serde_json::from_slice::<serde_json::Value>(text).is_ok()
    }

    #[test]
    fn the_byte_test_marks_exactly_quotes_backslashes_and_control_characters() {
        let special = |c: u8| c == b'"' || c == b'\\' || c < 0x20;
        let want = |bytes: [u8; 8]| -> u64 { (0..8).filter(|k| special(bytes[*k])).map(|k| 0x80u64 << (8 * k)).sum() };
        let mut rng = SplitMix64::new(3);
        for c in 0..=255u8 {
            for pos in 0..8 {
                let mut bytes = [b'a'; 8];
                bytes[pos] = c;
                assert_eq!(special_bytes(u64::from_le_bytes(bytes)), want(bytes), "byte {c:#x} at {pos}");
                // Beside other bytes of every kind: a carry or borrow must neither hide nor fake a mark.
                for _ in 0..16 {
                    let mut mixed = bytes;
                    for (k, b) in mixed.iter_mut().enumerate() {
                        if k != pos {
                            *b = rng.below(256) as u8;
                        }
                    }
                    assert_eq!(special_bytes(u64::from_le_bytes(mixed)), want(mixed), "{mixed:?}");
                }
            }
        }
    }

    #[test]
    fn known_texts() {
        let ok: &[&str] = &[
            "{}",
            " [ ] ",
            "0",
            "-0",
            "-0.5e-3",
            "1E+2",
            "123456789012345678901234567890",
            "1e308",
            "\"\"",
            "\"\\u00e9\\ud83d\\ude00 \\\" \\\\ \\/ \\b\\f\\n\\r\\t é ✓\"",
            "{\"a\":[1,2,{\"b\":null}],\"c\":true,\"d\":false}",
            "\n{\r\n\t\"a\" : 1\n}\n",
        ];
        for t in ok {
            assert!(validate(t.as_bytes()).is_some(), "{t}");
            assert!(serde_accepts(t.as_bytes()), "{t}");
        }
        let bad: &[&str] = &[
            "",
            " ",
            "{",
            "}",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "+1",
            "tru",
            "nul",
            "\"abc",
            "\"a\nb\"",
            "\"\\x\"",
            "\"\\u12\"",
            "[1] [2]",
            "{} x",
            "\u{feff}{}",
        ];
        for t in bad {
            assert_eq!(validate(t.as_bytes()), None, "{t}");
        }
        // Stricter than the grammar: what no document holds.
        for t in ["\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "1e400", "-2e308"] {
            assert_eq!(validate(t.as_bytes()), None, "{t}");
        }
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(validate(deep(MAX_DEPTH).as_bytes()).is_some());
        assert_eq!(validate(deep(MAX_DEPTH + 1).as_bytes()), None);
        assert_eq!(validate(deep(100_000).as_bytes()), None, "deep nesting is refused, not a stack overflow");
        assert_eq!(validate(b"  {\"a\":\n1} \n"), Some(Value { start: 2, end: 10, line_breaks: true }));
        assert_eq!(validate(b"[1]"), Some(Value { start: 0, end: 3, line_breaks: false }));
        assert_eq!(validate(b"\"a\nb\"".as_slice()), None);
        assert_eq!(validate(&[b'"', 0xff, b'"']), None, "not UTF-8");
    }

    /// Texts built from JSON's pieces, then cut, spliced and flipped: whatever `validate` accepts, serde_json
    /// reads as a document, and it accepts the unmutated ones.
    #[test]
    fn never_accepts_what_serde_json_refuses_and_accepts_what_services_send() {
        let mut rng = SplitMix64::new(7);
        let atoms = [
            "0",
            "-1",
            "12.5",
            "1e5",
            "-0.0E-7",
            "1e400",
            "true",
            "false",
            "null",
            "\"\"",
            "\"abc\"",
            "\"é ✓\"",
            "\"\\n\\\"\\\\\"",
            "\"\\u00e9\"",
            "\"\\ud83d\\ude00\"",
            "\"\\ud800\"",
            "1e-400",
            "1e99",
            "\"arn:aws:iam::111122223333:x\"",
        ];
        let noise = ["{", "}", "[", "]", ",", ":", "\"", "\\", " ", "\n", "\r", "\t", "-", ".", "e", "0", "\u{1}", "é"];
        fn generate(rng: &mut SplitMix64, atoms: &[&str], depth: u32, out: &mut String) {
            match rng.below(if depth > 4 { 1 } else { 4 }) {
                0 => out.push_str(rng.pick::<&str>(atoms)),
                1 => {
                    out.push('[');
                    for k in 0..rng.below(4) {
                        if k > 0 {
                            out.push_str(rng.pick::<&str>(&[",", " , ", ",\n"]));
                        }
                        generate(rng, atoms, depth + 1, out);
                    }
                    out.push(']');
                }
                _ => {
                    out.push('{');
                    for k in 0..rng.below(4) {
                        if k > 0 {
                            out.push(',');
                        }
                        out.push_str(rng.pick::<&str>(&["\"k\"", "\"Job\\u0041\"", "\"é\""]));
                        out.push_str(rng.pick::<&str>(&[":", " : ", ":\r\n"]));
                        generate(rng, atoms, depth + 1, out);
                    }
                    out.push('}');
                }
            }
        }
        let (mut accepted, mut refused) = (0, 0);
        for n in 0..30_000 {
            let mut text = String::new();
            generate(&mut rng, &atoms, 0, &mut text);
            let valid = serde_accepts(text.as_bytes());
            let plain = !text.contains("1e400") && !text.contains("\\ud800\"");
            if valid && plain {
                assert!(validate(text.as_bytes()).is_some(), "refused valid JSON: {text}");
            }
            let mut bytes = text.into_bytes();
            if n % 4 != 0 {
                for _ in 0..=rng.below(3) {
                    let at = rng.below(bytes.len() as u64 + 1) as usize;
                    match rng.below(3) {
                        0 => {
                            bytes.truncate(at);
                        }
                        1 => {
                            let piece = rng.pick(&noise).as_bytes();
                            bytes.splice(at..at, piece.iter().copied());
                        }
                        _ if at < bytes.len() => {
                            bytes.remove(at);
                        }
                        _ => {}
                    }
                }
            }
            match validate(&bytes) {
                Some(v) => {
                    accepted += 1;
                    assert!(
                        serde_accepts(&bytes),
                        "accepted what serde_json refuses: {}",
                        String::from_utf8_lossy(&bytes)
                    );
                    assert!(serde_accepts(&bytes[v.start..v.end]));
                    if v.line_breaks {
                        let flat: Vec<u8> =
                            bytes.iter().map(|&c| if c == b'\n' || c == b'\r' { b' ' } else { c }).collect();
                        let (a, b): (serde_json::Value, serde_json::Value) =
                            (serde_json::from_slice(&bytes).unwrap(), serde_json::from_slice(&flat).unwrap());
                        assert_eq!(a, b, "line breaks were only whitespace");
                    } else {
                        assert!(!bytes[v.start..v.end].iter().any(|c| *c == b'\n' || *c == b'\r'));
                    }
                }
                None => refused += 1,
            }
        }
        assert!(accepted > 8_000 && refused > 8_000, "both verdicts exercised: {accepted} accepted, {refused} refused");
    }
}
