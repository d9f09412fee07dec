//! Time as a parameter: token expiry and refresh decisions read a `Clock`, so tests need not
//! sleep. The one clock of the project, shared with the server (`nmp_proto::clock`).

pub use nmp_proto::clock::{system, Clock, ManualClock, SystemClock};
