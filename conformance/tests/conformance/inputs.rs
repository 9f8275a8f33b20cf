//! Placeholder: proptest over request bodies (being written).
