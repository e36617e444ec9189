//! Completion handlers for prompt arguments and resource-template variables.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use super::BoxFuture;
use crate::context::RequestContext;

/// The most values one completion result may carry (spec: at most 100).
pub const MAX_COMPLETION_VALUES: usize = 100;

/// An erased completion function: `(partial value, already-resolved arguments, ctx)` → values.
pub type CompletionFn = dyn Fn(String, BTreeMap<String, String>, RequestContext) -> BoxFuture<'static, Vec<String>>
    + Send
    + Sync;

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
    pub(crate) fn add<F, Fut>(&mut self, argument: impl Into<String>, complete: F)
    where
        F: Fn(String, BTreeMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<String>> + Send + 'static,
    {
        self.by_argument.insert(
            argument.into(),
            Arc::new(move |value, context, ctx| Box::pin(complete(value, context, ctx))),
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

/// Caps `values` at [`MAX_COMPLETION_VALUES`], returning `(values, total, has_more)`.
pub(crate) fn cap(mut values: Vec<String>) -> (Vec<String>, usize, bool) {
    let total = values.len();
    let has_more = total > MAX_COMPLETION_VALUES;
    values.truncate(MAX_COMPLETION_VALUES);
    (values, total, has_more)
}
