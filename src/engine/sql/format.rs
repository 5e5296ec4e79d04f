//! Format strings: the datetime formats of AWS Clean Rooms SQL (`YYYY-MM-DD HH24:MI:SS`) and of
//! Spark SQL (`yyyy-MM-dd HH:mm:ss`) in the engine's own notation, and the numeric formats of
//! `TO_NUMBER` (`99G999D9S`).

use datafusion::common::{exec_err, Result};

/// A datetime format of Clean Rooms SQL in the engine's notation, and whether its names
/// (`MON`, `MONTH`, `DY`, `DAY`) are upper case.
///
/// # Errors
/// The element that has no equivalent (`J`, `IDDD`, `RM`, `W`, `CC`, `Q`, …).
pub fn clean_rooms_datetime(format: &str) -> std::result::Result<(String, bool), String> {
    let chars: Vec<char> = format.chars().collect();
    let mut out = String::new();
    let mut upper = false;
    let mut i = 0;
    // Longest elements first.
    const ELEMENTS: &[(&str, &str)] = &[
        ("HH24", "%H"),
        ("HH12", "%I"),
        ("YYYY", "%Y"),
        ("MONTH", "%B"),
        ("Month", "%B"),
        ("month", "%B"),
        ("DDD", "%j"),
        ("DAY", "%A"),
        ("Day", "%A"),
        ("day", "%A"),
        ("MON", "%b"),
        ("Mon", "%b"),
        ("mon", "%b"),
        ("A.M.", "%p"),
        ("P.M.", "%p"),
        ("a.m.", "%P"),
        ("p.m.", "%P"),
        ("IYYY", "%G"),
        ("YY", "%y"),
        ("MM", "%m"),
        ("DD", "%d"),
        ("DY", "%a"),
        ("Dy", "%a"),
        ("dy", "%a"),
        ("HH", "%I"),
        ("MI", "%M"),
        ("SS", "%S"),
        ("MS", "%3f"),
        ("US", "%6f"),
        ("AM", "%p"),
        ("PM", "%p"),
        ("am", "%P"),
        ("pm", "%P"),
        ("IW", "%V"),
        ("WW", "%U"),
        ("ID", "%u"),
        ("TZ", "%Z"),
        ("tz", "%Z"),
        ("OF", "%:z"),
    ];
    const UNSUPPORTED: &[&str] = &[
        "Y,YYY", "IDDD", "YYY", "IYY", "IY", "RM", "rm", "CC", "BC", "AD", "B.C.", "A.D.", "J",
        "Q", "W", "I", "D", "Y",
    ];
    'outer: while i < chars.len() {
        let rest: String = chars[i..].iter().collect();
        if rest.starts_with("FM") || rest.starts_with("fm") {
            i += 2;
            continue;
        }
        if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                push_literal(&mut out, chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        for (element, chrono) in ELEMENTS {
            if rest.starts_with(element) {
                if matches!(*element, "MONTH" | "MON" | "DAY" | "DY") {
                    upper = true;
                }
                out.push_str(chrono);
                i += element.chars().count();
                continue 'outer;
            }
        }
        for element in UNSUPPORTED {
            if rest.starts_with(element) {
                return Err(format!(
                    "The datetime format element '{element}' is not supported by the emulator"
                ));
            }
        }
        push_literal(&mut out, chars[i]);
        i += 1;
    }
    Ok((out, upper))
}

