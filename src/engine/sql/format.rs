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

/// The ordinal suffix of `n` (`st`, `nd`, `rd`, `th`).
fn ordinal(n: u64) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// `n` in Roman numerals (1 to 3999).
fn roman(mut n: u64) -> String {
    const NUMERALS: &[(u64, &str)] = &[
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut out = String::new();
    for (value, numeral) in NUMERALS {
        while n >= *value {
            out.push_str(numeral);
            n -= value;
        }
    }
    out
}

/// One element of a numeric format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberElement {
    Nine,
    Zero,
    Decimal,
    Group,
    Sign,
    Minus,
    Brackets,
    Currency,
    Ordinal(bool),
    Literal(char),
}

/// `x` shown in the numeric `format` of `TO_CHAR` (`9`, `0`, `D`/`.`, `G`/`,`, `S`, `MI`, `PR`,
/// `L`/`$`, `TH`, `RN`, `FM`); a number with more integer digits than the format shows `#`s.
pub fn format_number(x: f64, format: &str) -> String {
    let mut fill_mode = false;
    let mut elements = Vec::new();
    let chars: Vec<char> = format.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let upper = two.to_ascii_uppercase();
        match upper.as_str() {
            "FM" => {
                fill_mode = true;
                i += 2;
                continue;
            }
            "RN" => {
                let r = roman(x.abs().round() as u64);
                return if two == "rn" { r.to_lowercase() } else { r };
            }
            "MI" => {
                elements.push(NumberElement::Minus);
                i += 2;
                continue;
            }
            "PR" => {
                elements.push(NumberElement::Brackets);
                i += 2;
                continue;
            }
            "TH" => {
                elements.push(NumberElement::Ordinal(two == "TH"));
                i += 2;
                continue;
            }
            _ => {}
        }
        elements.push(match chars[i] {
            '9' => NumberElement::Nine,
            '0' => NumberElement::Zero,
            'D' | 'd' | '.' => NumberElement::Decimal,
            'G' | 'g' | ',' => NumberElement::Group,
            'S' | 's' => NumberElement::Sign,
            'L' | 'l' | '$' => NumberElement::Currency,
            c => NumberElement::Literal(c),
        });
        i += 1;
    }
    let point = elements
        .iter()
        .position(|e| *e == NumberElement::Decimal)
        .unwrap_or(elements.len());
    let is_digit = |e: &NumberElement| matches!(e, NumberElement::Nine | NumberElement::Zero);
    let int_slots = elements[..point].iter().filter(|e| is_digit(e)).count();
    let frac_slots = elements[point..].iter().filter(|e| is_digit(e)).count();
    let negative = x < 0.0;
    let shown = format!("{:.*}", frac_slots, x.abs());
    let (int_part, frac_part) = shown.split_once('.').unwrap_or((shown.as_str(), ""));
    let int_digits: Vec<char> = int_part.trim_start_matches('0').chars().collect();
    let overflow = int_digits.len() > int_slots;
    // The integer section, right to left.
    let mut rendered: Vec<String> = vec![String::new(); elements.len()];
    let mut next = int_digits.len();
    let first_zero = elements[..point]
        .iter()
        .position(|e| *e == NumberElement::Zero);
    let mut leftmost_digit = None;
    for (k, e) in elements[..point].iter().enumerate().rev() {
        if !is_digit(e) {
            continue;
        }
        rendered[k] = if overflow {
            "#".to_string()
        } else if next > 0 {
            next -= 1;
            leftmost_digit = Some(k);
            int_digits[next].to_string()
        } else if first_zero.is_some_and(|z| z <= k) {
            leftmost_digit = Some(k);
            "0".to_string()
        } else {
            " ".to_string()
        };
    }
    let mut frac = frac_part.chars();
    let mut sign_placed = false;
    for (k, e) in elements.iter().enumerate() {
        match e {
            NumberElement::Nine | NumberElement::Zero if k > point => {
                rendered[k] = if overflow {
                    "#".to_string()
                } else {
                    frac.next().unwrap_or('0').to_string()
                };
            }
            NumberElement::Decimal => rendered[k] = ".".to_string(),
            NumberElement::Group => {
                rendered[k] = if leftmost_digit.is_some_and(|l| l < k) {
                    ",".to_string()
                } else {
                    " ".to_string()
                }
            }
            NumberElement::Sign => {
                sign_placed = true;
                rendered[k] = if negative { "-" } else { "+" }.to_string();
            }
            NumberElement::Minus => {
                sign_placed = true;
                rendered[k] = if negative { "-" } else { " " }.to_string();
            }
            NumberElement::Brackets => {
                sign_placed = true;
                rendered[k] = if negative { ">" } else { " " }.to_string();
            }
            NumberElement::Currency => rendered[k] = "$".to_string(),
            NumberElement::Ordinal(upper) => {
                let suffix = ordinal(int_part.parse::<u64>().unwrap_or(0));
                rendered[k] = if *upper {
                    suffix.to_ascii_uppercase()
                } else {
                    suffix.to_string()
                };
            }
            NumberElement::Literal(c) => rendered[k] = c.to_string(),
            _ => {}
        }
    }
    // Where the number starts: the sign (without S, MI or PR) or '<' goes right before it.
    let start = leftmost_digit
        .or_else(|| (point < elements.len()).then_some(point))
        .unwrap_or(0);
    let brackets = elements.contains(&NumberElement::Brackets);
    if brackets {
        rendered[start].insert(0, if negative { '<' } else { ' ' });
    } else if !sign_placed {
        rendered[start].insert(0, if negative { '-' } else { ' ' });
    }
    let out: String = rendered.concat();
    if fill_mode {
        out.trim().to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod number_tests {
    use super::format_number;

    #[test]
    fn documented_numeric_formats() {
        assert_eq!(format_number(-125.8, "999D99S"), "125.80-");
        assert_eq!(format_number(-125.88, "$S999D99"), "$-125.88");
        assert_eq!(format_number(-125.88, "$999D99PR"), "$<125.88>");
        assert_eq!(format_number(125.0, "RN"), "CXXV");
        assert_eq!(format_number(482.0, "999th"), " 482nd");
        assert_eq!(format_number(618.80, "l99999D99"), "$   618.80");
        assert_eq!(format_number(618.80, "rn"), "dcxix");
        assert_eq!(format_number(12454.8, "99G999D9"), " 12,454.8");
        assert_eq!(format_number(1234.0, "99"), " ##");
    }
}
