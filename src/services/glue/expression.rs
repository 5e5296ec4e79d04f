//! The GetPartitions `Expression` filter (spec B.5): a SQL-WHERE-like predicate over partition
//! keys, parsed into an [`Expr`], then compiled against a table's partition keys into a
//! [`Filter`] that decides, partition by partition, whether it is returned.
//!
//! Grammar (keywords case-insensitive):
//! ```text
//! expr      := and_expr { OR and_expr }
//! and_expr  := unary { AND unary }
//! unary     := NOT unary | '(' expr ')' | predicate
//! predicate := key op literal | literal op key        op: = <> != < <= > >=
//!            | key [NOT] IN '(' literal {',' literal} ')'
//!            | key [NOT] BETWEEN literal AND literal
//!            | key [NOT] LIKE 'pattern'                 % any run, _ one character, \ escapes
//!            | key IS [NOT] NULL
//! literal   := 'single-quoted string' ('' is a quote) | number
//! key       := identifier | `quoted` | "quoted"        matched case-insensitively
//! ```
//! Both sides of a comparison are converted to the declared type of the partition key before
//! comparing: `string`/`char`/`varchar` compare as text, `tinyint`/`smallint`/`int`/`bigint`/
//! `long` as integers, `decimal` exactly as decimals, `date` (`YYYY-MM-DD`) and `timestamp`
//! (`YYYY-MM-DD hh:mm:ss[.fffffffff]`) chronologically. So `year > '9'` is numeric for an `int`
//! key and textual for a `string` key. The stored value `__HIVE_DEFAULT_PARTITION__` is Hive's
//! NULL partition: it matches `IS NULL`, and every comparison with it is unknown (SQL
//! three-valued logic), so neither `k = 'x'` nor `NOT k = 'x'` returns it.

use std::cmp::Ordering;
use std::fmt;

use cleanrooms_emulator_api::glue::dto;

use super::errors::{invalid_input, invalid_state};
use crate::error::AwsResult;

/// The value Hive stores for a NULL partition value.
pub const HIVE_NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

// ------------------------------------------------------------------------------------------
// Syntax
// ------------------------------------------------------------------------------------------

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>` or `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator with its operands swapped (`a < b` is `b > a`).
    fn flipped(self) -> Self {
        match self {
            Self::Lt => Self::Gt,
            Self::Le => Self::Ge,
            Self::Gt => Self::Lt,
            Self::Ge => Self::Le,
            other => other,
        }
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Self::Eq => ordering == Ordering::Equal,
            Self::Ne => ordering != Ordering::Equal,
            Self::Lt => ordering == Ordering::Less,
            Self::Le => ordering != Ordering::Greater,
            Self::Gt => ordering == Ordering::Greater,
            Self::Ge => ordering != Ordering::Less,
        }
    }
}

/// A literal as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// `'text'`
    Str(String),
    /// `42`, `-1.5`
    Num(String),
}

