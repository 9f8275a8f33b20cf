//! The string formats the checker knows (`uuid`, `date-time`, `email`, `uri`).

/// A hyphenated RFC 4122 UUID (`8-4-4-4-12` hex digits).
pub(super) fn is_uuid(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// An RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub(super) fn is_date_time(s: &str) -> bool {
    fn digits(s: &str, range: std::ops::Range<usize>, max: u32) -> bool {
        s.get(range)
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u32>().ok())
            .is_some_and(|n| n <= max)
    }
    let b = s.as_bytes();
    if b.len() < 20
        || !(digits(s, 0..4, 9999) && b[4] == b'-' && digits(s, 5..7, 12) && b[7] == b'-')
        || !(digits(s, 8..10, 31) && matches!(b[10], b'T' | b't'))
        || !(digits(s, 11..13, 23) && b[13] == b':' && digits(s, 14..16, 59) && b[16] == b':')
        || !digits(s, 17..19, 60)
        || &s[5..7] == "00"
        || &s[8..10] == "00"
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', ..] if rest.len() == 6 => {
            digits(rest, 1..3, 23) && rest.as_bytes()[3] == b':' && digits(rest, 4..6, 59)
        }
        _ => false,
    }
}

/// An email address (RFC 5321 mailbox, loosely: one `@`, a non-empty local part and domain,
/// no whitespace, a domain of letters, digits, dots and hyphens).
pub(super) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !local.chars().any(|c| c.is_whitespace() || c == '@')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// An absolute URI (RFC 3986): a scheme, `:`, and only URI characters (`%` escapes valid).
pub(super) fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let bytes = rest.as_bytes();
    let chars_ok = bytes.iter().enumerate().all(|(i, &b)| {
        b.is_ascii_alphanumeric()
            || b"-._~:/?#[]@!$&'()*+,;=".contains(&b)
            || (b == b'%'
                && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    scheme_ok && !rest.is_empty() && chars_ok
}
