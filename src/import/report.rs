//! What an import did, row by row where a row was rejected.

use std::fmt;

/// A row that was not imported, with the column and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// Line in the file; the header is line 1.
    pub line: u64,
    /// The column as named in the header (empty when the row as a whole failed).
    pub column: String,
    pub reason: String,
}

/// Counts of the import and every rejected row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected_rows: Vec<RejectedRow>,
}

impl ImportReport {
    /// Rows rejected (a row with several bad cells counts once).
    pub fn rejected(&self) -> usize {
        let mut lines: Vec<u64> = self.rejected_rows.iter().map(|r| r.line).collect();
        lines.dedup();
        lines.len()
    }

    pub fn merge(&mut self, other: ImportReport) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.rejected_rows.extend(other.rejected_rows);
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for row in &self.rejected_rows {
            writeln!(
                f,
                "line {}: column {}: {}",
                row.line, row.column, row.reason
            )?;
        }
        writeln!(
            f,
            "created {}, updated {}, unchanged {}, rejected {}",
            self.created,
            self.updated,
            self.unchanged,
            self.rejected()
        )
    }
}