impl Literal {
    fn text(&self) -> &str {
        match self {
            Self::Str(s) | Self::Num(s) => s,
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Self::Num(n) => f.write_str(n),
        }
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `a OR b`
    Or(Box<Expr>, Box<Expr>),
    /// `a AND b`
    And(Box<Expr>, Box<Expr>),
    /// `NOT a`
    Not(Box<Expr>),
    /// `key op literal`
    Compare {
        /// Partition key as written.
        key: String,
        /// Operator (already oriented as `key op value`).
        op: CmpOp,
        /// Right-hand side.
        value: Literal,
    },
    /// `key [NOT] IN (…)`
    In {
        /// Partition key as written.
        key: String,
        /// The list.
        values: Vec<Literal>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `key [NOT] BETWEEN low AND high`
    Between {
        /// Partition key as written.
        key: String,
        /// Lower bound (inclusive).
        low: Literal,
        /// Upper bound (inclusive).
        high: Literal,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `key [NOT] LIKE 'pattern'`
    Like {
        /// Partition key as written.
        key: String,
        /// The pattern.
        pattern: String,
        /// `NOT LIKE`.
        negated: bool,
    },
    /// `key IS [NOT] NULL`
    IsNull {
        /// Partition key as written.
        key: String,
        /// `IS NOT NULL`.
        negated: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    QuotedIdent(String),
    Str(String),
    Num(String),
    Op(CmpOp),
    LParen,
    RParen,
    Comma,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ident(s) => write!(f, "{s}"),
            Self::QuotedIdent(s) => write!(f, "`{s}`"),
            Self::Str(s) => write!(f, "'{s}'"),
            Self::Num(s) => write!(f, "{s}"),
            Self::Op(op) => f.write_str(match op {
                CmpOp::Eq => "=",
                CmpOp::Ne => "<>",
                CmpOp::Lt => "<",
                CmpOp::Le => "<=",
                CmpOp::Gt => ">",
                CmpOp::Ge => ">=",
            }),
            Self::LParen => f.write_str("("),
            Self::RParen => f.write_str(")"),
            Self::Comma => f.write_str(","),
        }
    }
}

/// Why an expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::LParen);
                i += 1;
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '=' => {
                tokens.push(Token::Op(CmpOp::Eq));
                i += if chars.get(i + 1) == Some(&'=') { 2 } else { 1 };
            }
            '<' => match chars.get(i + 1) {
                Some('>') => {
                    tokens.push(Token::Op(CmpOp::Ne));
                    i += 2;
                }
                Some('=') => {
                    tokens.push(Token::Op(CmpOp::Le));
                    i += 2;
                }
                _ => {
                    tokens.push(Token::Op(CmpOp::Lt));
                    i += 1;
                }
            },
            '>' => {
                if chars.get(i + 1) == Some(&'=') {
                    tokens.push(Token::Op(CmpOp::Ge));
                    i += 2;
                } else {
                    tokens.push(Token::Op(CmpOp::Gt));
                    i += 1;
                }
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                tokens.push(Token::Op(CmpOp::Ne));
                i += 2;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(ParseError("unterminated string literal".into()));
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Str(s));
            }
            '`' | '"' => {
                let close = c;
                let start = i + 1;
                let end = chars[start..]
                    .iter()
                    .position(|&ch| ch == close)
                    .map(|p| start + p)
                    .ok_or_else(|| ParseError("unterminated quoted identifier".into()))?;
                let name: String = chars[start..end].iter().collect();
                if name.is_empty() {
                    return Err(ParseError("empty quoted identifier".into()));
                }
                tokens.push(Token::QuotedIdent(name));
                i = end + 1;
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+' || c == '.')
                    && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                let mut seen_dot = c == '.';
                while let Some(&ch) = chars.get(i) {
                    if ch.is_ascii_digit() {
                        i += 1;
                    } else if ch == '.' && !seen_dot {
                        seen_dot = true;
                        i += 1;
                    } else {
                        break;
                    }
                }
                if chars
                    .get(i)
                    .is_some_and(|ch| ch.is_alphanumeric() || *ch == '_')
                {
                    return Err(ParseError(format!(
                        "unexpected character '{}' after number",
                        chars[i]
                    )));
                }
                tokens.push(Token::Num(chars[start..i].iter().collect()));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == '$')
                {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(ParseError(format!("unexpected character '{other}'"))),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(s)) if s.eq_ignore_ascii_case(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        if self.is_keyword(keyword) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<(), ParseError> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(self.unexpected(keyword))
        }
    }

    fn unexpected(&self, wanted: &str) -> ParseError {
        match self.peek() {
            Some(t) => ParseError(format!("expected {wanted} but found '{t}'")),
            None => ParseError(format!("expected {wanted} but the expression ended")),
        }
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and_expr()?;
        while self.eat_keyword("OR") {
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while self.eat_keyword("AND") {
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_keyword("NOT") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let inner = self.expr()?;
            if self.next() != Some(Token::RParen) {
                self.pos -= 1;
                return Err(self.unexpected("')'"));
            }
            return Ok(inner);
        }
        self.predicate()
    }

    fn key(&mut self) -> Option<String> {
        match self.peek() {
            Some(Token::QuotedIdent(s)) => {
                let s = s.clone();
                self.pos += 1;
                Some(s)
            }
            Some(Token::Ident(s)) if !is_reserved(s) => {
                let s = s.clone();
                self.pos += 1;
                Some(s)
            }
            _ => None,
        }
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        match self.peek() {
            Some(Token::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(Literal::Str(s))
            }
            Some(Token::Num(n)) => {
                let n = n.clone();
                self.pos += 1;
                Ok(Literal::Num(n))
            }
            _ => Err(self.unexpected("a literal")),
        }
    }

    fn predicate(&mut self) -> Result<Expr, ParseError> {
        let Some(key) = self.key() else {
            // `literal op key`
            if matches!(self.peek(), Some(Token::Str(_) | Token::Num(_))) {
                let value = self.literal()?;
                let Some(Token::Op(op)) = self.next() else {
                    self.pos -= 1;
                    return Err(self.unexpected("a comparison operator"));
                };
                let key = self
                    .key()
                    .ok_or_else(|| self.unexpected("a partition key"))?;
                return Ok(Expr::Compare {
                    key,
                    op: op.flipped(),
                    value,
                });
            }
            return Err(self.unexpected("a partition key"));
        };
        if let Some(Token::Op(op)) = self.peek().cloned() {
            self.pos += 1;
            let value = self.literal()?;
            return Ok(Expr::Compare { key, op, value });
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            self.expect_keyword("NULL")?;
            return Ok(Expr::IsNull { key, negated });
        }
        let negated = self.eat_keyword("NOT");
        if self.eat_keyword("IN") {
            if self.next() != Some(Token::LParen) {
                self.pos -= 1;
                return Err(self.unexpected("'('"));
            }
            let mut values = vec![self.literal()?];
            loop {
                match self.next() {
                    Some(Token::Comma) => values.push(self.literal()?),
                    Some(Token::RParen) => break,
                    _ => {
                        self.pos -= 1;
                        return Err(self.unexpected("',' or ')'"));
                    }
                }
            }
            return Ok(Expr::In {
                key,
                values,
                negated,
            });
        }
        if self.eat_keyword("BETWEEN") {
            let low = self.literal()?;
            self.expect_keyword("AND")?;
            let high = self.literal()?;
            return Ok(Expr::Between {
                key,
                low,
                high,
                negated,
            });
        }
        if self.eat_keyword("LIKE") {
            return match self.next() {
                Some(Token::Str(pattern)) => Ok(Expr::Like {
                    key,
                    pattern,
                    negated,
                }),
                _ => {
                    self.pos -= 1;
                    Err(self.unexpected("a string pattern"))
                }
            };
        }
        Err(self.unexpected(if negated {
            "IN, BETWEEN or LIKE"
        } else {
            "an operator"
        }))
    }
}

