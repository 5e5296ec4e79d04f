//! The grammar of the Resources API's statements (spec §4, §5): a command head of keywords,
//! an optional resource name, `KEY = value` clauses in any order (each at most once),
//! `CASCADE` where the command allows it, and a trailing `WITH 'k' = 'v', …` option list.
//!
//! Each command declares the clauses it requires and allows ([`SPECS`]), so an unknown or
//! missing clause is a syntax error (HTTP 400) found before anything runs. Keywords and clause
//! names are case-insensitive; values keep their case (enum values are normalised later).

use std::collections::BTreeMap;

use super::lexer::{tokenize, SyntaxError, Token, TokenKind};

/// The statements the API understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `SHOW LAKES`.
    ShowLakes,
    /// ``CREATE LAKE `n` LAKE_TYPE = … BUCKET_PATH = … [DEFAULT_SERVICES_CLUSTER = …]``.
    CreateLake,
    /// ``ALTER LAKE `n` SET DEFAULT_SERVICES_CLUSTER = …``.
    AlterLake,
    /// ``DELETE LAKE `n` [CASCADE]``.
    DeleteLake,
    /// ``CREATE DATABASE `n` LAKE = …``.
    CreateDatabase,
    /// ``DELETE DATABASE `n` LAKE = … [CASCADE]``.
    DeleteDatabase,
    /// `SHOW DATABASES LAKE = …`.
    ShowDatabases,
    /// `SHOW TABLES LAKE = … DATABASE = …`.
    ShowTables,
    /// `CREATE TABLE_SERVICE …`.
    CreateTableService,
    /// `ALTER TABLE_SERVICE …` (also ``ALTER SERVICE IN TABLE `t` …``).
    AlterTableService,
    /// `DELETE TABLE_SERVICE …`.
    DeleteTableService,
    /// `PAUSE TABLE_SERVICE …`.
    PauseTableService,
    /// `RESUME TABLE_SERVICE …`.
    ResumeTableService,
    /// `CANCEL TABLE_SERVICE …`.
    CancelTableService,
    /// `DESCRIBE TABLE_SERVICE …`.
    DescribeTableService,
    /// `SHOW TABLE_SERVICES …`.
    ShowTableServices,
    /// `SHOW RUNS IN TABLE_SERVICE …`.
    ShowRunsInTableService,
    /// ``RUN SERVICE IN TABLE `t` …``.
    RunServiceInTable,
    /// ``ALTER SERVICES_CLUSTER IN TABLE `t` …``.
    AlterServicesClusterInTable,
}

impl Command {
    /// The key of this command's `apiResponse` wrapper (`createTableServiceApiResponse`).
    pub fn response_key(self) -> &'static str {
        match self {
            Self::ShowLakes => "showLakesApiResponse",
            Self::CreateLake => "createLakeApiResponse",
            Self::AlterLake => "alterLakeApiResponse",
            Self::DeleteLake => "deleteLakeApiResponse",
            Self::CreateDatabase => "createDatabaseApiResponse",
            Self::DeleteDatabase => "deleteDatabaseApiResponse",
            Self::ShowDatabases => "showDatabasesApiResponse",
            Self::ShowTables => "showTablesApiResponse",
            Self::CreateTableService => "createTableServiceApiResponse",
            Self::AlterTableService => "alterTableServiceApiResponse",
            Self::DeleteTableService => "deleteTableServiceApiResponse",
            Self::PauseTableService => "pauseTableServiceApiResponse",
            Self::ResumeTableService => "resumeTableServiceApiResponse",
            Self::CancelTableService => "cancelTableServiceApiResponse",
            Self::DescribeTableService => "describeTableServiceApiResponse",
            Self::ShowTableServices => "showTableServicesApiResponse",
            Self::ShowRunsInTableService => "showRunsInTableServiceApiResponse",
            Self::RunServiceInTable => "runServiceInTableApiResponse",
            Self::AlterServicesClusterInTable => "alterServicesClusterInTableApiResponse",
        }
    }
}

