//! The nmp platform server: HTTP routes, authentication and authorization middleware, seeding, config.

pub mod cli;
