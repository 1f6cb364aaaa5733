//! A wrapper for protected health information whose `Debug` and `Display` never
//! show the value, so a name or date of birth cannot reach a log line or a span
//! by accident. Code that needs the value asks for it by name: [`Phi::expose`].

use std::fmt;

/// Protected health information: printed as `[phi]`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Phi<T>(T);

impl<T> Phi<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The value itself, for storage and for callers allowed to see it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Phi<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Phi<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[phi]")
    }
}

impl<T> fmt::Display for Phi<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[phi]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let name = Phi::new("Jane Doe".to_string());
        assert_eq!(format!("{name:?} {name}"), "[phi] [phi]");
        assert_eq!(name.expose(), "Jane Doe");
    }
}
