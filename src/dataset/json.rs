//! Byte-level JSON helpers for lossless editing: locate the exact span of a value inside a record's
//! raw bytes, and write strings in a file's own escaping style.
//!
//! Validation is left to serde_json; these functions assume syntactically valid JSON and only need to
//! be exact about where values start and end.

use std::fmt::Write as _;

/// One step of a path into a JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// A member of an object.
    Key(&'static str),
    /// An element of an array.
    Index(usize),
}

/// Index of the first non-whitespace byte at or after `i`.
pub fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

/// End (exclusive) of the string literal whose opening quote is at `i`.
pub fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let k = memchr::memchr2(b'"', b'\\', &b[j..])? + j;
        if b[k] == b'"' {
            return Some(k + 1);
        }
        j = k + 2;
        if j > b.len() {
            return None;
        }
    }
}

/// End (exclusive) of the JSON value starting at `i` (which must not be whitespace).
pub fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                j += 1;
            }
            Some(j)
        }
    }
}

/// A (start, end) byte range.
pub type Range = (usize, usize);

/// The members of the object starting at `i`: (raw key span, value span) pairs in file order.
pub fn object_members(b: &[u8], i: usize) -> Option<Vec<(Range, Range)>> {
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut out = Vec::new();
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&b'}') {
        return Some(out);
    }
    loop {
        if b.get(j) != Some(&b'"') {
            return None;
        }
        let kstart = j;
        let kend = string_end(b, j)?;
        j = skip_ws(b, kend);
        if b.get(j) != Some(&b':') {
            return None;
        }
        let vstart = skip_ws(b, j + 1);
        let vend = value_end(b, vstart)?;
        out.push(((kstart, kend), (vstart, vend)));
        j = skip_ws(b, vend);
        match b.get(j) {
            Some(b',') => j = skip_ws(b, j + 1),
            Some(b'}') => return Some(out),
            _ => return None,
        }
    }
}

/// The elements of the array starting at `i`, as value spans.
pub fn array_elements(b: &[u8], i: usize) -> Option<Vec<(usize, usize)>> {
    if b.get(i) != Some(&b'[') {
        return None;
    }
    let mut out = Vec::new();
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&b']') {
        return Some(out);
    }
    loop {
        let end = value_end(b, j)?;
        out.push((j, end));
        j = skip_ws(b, end);
        match b.get(j) {
            Some(b',') => j = skip_ws(b, j + 1),
            Some(b']') => return Some(out),
            _ => return None,
        }
    }
}

/// Decodes a JSON string literal's raw bytes (quotes included). A lone UTF-16 surrogate escape
/// (`"abc\ud800def"`, written by JavaScript and by Python's json for broken text) is not Unicode
/// text; rather than failing (which would show the field as empty) it decodes to a private-use
/// stand-in (see [`surrogate_of`]) that [`Style::write_string`] writes back as the same escape,
/// so the text is shown, marked, and kept byte-exact.
pub fn decode_string(raw: &[u8]) -> Option<String> {
    match serde_json::from_slice::<String>(raw) {
        Ok(s) => Some(s),
        Err(_) if memchr::memmem::find(raw, b"\\u").is_some() => decode_lenient(raw),
        Err(_) => None,
    }
}

/// First of the 2,048 private-use code points (plane 16) that stand in for lone surrogates.
const STAND_IN_BASE: u32 = 0x10f800;

/// The lone surrogate a stand-in character represents.
pub fn surrogate_of(c: char) -> Option<u16> {
    let v = c as u32;
    (STAND_IN_BASE..STAND_IN_BASE + 0x800).contains(&v).then(|| (v - STAND_IN_BASE + 0xd800) as u16)
}

fn stand_in(unit: u16) -> char {
    char::from_u32(STAND_IN_BASE + u32::from(unit - 0xd800)).expect("plane 16 is valid")
}

