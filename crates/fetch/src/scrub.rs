//! Removing the access token from text that came from upstream, in every form a server may
//! echo it in.
//!
//! A server that quotes the request (an error page, a JSON error, a proxy's log line) may send
//! the token back raw, percent-encoded (either hex case, even twice), as HTML character
//! references (decimal, hex or named), as JSON or C-style escapes, or any mix of these, one
//! character at a time. The scrubber matches the token character by character, decoding
//! each character from whichever of those forms it finds, so every mix is caught. A run of
//! at least [`MIN_PREFIX`] token characters is removed wherever it appears (a server may cut
//! the token), and so is a shorter start of the token that runs to the end of the text if it
//! takes at least [`MIN_PREFIX`] bytes there.

/// The shortest start of the token that is removed when it is not followed by the rest.
pub(crate) const MIN_PREFIX: usize = 8;

/// What replaces the token.
const MARK: &str = "***";

/// Named HTML character references of the characters a token may hold.
const NAMED: &[(&str, u8)] = &[
    ("verbar", b'|'),
    ("vert", b'|'),
    ("VerticalLine", b'|'),
    ("lowbar", b'_'),
    ("UnderBar", b'_'),
    ("period", b'.'),
    ("hyphen", b'-'),
    ("dash", b'-'),
    ("tilde", b'~'),
];

/// One character read from the text.
enum Decoded {
    /// The character and how many bytes it took.
    Char(u32, usize),
    /// The text ends inside what may be an encoded character.
    Partial,
    /// Nothing at all (the end of the text).
    End,
}

