//! What a message about invalid arguments (or output) says: the first few violations of a
//! schema, each with its JSON path and cut short, so that no input makes it large.

use std::borrow::Cow;

use serde_json::Value;

/// The most violations one message lists: a message is for a model or a person to act on,
/// and a 2 000 000-item array of wrong items must not become a message of as many lines.
const MAX_VIOLATIONS: usize = 10;

/// The most characters of one violation (its path and the offending value as the validator
/// quotes it: a megabyte-long string is not repeated back).
pub(super) const MAX_VIOLATION_CHARS: usize = 300;

/// Arguments larger than this get only their first violation listed (see
/// `invalid_arguments`).
pub(super) const MAX_LISTED_ARGUMENT_BYTES: usize = 64 * 1024;

/// The first [`MAX_VIOLATIONS`] ways `instance` breaks the schema of `validator`, each with
/// its JSON path and cut to [`MAX_VIOLATION_CHARS`]; a last line says when there are more.
/// (The validator collects them all first: for instances of bounded size.)
pub(super) fn violations(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    let mut errors = validator.iter_errors(instance);
    let mut listed: Vec<String> = errors
        .by_ref()
        .take(MAX_VIOLATIONS)
        .map(|e| violation_line(&e))
        .collect();
    if errors.next().is_some() {
        listed.push(format!("(only the first {MAX_VIOLATIONS} are listed)"));
    }
    listed
}

/// The first way `instance` breaks the schema, found without collecting the others.
pub(super) fn first_violation(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    match validator.validate(instance) {
        Ok(()) => Vec::new(),
        Err(error) => vec![
            violation_line(&error),
            "(large arguments: only the first violation is listed)".to_owned(),
        ],
    }
}

/// A violation with its JSON path, cut to [`MAX_VIOLATION_CHARS`].
fn violation_line(error: &jsonschema::ValidationError<'_>) -> String {
    let line = format!(
        "{}: {}",
        pointer_or_root(&error.instance_path().to_string()),
        error
    );
    cut(&line, MAX_VIOLATION_CHARS).into_owned()
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub(super) fn cut(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
        None => Cow::Borrowed(text),
    }
}

/// A JSON pointer, `/` for the root (whose pointer is empty).
fn pointer_or_root(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}