fn hex4(b: &[u8]) -> Option<u16> {
    let h = std::str::from_utf8(b.get(..4)?).ok()?;
    if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(h, 16).ok()
}

/// A JSON string decoder that accepts lone surrogate escapes (everything else as strict as JSON).
fn decode_lenient(raw: &[u8]) -> Option<String> {
    let inner = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    let mut out = String::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let run = inner[i..].iter().position(|&c| c == b'\\').map_or(inner.len(), |p| i + p);
        let text = std::str::from_utf8(&inner[i..run]).ok()?;
        if text.chars().any(|c| (c as u32) < 0x20 || c == '"') {
            return None;
        }
        out.push_str(text);
        i = run;
        if i >= inner.len() {
            break;
        }
        let esc = *inner.get(i + 1)?;
        i += 2;
        match esc {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let u = hex4(&inner[i..])?;
                i += 4;
                if (0xd800..0xdc00).contains(&u)
                    && inner.get(i..i + 2) == Some(b"\\u")
                    && let Some(lo) = hex4(&inner[i + 2..]).filter(|lo| (0xdc00..0xe000).contains(lo))
                {
                    let c = 0x10000 + ((u32::from(u) - 0xd800) << 10) + (u32::from(lo) - 0xdc00);
                    out.push(char::from_u32(c)?);
                    i += 6;
                } else if (0xd800..0xe000).contains(&u) {
                    out.push(stand_in(u));
                } else {
                    out.push(char::from_u32(u32::from(u))?);
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// How many `\uXXXX` escapes in `raw` (a record's bytes) are lone UTF-16 surrogates: text that is
/// not Unicode and that no exporter can write as it is.
pub fn lone_surrogates(raw: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    let mut pending_high = false;
    while let Some(p) = memchr::memchr(b'\\', &raw[i..]) {
        let at = i + p;
        if raw.get(at + 1) != Some(&b'u') {
            // `\\`, `\n`...: an escape that is not \u ends any pending pair.
            n += usize::from(pending_high);
            pending_high = false;
            i = at + 2;
            continue;
        }
        let Some(u) = raw.get(at + 2..).and_then(hex4) else {
            i = at + 2;
            continue;
        };
        let follows = pending_high && raw[i..at].is_empty();
        match u {
            0xdc00..0xe000 if follows => pending_high = false,
            0xdc00..0xe000 => {
                n += usize::from(pending_high) + 1;
                pending_high = false;
            }
            0xd800..0xdc00 => {
                n += usize::from(pending_high);
                pending_high = true;
            }
            _ => {
                n += usize::from(pending_high);
                pending_high = false;
            }
        }
        i = at + 6;
    }
    n + usize::from(pending_high)
}

/// Whether the raw key bytes (quotes included) spell `name`.
pub fn key_is(raw: &[u8], name: &str) -> bool {
    if raw.len() == name.len() + 2 && &raw[1..raw.len() - 1] == name.as_bytes() {
        return true;
    }
    raw.contains(&b'\\') && decode_string(raw).as_deref() == Some(name)
}

/// Span of the member `name` of the object at `i`, if present (the last one wins, as in serde_json).
pub fn member(b: &[u8], i: usize, name: &str) -> Option<(usize, usize)> {
    object_members(b, i)?.into_iter().rev().find(|((ks, ke), _)| key_is(&b[*ks..*ke], name)).map(|(_, v)| v)
}

/// Span of the value at `path` inside the value starting at `i`.
pub fn find_path(b: &[u8], i: usize, path: &[Seg]) -> Option<(usize, usize)> {
    let mut span = (i, value_end(b, i)?);
    for seg in path {
        span = match seg {
            Seg::Key(k) => member(b, span.0, k)?,
            Seg::Index(n) => *array_elements(b, span.0)?.get(*n)?,
        };
    }
    Some(span)
}

/// How a file writes JSON text: detected once at open, used for every value sift writes into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Style {
    /// Escape every non-ASCII character as `\uXXXX` (Python's `ensure_ascii`).
    pub ensure_ascii: bool,
    /// Write `\u` escapes with upper-case hex digits.
    pub upper_hex: bool,
    /// Escape `/` as `\/`.
    pub escape_slash: bool,
    /// Text between a key and its value, e.g. `": "` or `":"`.
    pub colon: String,
    /// Text between members of one object when written on one line, e.g. `", "`.
    pub comma: String,
    /// Indentation unit for pretty-printed files (`None` = one line per record).
    pub indent: Option<String>,
    /// Line ending used in the file.
    pub newline: String,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            ensure_ascii: false,
            upper_hex: false,
            escape_slash: false,
            colon: ": ".into(),
            comma: ", ".into(),
            indent: None,
            newline: "\n".into(),
        }
    }
}