fn is_reserved(word: &str) -> bool {
    ["AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "IS", "NULL"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(word))
}

/// Parses an expression; `Ok(None)` for a blank one (no filter).
///
/// # Errors
/// [`ParseError`] describing the first thing that does not fit the grammar.
pub fn parse(text: &str) -> Result<Option<Expr>, ParseError> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser { tokens, pos: 0 };
    let expr = parser.expr()?;
    if parser.pos < parser.tokens.len() {
        return Err(parser.unexpected("the end of the expression"));
    }
    Ok(Some(expr))
}

// ------------------------------------------------------------------------------------------
// Types and values
// ------------------------------------------------------------------------------------------

/// The comparison semantics of a partition key's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// `string`, `char`, `varchar`: text.
    String,
    /// `tinyint`, `smallint`, `int`, `bigint`, `long`: integers within the type's range.
    Integral {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// `decimal`, `decimal(p,s)`: exact decimals.
    Decimal,
    /// `date`: `YYYY-MM-DD`.
    Date,
    /// `timestamp`: `YYYY-MM-DD hh:mm:ss[.fffffffff]`.
    Timestamp,
}

impl KeyType {
    /// The semantics of a declared column type (`int`, `varchar(10)`, `decimal(10,2)`, …).
    ///
    /// # Errors
    /// `InvalidInputException` (`Unknown type : '<t>'`) for types a filter cannot use.
    pub fn of(declared: &str) -> AwsResult<Self> {
        let base = declared
            .split(['(', '<'])
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        Ok(match base.as_str() {
            "string" | "char" | "varchar" => Self::String,
            "tinyint" => Self::Integral {
                min: i64::from(i8::MIN),
                max: i64::from(i8::MAX),
            },
            "smallint" => Self::Integral {
                min: i64::from(i16::MIN),
                max: i64::from(i16::MAX),
            },
            "int" | "integer" => Self::Integral {
                min: i64::from(i32::MIN),
                max: i64::from(i32::MAX),
            },
            "bigint" | "long" => Self::Integral {
                min: i64::MIN,
                max: i64::MAX,
            },
            "decimal" => Self::Decimal,
            "date" => Self::Date,
            "timestamp" => Self::Timestamp,
            _ => return Err(invalid_input(format!("Unknown type : '{declared}'"))),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integral { .. } => "integral",
            Self::Decimal => "decimal",
            Self::Date => "date",
            Self::Timestamp => "timestamp",
        }
    }

    /// Converts text to a value of this type; `None` when it does not convert.
    fn cast(self, text: &str) -> Option<Typed> {
        match self {
            Self::String => Some(Typed::Str(text.to_string())),
            Self::Integral { min, max } => {
                let n: i64 = text.trim().parse().ok()?;
                (min..=max).contains(&n).then_some(Typed::Int(n))
            }
            Self::Decimal => Decimal::parse(text.trim()).map(Typed::Dec),
            Self::Date => parse_date(text.trim()).map(Typed::Date),
            Self::Timestamp => parse_timestamp(text.trim()).map(Typed::Timestamp),
        }
    }
}

/// An exact decimal: sign, integer digits without leading zeros, fraction digits without
/// trailing zeros (zero is unsigned with no digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    int: String,
    frac: String,
}

