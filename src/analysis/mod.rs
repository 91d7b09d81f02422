//! What planners ask of the simulation: from what volume self-hosting pays ([`sweep`]), what
//! drives the answer ([`sensitivity`]), what to buy ([`plan`]) and when owned hardware pays
//! for itself ([`payback`]).

pub mod api_price;
pub mod payback;
pub mod plan;
pub mod sensitivity;
pub mod sweep;