impl Style {
    /// Detects the escaping style of a file from its bytes (a bounded sample is enough).
    pub fn detect_escaping(&mut self, sample: &[u8]) {
        let mut saw_escape_nonascii = false;
        let mut saw_raw_nonascii = false;
        let mut i = 0;
        while let Some(k) = memchr::memchr(b'\\', &sample[i..]) {
            let k = k + i;
            match sample.get(k + 1) {
                Some(b'u') if k + 6 <= sample.len() => {
                    let hex = &sample[k + 2..k + 6];
                    if let Ok(v) = u32::from_str_radix(std::str::from_utf8(hex).unwrap_or("x"), 16) {
                        if v >= 0x80 {
                            saw_escape_nonascii = true;
                        }
                        if hex.iter().any(|c| c.is_ascii_uppercase()) {
                            self.upper_hex = true;
                        }
                    }
                    i = k + 6;
                }
                Some(b'/') => {
                    self.escape_slash = true;
                    i = k + 2;
                }
                _ => i = k + 2,
            }
            if i >= sample.len() {
                break;
            }
        }
        if sample.iter().any(|&c| c >= 0x80) {
            saw_raw_nonascii = true;
        }
        self.ensure_ascii = saw_escape_nonascii && !saw_raw_nonascii;
    }

    /// Writes `s` as a JSON string literal (with quotes) in this style.
    pub fn write_string(&self, out: &mut String, s: &str) {
        out.push('"');
        for ch in s.chars() {
            match ch {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{08}' => out.push_str("\\b"),
                '\u{0c}' => out.push_str("\\f"),
                '/' if self.escape_slash => out.push_str("\\/"),
                c if surrogate_of(c).is_some() => {
                    let u = surrogate_of(c).expect("checked");
                    let _ = if self.upper_hex { write!(out, "\\u{u:04X}") } else { write!(out, "\\u{u:04x}") };
                }
                c if (c as u32) < 0x20 || (self.ensure_ascii && (c as u32) >= 0x7f) => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        if self.upper_hex {
                            let _ = write!(out, "\\u{:04X}", u);
                        } else {
                            let _ = write!(out, "\\u{:04x}", u);
                        }
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }

    /// A string literal for `s` in this style.
    pub fn string(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        self.write_string(&mut out, s);
        out
    }

    /// Writes a JSON value in this style; `level` is the indentation depth of the value itself.
    pub fn write_value(&self, out: &mut String, v: &serde_json::Value, level: usize) {
        use serde_json::Value;
        match v {
            Value::String(s) => self.write_string(out, s),
            Value::Array(items) if !items.is_empty() => {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    self.break_line(out, level + 1, n > 0);
                    self.write_value(out, item, level + 1);
                }
                self.break_line(out, level, false);
                out.push(']');
            }
            Value::Object(map) if !map.is_empty() => {
                self.write_members(out, map.iter().map(|(k, v)| (k.as_str(), v)), level)
            }
            other => out.push_str(&other.to_string()),
        }
    }

    /// Writes an object whose members keep the given order.
    pub fn write_object(&self, out: &mut String, members: &[(&str, serde_json::Value)], level: usize) {
        if members.is_empty() {
            out.push_str("{}");
        } else {
            self.write_members(out, members.iter().map(|(k, v)| (*k, v)), level);
        }
    }

    fn write_members<'a>(
        &self,
        out: &mut String,
        members: impl Iterator<Item = (&'a str, &'a serde_json::Value)>,
        level: usize,
    ) {
        out.push('{');
        for (n, (k, item)) in members.enumerate() {
            if n > 0 {
                out.push(',');
            }
            self.break_line(out, level + 1, n > 0);
            self.write_string(out, k);
            out.push_str(&self.colon);
            self.write_value(out, item, level + 1);
        }
        self.break_line(out, level, false);
        out.push('}');
    }