/// The shape of one command: its keywords and what may follow them.
struct Spec {
    words: &'static [&'static str],
    command: Command,
    named: bool,
    required: &'static [&'static str],
    optional: &'static [&'static str],
    cascade: bool,
    with: bool,
}

const SERVICE_KEYS: &[&str] = &["LAKE", "DATABASE", "TABLE", "SERVICE"];
const IN_TABLE_KEYS: &[&str] = &["LAKE", "DATABASE", "SERVICE"];

impl Spec {
    /// A command with only the clauses of `required` (no name, CASCADE or WITH).
    const fn plain(
        words: &'static [&'static str],
        command: Command,
        required: &'static [&'static str],
    ) -> Self {
        Self {
            words,
            command,
            named: false,
            required,
            optional: &[],
            cascade: false,
            with: false,
        }
    }

    /// A statement addressing one table service: `LAKE`, `DATABASE`, `TABLE`, `SERVICE`.
    const fn service(words: &'static [&'static str], command: Command) -> Self {
        Self::plain(words, command, SERVICE_KEYS)
    }
}

/// Every command, longest keyword sequence first where two share a prefix.
const SPECS: &[Spec] = &[
    Spec::plain(&["SHOW", "LAKES"], Command::ShowLakes, &[]),
    Spec {
        words: &["CREATE", "LAKE"],
        command: Command::CreateLake,
        named: true,
        required: &["LAKE_TYPE", "BUCKET_PATH"],
        optional: &["DEFAULT_SERVICES_CLUSTER"],
        cascade: false,
        with: false,
    },
    Spec {
        words: &["ALTER", "LAKE"],
        command: Command::AlterLake,
        named: true,
        required: &["DEFAULT_SERVICES_CLUSTER"],
        optional: &[],
        cascade: false,
        with: false,
    },
    Spec {
        words: &["DELETE", "LAKE"],
        command: Command::DeleteLake,
        named: true,
        required: &[],
        optional: &[],
        cascade: true,
        with: false,
    },
    Spec {
        words: &["CREATE", "DATABASE"],
        command: Command::CreateDatabase,
        named: true,
        required: &["LAKE"],
        optional: &[],
        cascade: false,
        with: false,
    },
    Spec {
        words: &["DELETE", "DATABASE"],
        command: Command::DeleteDatabase,
        named: true,
        required: &["LAKE"],
        optional: &[],
        cascade: true,
        with: false,
    },
    Spec::plain(&["SHOW", "DATABASES"], Command::ShowDatabases, &["LAKE"]),
    Spec::plain(
        &["SHOW", "TABLES"],
        Command::ShowTables,
        &["LAKE", "DATABASE"],
    ),
    Spec {
        words: &["CREATE", "TABLE_SERVICE"],
        command: Command::CreateTableService,
        named: false,
        required: SERVICE_KEYS,
        optional: &["TRIGGER_MODE"],
        cascade: false,
        with: true,
    },
    Spec {
        words: &["ALTER", "TABLE_SERVICE"],
        command: Command::AlterTableService,
        named: false,
        required: &["LAKE", "DATABASE", "TABLE", "SERVICE", "TRIGGER_MODE"],
        optional: &[],
        cascade: false,
        with: true,
    },
    Spec {
        words: &["ALTER", "SERVICE", "IN", "TABLE"],
        command: Command::AlterTableService,
        named: true,
        required: &["LAKE", "DATABASE", "SERVICE", "TRIGGER_MODE"],
        optional: &[],
        cascade: false,
        with: true,
    },
    Spec {
        words: &["ALTER", "SERVICES_CLUSTER", "IN", "TABLE"],
        command: Command::AlterServicesClusterInTable,
        named: true,
        required: &["LAKE", "DATABASE", "SERVICES_CLUSTER"],
        optional: &[],
        cascade: false,
        with: false,
    },
    Spec::service(&["DELETE", "TABLE_SERVICE"], Command::DeleteTableService),
    Spec::service(&["PAUSE", "TABLE_SERVICE"], Command::PauseTableService),
    Spec::service(&["RESUME", "TABLE_SERVICE"], Command::ResumeTableService),
    Spec::service(&["CANCEL", "TABLE_SERVICE"], Command::CancelTableService),
    Spec::service(
        &["DESCRIBE", "TABLE_SERVICES"],
        Command::DescribeTableService,
    ),
    Spec::service(
        &["DESCRIBE", "TABLE_SERVICE"],
        Command::DescribeTableService,
    ),
    Spec::plain(
        &["SHOW", "TABLE_SERVICES"],
        Command::ShowTableServices,
        &["LAKE", "DATABASE", "TABLE"],
    ),
    Spec::service(
        &["SHOW", "RUNS", "IN", "TABLE_SERVICE"],
        Command::ShowRunsInTableService,
    ),
    Spec {
        words: &["RUN", "SERVICE", "IN", "TABLE"],
        command: Command::RunServiceInTable,
        named: true,
        required: IN_TABLE_KEYS,
        optional: &[],
        cascade: false,
        with: true,
    },
];

