//! nmp-authn (being built).
