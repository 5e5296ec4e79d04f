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

/// Splits `text` into tokens, ending with [`TokenKind::End`].
///
/// # Errors
/// An unterminated literal or identifier, an empty identifier, or a character no token starts
/// with.
pub fn tokenize(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    let (mut line, mut column) = (1usize, 1usize);
    // Advances past one character, keeping the position up to date.
    let step = |c: char, line: &mut usize, column: &mut usize| {
        if c == '\n' {
            *line += 1;
            *column = 1;
        } else {
            *column += 1;
        }
    };
    while let Some(&c) = chars.peek() {
        let (start_line, start_column) = (line, column);
        let at = |kind| Token {
            kind,
            line: start_line,
            column: start_column,
        };
        if c.is_whitespace() {
            chars.next();
            step(c, &mut line, &mut column);
            continue;
        }
        chars.next();
        step(c, &mut line, &mut column);
        match c {
            '=' => tokens.push(at(TokenKind::Equals)),
            ',' => tokens.push(at(TokenKind::Comma)),
            ';' => tokens.push(at(TokenKind::Semicolon)),
            '\'' => {
                let mut value = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(SyntaxError(format!(
                                "Lexical error at line {start_line}, column {start_column}. Unterminated string literal."
                            )))
                        }
                        Some('\'') => {
                            step('\'', &mut line, &mut column);
                            if chars.peek() == Some(&'\'') {
                                chars.next();
                                step('\'', &mut line, &mut column);
                                value.push('\'');
                            } else {
                                break;
                            }
                        }
                        Some(ch) => {
                            step(ch, &mut line, &mut column);
                            value.push(ch);
                        }
                    }
                }
                tokens.push(at(TokenKind::Str(value)));
            }
            '`' => {
                let mut value = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(SyntaxError(format!(
                                "Lexical error at line {start_line}, column {start_column}. Unterminated quoted identifier."
                            )))
                        }
                        Some('`') => {
                            step('`', &mut line, &mut column);
                            break;
                        }
                        Some(ch) => {
                            step(ch, &mut line, &mut column);
                            value.push(ch);
                        }
                    }
                }
                if value.is_empty() {
                    return Err(SyntaxError(format!(
                        "Lexical error at line {start_line}, column {start_column}. Empty quoted identifier."
                    )));
                }
                tokens.push(at(TokenKind::Ident(value)));
            }
            c if is_word_char(c) => {
                let mut word = String::from(c);
                while let Some(&next) = chars.peek() {
                    if !is_word_char(next) {
                        break;
                    }
                    chars.next();
                    step(next, &mut line, &mut column);
                    word.push(next);
                }
                tokens.push(at(TokenKind::Word(word)));
            }
            other => {
                return Err(SyntaxError(format!(
                    "Lexical error at line {start_line}, column {start_column}. Encountered: \"{other}\"."
                )))
            }
        }
    }
    tokens.push(Token {
        kind: TokenKind::End,
        line,
        column,
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