/// A parsed statement: the command, its name (for named commands), its clauses by upper-case
/// key, whether `CASCADE` was given, and the `WITH` options in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Which command.
    pub command: Command,
    /// The resource named after the keywords (``CREATE LAKE `n` ``), if the command has one.
    pub name: Option<String>,
    /// `KEY = value` clauses, keys in upper case.
    pub clauses: BTreeMap<&'static str, String>,
    /// `CASCADE` was given.
    pub cascade: bool,
    /// `WITH` options, in the order given.
    pub options: Vec<(String, String)>,
}

impl Statement {
    /// The value of clause `key`, if present.
    pub fn clause(&self, key: &str) -> Option<&str> {
        self.clauses.get(key).map(String::as_str)
    }

    /// The value of a clause the command requires (the parser guarantees it; "" otherwise).
    pub fn required(&self, key: &str) -> &str {
        self.clause(key).unwrap_or_default()
    }

    /// The table a table-service statement addresses: its `TABLE` clause, or the name of
    /// ``… IN TABLE `t` `` forms.
    pub fn table(&self) -> &str {
        self.clause("TABLE")
            .or(self.name.as_deref())
            .unwrap_or_default()
    }
}

/// A cursor over the tokens.
struct Cursor {
    tokens: Vec<Token>,
    at: usize,
}

impl Cursor {
    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, offset: usize) -> &Token {
        &self.tokens[(self.at + offset).min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        token
    }

    /// Whether the token `offset` ahead is the keyword `word` (case-insensitive).
    fn is_word(&self, offset: usize, word: &str) -> bool {
        matches!(&self.peek_at(offset).kind, TokenKind::Word(w) if w.eq_ignore_ascii_case(word))
    }

    /// How many tokens keyword `word` of a command head spans here (`TABLE_SERVICE` may also be
    /// written `TABLE SERVICE`), or `None` when it is not there.
    fn keyword_len(&self, offset: usize, word: &str) -> Option<usize> {
        if self.is_word(offset, word) {
            return Some(1);
        }
        let (first, second) = word.split_once('_')?;
        (matches!(word, "TABLE_SERVICE" | "TABLE_SERVICES")
            && self.is_word(offset, first)
            && self.is_word(offset + 1, second))
        .then_some(2)
    }
}