/// `text` with every occurrence of `token` (in any encoding, or cut as described in the module
/// documentation) replaced by `***`.
pub(crate) fn scrub(token: &str, text: &str) -> String {
    let token = token.as_bytes();
    if token.is_empty() {
        return text.to_string();
    }
    let b = text.as_bytes();
    let min_chars = MIN_PREFIX.min(token.len());
    let mut out = String::with_capacity(text.len());
    let (mut i, mut copied) = (0, 0);
    while i < b.len() {
        // A match starts with an ASCII byte: `i` is always a character boundary there.
        if !could_start(b[i], token[0]) {
            i += 1;
            continue;
        }
        let (chars, end, to_the_end) = match_at(token, b, i);
        let cut = to_the_end && b.len() - i >= MIN_PREFIX;
        if chars > 0 && (chars >= min_chars || cut) {
            out.push_str(&text[copied..i]);
            out.push_str(MARK);
            i = if to_the_end { b.len() } else { end };
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Whether a token starting with `first` may start at byte `b`.
fn could_start(b: u8, first: u8) -> bool {
    b == first || matches!(b, b'%' | b'&' | b'\\' | b'+')
}

/// How many token characters match from byte `start`, where the match ends, and whether it
/// runs to the end of the text (or into an encoding cut by the end).
fn match_at(token: &[u8], b: &[u8], start: usize) -> (usize, usize, bool) {
    let (mut j, mut k) = (start, 0);
    while k < token.len() {
        match decode(&b[j..]) {
            Decoded::Char(c, n) if c == u32::from(token[k]) => {
                k += 1;
                j += n;
            }
            Decoded::Char(..) => return (k, j, false),
            Decoded::Partial | Decoded::End => return (k, j, true),
        }
    }
    (k, j, j == b.len())
}

/// The character at the start of `s`, decoded from any of the forms the scrubber knows.
fn decode(s: &[u8]) -> Decoded {
    let Some(&first) = s.first() else {
        return Decoded::End;
    };
    let found = match first {
        b'%' => percent(s),
        b'&' => entity(s),
        b'\\' => escape(s),
        b'+' => Some((u32::from(b' '), 1)),
        _ => Some((u32::from(first), 1)),
    };
    match found {
        Some((c, n)) => Decoded::Char(c, n),
        None if cut_encoding(s) => Decoded::Partial,
        // Not an encoding: the byte stands for itself.
        None => Decoded::Char(u32::from(first), 1),
    }
}

/// Whether `s` (starting with `%`, `&` or `\`) is the start of an encoding cut by the end of
/// the text.
fn cut_encoding(s: &[u8]) -> bool {
    s.len() < 16
        && s[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'#')
}

fn hex(b: u8) -> Option<u32> {
    char::from(b).to_digit(16)
}

/// `%XX`, or `%25XX` (encoded twice).
fn percent(s: &[u8]) -> Option<(u32, usize)> {
    let v = hex(*s.get(1)?)? * 16 + hex(*s.get(2)?)?;
    if v == u32::from(b'%')
        && let Some((inner, n)) = percent(&s[2..])
    {
        return Some((inner, n + 2));
    }
    Some((v, 3))
}

/// `&#NN;`, `&#xHH;` (the `;` may be missing, as browsers allow) or a named reference, maybe
/// escaped twice (`&amp;#124;`).
fn entity(s: &[u8]) -> Option<(u32, usize)> {
    // Escaped twice: `&amp;#124;`. The `;` of `&amp;` stands in for the `&` of the inner
    // reference (this function never looks at its first byte).
    if s.starts_with(b"&amp;")
        && s.get(5)
            .is_some_and(|b| *b == b'#' || b.is_ascii_alphabetic())
        && let Some((c, n)) = entity(&s[4..])
    {
        return Some((c, n + 4));
    }
    if s.get(1) == Some(&b'#') {
        let (radix, digits_at) = match s.get(2) {
            Some(b'x' | b'X') => (16, 3),
            _ => (10, 2),
        };
        let digits = s[digits_at..]
            .iter()
            .take_while(|b| char::from(**b).is_digit(radix))
            .count();
        if digits == 0 {
            return None;
        }
        let mut v: u32 = 0;
        for &d in &s[digits_at..digits_at + digits] {
            let d = char::from(d).to_digit(radix)?;
            v = v.saturating_mul(radix).saturating_add(d);
        }
        let end = digits_at + digits;
        if end == s.len() {
            // Cut by the end of the text: maybe more digits followed.
            return None;
        }
        let semi = usize::from(s[end] == b';');
        return Some((v, end + semi));
    }
    let name_len = s[1..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if s.get(1 + name_len) != Some(&b';') {
        return None;
    }
    let name = &s[1..1 + name_len];
    NAMED
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .map(|&(_, c)| (u32::from(c), name_len + 2))
}

/// `\uXXXX` (JSON, either case), `\u{X..}` or `\xHH`, after one backslash or more (text
/// quoted again doubles them).
fn escape(s: &[u8]) -> Option<(u32, usize)> {
    let extra = s.iter().take_while(|b| **b == b'\\').count() - 1;
    let (c, n) = escape_one(&s[extra..])?;
    Some((c, n + extra))
}

fn escape_one(s: &[u8]) -> Option<(u32, usize)> {
    match s.get(1)? {
        b'u' | b'U' if s.get(2) == Some(&b'{') => {
            let digits = s[3..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if digits == 0 || digits > 6 || s.get(3 + digits) != Some(&b'}') {
                return None;
            }
            let v = s[3..3 + digits]
                .iter()
                .try_fold(0u32, |v, d| Some(v * 16 + hex(*d)?))?;
            Some((v, digits + 4))
        }
        b'u' | b'U' => {
            let v = s
                .get(2..6)?
                .iter()
                .try_fold(0u32, |v, d| Some(v * 16 + hex(*d)?))?;
            Some((v, 6))
        }
        b'x' | b'X' => Some((hex(*s.get(2)?)? * 16 + hex(*s.get(3)?)?, 4)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "MLY|TESTTOKEN|zz9fffSECRET";

    fn clean(text: &str) -> String {
        let out = scrub(TOKEN, text);
        for needle in ["TESTTOKEN", "SECRET", "zz9fff", "MLY|TEST"] {
            assert!(!out.contains(needle), "{text:?} -> {out:?}");
        }
        out
    }

    #[test]
    fn every_encoding_and_any_mix_is_removed() {
        let forms = [
            "MLY|TESTTOKEN|zz9fffSECRET",
            "MLY%7CTESTTOKEN%7Czz9fffSECRET",
            "MLY%7cTESTTOKEN%7czz9fffSECRET",
            "MLY%257CTESTTOKEN%257Czz9fffSECRET",
            "%4D%4c%59%7C%54ESTTOKEN%7Czz9fffSECRET",
            "MLY&#124;TESTTOKEN&#124;zz9fffSECRET",
            "MLY&#0124TESTTOKEN&#124zz9fffSECRET",
            "MLY&#x7c;TESTTOKEN&#X7C;zz9fffSECRET",
            "MLY&verbar;TESTTOKEN&vert;zz9fffSECRET",
            "MLY&amp;#124;TESTTOKEN&amp;verbar;zz9fffSECRET",
            "MLY\\u007cTESTTOKEN\\u007Czz9fffSECRET",
            "MLY\\u{7c}TESTTOKEN\\x7Czz9fffSECRET",
            "MLY\\\\u007cTESTTOKEN\\\\\\\\u007Czz9fffSECRET",
            "&#77;L%59\\u007c&#x54;ESTTOKEN&VerticalLine;zz9fff%53ECRET",
        ];
        for form in forms {
            let out = clean(&format!("GET /t?access_token={form}&x=1 HTTP/1.1"));
            assert_eq!(out, "GET /t?access_token=***&x=1 HTTP/1.1", "{form}");
        }
    }

    #[test]
    fn a_cut_token_is_removed() {
        // Eight or more token characters, wherever they are.
        assert_eq!(clean("a MLY|TESTTOKEN|zz9\"}"), "a ***\"}");
        assert_eq!(clean("a MLY%7CTESTTOKEN..."), "a ***...");
        // A shorter start, at the end of the text, if it takes eight bytes there.
        assert_eq!(clean("x=MLY%7CTE"), "x=***");
        assert_eq!(clean("x=MLY|TE&#8"), "x=***");
        assert_eq!(clean("x=MLY&#12"), "x=MLY&#12");
        assert_eq!(clean("x=MLY%7"), "x=MLY%7");
        // Unrelated text stays.
        assert_eq!(
            clean("MLY is fine, %7C too & \\u0041"),
            "MLY is fine, %7C too & \\u0041"
        );
    }

    #[test]
    fn text_around_it_keeps_its_characters() {
        assert_eq!(clean("é MLY|TESTTOKEN|zz9fffSECRET ü+ü"), "é *** ü+ü");
        assert_eq!(scrub("ab", "xabyab"), "x***y***");
    }

    #[test]
    fn random_text_never_panics_and_never_keeps_the_token() {
        let pieces = [
            "M", "L", "Y", "|", "%7C", "%7c", "&#124;", "&#x7C", "\\u007c", "TEST", "TOKEN",
            "zz9fff", "SECRET", "é", "ü", "€", "%", "&", "#", ";", "\\", "u", "x", "0", "%25",
            "&amp;", " ", "+", TOKEN,
        ];
        for _ in 0..5000 {
            let n = rand::random_range(0..24);
            let text: String = (0..n)
                .map(|_| pieces[rand::random_range(0..pieces.len())])
                .collect();
            let out = scrub(TOKEN, &text);
            assert!(!out.contains(TOKEN), "{text:?} -> {out:?}");
        }
    }
}
