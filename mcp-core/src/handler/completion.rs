//! Completion handlers for prompt arguments and resource-template variables.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use super::BoxFuture;
use crate::context::RequestContext;
use crate::protocol::Completion;

/// The most values one completion result may carry (spec: at most 100).
pub const MAX_COMPLETION_VALUES: usize = 100;

/// An erased completion function: `(partial value, already-resolved arguments, ctx)` → the
/// matches.
pub type CompletionFn = dyn Fn(String, BTreeMap<String, String>, RequestContext) -> BoxFuture<'static, Completion>
    + Send
    + Sync;

/// What a completion handler returns: the matching values (`Vec<String>`), or a
/// [`Completion`] that also says how many matches there are (`total`) or that there are more
/// (`has_more`). The server sends at most [`MAX_COMPLETION_VALUES`] values; `total` is at
/// least the number of values returned (left out when only `has_more` says there are more),
/// and `hasMore` is set whenever more matches exist than it sent.
pub(crate) trait IntoCompletion {
    /// The completion.
    fn into_completion(self) -> Completion;
}

impl IntoCompletion for Vec<String> {
    fn into_completion(self) -> Completion {
        Completion {
            values: self,
            total: None,
            has_more: None,
        }
    }
}

impl IntoCompletion for Completion {
    fn into_completion(self) -> Completion {
        self
    }
}

/// The completion functions of one prompt or template, by argument name.
#[derive(Clone, Default)]
pub struct Completions {
    by_argument: BTreeMap<String, Arc<CompletionFn>>,
}

impl std::fmt::Debug for Completions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_argument.keys()).finish()
    }
}

impl Completions {
    /// Adds a completion function for `argument`.
    pub(crate) fn add<F, Fut, R>(&mut self, argument: impl Into<String>, complete: F)
    where
        F: Fn(String, BTreeMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoCompletion,
    {
        self.by_argument.insert(
            argument.into(),
            Arc::new(move |value, context, ctx| {
                let matches = complete(value, context, ctx);
                Box::pin(async move { matches.await.into_completion() })
            }),
        );
    }

    /// Panics when a completion names `what` (`argument`, `variable`) that `declared` lacks: a
    /// typo would otherwise answer every completion request with nothing, silently.
    pub(crate) fn assert_declared<'a>(
        &self,
        owner: &str,
        what: &str,
        declared: impl Iterator<Item = &'a str> + Clone,
    ) {
        for name in self.by_argument.keys() {
            assert!(
                declared.clone().any(|declared| declared == name),
                "{owner}: completion for `{name}`, which is not a declared {what}"
            );
        }
    }

    /// Whether any argument has a completion function.
    pub fn is_empty(&self) -> bool {
        self.by_argument.is_empty()
    }

    /// The completion function of `argument`.
    pub fn get(&self, argument: &str) -> Option<&Arc<CompletionFn>> {
        self.by_argument.get(argument)
    }
}

/// Caps the values at [`MAX_COMPLETION_VALUES`], returning `(values, total, has_more)`:
/// `total` at least the values the handler returned, and unknown (`None`) only when the
/// handler said there are more without saying how many; `has_more` whenever more matches
/// exist than are sent.
pub(crate) fn cap(completion: Completion) -> (Vec<String>, Option<u64>, bool) {
    let Completion {
        mut values,
        total,
        has_more,
    } = completion;
    let returned = values.len() as u64;
    let more_said = has_more == Some(true);
    let total = match total {
        Some(total) => Some(total.max(returned)),
        None if more_said => None,
        None => Some(returned),
    };
    values.truncate(MAX_COMPLETION_VALUES);
    let sent = values.len() as u64;
    let has_more = more_said || total.is_some_and(|total| total > sent);
    (values, total, has_more)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize) -> Vec<String> {
        (0..n).map(|i| i.to_string()).collect()
    }

    #[test]
    fn totals_and_more() {
        let (sent, total, more) = cap(values(3).into_completion());
        assert_eq!((sent.len(), total, more), (3, Some(3), false));
        let (sent, total, more) = cap(values(250).into_completion());
        assert_eq!((sent.len(), total, more), (100, Some(250), true));
        // A handler that fetched a page of its matches.
        let page = |total, has_more| Completion {
            values: values(3),
            total,
            has_more,
        };
        let (sent, total, more) = cap(page(Some(5_000), None));
        assert_eq!((sent.len(), total, more), (3, Some(5_000), true));
        // The number of matches unknown, but more of them: no total is said.
        let (sent, total, more) = cap(page(None, Some(true)));
        assert_eq!((sent.len(), total, more), (3, None, true));
        // A total below what it returned is raised to it.
        let (sent, total, more) = cap(page(Some(1), None));
        assert_eq!((sent.len(), total, more), (3, Some(3), false));
    }
}