impl Decimal {
    /// Parses `[+-]digits[.digits]` (either side of the point may be empty, not both).
    pub fn parse(text: &str) -> Option<Self> {
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let int = int.trim_start_matches('0').to_string();
        let frac = frac.trim_end_matches('0').to_string();
        let negative = negative && !(int.is_empty() && frac.is_empty());
        Some(Self {
            negative,
            int,
            frac,
        })
    }

    fn cmp_abs(&self, other: &Self) -> Ordering {
        self.int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(&other.int))
            .then_with(|| self.frac.cmp(&other.frac))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_abs(other),
            (true, true) => other.cmp_abs(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn parse_date(text: &str) -> Option<time::Date> {
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.is_empty() || m.len() > 2 || d.is_empty() || d.len() > 2 {
        return None;
    }
    if ![y, m, d]
        .iter()
        .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

fn parse_timestamp(text: &str) -> Option<time::PrimitiveDateTime> {
    let (date, clock) = text.split_once([' ', 'T']).unwrap_or((text, "00:00:00"));
    let date = parse_date(date)?;
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = hms.splitn(3, ':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next().unwrap_or("0"));
    if ![h, m, s]
        .iter()
        .all(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
        || fraction.len() > 9
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let nanos: u32 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<9}").parse().ok()?
    };
    let t =
        time::Time::from_hms_nano(h.parse().ok()?, m.parse().ok()?, s.parse().ok()?, nanos).ok()?;
    Some(time::PrimitiveDateTime::new(date, t))
}

/// A value converted to a key's type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Typed {
    Str(String),
    Int(i64),
    Dec(Decimal),
    Date(time::Date),
    Timestamp(time::PrimitiveDateTime),
}

// ------------------------------------------------------------------------------------------
// Compiled filter
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum LikePart {
    Any,
    One,
    Char(char),
}

fn like_pattern(pattern: &str) -> Vec<LikePart> {
    let mut parts = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        parts.push(match c {
            '%' => LikePart::Any,
            '_' => LikePart::One,
            '\\' => LikePart::Char(chars.next().unwrap_or('\\')),
            c => LikePart::Char(c),
        });
    }
    parts
}

fn like_matches(pattern: &[LikePart], text: &[char]) -> bool {
    // Iterative wildcard matching with backtracking to the last `%`.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(LikePart::One) => {
                p += 1;
                t += 1;
            }
            Some(LikePart::Char(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            Some(LikePart::Any) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..]
        .iter()
        .all(|part| *part == LikePart::Any)
}

#[derive(Debug, Clone)]
enum Node {
    Or(Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Compare(usize, CmpOp, Typed),
    In(usize, Vec<Typed>, bool),
    Between(usize, Typed, Typed, bool),
    Like(usize, Vec<LikePart>, bool),
    IsNull(usize, bool),
}

/// A parsed expression bound to a table's partition keys, ready to test partitions.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
    /// The keys the expression uses: position among the partition keys, name, type.
    keys: Vec<(usize, String, KeyType)>,
}

/// Compiles `expression` against `partition_keys`; `Ok(None)` for a blank expression.
///
/// # Errors
/// `InvalidInputException` when the expression does not parse, names a column that is not a
/// partition key, uses `LIKE` on a non-string key, has a literal that does not convert to its
/// key's type, or refers to a key of a type filters cannot use.
pub fn compile(expression: &str, partition_keys: &[dto::Column]) -> AwsResult<Option<Filter>> {
    let expr = parse(expression)
        .map_err(|e| invalid_input(format!("Unsupported expression '{expression}': {}", e.0)))?;
    let Some(expr) = expr else {
        return Ok(None);
    };
    let mut binder = Binder {
        partition_keys,
        keys: Vec::new(),
    };
    let root = binder.bind(&expr)?;
    Ok(Some(Filter {
        root,
        keys: binder.keys,
    }))
}

struct Binder<'a> {
    partition_keys: &'a [dto::Column],
    keys: Vec<(usize, String, KeyType)>,
}

