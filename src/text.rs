//! Outside text made safe to show: the one rule for printing a string that
//! came from a file, a bundle, a server or the environment.
//!
//! Owns [`line`] (any text as one printable line: line breaks, control
//! characters, bidi overrides and Unicode line separators shown as visible
//! escapes, and nothing the GitHub Actions runner would read as a workflow
//! command), [`shell_word`] (a value quoted for a POSIX shell, for hints
//! meant to be copied), [`url_queries_hidden`] (log text with no URL's
//! query: one may be a credential) and [`url_credentials_hidden`] (no URL's
//! user and password, in every line). Imports nothing of ours, so every
//! renderer can use it.

use std::fmt::{self, Write as _};

/// `value` as one printable line.
///
/// `\n`, `\r` and `\t` become those two-character escapes; every other C0 or
/// C1 control, DEL, the bidi controls (which reorder what a reader sees) and
/// U+2028/U+2029 (which some viewers break lines at) become `\u{..}`. The
/// result is made for reading, not for parsing back: a backslash is left
/// as is, so paths and regexps stay readable.
///
/// A URL's user and password are shown as `…` ([`url_credentials_hidden`]).
///
/// The Actions runner takes a line for a workflow command when it starts
/// with `::` after whitespace, or holds the legacy `##[` anywhere; so a
/// leading `::` and the `[` of `##[` are escaped too (`\u{3a}`, `\u{5b}`),
/// which keeps a value safe wherever in a line it lands.
pub fn line(value: impl fmt::Display) -> String {
    escaped_line(value, true)
}

/// [`line`] without the workflow-command escapes: for text the runner
/// never reads for commands (a step summary, where Markdown escaping
/// follows), in which `\u{3a}` would only misspell a name.
pub(crate) fn line_not_logged(value: impl fmt::Display) -> String {
    escaped_line(value, false)
}

fn escaped_line(value: impl fmt::Display, logged: bool) -> String {
    let raw = value.to_string();
    let raw = url_credentials_hidden(&raw);
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '[' if logged && out.ends_with("##") => out.push_str("\\u{5b}"),
            c if is_hidden(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    let lead = out.len() - out.trim_start().len();
    if logged && out[lead..].starts_with("::") {
        out.replace_range(lead..lead + 1, "\\u{3a}");
    }
    out
}

/// `text` with the query and fragment of every URL in it shown as `?…`
/// (or `#…`). A URL's query may be a credential: GitHub redirects an
/// asset's download to storage under a signed URL, good for minutes to
/// anyone who has it, and services take tokens in queries. Logs keep where
/// a request went, not what it carried. A URL is as [`each_url`] finds it.
pub fn url_queries_hidden(text: &str) -> std::borrow::Cow<'_, str> {
    each_url(text, |url| {
        let url = url_credentials_hidden_in(url);
        match url.find(['?', '#']) {
            Some(q) => {
                let mark = if url[q..].starts_with('?') {
                    "?…"
                } else {
                    "#…"
                };
                std::borrow::Cow::Owned(format!("{}{mark}", &url[..q]))
            }
            None => url,
        }
    })
}

/// `text` with the user and password of every URL in it shown as `…`
/// (`https://…@mirror.example/`): a URL given as a flag or a setting may
/// carry a credential for an authenticated mirror, and every line printed
/// goes through [`line`], which applies this.
pub fn url_credentials_hidden(text: &str) -> std::borrow::Cow<'_, str> {
    each_url(text, url_credentials_hidden_in)
}

/// One URL (`scheme://...`) with its userinfo, if any, as `…`.
fn url_credentials_hidden_in(url: &str) -> std::borrow::Cow<'_, str> {
    let Some(sep) = url.find("://") else {
        return std::borrow::Cow::Borrowed(url);
    };
    let after = sep + 3;
    let authority_end = url[after..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |n| after + n);
    match url[after..authority_end].rfind('@') {
        Some(at) => std::borrow::Cow::Owned(format!("{}…{}", &url[..after], &url[after + at..])),
        // Cut ([`capped`]) before its authority ended: what is left may be
        // a user and the start of a password, whose `@` was cut off.
        None if authority_end == url.len() && url.ends_with('…') => {
            std::borrow::Cow::Owned(format!("{}…", &url[..after]))
        }
        None => std::borrow::Cow::Borrowed(url),
    }
}

