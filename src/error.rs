//! The engine's error type: every error that comes from a file names the file.

use std::path::{Path, PathBuf};

/// An engine error. Errors tied to a file carry its path, so the message a user
/// sees always says which file was wrong and what was wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused an operation on a file.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said (shown in the message, so not chained as a source).
        cause: std::io::Error,
    },
    /// A video or image could not be opened or decoded.
    #[error("{}: {message}", path.display())]
    Decode {
        /// The video, image or frame folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A file was read but its content is not what its format requires.
    #[error("{}: {message}", path.display())]
    Format {
        /// The malformed file.
        path: PathBuf,
        /// What is malformed, as precisely as the reader knows.
        message: String,
    },
    /// An argument or a combination of inputs is not valid (sizes, ranges, shapes).
    #[error("{0}")]
    Invalid(String),
    /// The tensor library failed while building or running the model (a shape
    /// mismatch, an unsupported operation, memory exhausted on the device).
    /// Boxed: Candle's error is large, and every `Result` would carry its size.
    #[error("model: {0}")]
    Model(#[source] Box<candle_core::Error>),
    /// Tensors stored in a file (a checkpoint, an optimizer state) could not
    /// be read or used.
    #[error("{}: {what}: {source}", path.display())]
    Tensors {
        /// The file.
        path: PathBuf,
        /// Which tensor, or what was being done with them.
        what: String,
        /// What the tensor library said.
        source: Box<candle_core::Error>,
    },
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Model(Box::new(e))
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            cause: source,
        }
    }

    /// A decoding error on `path`.
    pub fn decode(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Decode {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }

    /// A malformed-content error on `path`.
    pub fn format(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }

    /// A tensor error on the tensors of `path`, while doing `what`.
    pub fn tensors(
        path: impl AsRef<Path>,
        what: impl Into<String>,
        source: candle_core::Error,
    ) -> Self {
        Error::Tensors {
            path: path.as_ref().to_path_buf(),
            what: what.into(),
            source: Box::new(source),
        }
    }

    /// An invalid-argument error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }
}

/// The message of `e` followed by those of its sources, each added only when
/// the text so far does not already contain it (engine errors show their
/// source in their own message; wrappers such as `anyhow` contexts do not).
pub fn report(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text = format!("{text}: {part}");
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_names_each_cause_once() {
        let candle = candle_core::Error::Msg("shape mismatch".into());
        let e = Error::tensors("m.safetensors", "tensor `w`", candle);
        assert_eq!(report(&e), "m.safetensors: tensor `w`: shape mismatch");
        let wrapped = anyhow::Error::new(e).context("loading the model");
        assert_eq!(
            report(wrapped.as_ref()),
            "loading the model: m.safetensors: tensor `w`: shape mismatch"
        );
    }
}
