//! The `--json` text: a report as pretty JSON that reads the same to a JSON
//! parser and cannot act on the terminal or CI log it is printed to.
//!
//! Owns [`to_text`] and its formatter. serde_json escapes only what JSON
//! requires (`"`, `\` and C0 controls); a report also carries file names,
//! asset names and servers' messages, where DEL, C1 controls (CSI among
//! them), bidi overrides and Unicode line separators would reach a terminal
//! raw, and where the GitHub Actions runner reads `##[` anywhere in a line
//! as a legacy workflow command (a forged annotation, an `add-mask`). Each
//! is written as its `\uXXXX` escape, which every JSON parser reads back as
//! the same character. A URL's user and password, wherever one stands, are
//! hidden as in [`crate::text::line`]. It does not choose what a report holds.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

/// `value` as pretty JSON, every character a log or terminal could act on
/// escaped (see the module doc).
pub fn to_text<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    let inert = Inert {
        layout: PrettyFormatter::new(),
        string: None,
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut out, inert);
    value.serialize(&mut ser)?;
    // Only whole UTF-8 strings and ASCII escapes were written.
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// serde_json's pretty layout, with inert string contents. Each string is
/// gathered whole (serde_json hands it over in pieces, between its
/// escapes), then written: a URL's user and password hidden, as
/// [`crate::text::line`] hides them, wherever the URL stands (a field made
/// for a URL, an instance named by its repository's URL, a warning, a
/// server's error), and every character JSON or a log could act on escaped.
struct Inert {
    layout: PrettyFormatter<'static>,
    /// The string being written, unescaped, from its opening quote on.
    string: Option<String>,
}

/// `s` as the contents of a JSON string: what JSON requires escaped, and
/// what a terminal or the Actions runner would act on (see the module doc).
fn write_inert<W: ?Sized + io::Write>(w: &mut W, s: &str) -> io::Result<()> {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            _ => None,
        };
        let command = c == '[' && s[..i].ends_with("##");
        let unit_escaped = (c as u32) < 0x20 || command || crate::text::is_hidden(c);
        if short.is_none() && !unit_escaped {
            continue;
        }
        w.write_all(&s.as_bytes()[start..i])?;
        match short {
            Some(e) => w.write_all(e.as_bytes())?,
            // JSON escapes UTF-16 units: one past U+FFFF is a pair.
            None => {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    write!(w, "\\u{:04x}", unit)?;
                }
            }
        }
        start = i + c.len_utf8();
    }
    w.write_all(&s.as_bytes()[start..])
}

impl Formatter for Inert {
    fn begin_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.string = Some(String::new());
        w.write_all(b"\"")
    }

    fn end_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        let string = self.string.take().unwrap_or_default();
        write_inert(w, &crate::text::url_credentials_hidden(&string))?;
        w.write_all(b"\"")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        match &mut self.string {
            Some(s) => {
                s.push_str(fragment);
                Ok(())
            }
            None => write_inert(w, fragment),
        }
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        escape: serde_json::ser::CharEscape,
    ) -> io::Result<()> {
        use serde_json::ser::CharEscape;
        let c = match escape {
            CharEscape::Quote => '"',
            CharEscape::ReverseSolidus => '\\',
            CharEscape::Solidus => '/',
            CharEscape::Backspace => '\u{8}',
            CharEscape::FormFeed => '\u{c}',
            CharEscape::LineFeed => '\n',
            CharEscape::CarriageReturn => '\r',
            CharEscape::Tab => '\t',
            CharEscape::AsciiControl(b) => char::from(b),
        };
        match &mut self.string {
            Some(s) => {
                s.push(c);
                Ok(())
            }
            None => write_inert(w, c.encode_utf8(&mut [0; 4])),
        }
    }

    // The layout is the pretty formatter's.
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.layout.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.layout.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.layout.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_log_would_act_on_is_escaped_and_reads_back_the_same() {
        let value = serde_json::json!({
            "path": "dist/a##[error]forged.tgz",
            "message": "x\u{7f}\u{85}\u{9b}2J\u{202e}gpj.exe\u{2028}y\u{e0041}z",
            "kept": "#[x] ###[y] é ✅ \"q\" \\ \n",
            "list": ["##[warning]", 1, null],
        });
        let text = to_text(&value).unwrap();
        for raw in [
            "##[",
            "\u{7f}",
            "\u{85}",
            "\u{9b}",
            "\u{202e}",
            "\u{2028}",
            "\u{e0041}",
        ] {
            assert!(!text.contains(raw), "{raw:?} left raw in {text}");
        }
        assert!(text.contains(r"dist/a##\u005berror]forged.tgz"), "{text}");
        assert!(text.contains("é ✅"), "{text}");
        // Past U+FFFF, as a pair of UTF-16 escapes, which reads back whole.
        assert!(text.contains(r"y\udb40\udc41z"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        // The layout is serde_json's own pretty one.
        let plain = serde_json::json!({"a": [1, {"b": "c"}], "d": {}});
        assert_eq!(
            to_text(&plain).unwrap(),
            serde_json::to_string_pretty(&plain).unwrap()
        );
    }

    /// A URL's user and password are hidden wherever it stands, escapes in
    /// or around them included, and the JSON still reads back.
    #[test]
    fn credentials_in_any_string_are_hidden_and_the_json_stays_whole() {
        let value = serde_json::json!({
            "error": "GET \"https://u\u{1}s%09e\\r:pw@mirror.example/x\" failed\n",
            "list": ["see https://a:b@h/\u{1b}[0m\"", "ftp://x@y", "no url", "https://a.example\nhttps://u:pw2@b/x"],
        });
        let text = to_text(&value).unwrap();
        assert!(!text.contains("pw") && !text.contains("a:b"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["error"], "GET \"https://…@mirror.example/x\" failed\n");
        assert_eq!(back["list"][0], "see https://…@h/\u{1b}[0m\"");
        assert_eq!(back["list"][1], "ftp://…@y");
        assert_eq!(back["list"][2], "no url");
        // A line break ends a URL, as in a printed line (in the JSON text
        // it is `\n`, which is no space): the second URL is hidden too.
        assert_eq!(back["list"][3], "https://a.example\nhttps://…@b/x");
        assert!(!text.contains("pw2"), "{text}");
    }
}
