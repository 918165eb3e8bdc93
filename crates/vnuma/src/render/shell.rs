//! Command lines as text a person pastes into a shell: one argument per line, quoted where the
//! shell would otherwise split or expand it, every line but the last ending in ` \`.

/// Quotes one argument for a POSIX shell (single quotes, only when needed).
pub fn quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=.,:/@%+".contains(&b));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// The arguments as shell lines: an option and its value share a line (`-smp 4,...`), a new
/// line starts at each argument beginning with `-`.
pub fn lines(args: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    for arg in args {
        let quoted = quote(arg);
        match out.last_mut() {
            Some(line) if !arg.starts_with('-') && line.starts_with('-') && !line.contains(' ') => {
                line.push(' ');
                line.push_str(&quoted);
            }
            _ => out.push(quoted),
        }
    }
    let mut text = out.join(" \\\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(quote("-smp"), "-smp");
        assert_eq!(
            quote("4,sockets=1,cores=4,threads=1"),
            "4,sockets=1,cores=4,threads=1"
        );
        assert_eq!(quote("affinity=[0@[7]]"), "'affinity=[0@[7]]'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn one_option_per_line() {
        let args: Vec<String> = ["qemu-system-x86_64", "-smp", "4", "-numa", "node,nodeid=0", "-S"]
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines(&args),
            "qemu-system-x86_64 \\\n-smp 4 \\\n-numa node,nodeid=0 \\\n-S\n"
        );
    }
}
