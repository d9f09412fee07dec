//! nmp-store (being built).
