//! The spellings people type for one value, folded into one: what linking compares and
//! what `q` searches look in.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Text folded for comparison: compatibility forms unified (NFKD), lower case, `ä ö ü`
/// as `ae oe ue` and `ß` as `ss` (so `MÜLLER` = `Müller` = `Mueller`, `Straß` =
/// `Strass`), other accents dropped (`é` = `e`), and whitespace runs as one space,
/// trimmed.
pub fn fold_text(raw: &str) -> String {
    let mut folded = String::with_capacity(raw.len());
    let mut pending_space = false;
    let mut previous = None;
    for c in raw.nfkd() {
        if c.is_whitespace() {
            pending_space = !folded.is_empty();
            previous = None;
            continue;
        }
        if is_combining_mark(c) {
            if c == '\u{308}' && matches!(previous, Some('a' | 'o' | 'u')) {
                folded.push('e');
            }
            continue;
        }
        if pending_space {
            folded.push(' ');
            pending_space = false;
        }
        if c == 'ß' || c == 'ẞ' {
            folded.push_str("ss");
            previous = None;
            continue;
        }
        let mut last = None;
        for lower in c.to_lowercase() {
            folded.push(lower);
            last = Some(lower);
        }
        previous = last;
    }
    folded
}

/// A number or code folded for comparison: compatibility forms unified (NFKC, so
/// full-width digits are digits), every whitespace removed, upper case.
pub fn fold_number(raw: &str) -> String {
    raw.nfkc()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Whether a value could be stored at all: PostgreSQL text holds no NUL character, so
/// a filter or number with one matches nothing (and must not reach the database).
pub fn storable(value: &str) -> bool {
    !value.contains('\0')
}

/// `%`, `_` and `\` escaped for a `LIKE … ESCAPE '\'` pattern.
pub fn like_pattern(folded: &str) -> String {
    let mut pattern = String::with_capacity(folded.len() + 2);
    pattern.push('%');
    for c in folded.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// What a `q` search over a record finds: its words folded and joined.
pub fn search_text(words: &[&str]) -> String {
    let mut text = String::new();
    for word in words.iter().filter(|w| !w.trim().is_empty()) {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&fold_text(word));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_umlauts_sharp_s_and_spaces() {
        for (a, b) in [
            ("MÜLLER", "Müller"),
            ("Müller", "Mueller"),
            ("Mu\u{308}ller", "mueller"),
            ("Straß", "Strass"),
            ("STRAẞE", "strasse"),
            ("  von   der  Heide ", "von der heide"),
            ("Ｍüller", "mueller"),
            ("Gößl", "Goessl"),
            ("José", "jose"),
        ] {
            assert_eq!(fold_text(a), fold_text(b), "{a} = {b}");
        }
        assert_ne!(fold_text("Müller"), fold_text("Muller"));
        assert_ne!(fold_text("Müller"), fold_text("Mülle"));
    }

    #[test]
    fn numbers_and_postal_codes_fold_spaces_case_and_width() {
        assert_eq!(fold_number(" 431 177 "), "431177");
        assert_eq!(fold_number("ab-12\u{a0}3"), "AB-123");
        assert_eq!(fold_number("３４１１７"), "34117");
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(
            search_text(&["Musterfirma GmbH", "K-1001"]),
            "musterfirma gmbh k-1001"
        );
    }
}