/// Parses one statement.
///
/// # Errors
/// A [`SyntaxError`] naming the offending token and position (unknown command, unknown,
/// missing or duplicate clause, bad value, trailing `;`).
pub fn parse(text: &str) -> Result<Statement, SyntaxError> {
    let mut cursor = Cursor {
        tokens: tokenize(text)?,
        at: 0,
    };
    let spec = head(&mut cursor)?;
    let name = if spec.named {
        Some(value(&mut cursor, "a quoted name")?)
    } else {
        None
    };
    let mut statement = Statement {
        command: spec.command,
        name,
        clauses: BTreeMap::new(),
        cascade: false,
        options: Vec::new(),
    };
    loop {
        let token = cursor.next();
        let word = match &token.kind {
            TokenKind::End => break,
            TokenKind::Word(w) => w.to_ascii_uppercase(),
            _ => return Err(SyntaxError::unexpected(&token, "a clause name")),
        };
        if word == "CASCADE" && spec.cascade && !statement.cascade {
            statement.cascade = true;
            continue;
        }
        if word == "SET" && spec.command == Command::AlterLake {
            continue;
        }
        if word == "WITH" && spec.with {
            statement.options = options(&mut cursor)?;
            let end = cursor.next();
            if end.kind != TokenKind::End {
                return Err(SyntaxError::unexpected(
                    &end,
                    "<EOF> after the WITH options",
                ));
            }
            break;
        }
        let Some(key) = spec
            .required
            .iter()
            .chain(spec.optional)
            .copied()
            .find(|k| *k == word)
        else {
            let mut allowed: Vec<&str> =
                spec.required.iter().chain(spec.optional).copied().collect();
            if spec.cascade {
                allowed.push("CASCADE");
            }
            if spec.with {
                allowed.push("WITH");
            }
            return Err(SyntaxError::unexpected(
                &token,
                &if allowed.is_empty() {
                    "<EOF>".to_string()
                } else {
                    format!("one of {}", allowed.join(", "))
                },
            ));
        };
        if statement.clauses.contains_key(key) {
            return Err(SyntaxError(format!(
                "Duplicate clause {key} at line {}, column {}.",
                token.line, token.column
            )));
        }
        let equals = cursor.next();
        if equals.kind != TokenKind::Equals {
            return Err(SyntaxError::unexpected(&equals, "\"=\""));
        }
        let v = value(&mut cursor, &format!("a value for {key}"))?;
        statement.clauses.insert(key, v);
    }
    if let Some(missing) = spec
        .required
        .iter()
        .find(|k| !statement.clauses.contains_key(*k))
    {
        return Err(SyntaxError(format!(
            "Missing required clause {missing} in {} statement.",
            spec.words.join(" ")
        )));
    }
    Ok(statement)
}

/// Matches the command keywords at the start of the statement.
fn head(cursor: &mut Cursor) -> Result<&'static Spec, SyntaxError> {
    let mut best: Option<(&Spec, usize)> = None;
    for spec in SPECS {
        let mut offset = 0;
        let matched = spec
            .words
            .iter()
            .all(|word| match cursor.keyword_len(offset, word) {
                Some(n) => {
                    offset += n;
                    true
                }
                None => false,
            });
        if matched && best.is_none_or(|(_, len)| offset > len) {
            best = Some((spec, offset));
        }
    }
    let Some((spec, len)) = best else {
        return Err(SyntaxError::unexpected(
            cursor.peek(),
            "one of SHOW, CREATE, ALTER, DELETE, PAUSE, RESUME, CANCEL, DESCRIBE, RUN followed by LAKES, LAKE, DATABASE(S), TABLES, TABLE_SERVICE(S), RUNS IN TABLE_SERVICE, SERVICE IN TABLE or SERVICES_CLUSTER IN TABLE",
        ));
    };
    for _ in 0..len {
        cursor.next();
    }
    Ok(spec)
}

/// A clause value or name: a string literal, a backtick identifier or a bare word.
fn value(cursor: &mut Cursor, expected: &str) -> Result<String, SyntaxError> {
    let token = cursor.next();
    match token.kind {
        TokenKind::Str(s) | TokenKind::Ident(s) | TokenKind::Word(s) => Ok(s),
        _ => Err(SyntaxError::unexpected(&token, expected)),
    }
}

