//! The customer code itself: 12 characters of Crockford's base32 (no `I`, `L`, `O`, `U`,
//! so nothing reads as another character), 60 bits from the operating system's secure
//! random source, shown in three groups of four to read aloud (`K7QM-3XHD-9PTA`).

use rand::Rng;
use rand::rngs::OsRng;

/// Crockford's base32 alphabet.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of a code; 5 bits each.
pub const LENGTH: usize = 12;

/// A new code in its stored form (no dashes).
pub fn generate() -> String {
    let mut rng = OsRng;
    (0..LENGTH)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// A typed code in its stored form: upper case, spaces and dashes dropped, and the
/// look-alikes read as Crockford reads them (`O` → `0`, `I`/`L` → `1`).
pub fn normalize(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '‐' | '‑' | '–' | '—'))
        .flat_map(char::to_uppercase)
        .map(|c| match c {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

/// The stored code as people read it: groups of four joined by dashes.
pub fn display(stored: &str) -> String {
    let chars: Vec<char> = stored.chars().collect();
    chars
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_unambiguous_alphabet_and_are_grouped_in_fours() {
        let code = generate();
        assert_eq!(code.len(), LENGTH);
        assert!(code.bytes().all(|b| ALPHABET.contains(&b)));
        assert!(!code.contains(['I', 'L', 'O', 'U']));
        let shown = display(&code);
        assert_eq!(shown.len(), 14);
        assert_eq!(shown.matches('-').count(), 2);
        assert_eq!(normalize(&shown), code);
    }

    #[test]
    fn typed_codes_fold_case_spaces_dashes_and_look_alikes() {
        assert_eq!(normalize(" k7qm-3xhd 9pta "), "K7QM3XHD9PTA");
        assert_eq!(normalize("OIL0-il1o"), "01101110");
    }

    #[test]
    fn generated_codes_differ() {
        let codes: std::collections::HashSet<String> = (0..1000).map(|_| generate()).collect();
        assert_eq!(codes.len(), 1000);
    }
}
