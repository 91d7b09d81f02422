//! Payback of owned hardware.
