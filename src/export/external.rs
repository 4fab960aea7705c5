//! External training backends (placeholder, filled in below).
