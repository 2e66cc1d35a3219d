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
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Inert(PrettyFormatter::new()));
    value.serialize(&mut ser)?;
    // Only whole UTF-8 strings and ASCII escapes were written.
    let text = String::from_utf8(out).expect("serde_json writes UTF-8");
    // A URL's user and password are hidden wherever one stands: a field
    // made for a URL, an instance named by its repository's URL, a warning,
    // a server's error. A URL ends at its string's closing quote, and the
    // cut (from `://` to the last `@` of the authority) has no escape at
    // either end, so the JSON stays whole.
    Ok(crate::text::url_credentials_hidden(&text).into_owned())
}

/// serde_json's pretty layout, with inert string contents.
struct Inert(PrettyFormatter<'static>);

impl Formatter for Inert {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let command = c == '[' && fragment[..i].ends_with("##");
            if command || crate::text::is_hidden(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                // JSON escapes UTF-16 units: one past U+FFFF is a pair.
                for unit in c.encode_utf16(&mut [0; 2]) {
                    write!(w, "\\u{:04x}", unit)?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    // The layout is the pretty formatter's.
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
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
            "error": "GET \"https://u\u{1}s\te\\r:pw@mirror.example/x\" failed\n",
            "list": ["see https://a:b@h/\u{1b}[0m\"", "ftp://x@y", "no url"],
        });
        let text = to_text(&value).unwrap();
        assert!(!text.contains("pw") && !text.contains("a:b"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["error"], "GET \"https://…@mirror.example/x\" failed\n");
        assert_eq!(back["list"][0], "see https://…@h/\u{1b}[0m\"");
        assert_eq!(back["list"][1], "ftp://…@y");
        assert_eq!(back["list"][2], "no url");
    }
}