/// `text` with each URL in it (a scheme of letters, digits, `+`, `-` or `.`
/// followed by `://`, up to whitespace, a quote or the next URL's scheme;
/// past a quote when an `@` follows in what can still be its authority, so
/// a password holding a quote is the URL's) replaced by `rewrite`'s. Ending at the next scheme keeps two URLs run
/// together (`https://a/,https://u:p@b/`, or joined by an escaped line
/// break) from reading as one whose authority holds no `@`.
fn each_url<'t>(
    text: &'t str,
    rewrite: impl for<'u> Fn(&'u str) -> std::borrow::Cow<'u, str>,
) -> std::borrow::Cow<'t, str> {
    if !text.contains("://") {
        return std::borrow::Cow::Borrowed(text);
    }
    let scheme = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.');
    let ends = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>');
    let scheme_start = |before: &str, sep: usize| {
        before[..sep]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| scheme(c))
            .last()
            .map_or(sep, |(i, _)| i)
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(sep) = rest.find("://") {
        let start = scheme_start(rest, sep);
        let mut len = rest[sep..].find(ends).map_or(rest.len(), |n| sep + n);
        if let Some(next) = rest[sep + 3..len].find("://").map(|n| sep + 3 + n) {
            let next_start = scheme_start(rest, next);
            if next_start < next {
                len = next_start;
            }
        }
        // A password may hold a quote (`https://u:p'w@host`): the authority
        // ends only where a URL's can, so an `@` past a quote is still its
        // user's end, and all before it is hidden. Hiding too much where a
        // quote ended the URL and an `@` follows in the text is the safe way.
        let mut authority = rest[sep + 3..]
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | '?' | '#'))
            .map_or(rest.len(), |n| sep + 3 + n);
        // Never into the next URL, whose own credentials are its to hide.
        if let Some(next) = rest[sep + 3..].find("://").map(|n| sep + 3 + n) {
            authority = authority.min(scheme_start(rest, next));
        }
        if authority > len && rest[len..authority].contains('@') {
            len = authority;
        }
        out.push_str(&rest[..start]);
        let url = &rest[start..len];
        if start < sep {
            out.push_str(&rewrite(url));
        } else {
            out.push_str(url);
        }
        rest = &rest[len..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// `text` with `secret` (a token), and the payload and signature of a JWT,
/// shown as `[token]`: a service (or a proxy) may echo what it was sent.
pub(crate) fn secret_hidden(text: String, secret: &str) -> String {
    let parts: Vec<&str> = secret.split('.').collect();
    let mut needles = vec![secret];
    if parts.len() == 3 {
        needles.extend(&parts[1..]);
    }
    needles.retain(|n| n.len() >= 8);
    let mut out = text;
    for n in &needles {
        if out.contains(n) {
            out = out.replace(n, "[token]");
        }
    }
    // A cap ([`capped`]) may have cut one: a tail that starts it goes too.
    if let Some(body) = out.strip_suffix('…') {
        let cut = needles.iter().find_map(|n| {
            (8..n.len())
                .rev()
                .find(|&k| n.is_char_boundary(k) && body.ends_with(&n[..k]))
        });
        if let Some(k) = cut {
            out = format!("{}[token]…", &body[..body.len() - k]);
        }
    }
    out
}

/// A path in a JSON report: as text, any bytes that are not UTF-8 shown
/// as U+FFFD (serde refuses such a path, and the whole report with it).
pub(crate) fn lossy_path<S: serde::Serializer>(
    path: &std::path::Path,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

/// [`lossy_path`] for each of `paths`.
pub(crate) fn lossy_paths<S: serde::Serializer>(
    paths: &[std::path::PathBuf],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(paths.iter().map(|p| p.to_string_lossy()))
}

/// How much of a message from outside (a server's, a parser's quoting the
/// value it stopped at) an error or a log keeps.
pub(crate) const MESSAGE_CHARS: usize = 1_000;

/// How much of a value from a flag, an input or the environment an error
/// that refuses it repeats ([`echoed`]).
pub(crate) const ECHOED_CHARS: usize = 200;

/// `value` as an error refusing it repeats it: at most [`ECHOED_CHARS`]
/// characters (an input or a variable may be of any length, and the error
/// goes into an annotation and the step summary).
pub(crate) fn echoed(value: &str) -> String {
    capped(value, ECHOED_CHARS)
}

/// The first `max` of `names`, joined with `, `, then how many more there
/// are (`a, b, and 3 more`): a line names what to look for, and a list of
/// thousands would flood one error, annotation or step summary.
pub(crate) fn first_of<I>(names: I, max: usize) -> String
where
    I: IntoIterator<Item = String>,
    I::IntoIter: ExactSizeIterator,
{
    first_of_joined(names, max, ", ")
}

/// [`first_of`] joined with `sep` (`; ` for items holding commas).
pub(crate) fn first_of_joined<I>(names: I, max: usize, sep: &str) -> String
where
    I: IntoIterator<Item = String>,
    I::IntoIter: ExactSizeIterator,
{
    let names = names.into_iter();
    let total = names.len();
    let mut s = names.take(max).collect::<Vec<_>>().join(sep);
    if total > max {
        s += &format!("{sep}and {} more", total - max);
    }
    s
}

/// At most `max` characters of `s`, with `…` after a cut: for text from
/// outside (a server's message) that is shown in a line, a log or a
/// summary, which a message of megabytes would flood.
pub(crate) fn capped(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// Whether `c` would change how the text around it reads instead of being
/// read itself: a control, a bidi mark or override, a line or paragraph
/// separator, or a character that shows nothing (Unicode's default
/// ignorables less the variation selectors, which only pick a glyph), by
/// which `tool\u{200b}.exe` would read as `tool.exe`.
pub(crate) fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fffb}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// Whether `s` holds no line break, control or bidi character (which
/// [`line`] would show as an escape).
pub(crate) fn is_printable(s: &str) -> bool {
    !s.chars().any(is_hidden)
}

/// `s` as one shell word ([`shell_word`]) in a command printed to be
/// copied and run, or `placeholder` (`FILE`, `TAG`) where none keeps it on
/// one visible line: the value as [`line`] shows it would be pasted as
/// shell syntax (`a\u{200b}$(id).tgz` runs `id`).
pub(crate) fn shell_word_or(s: &str, placeholder: &str) -> String {
    // Printed, never run by us: a URL's user and password stay hidden here
    // as on every other line ([`url_credentials_hidden`]).
    shell_word(&url_credentials_hidden(s)).unwrap_or_else(|| placeholder.to_owned())
}

/// `s` as one POSIX shell word that means exactly `s`: bare when made only
/// of characters no shell treats specially, else in single quotes (an
/// embedded `'` written `'\''`). `None` when `s` is not [`is_printable`]: a
/// POSIX shell has no quoting that keeps such a value on one visible line
/// (`$'..'` is not in dash).
pub(crate) fn shell_word(s: &str) -> Option<String> {
    if !is_printable(s) {
        return None;
    }
    // No `:`, so a bare word never starts with `::`.
    let bare = |c: char| c.is_ascii_alphanumeric() || "@%+=,./_-".contains(c);
    if !s.is_empty() && s.chars().all(bare) {
        return Some(s.to_owned());
    }
    // `''` between `##` and `[` means nothing to a shell, and keeps the
    // legacy workflow-command prefix out of the printed line.
    let quoted = s.replace('\'', r"'\''").replace("##[", "##''[");
    Some(format!("'{quoted}'"))
}

#[cfg(test)]
mod tests {

    /// One way to say "the first few and how many more", whatever the list.
    #[test]
    fn first_of_names_a_few_then_counts_the_rest() {
        let names = |n: usize| (1..n + 1).map(|i| format!("n{i}"));
        assert_eq!(first_of(names(2), 3), "n1, n2");
        assert_eq!(first_of(names(3), 3), "n1, n2, n3");
        assert_eq!(first_of(names(5), 3), "n1, n2, n3, and 2 more");
        assert_eq!(first_of_joined(names(4), 2, "; "), "n1; n2; and 2 more");
    }
    use super::*;

    /// A character that shows nothing is shown escaped: a name holding one
    /// would read as another. Regression: zero-width, soft hyphen, BOM and
    /// tag characters were printed as they came.
    #[test]
    fn invisible_characters_are_escaped() {
        assert_eq!(
            line("tool\u{200b}.exe\u{feff}\u{ad}\u{e0041}\u{2060}\u{180e}"),
            r"tool\u{200b}.exe\u{feff}\u{ad}\u{e0041}\u{2060}\u{180e}"
        );
        // What reads as itself stays: accents, CJK, emoji, a variation selector.
        let kept = "café 日本 ✅ ⚠\u{fe0f}";
        assert_eq!(line(kept), kept);
    }

    /// A secret cut by a cap is still hidden: the start of it that the cut
    /// left, not only a whole one.
    #[test]
    fn a_secret_cut_by_the_cap_is_hidden() {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm8vciJ9.c2lnbmF0dXJlLXNlY3JldA";
        let text = format!("{}{token} echoed", "x".repeat(40));
        for cut in [70, 80, 100] {
            let shown = secret_hidden(capped(&text, cut), token);
            assert!(!shown.contains("c2lnbmF0"), "{cut}: {shown}");
            assert!(!shown.contains("eyJzdWIi"), "{cut}: {shown}");
        }
        // Text that merely ends like the start of no secret is kept.
        assert_eq!(secret_hidden(capped(&text, 30), token), capped(&text, 30));
    }

    /// A URL's user and password are never shown, in a printed line or a
    /// log; the rest of it is. Regression: `--tuf-url
    /// https://user:pass@mirror/` was printed whole by the dry run and `-v`.
    #[test]
    fn a_urls_credentials_are_hidden() {
        assert_eq!(
            line("TUF repository https://user:s3cret@mirror.example:8443/tuf failed"),
            "TUF repository https://…@mirror.example:8443/tuf failed"
        );
        assert_eq!(
            url_queries_hidden("GET https://u:p@h/a?sig=S"),
            "GET https://…@h/a?…"
        );
        // An @ after the host is the path's.
        assert_eq!(line("https://h/a@b?x@y"), "https://h/a@b?x@y");
        assert_eq!(line("mail me@example.com"), "mail me@example.com");
        // A password holding a quote: the URL does not end at it.
        // Regression: `https://builder:s3cr` was taken for the URL, and
        // `'et@fulcio...` printed as text after it.
        for quote in ['\'', '"', '`', '<', '>'] {
            assert_eq!(
                line(format!(
                    "--fulcio-url `https://builder:s3cr{quote}et-pw@f.example/x` is bad"
                )),
                "--fulcio-url `https://…@f.example/x` is bad",
            );
        }
        // A URL quoted the usual way keeps its end.
        assert_eq!(
            line("`https://h.example` and `https://u:p@g.example/`"),
            "`https://h.example` and `https://…@g.example/`"
        );
        // An `@` after the quote, then another URL: the next URL is its
        // own, and hides its credentials. Regression: the first took the
        // next one's scheme, and the rest was printed whole.
        let shown = line(r#"["https://a","x@y","https://u:p@h/"]"#);
        assert!(!shown.contains("u:p"), "{shown}");
        assert!(shown.contains("https://…@h/"), "{shown}");
    }

    /// Two URLs run together are two: the second's credentials are hidden.
    /// A URL cut inside its authority hides what is left of it. Regression:
    /// `https://a/,https://u:p@b/`, or two URLs joined by an escaped line
    /// break (a workflow command's `%0A`), read as one URL whose authority
    /// holds no `@`, and a cap could leave `https://user:s3…`.
    #[test]
    fn run_together_or_cut_urls_keep_their_credentials_hidden() {
        assert_eq!(
            line("https://a.example/,https://u:s3cret@b.example/x"),
            "https://a.example/,https://…@b.example/x"
        );
        assert_eq!(
            line("https://a.example%0Ahttps://u:s3cret@b.example/x"),
            "https://a.example%0Ahttps://…@b.example/x"
        );
        assert_eq!(
            line(capped("see https://user:s3cret@h/", 18)),
            "see https://…"
        );
        // A cut after the authority keeps it.
        assert_eq!(
            line(capped("https://h.example/abcdef", 20)),
            "https://h.example/ab…"
        );
    }

    #[test]
    fn lines_show_what_would_break_them() {
        assert_eq!(line("a\nb\r\tc"), r"a\nb\r\tc");
        assert_eq!(
            line("x\x1b[2J\x07\x7f\u{85}\u{9b}y"),
            r"x\u{1b}[2J\u{7}\u{7f}\u{85}\u{9b}y"
        );
        assert_eq!(
            line("exe.\u{202e}fdp\u{2066}\u{2028}\u{2029}\u{200f}"),
            r"exe.\u{202e}fdp\u{2066}\u{2028}\u{2029}\u{200f}"
        );
        assert_eq!(line("plain café/ü path\\x"), "plain café/ü path\\x");
        assert_eq!(line(std::path::Path::new("d/a b").display()), "d/a b");
    }

    #[test]
    fn an_unquotable_word_is_its_placeholder() {
        assert_eq!(shell_word_or("a b", "FILE"), "'a b'");
        assert_eq!(shell_word_or("a\u{200b}$(id)", "FILE"), "FILE");
        assert_eq!(shell_word_or("x\ny", "TAG"), "TAG");
    }

    #[test]
    fn capped_text_is_cut_at_a_character_and_says_so() {
        assert_eq!(capped("abc", 3), "abc");
        assert_eq!(capped("abcd", 3), "abc…");
        assert_eq!(capped("ééé", 2), "éé…");
        assert_eq!(capped("", 0), "");
    }

    #[test]
    fn url_queries_are_hidden_and_the_rest_kept() {
        assert_eq!(
            url_queries_hidden("GET http.url=https://h/a/b?sig=S&jwt=J otel.kind=\"client\""),
            "GET http.url=https://h/a/b?… otel.kind=\"client\""
        );
        assert_eq!(
            url_queries_hidden("to \"http://x/y#frag\" and HTTPS://z/?q=1\tnext"),
            "to \"http://x/y#…\" and HTTPS://z/?…\tnext"
        );
        assert_eq!(url_queries_hidden("git+ssh://h/p?x"), "git+ssh://h/p?…");
        // No URL: nothing changes, nothing is copied.
        let plain = "a ? b # c";
        assert!(matches!(url_queries_hidden(plain), std::borrow::Cow::Borrowed(p) if p == plain));
        // `://` with no scheme before it is not a URL.
        assert_eq!(url_queries_hidden("x ://y?z"), "x ://y?z");
        assert_eq!(url_queries_hidden("https://h/p?"), "https://h/p?…");
    }

    #[test]
    fn lines_hold_no_workflow_command() {
        assert_eq!(line("::warning::x"), r"\u{3a}:warning::x");
        assert_eq!(line(" \u{3000}::error::x"), " \u{3000}\\u{3a}:error::x");
        assert_eq!(line("a::b"), "a::b");
        assert_eq!(line(":x"), ":x");
        assert_eq!(line("a ##[warning]b"), r"a ##\u{5b}warning]b");
        assert_eq!(line("#[x] ###[y]"), r"#[x] ###\u{5b}y]");
        // A line break followed by a command is one line, the command shown.
        assert_eq!(line("x\n::warning::y"), r"x\n::warning::y");
    }

    #[test]
    fn shell_words_are_bare_only_when_inert() {
        assert_eq!(
            shell_word("o/r@refs/tags/v1.0_rc-1+b=2,x%").as_deref(),
            Some("o/r@refs/tags/v1.0_rc-1+b=2,x%")
        );
        assert_eq!(
            shell_word("https://github.com/o/r").as_deref(),
            Some("'https://github.com/o/r'")
        );
        assert_eq!(shell_word("::x").as_deref(), Some("'::x'"));
        assert_eq!(shell_word("").as_deref(), Some("''"));
        assert_eq!(shell_word("a b").as_deref(), Some("'a b'"));
        assert_eq!(shell_word("it's").as_deref(), Some(r"'it'\''s'"));
        assert_eq!(shell_word("a\nb"), None);
        assert_eq!(shell_word("a\u{202e}b"), None);
    }

    /// What the shell makes of each quoted word is the original value.
    #[test]
    fn shell_words_round_trip_through_sh() {
        let hostile = [
            "refs/heads/x'; echo pwned; echo '",
            "$(id)`id`${HOME}$HOME",
            "a\\b\\'c\"d",
            "';'\"'\"''",
            "*?[a-z]~!#&|<>(){} ",
            "-n",
            "##[warning]x ::error::y",
            "",
            "ünï cødé",
        ];
        for value in hostile {
            let word = shell_word(value).unwrap();
            assert!(!word.contains("##["), "{word}");
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {word}"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{word}");
            assert_eq!(String::from_utf8(out.stdout).unwrap(), value, "{word}");
        }
    }
}
