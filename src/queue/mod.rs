//! Queueing inside an hour: overflow share, waits and latency of a fleet of c servers with
//! Poisson arrivals and a mix of deterministic service times (issue 12). The full account of
//! the method, its error against the simulation and its cost follows with the accumulator.

pub mod des;
pub mod erlang;
pub mod hour;
pub mod latency;
pub mod mdc;
pub mod mgc;
pub mod mix;
pub mod policy;
pub mod sizing;
pub mod table;

pub use erlang::{erlang_b, erlang_c};
pub use hour::QueueHour;
pub use latency::LatencyHistogram;
pub use mix::{Bucket, MixError, ServiceMix};
pub use policy::Policy;
pub use sizing::servers_for_latency;
pub use table::{HourSummary, QueueTable};

