//! (being written) Outgoing email.
