//! The exit codes of `tt`, as docs/user-guide.md lists them.

use std::process::ExitCode;

/// How `tt` exits; scripts branch on these numbers, so they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0: the command did what it was asked (help and version included).
    Success = 0,
    /// 1: an error: a failed migration, a changed file, a bad URL, a missing directory.
    Error = 1,
    /// 2: the command line could not be parsed.
    Usage = 2,
    /// 3: verification found problems (`tt verify`, `tt diff`, the check after a reset).
    VerifyFailed = 3,
    /// 4: a destructive command refused to go on for safety.
    Refused = 4,
    /// 130: stopped by SIGINT (Ctrl-C), as shells report 128 + the signal's number.
    Interrupted = 130,
    /// 143: stopped by SIGTERM.
    Terminated = 143,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::Exit;

    #[test]
    fn codes_are_the_documented_numbers() {
        let codes = [
            Exit::Success,
            Exit::Error,
            Exit::Usage,
            Exit::VerifyFailed,
            Exit::Refused,
            Exit::Interrupted,
            Exit::Terminated,
        ]
        .map(|exit| exit as u8);
        assert_eq!(codes, [0, 1, 2, 3, 4, 130, 143]);
    }
}
