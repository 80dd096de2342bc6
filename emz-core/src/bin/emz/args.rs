//! Hand-written option parsing: `--name value`, `--name=value`, flags and positionals.

use crate::{usage_err, Res};

/// Options of a subcommand. Everything after `--` is positional.
pub struct Parsed {
    values: Vec<(String, String)>,
    flags: Vec<String>,
    pub positional: Vec<String>,
}

impl Parsed {
    /// Parses `args` knowing which options take a value and which are flags; any other
    /// `--name` is an error.
    pub fn new(args: &[String], with_value: &[&str], flags: &[&str]) -> Res<Parsed> {
        let mut p = Parsed { values: Vec::new(), flags: Vec::new(), positional: Vec::new() };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--" {
                p.positional.extend(it.by_ref().cloned());
                break;
            }
            if !a.starts_with("--") {
                p.positional.push(a.clone());
                continue;
            }
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (a.as_str(), None),
            };
            let bare = &name[2..];
            if with_value.contains(&bare) {
                let v = match inline {
                    Some(v) => v,
                    None => match it.next() {
                        Some(v) => v.clone(),
                        None => return usage_err(format!("{name} needs a value")),
                    },
                };
                p.values.push((bare.to_string(), v));
            } else if flags.contains(&bare) {
                if inline.is_some() {
                    return usage_err(format!("{name} takes no value"));
                }
                p.flags.push(bare.to_string());
            } else {
                return usage_err(format!("unknown option {name}"));
            }
        }
        Ok(p)
    }

    /// Every value of a repeatable option, in the order given.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.values.iter().filter(|(n, _)| n == name).map(|(_, v)| v.clone()).collect()
    }

    /// The value of an option that may be given at most once.
    pub fn one(&self, name: &str) -> Res<Option<String>> {
        let mut all = self.all(name);
        if all.len() > 1 {
            return usage_err(format!("--{name} given more than once"));
        }
        Ok(all.pop())
    }

    /// Whether a flag is given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// Whether an option (flag or valued) is given at all.
    pub fn given(&self, name: &str) -> bool {
        self.flag(name) || self.values.iter().any(|(n, _)| n == name)
    }

    /// A whole number option: `--count`, `--port`.
    pub fn integer<T: std::str::FromStr>(&self, name: &str) -> Res<Option<T>> {
        match self.one(name)? {
            None => Ok(None),
            Some(v) => match v.parse() {
                Ok(n) => Ok(Some(n)),
                Err(_) => usage_err(format!("--{name}: {v:?} is not a valid number")),
            },
        }
    }

    /// A non-negative number with fractions (`--every` in ms, `--timeout` and `--linger`
    /// in s), below a billion so that it converts to a `Duration`.
    pub fn amount(&self, name: &str) -> Res<Option<f64>> {
        match self.one(name)? {
            None => Ok(None),
            Some(v) => match v.parse::<f64>() {
                Ok(x) if (0.0..1e9).contains(&x) => Ok(Some(x)),
                _ => usage_err(format!("--{name}: {v:?} is not a number from 0 to 1e9")),
            },
        }
    }
}
