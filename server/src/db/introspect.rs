//! (being written) The logical schema of a migrated database, for the migrations test.
