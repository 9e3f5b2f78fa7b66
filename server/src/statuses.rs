//! Per-operation error responses. An error enum (`ScimErrorResponse`, `AdminError`) can carry
//! every error status of its API, but one operation gives only some of them: a GET never
//! answers 409 or 412. `Only<E, S>` is `E` documented with just the statuses of the set `S`,
//! so a generated client sees the errors it can really get; debug builds (the tests) check
//! that nothing else is ever returned through it.

use std::marker::PhantomData;

use poem_openapi::{
    ApiResponse,
    registry::{MetaResponses, Registry},
};

/// The statuses one kind of operation can answer with, besides its successes.
pub trait StatusSet: Send + Sync + 'static {
    const STATUSES: &'static [u16];
}

/// Declares unit types implementing [`StatusSet`].
#[macro_export]
macro_rules! status_sets {
    ($($(#[$doc:meta])* $name:ident = [$($status:literal),+ $(,)?];)+) => {
        $(
            $(#[$doc])*
            pub struct $name;
            impl $crate::statuses::StatusSet for $name {
                const STATUSES: &'static [u16] = &[$($status),+];
            }
        )+
    };
}

/// `E`, documented with only the statuses in `S`.
#[derive(Debug)]
pub struct Only<E, S> {
    pub error: E,
    set: PhantomData<fn() -> S>,
}

impl<E, S> From<E> for Only<E, S> {
    fn from(error: E) -> Self {
        Self {
            error,
            set: PhantomData,
        }
    }
}

impl<E: ApiResponse, S: StatusSet> ApiResponse for Only<E, S> {
    fn meta() -> MetaResponses {
        let mut meta = E::meta();
        meta.responses
            .retain(|response| response.status.is_some_and(|s| S::STATUSES.contains(&s)));
        meta
    }

    fn register(registry: &mut Registry) {
        E::register(registry);
    }
}

impl<E: Into<poem::Error>, S: StatusSet> From<Only<E, S>> for poem::Error {
    fn from(only: Only<E, S>) -> Self {
        let err: poem::Error = only.error.into();
        debug_assert!(
            S::STATUSES.contains(&err.status().as_u16()),
            "status {} is not among this operation's documented statuses {:?}",
            err.status(),
            S::STATUSES,
        );
        err
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::{ApiResponse, payload::PlainText};

    use super::*;

    #[derive(ApiResponse)]
    enum Failure {
        #[oai(status = 404)]
        NotFound(PlainText<String>),
        #[oai(status = 409)]
        Conflict(PlainText<String>),
        #[oai(status = 503)]
        Unavailable(PlainText<String>),
    }

    crate::status_sets! {
        /// A lookup.
        Lookup = [404, 503];
    }

    #[test]
    fn documents_only_the_set() {
        let statuses: Vec<_> = <Only<Failure, Lookup>>::meta()
            .responses
            .iter()
            .filter_map(|r| r.status)
            .collect();
        assert_eq!(statuses, [404, 503]);
    }

    #[test]
    fn passes_a_documented_error_through() {
        for (error, status) in [
            (Failure::NotFound(PlainText("gone".into())), 404),
            (Failure::Unavailable(PlainText("later".into())), 503),
        ] {
            let only: Only<Failure, Lookup> = error.into();
            assert_eq!(poem::Error::from(only).status().as_u16(), status);
        }
    }

    #[test]
    #[should_panic(expected = "not among this operation's documented statuses")]
    fn an_undocumented_error_fails_debug_builds() {
        let only: Only<Failure, Lookup> = Failure::Conflict(PlainText("dup".into())).into();
        let _ = poem::Error::from(only);
    }
}
