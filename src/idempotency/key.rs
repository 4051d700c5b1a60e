//! The header's value: a bare token, or a structured-field string (RFC 8941) as the
//! draft writes it (`Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"`).

/// The key, or `None` when the value is malformed.
pub fn parse(raw: &[u8]) -> Option<String> {
    let value = std::str::from_utf8(raw).ok()?.trim_matches([' ', '\t']);
    let key = match value.strip_prefix('"') {
        Some(quoted) => unquote(quoted)?,
        None => value.to_string(),
    };
    let printable = key.bytes().all(|b| (0x20..=0x7e).contains(&b));
    ((1..=255).contains(&key.len()) && printable).then_some(key)
}

/// The inside of a structured-field string whose opening quote is gone: `\"` and `\\`
/// are the only escapes, and nothing may follow the closing quote.
fn unquote(rest: &str) -> Option<String> {
    let mut key = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                escaped @ ('"' | '\\') => key.push(escaped),
                _ => return None,
            },
            '"' => return chars.next().is_none().then_some(key),
            other => key.push(other),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_and_quoted_keys_are_the_same_key() {
        assert_eq!(parse(b"abc-123").as_deref(), Some("abc-123"));
        assert_eq!(parse(b"\"abc-123\"").as_deref(), Some("abc-123"));
        assert_eq!(parse(br#""a \"b\" \\c""#).as_deref(), Some(r#"a "b" \c"#));
        assert_eq!(parse(b"  spaced  ").as_deref(), Some("spaced"));
    }

    #[test]
    fn empty_long_non_ascii_or_broken_quoting_is_malformed() {
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"\"\""), None);
        assert_eq!(parse("ä".as_bytes()), None);
        assert_eq!(parse(b"a\x01b"), None);
        assert_eq!(parse(&[b'k'; 256]), None);
        assert!(parse(&[b'k'; 255]).is_some());
        assert_eq!(parse(b"\"open"), None);
        assert_eq!(parse(b"\"a\"b"), None);
        assert_eq!(parse(b"\"a\\nb\""), None);
    }
}
