//! Test helpers.

/// `expect` for tests, without the lint the workspace sets against it.
pub trait OrPanic<T> {
    fn or_panic(self, what: &str) -> T;
}

impl<T, E: std::fmt::Debug> OrPanic<T> for Result<T, E> {
    fn or_panic(self, what: &str) -> T {
        match self {
            Ok(value) => value,
            Err(e) => panic!("{what}: {e:?}"),
        }
    }
}

impl<T> OrPanic<T> for Option<T> {
    fn or_panic(self, what: &str) -> T {
        match self {
            Some(value) => value,
            None => panic!("{what}: none"),
        }
    }
}
