//! (being written) Rate limiting.