/// `'k' = 'v' (, 'k' = 'v')*` after `WITH`.
fn options(cursor: &mut Cursor) -> Result<Vec<(String, String)>, SyntaxError> {
    let mut out: Vec<(String, String)> = Vec::new();
    loop {
        let key_token = cursor.next();
        let key = match key_token.kind.clone() {
            TokenKind::Str(s) | TokenKind::Word(s) => s,
            _ => return Err(SyntaxError::unexpected(&key_token, "a quoted option key")),
        };
        if out.iter().any(|(k, _)| *k == key) {
            return Err(SyntaxError(format!(
                "Duplicate option '{key}' at line {}, column {}.",
                key_token.line, key_token.column
            )));
        }
        let equals = cursor.next();
        if equals.kind != TokenKind::Equals {
            return Err(SyntaxError::unexpected(&equals, "\"=\""));
        }
        let value_token = cursor.next();
        let v = match value_token.kind {
            TokenKind::Str(s) | TokenKind::Word(s) => s,
            _ => {
                return Err(SyntaxError::unexpected(
                    &value_token,
                    &format!("a value for option '{key}'"),
                ))
            }
        };
        out.push((key, v));
        if cursor.peek().kind == TokenKind::Comma {
            cursor.next();
        } else {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_statements_parse() {
        let s = parse("CREATE TABLE_SERVICE\n  LAKE = 'l'\n  DATABASE = 'd'\n  TABLE = 't'\n  SERVICE = 'clean'\n  WITH 'cleaner.retention.days' = '0', 'n' = 5").unwrap();
        assert_eq!(s.command, Command::CreateTableService);
        assert_eq!(s.required("SERVICE"), "clean");
        assert_eq!(s.clause("TRIGGER_MODE"), None);
        assert_eq!(
            s.options,
            vec![
                ("cleaner.retention.days".into(), "0".into()),
                ("n".into(), "5".into())
            ]
        );
        let s = parse(
            "RUN SERVICE IN TABLE `t_q1`\n  LAKE = 'l'\n  DATABASE = 'd'\n  SERVICE = 'RESTORE'",
        )
        .unwrap();
        assert_eq!((s.command, s.table()), (Command::RunServiceInTable, "t_q1"));
        let s = parse("DELETE DATABASE `db` LAKE = `lk` CASCADE").unwrap();
        assert!(s.cascade);
        assert_eq!(s.required("LAKE"), "lk");
        let s = parse("ALTER LAKE `n`\n  SET DEFAULT_SERVICES_CLUSTER = 'svc2'").unwrap();
        assert_eq!(s.required("DEFAULT_SERVICES_CLUSTER"), "svc2");
        let s = parse("show table services lake = 'l' database = 'd' table = 't'").unwrap();
        assert_eq!(s.command, Command::ShowTableServices);
        let s =
            parse("SHOW RUNS IN TABLE SERVICE LAKE='l' DATABASE='d' TABLE='t' SERVICE='COMPACT'")
                .unwrap();
        assert_eq!(s.command, Command::ShowRunsInTableService);
        assert_eq!(parse("SHOW LAKES").unwrap().command, Command::ShowLakes);
        let s = parse("ALTER SERVICE IN TABLE `t` LAKE='l' DATABASE='d' SERVICE='CLEAN' TRIGGER_MODE='AUTOMATIC'").unwrap();
        assert_eq!((s.command, s.table()), (Command::AlterTableService, "t"));
    }

    #[test]
    fn grammar_errors() {
        for bad in [
            "SHOW LAKES;",
            "SHOW LAKEZ",
            "DROP LAKE `x`",
            "SHOW DATABASES",
            "SHOW DATABASES LAKE = 'a' LAKE = 'b'",
            "SHOW DATABASES LAKE 'a'",
            "SHOW DATABASES LAKE = 'a' COLOR = 'b'",
            "CREATE TABLE_SERVICE LAKE='l' DATABASE='d' TABLE='t' SERVICE='C' WITH 'a' = '1',",
            "CREATE TABLE_SERVICE LAKE='l' DATABASE='d' TABLE='t' SERVICE='C' WITH 'a' = '1', 'a' = '2'",
            "ALTER TABLE_SERVICE LAKE='l' DATABASE='d' TABLE='t' SERVICE='C'",
            "DELETE LAKE `x` CASCADE CASCADE",
            "",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        let err = parse("SHOW DATABASES\n  LAKE = '3' X").unwrap_err();
        assert!(err.to_string().contains("line 2, column 14"), "{err}");
    }
}
