//! What a run tells people: the summary (JSON), the sample rows (CSV), the terminal table.
//! A command's files reach its output folder as a whole ([`output`], [`files`]), so an
//! interrupted command leaves the previous results, complete.

pub mod charts;
pub mod decision;
pub mod export;
pub mod files;
pub mod full;
pub mod html;
pub mod output;
pub mod samples;
pub mod summary;
pub mod table;
pub mod views;
pub mod words;
pub mod xlsx;
