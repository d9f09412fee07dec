//! nmp-client (being built).
