//! Summaries made from the full shape: many list operations answer with a summary whose fields
//! are a subset of the full shape's, with the same values.

/// The summary `$shape` of the full shape `$full`, made of the fields listed, moved across:
/// `summary_of!(self.to_dto() => dto::CollaborationChangeRequestSummary { id, status })`.
macro_rules! summary_of {
    ($full:expr => $($shape:ident)::+ { $($field:ident),* $(,)? }) => {{
        let full = $full;
        $($shape)::+ { $($field: full.$field),* }
    }};
}
pub(crate) use summary_of;
