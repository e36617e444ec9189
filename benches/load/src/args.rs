//! A small `--key value` parser (no positional arguments but the leading ones).

use std::collections::HashMap;
use std::str::FromStr;

/// Parsed flags; every flag takes one value.
pub(crate) struct Args {
    positional: Vec<String>,
    flags: HashMap<String, String>,
}

impl Args {
    pub(crate) fn parse(argv: &[String]) -> Result<Self, String> {
        let mut positional = Vec::new();
        let mut flags = HashMap::new();
        let mut iter = argv.iter();
        while let Some(arg) = iter.next() {
            if let Some(name) = arg.strip_prefix("--") {
                let (name, value) = match name.split_once('=') {
                    Some((name, value)) => (name.to_owned(), value.to_owned()),
                    None => {
                        let value = iter
                            .next()
                            .ok_or_else(|| format!("--{name} needs a value"))?;
                        (name.to_owned(), value.clone())
                    }
                };
                flags.insert(name, value);
            } else {
                positional.push(arg.clone());
            }
        }
        Ok(Self { positional, flags })
    }

    pub(crate) fn positional(&self, index: usize) -> Option<&str> {
        self.positional.get(index).map(String::as_str)
    }

    pub(crate) fn string(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(String::as_str)
    }

    pub(crate) fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.flags.get(name) {
            None => Ok(default),
            Some(value) => value
                .parse()
                .map_err(|_| format!("--{name}: cannot parse {value:?}")),
        }
    }

    /// A comma-separated list.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        self.flags
            .get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Refuses flags not in `known` (typos would otherwise silently use defaults).
    pub(crate) fn only(&self, known: &[&str]) -> Result<(), String> {
        match self.flags.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(format!("unknown flag --{unknown}")),
            None => Ok(()),
        }
    }
}
