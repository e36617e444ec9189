use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use super::Auth;

/// Applies [`Auth`] to a service: see the [module docs](crate::auth) for an example.
///
/// Cheap to clone: the authenticator is shared in an `Arc`.
pub struct AuthLayer<A> {
    authenticator: Arc<A>,
}

impl<A> AuthLayer<A> {
    /// A layer that authenticates every request with `authenticator`.
    pub fn new(authenticator: A) -> Self {
        Self {
            authenticator: Arc::new(authenticator),
        }
    }

    /// A layer sharing an authenticator that is already in an `Arc`.
    pub fn from_arc(authenticator: Arc<A>) -> Self {
        Self { authenticator }
    }
}

impl<A> Clone for AuthLayer<A> {
    fn clone(&self) -> Self {
        Self {
            authenticator: Arc::clone(&self.authenticator),
        }
    }
}

impl<A> fmt::Debug for AuthLayer<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("authenticator", &std::any::type_name::<A>())
            .finish()
    }
}

impl<S, A> Layer<S> for AuthLayer<A> {
    type Service = Auth<S, A>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth::from_arc(inner, Arc::clone(&self.authenticator))
    }
}
