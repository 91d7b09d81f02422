//! Fleet planning.
