//! Entity registry and device commands (being written).
