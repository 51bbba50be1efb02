//! The live view of `watch` and `wait` (being written).
