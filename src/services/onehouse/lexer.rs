//! Tokens of the Resources API's statements: bare words, single-quoted string literals (with
//! `''` for a quote), backtick-quoted identifiers, `=` and `,`. Every token carries its line and
//! column so a parse error can say where it went wrong, as the real API's parser does.

use std::fmt;

/// One token and where it starts (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// Line of its first character.
    pub line: usize,
    /// Column of its first character.
    pub column: usize,
}

/// The kinds of tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A bare word: `[A-Za-z0-9_.-]+` (keywords, unquoted numbers, booleans and enum values).
    Word(String),
    /// A single-quoted string literal, unescaped.
    Str(String),
    /// A backtick-quoted identifier.
    Ident(String),
    /// `=`.
    Equals,
    /// `,`.
    Comma,
    /// `;` (never valid: the API rejects a trailing semicolon).
    Semicolon,
    /// The end of the statement.
    End,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Word(w) => write!(f, "\"{w}\""),
            Self::Str(s) => write!(f, "\"'{}'\"", s.replace('\'', "''")),
            Self::Ident(s) => write!(f, "\"`{s}`\""),
            Self::Equals => f.write_str("\"=\""),
            Self::Comma => f.write_str("\",\""),
            Self::Semicolon => f.write_str("\";\""),
            Self::End => f.write_str("<EOF>"),
        }
    }
}

/// A statement that cannot be tokenised or parsed, with the message the API answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid sql query: {0}")]
pub struct SyntaxError(pub String);

impl SyntaxError {
    /// "Encountered <token> at line L, column C. <what was expected>".
    pub fn unexpected(token: &Token, expected: &str) -> Self {
        Self(format!(
            "Encountered {} at line {}, column {}. Was expecting {expected}.",
            token.kind, token.line, token.column
        ))
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The characters of a statement with the position of the next one.
struct Scanner<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    column: usize,
}

impl Scanner<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    /// Consumes one character, keeping the position up to date.
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    /// The rest of a literal opened by `quote` (already consumed), up to its closing `quote`;
    /// with `doubled`, two quotes stand for one. `None` when the statement ends first.
    fn quoted(&mut self, quote: char, doubled: bool) -> Option<String> {
        let mut value = String::new();
        loop {
            let c = self.bump()?;
            if c != quote {
                value.push(c);
            } else if doubled && self.peek() == Some(quote) {
                self.bump();
                value.push(quote);
            } else {
                return Some(value);
            }
        }
    }
}

/// Splits `text` into tokens, ending with [`TokenKind::End`].
///
/// # Errors
/// An unterminated literal or identifier, an empty identifier, or a character no token starts
/// with.
pub fn tokenize(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut tokens = Vec::new();
    let mut scan = Scanner {
        chars: text.chars().peekable(),
        line: 1,
        column: 1,
    };
    while let Some(c) = scan.peek() {
        let (line, column) = (scan.line, scan.column);
        scan.bump();
        if c.is_whitespace() {
            continue;
        }
        let lexical = |what: &str| {
            SyntaxError(format!(
                "Lexical error at line {line}, column {column}. {what}"
            ))
        };
        let kind = match c {
            '=' => TokenKind::Equals,
            ',' => TokenKind::Comma,
            ';' => TokenKind::Semicolon,
            '\'' => TokenKind::Str(
                scan.quoted('\'', true)
                    .ok_or_else(|| lexical("Unterminated string literal."))?,
            ),
            '`' => match scan.quoted('`', false) {
                None => return Err(lexical("Unterminated quoted identifier.")),
                Some(v) if v.is_empty() => return Err(lexical("Empty quoted identifier.")),
                Some(v) => TokenKind::Ident(v),
            },
            c if is_word_char(c) => {
                let mut word = String::from(c);
                while let Some(next) = scan.peek().filter(|n| is_word_char(*n)) {
                    scan.bump();
                    word.push(next);
                }
                TokenKind::Word(word)
            }
            other => return Err(lexical(&format!("Encountered: \"{other}\"."))),
        };
        tokens.push(Token { kind, line, column });
    }
    tokens.push(Token {
        kind: TokenKind::End,
        line: scan.line,
        column: scan.column,
    });
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn literals_identifiers_and_positions() {
        use TokenKind::*;
        assert_eq!(
            kinds("RUN SERVICE IN TABLE `t-1`\n  LAKE = 'o''brien'"),
            vec![
                Word("RUN".into()),
                Word("SERVICE".into()),
                Word("IN".into()),
                Word("TABLE".into()),
                Ident("t-1".into()),
                Word("LAKE".into()),
                Equals,
                Str("o'brien".into()),
                End
            ]
        );
        let tokens = tokenize("A\n  B = 5, 'x'").unwrap();
        assert_eq!((tokens[1].line, tokens[1].column), (2, 3));
        assert_eq!(tokens[3].kind, Word("5".into()));
        assert_eq!(tokens[4].kind, Comma);
    }

    #[test]
    fn lexical_errors() {
        assert!(tokenize("LAKE = 'open").is_err());
        assert!(tokenize("TABLE `x").is_err());
        assert!(tokenize("TABLE ``").is_err());
        assert!(tokenize("SHOW LAKES ()").is_err());
        assert_eq!(kinds("SHOW LAKES;").last(), Some(&TokenKind::End));
    }
}
