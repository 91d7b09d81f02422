//! What a run tells people: the summary (JSON), the sample rows (CSV), the terminal table.
//! Files are written atomically: to a temporary file in the same folder, renamed into place
//! only when complete, so an interrupted run leaves the previous results or none.

pub mod charts;
pub mod decision;
pub mod export;
pub mod files;
pub mod full;
pub mod html;
pub mod samples;
pub mod summary;
pub mod table;
pub mod views;
pub mod words;
pub mod xlsx;
