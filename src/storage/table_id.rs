//! Validated managed-table ids. Ids come from the emulator's own UUIDs, but they become directory
//! names, so anything outside `[A-Za-z0-9-]{1,64}` is refused before it touches the file system.

use std::fmt;

use super::StorageError;

/// Longest accepted id.
const MAX_LEN: usize = 64;

/// A table id that is safe to use as one directory name under `<data-dir>/managed`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TableId(String);

impl TableId {
    /// Accepts 1 to 64 ASCII letters, digits and hyphens.
    pub(crate) fn parse(id: &str) -> Result<Self, StorageError> {
        let reason = if id.is_empty() {
            Some("it is empty")
        } else if id.len() > MAX_LEN {
            Some("it is longer than 64 characters")
        } else if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            Some("only letters, digits and '-' are allowed")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(StorageError::InvalidTableId {
                id: id.chars().take(MAX_LEN + 8).collect(),
                reason,
            }),
            None => Ok(Self(id.to_string())),
        }
    }

    /// The id as a string (also the directory name).
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_uuids_and_simple_names() {
        for id in [
            "6f1c2f64-1b9e-4c43-9c55-0f0e4d3a2b1c",
            "a",
            "T-1",
            &"x".repeat(64),
        ] {
            assert_eq!(
                TableId::parse(id).map(|t| t.to_string()).ok(),
                Some(id.to_string())
            );
        }
    }

    #[test]
    fn refuses_anything_that_could_leave_the_directory() {
        let long = "x".repeat(65);
        for id in [
            "", "..", ".", "../x", "a/b", "a\\b", "/abs", "a.b", "a b", "a_b", "é", "a\0b", "~",
            "%2e%2e", &long,
        ] {
            assert!(
                matches!(TableId::parse(id), Err(StorageError::InvalidTableId { .. })),
                "{id:?} was accepted"
            );
        }
    }
}
