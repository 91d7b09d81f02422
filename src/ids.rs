//! Typed indexes: an input, an option, a stream or a fleet is named by its place in the
//! scenario's (or the engine's) list, and the type says which list, so one cannot be used for
//! another.

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub usize);

        impl $name {
            /// The place in its list.
            pub fn index(self) -> usize {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id!(
    /// An uncertain input: its place in [`crate::scenario::Scenario::inputs`].
    InputId
);
id!(
    /// An option: its place in the scenario's options (and in every result).
    OptionId
);
id!(
    /// A stream of images (pipeline stage × mix bucket): its place in the engine's streams.
    StreamId
);
id!(
    /// A self-hosted option: its place among the engine's fleets.
    FleetId
);
