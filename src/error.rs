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

    /// An invalid-argument error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }
}
