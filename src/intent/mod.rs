//! Intent recognition (being written).
