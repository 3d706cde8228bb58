//! One thing wrong in a document that `make callers ARGS='put ...'` checks: the field and the reason.

/// One thing wrong in a document: where (`Deadline.RemindAfterDays[2]`) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}