/// A datetime pattern of Spark SQL (`yyyy-MM-dd`) in the engine's notation.
///
/// # Errors
/// The pattern letter that has no equivalent.
pub fn spark_datetime(pattern: &str) -> std::result::Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                push_literal(&mut out, chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let spec = match (c, n) {
            ('y', 2) => "%y",
            ('y', _) => "%Y",
            ('M', 1 | 2) | ('L', 1 | 2) => "%m",
            ('M', 3) | ('L', 3) => "%b",
            ('M', _) | ('L', _) => "%B",
            ('d', _) => "%d",
            ('D', _) => "%j",
            ('H', _) => "%H",
            ('h', _) => "%I",
            ('m', _) => "%M",
            ('s', _) => "%S",
            ('S', 1..=3) => "%3f",
            ('S', 4..=6) => "%6f",
            ('S', _) => "%9f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('z', _) | ('V', _) => "%Z",
            ('X', _) | ('x', _) | ('Z', _) => "%z",
            _ => {
                return Err(format!(
                    "The datetime pattern letter '{c}' is not supported by the emulator"
                ))
            }
        };
        out.push_str(spec);
        i += n;
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// The number `text` shows in the numeric `format` of `TO_NUMBER`.
///
/// # Errors
/// When the text has more integer or fraction digits than the format, or is no number.
pub fn parse_number(text: &str, format: &str) -> Result<f64> {
    let upper = format.to_ascii_uppercase();
    let (int_format, frac_format) = match upper.find(['D', '.']) {
        Some(p) => (&upper[..p], &upper[p + 1..]),
        None => (upper.as_str(), ""),
    };
    let digit_slots = |s: &str| s.chars().filter(|c| matches!(c, '9' | '0')).count();
    let (int_slots, frac_slots) = (digit_slots(int_format), digit_slots(frac_format));
    let mut negative = false;
    let mut int_digits = String::new();
    let mut frac_digits = String::new();
    let mut in_fraction = false;
    let trimmed = text.trim();
    if trimmed.starts_with('<') && trimmed.ends_with('>') && upper.contains("PR") {
        negative = true;
    }
    for c in trimmed.chars() {
        match c {
            '0'..='9' if in_fraction => frac_digits.push(c),
            '0'..='9' => int_digits.push(c),
            '.' => in_fraction = true,
            '-' => negative = true,
            '+' | ',' | '$' | ' ' | '<' | '>' => {}
            _ => {
                return exec_err!(
                    "TO_NUMBER: the string '{text}' does not match the format '{format}'"
                )
            }
        }
    }
    let significant = int_digits.trim_start_matches('0');
    if significant.len() > int_slots || frac_digits.len() > frac_slots {
        return exec_err!("TO_NUMBER: the string '{text}' does not fit the format '{format}'");
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return exec_err!("TO_NUMBER: the string '{text}' holds no number");
    }
    let value: f64 = format!(
        "{}.{}",
        if int_digits.is_empty() {
            "0"
        } else {
            &int_digits
        },
        if frac_digits.is_empty() {
            "0"
        } else {
            &frac_digits
        }
    )
    .parse()
    .map_err(|_| {
        datafusion::error::DataFusionError::Execution(format!(
            "TO_NUMBER: the string '{text}' is not a number"
        ))
    })?;
    Ok(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_the_documented_formats() {
        assert_eq!(parse_number("12.5", "99D9").ok(), Some(12.5));
        assert_eq!(parse_number("12.345", "99D999").ok(), Some(12.345));
        assert_eq!(parse_number("12,454.8-", "99G999D9S").ok(), Some(-12454.8));
        assert_eq!(
            parse_number("$ 12,454.88", "L 99G999D99").ok(),
            Some(12454.88)
        );
        assert_eq!(
            parse_number("$ 2,012,454.88", "L 9,999,999.99").ok(),
            Some(2_012_454.88)
        );
        assert!(parse_number("123.5", "99D9").is_err());
    }

    #[test]
    fn datetime_formats() {
        assert_eq!(
            clean_rooms_datetime("YYYY-MM-DD").ok(),
            Some(("%Y-%m-%d".to_string(), false))
        );
        assert_eq!(
            clean_rooms_datetime("DD Mon YYYY").ok(),
            Some(("%d %b %Y".to_string(), false))
        );
        assert_eq!(
            clean_rooms_datetime("HH24:MI:SS.MS").ok(),
            Some(("%H:%M:%S.%3f".to_string(), false))
        );
        assert_eq!(
            spark_datetime("yyyy-MM-dd HH:mm:ss").ok(),
            Some("%Y-%m-%d %H:%M:%S".into())
        );
    }
}
