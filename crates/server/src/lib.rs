//! nmp-server (being built).