    fn break_line(&self, out: &mut String, level: usize, after_comma: bool) {
        match &self.indent {
            Some(unit) => {
                out.push_str(&self.newline);
                for _ in 0..level {
                    out.push_str(unit);
                }
            }
            None if after_comma => out.push_str(self.comma.trim_start_matches(',')),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_are_kept_visible_and_written_back_byte_exact() {
        let raw = br#""abc\ud800def""#;
        let s = decode_string(raw).expect("not emptied");
        assert_eq!(s.chars().filter_map(surrogate_of).collect::<Vec<_>>(), vec![0xd800]);
        assert!(s.starts_with("abc") && s.ends_with("def"));
        assert_eq!(Style::default().string(&s), r#""abc\ud800def""#);
        // A proper pair still decodes to its character; strictness otherwise unchanged.
        assert_eq!(decode_string(br#""\ud83d\ude00 \udc00""#).unwrap().chars().next(), Some('\u{1f600}'));
        assert_eq!(decode_string(b"\"a\\q \\ud800\""), None);
        assert_eq!(lone_surrogates(br#"{"a": "x\ud800y", "b": "\ud83d\ude00", "c": "\\ud800 \udfff\ud800"}"#), 3);
        assert_eq!(lone_surrogates(br#"{"a": "\ud83d\ude00\u00e9"}"#), 0);
    }

    #[test]
    fn finds_nested_paths() {
        let b = br#"{"a": 1, "conversations": [{"from": "human", "value": "hi \"x\""}, {"from":"gpt","value":"yo"}]}"#;
        let span = find_path(b, 0, &[Seg::Key("conversations"), Seg::Index(1), Seg::Key("value")]).unwrap();
        assert_eq!(&b[span.0..span.1], br#""yo""#);
        let span = find_path(b, 0, &[Seg::Key("conversations"), Seg::Index(0), Seg::Key("value")]).unwrap();
        assert_eq!(&b[span.0..span.1], br#""hi \"x\"""#);
        assert!(find_path(b, 0, &[Seg::Key("missing")]).is_none());
        let members = object_members(b, 0).unwrap();
        assert_eq!(&b[members[1].0.0..members[1].0.1], br#""conversations""#);
    }

    #[test]
    fn escaping_follows_python_ensure_ascii() {
        let style = Style { ensure_ascii: true, ..Style::default() };
        assert_eq!(style.string("a\u{2019}b\n\u{1F600}\u{7f}"), r#""a\u2019b\n\ud83d\ude00\u007f""#);
        let raw = Style::default();
        assert_eq!(raw.string("a\u{2019}b\u{1}"), "\"a\u{2019}b\\u0001\"");
    }

    #[test]
    fn detects_escaping_style() {
        let mut s = Style::default();
        s.detect_escaping(br#"{"a": "x\u2019y \/"}"#);
        assert!(s.ensure_ascii && s.escape_slash && !s.upper_hex);
        let mut s = Style::default();
        s.detect_escaping("{\"a\": \"caf\u{e9}\"}".as_bytes());
        assert!(!s.ensure_ascii);
    }
}
