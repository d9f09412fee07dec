//! Policy: roles, permissions, scopes, the endpoint map and the access decision.
//! (Filled in by the authorization work; see ARCHITECTURE.md.)