impl Binder<'_> {
    /// Index into `self.keys` of partition key `name`, and its type.
    fn key(&mut self, name: &str) -> AwsResult<(usize, KeyType)> {
        let position = self
            .partition_keys
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                invalid_input(if self.partition_keys.is_empty() {
                    format!(
                        "Invalid partition expression! The table has no partition keys, so '{name}' cannot be filtered on"
                    )
                } else {
                    format!(
                        "Invalid partition expression! '{name}' is not a partition key (keys: {})",
                        self.partition_keys
                            .iter()
                            .map(|c| c.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            })?;
        let column = &self.partition_keys[position];
        let key_type = KeyType::of(column.r#type.as_deref().unwrap_or("string"))?;
        let index = match self.keys.iter().position(|(p, _, _)| *p == position) {
            Some(i) => i,
            None => {
                self.keys.push((position, column.name.clone(), key_type));
                self.keys.len() - 1
            }
        };
        Ok((index, key_type))
    }

    fn literal(key: &str, key_type: KeyType, literal: &Literal) -> AwsResult<Typed> {
        key_type.cast(literal.text()).ok_or_else(|| {
            invalid_input(format!(
                "Invalid partition expression! {literal} cannot be converted to the {} type of partition key '{key}'",
                key_type.name()
            ))
        })
    }

    fn bind(&mut self, expr: &Expr) -> AwsResult<Node> {
        Ok(match expr {
            Expr::Or(a, b) => Node::Or(Box::new(self.bind(a)?), Box::new(self.bind(b)?)),
            Expr::And(a, b) => Node::And(Box::new(self.bind(a)?), Box::new(self.bind(b)?)),
            Expr::Not(a) => Node::Not(Box::new(self.bind(a)?)),
            Expr::Compare { key, op, value } => {
                let (i, t) = self.key(key)?;
                Node::Compare(i, *op, Self::literal(key, t, value)?)
            }
            Expr::In {
                key,
                values,
                negated,
            } => {
                let (i, t) = self.key(key)?;
                let list = values
                    .iter()
                    .map(|v| Self::literal(key, t, v))
                    .collect::<AwsResult<Vec<_>>>()?;
                Node::In(i, list, *negated)
            }
            Expr::Between {
                key,
                low,
                high,
                negated,
            } => {
                let (i, t) = self.key(key)?;
                Node::Between(
                    i,
                    Self::literal(key, t, low)?,
                    Self::literal(key, t, high)?,
                    *negated,
                )
            }
            Expr::Like {
                key,
                pattern,
                negated,
            } => {
                let (i, t) = self.key(key)?;
                if t != KeyType::String {
                    return Err(invalid_input(
                        "Integral data type doesn't support operation 'LIKE'",
                    ));
                }
                Node::Like(i, like_pattern(pattern), *negated)
            }
            Expr::IsNull { key, negated } => {
                let (i, _) = self.key(key)?;
                Node::IsNull(i, *negated)
            }
        })
    }
}

impl Filter {
    /// Whether the partition with `values` (positional, as the table's partition keys) passes.
    ///
    /// # Errors
    /// `InvalidStateException` when a stored value the expression uses does not convert to its
    /// key's type.
    pub fn matches(&self, values: &[String]) -> AwsResult<bool> {
        let mut typed = Vec::with_capacity(self.keys.len());
        for (position, name, key_type) in &self.keys {
            typed.push(match values.get(*position) {
                None => None,
                Some(v) if v == HIVE_NULL_PARTITION => None,
                Some(v) => Some(key_type.cast(v).ok_or_else(|| {
                    invalid_state(format!(
                        "Stored value '{v}' of partition key '{name}' cannot be converted to its declared {} type",
                        key_type.name()
                    ))
                })?),
            });
        }
        Ok(eval(&self.root, &typed) == Some(true))
    }
}

/// Three-valued evaluation: `None` is SQL's unknown.
fn eval(node: &Node, values: &[Option<Typed>]) -> Option<bool> {
    let value = |i: &usize| values.get(*i).and_then(Option::as_ref);
    match node {
        Node::Or(a, b) => match (eval(a, values), eval(b, values)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Node::And(a, b) => match (eval(a, values), eval(b, values)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Node::Not(a) => eval(a, values).map(|b| !b),
        Node::Compare(i, op, literal) => value(i).map(|v| op.holds(v.cmp(literal))),
        Node::In(i, list, negated) => value(i).map(|v| list.contains(v) != *negated),
        Node::Between(i, low, high, negated) => {
            value(i).map(|v| (v >= low && v <= high) != *negated)
        }
        Node::Like(i, pattern, negated) => value(i).map(|v| match v {
            Typed::Str(s) => like_matches(pattern, &s.chars().collect::<Vec<_>>()) != *negated,
            _ => false,
        }),
        Node::IsNull(i, negated) => Some(value(i).is_none() != *negated),
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AwsError;

    fn keys(spec: &[(&str, &str)]) -> Vec<dto::Column> {
        spec.iter()
            .map(|(n, t)| dto::Column {
                name: (*n).to_string(),
                r#type: Some((*t).to_string()),
                ..dto::Column::default()
            })
            .collect()
    }

    /// The values (of single-key partitions `k`) that `expression` selects.
    fn select(key_type: &str, expression: &str, values: &[&str]) -> Vec<String> {
        let k = keys(&[("k", key_type)]);
        let filter = compile(expression, &k).unwrap().unwrap();
        values
            .iter()
            .filter(|v| filter.matches(&[(**v).to_string()]).unwrap())
            .map(|v| (*v).to_string())
            .collect()
    }

    fn error(key_type: &str, expression: &str) -> AwsError {
        compile(expression, &keys(&[("k", key_type)])).unwrap_err()
    }

    #[test]
    fn blank_is_no_filter() {
        assert!(compile("", &[]).unwrap().is_none());
        assert!(compile("   \t", &[]).unwrap().is_none());
    }

    #[test]
    fn parses_precedence_and_parentheses() {
        let e = parse("a = 1 OR b = 2 AND NOT c = 3").unwrap().unwrap();
        let Expr::Or(_, right) = e else {
            panic!("OR must bind loosest: {e:?}")
        };
        assert!(matches!(*right, Expr::And(_, _)));
        let e = parse("(a = 1 OR b = 2) AND c = 3").unwrap().unwrap();
        assert!(matches!(e, Expr::And(_, _)));
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert!(
            parse("a between 1 and 2 or b not in ('x') and c is not null")
                .unwrap()
                .is_some()
        );
        assert_eq!(
            parse("a Like 'x%'").unwrap(),
            Some(Expr::Like {
                key: "a".into(),
                pattern: "x%".into(),
                negated: false
            })
        );
    }

    #[test]
    fn literal_first_comparisons_flip() {
        assert_eq!(
            parse("'2020' < year").unwrap(),
            Some(Expr::Compare {
                key: "year".into(),
                op: CmpOp::Gt,
                value: Literal::Str("2020".into())
            })
        );
    }

    #[test]
    fn string_escapes_and_quoted_identifiers() {
        assert_eq!(
            parse("`my key` = 'it''s'").unwrap(),
            Some(Expr::Compare {
                key: "my key".into(),
                op: CmpOp::Eq,
                value: Literal::Str("it's".into())
            })
        );
        assert!(parse("\"k\" != -5").unwrap().is_some());
    }

    #[test]
    fn rejects_malformed_expressions() {
        for bad in [
            "k =",
            "k = 'x",
            "= 'x'",
            "k = 'x' AND",
            "(k = 'x'",
            "k = 'x')",
            "k IN ()",
            "k IN ('a' 'b')",
            "k BETWEEN 1",
            "k LIKE 5",
            "k IS 5",
            "k 'x'",
            "k = x",
            "k = 'a' 'b'",
            "k # 1",
            "k = 12abc",
            "NOT",
        ] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
            let e = error("string", bad);
            assert_eq!(e.code, "InvalidInputException", "{bad}");
            assert!(
                e.message.starts_with("Unsupported expression"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn int_keys_compare_numerically_string_keys_textually() {
        let values = ["9", "10", "100", "2"];
        assert_eq!(select("int", "k > '9'", &values), vec!["10", "100"]);
        assert_eq!(select("string", "k > '9'", &values), Vec::<String>::new());
        assert_eq!(select("string", "k > '10'", &values), vec!["9", "100", "2"]);
        assert_eq!(select("bigint", "k < 10", &values), vec!["9", "2"]);
        assert_eq!(
            select("int", "k = '09'", &["9", "09", "10"]),
            vec!["9", "09"]
        );
    }

    #[test]
    fn all_comparison_operators() {
        let v = ["1", "2", "3"];
        assert_eq!(select("int", "k = 2", &v), vec!["2"]);
        assert_eq!(select("int", "k <> 2", &v), vec!["1", "3"]);
        assert_eq!(select("int", "k != 2", &v), vec!["1", "3"]);
        assert_eq!(select("int", "k < 2", &v), vec!["1"]);
        assert_eq!(select("int", "k <= 2", &v), vec!["1", "2"]);
        assert_eq!(select("int", "k > 2", &v), vec!["3"]);
        assert_eq!(select("int", "k >= 2", &v), vec!["2", "3"]);
    }

    #[test]
    fn between_in_and_negations() {
        let v = ["1", "2", "3", "4", "5"];
        assert_eq!(select("int", "k BETWEEN 2 AND 4", &v), vec!["2", "3", "4"]);
        assert_eq!(select("int", "k NOT BETWEEN 2 AND 4", &v), vec!["1", "5"]);
        assert_eq!(select("int", "k BETWEEN 4 AND 2", &v), Vec::<String>::new());
        assert_eq!(select("int", "k IN (1, '3', 5)", &v), vec!["1", "3", "5"]);
        assert_eq!(select("int", "k NOT IN (1, 3, 5)", &v), vec!["2", "4"]);
        assert_eq!(select("int", "NOT k IN (1, 3, 5)", &v), vec!["2", "4"]);
        assert_eq!(
            select("int", "NOT (k = 1 OR k = 2) AND k < 5", &v),
            vec!["3", "4"]
        );
    }

    #[test]
    fn like_wildcards_and_escapes() {
        let v = ["us-east-1", "us-west-2", "eu-west-1", "u_x", "uax"];
        assert_eq!(
            select("string", "k LIKE 'us-%'", &v),
            vec!["us-east-1", "us-west-2"]
        );
        assert_eq!(
            select("string", "k LIKE '%west%'", &v),
            vec!["us-west-2", "eu-west-1"]
        );
        assert_eq!(
            select("string", "k LIKE '%-1'", &v),
            vec!["us-east-1", "eu-west-1"]
        );
        assert_eq!(select("string", "k LIKE 'u_x'", &v), vec!["u_x", "uax"]);
        assert_eq!(select("string", "k LIKE 'u\\_x'", &v), vec!["u_x"]);
        assert_eq!(
            select("string", "k NOT LIKE 'us%'", &v),
            vec!["eu-west-1", "u_x", "uax"]
        );
        assert_eq!(
            select("varchar(20)", "k LIKE '%'", &["", "a"]),
            vec!["", "a"]
        );
        assert_eq!(
            select("string", "k LIKE 'a%b%c'", &["abc", "aXbYc", "acb"]),
            vec!["abc", "aXbYc"]
        );
    }

    #[test]
    fn like_is_only_for_strings() {
        for t in ["int", "bigint", "date", "decimal(10,2)", "timestamp"] {
            let e = error(t, "k LIKE '1%'");
            assert_eq!(e.code, "InvalidInputException");
            assert_eq!(
                e.message,
                "Integral data type doesn't support operation 'LIKE'"
            );
        }
    }

    #[test]
    fn unknown_keys_and_types_are_rejected() {
        let e = error("string", "other = 'x'");
        assert!(
            e.message.starts_with("Invalid partition expression!"),
            "{}",
            e.message
        );
        assert!(e.message.contains("other"));
        let e = compile("k = 'x'", &[]).unwrap_err();
        assert!(e.message.starts_with("Invalid partition expression!"));
        let e = error("double", "k = 1");
        assert_eq!(e.message, "Unknown type : 'double'");
        let e = error("boolean", "k = 'true'");
        assert_eq!(e.code, "InvalidInputException");
    }

    #[test]
    fn keys_match_case_insensitively() {
        assert_eq!(select("int", "K = 1", &["1", "2"]), vec!["1"]);
    }

    #[test]
    fn literals_must_convert_to_the_key_type() {
        for (t, expr) in [
            ("int", "k = 'abc'"),
            ("int", "k = 1.5"),
            ("tinyint", "k = 300"),
            ("date", "k = '2024-13-01'"),
            ("date", "k = '2024-02-30'"),
            ("timestamp", "k = 'noon'"),
            ("decimal", "k = '1.2.3'"),
            ("int", "k IN (1, 'x')"),
            ("int", "k BETWEEN 1 AND 'z'"),
        ] {
            let e = error(t, expr);
            assert_eq!(e.code, "InvalidInputException", "{t} {expr}");
            assert!(e.message.contains("cannot be converted"), "{}", e.message);
        }
    }

    #[test]
    fn stored_values_that_do_not_convert_are_invalid_state() {
        let k = keys(&[("k", "int")]);
        let filter = compile("k > 1", &k).unwrap().unwrap();
        let e = filter.matches(&["abc".into()]).unwrap_err();
        assert_eq!(e.code, "InvalidStateException");
    }

    #[test]
    fn dates_timestamps_and_decimals() {
        assert_eq!(
            select(
                "date",
                "k >= '2024-02-01'",
                &["2024-01-31", "2024-02-01", "2024-10-05"]
            ),
            vec!["2024-02-01", "2024-10-05"]
        );
        assert_eq!(
            select(
                "timestamp",
                "k BETWEEN '2024-01-01 00:00:00' AND '2024-01-01 12:00:00.5'",
                &[
                    "2024-01-01 12:00:00.5",
                    "2024-01-01 12:00:00.6",
                    "2023-12-31 23:59:59"
                ]
            ),
            vec!["2024-01-01 12:00:00.5"]
        );
        assert_eq!(
            select(
                "decimal(10,2)",
                "k > 1.5",
                &["1.50", "1.51", "10", "-2", "0.9"]
            ),
            vec!["1.51", "10"]
        );
        assert_eq!(
            select("decimal", "k = 0", &["-0.00", "0", ".0", "1"]),
            vec!["-0.00", "0", ".0"]
        );
        assert_eq!(
            select("decimal", "k < -1.5", &["-1.49", "-1.6", "-10"]),
            vec!["-1.6", "-10"]
        );
    }

    #[test]
    fn decimal_ordering() {
        let d = |s| Decimal::parse(s).unwrap();
        assert!(d("10") > d("9.99"));
        assert!(d("0.5") > d("0.49"));
        assert!(d("-0.5") < d("-0.49"));
        assert!(d("-3") < d("2"));
        assert_eq!(d("007.100"), d("7.1"));
        assert!(Decimal::parse("").is_none());
        assert!(Decimal::parse(".").is_none());
        assert!(Decimal::parse("1e5").is_none());
    }

    #[test]
    fn multiple_keys() {
        let k = keys(&[("year", "int"), ("region", "string")]);
        let f = compile("year >= 2023 AND (region = 'eu' OR region LIKE 'us%')", &k)
            .unwrap()
            .unwrap();
        let m = |y: &str, r: &str| f.matches(&[y.into(), r.into()]).unwrap();
        assert!(m("2023", "eu"));
        assert!(m("2024", "us-east"));
        assert!(!m("2022", "eu"));
        assert!(!m("2024", "ap"));
    }

    #[test]
    fn hive_null_partition_is_null() {
        let v = ["1", HIVE_NULL_PARTITION];
        assert_eq!(select("int", "k IS NULL", &v), vec![HIVE_NULL_PARTITION]);
        assert_eq!(select("int", "k IS NOT NULL", &v), vec!["1"]);
        assert_eq!(select("int", "k = 1", &v), vec!["1"]);
        assert_eq!(select("int", "NOT k = 1", &v), Vec::<String>::new());
        assert_eq!(
            select("int", "k = 1 OR k IS NULL", &v),
            vec!["1", HIVE_NULL_PARTITION]
        );
    }
}
