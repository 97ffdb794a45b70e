//! Our own crate, named after nobody in particular: anthropic.
pub fn hello() {}
