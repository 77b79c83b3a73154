//! Error kinds that decide the exit code: bad input (exit 2) versus internal failure (exit 1).

use std::fmt;

/// The user gave us something we cannot use: a config, a data file or an argument.
/// The message names the file and the key, line or flag, and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Shorthand for returning a [`BadInput`] as an `anyhow::Error`.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

/// The user interrupted (Ctrl-C): what finished was saved; exit code 130 like a shell.
#[derive(Debug, Clone, PartialEq)]
pub struct Interrupted(pub String);

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Interrupted {}

/// Exit code for an error chain: 2 when any link is [`BadInput`], 130 for [`Interrupted`],
/// else 1.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if err.chain().any(|e| e.downcast_ref::<BadInput>().is_some()) {
        2
    } else if err.chain().any(|e| e.downcast_ref::<Interrupted>().is_some()) {
        130
    } else {
        1
    }
}
