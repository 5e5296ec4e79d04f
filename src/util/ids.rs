//! Identifiers the emulator mints: lowercase UUIDs, as every AWS Clean Rooms id is.

/// A new lowercase v4 UUID (36 characters).
pub fn new_id() -> String {
    // A version-4 UUID from the thread's generator (seeded from the OS, no system call per id:
    // every request gets one).
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// Whether `s` is a lowercase UUID in the 8-4-4-4-12 form.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_lowercase_uuids() {
        let id = super::new_id();
        assert!(super::is_uuid(&id), "{id}");
        assert!(!super::is_uuid(&id.to_uppercase()));
    }
}
