//! The README documents the CLI that `--help` describes: every command and flag it shows
//! exists, and every command and flag `--help` lists is documented.

use std::collections::BTreeSet;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_dynsess");
const README: &str = include_str!("../README.md");

fn help(path: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(path)
        .arg("--help")
        .env_remove("POOL_MANAGEMENT_ENDPOINT")
        .output()
        .expect("run dynsess --help");
    assert!(out.status.success(), "{path:?} --help");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The command names listed under `Commands:` in a help text (without `help`).
fn commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

/// The long and short flags a help text defines (`-o, --output <FILE>` gives both).
fn flags(help: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    for line in help.lines().map(str::trim_start) {
        if !line.starts_with('-') {
            continue;
        }
        for word in line.split_whitespace() {
            let word = word.trim_end_matches(',');
            if word.starts_with('-') && word.len() > 1 && !word.contains('=') {
                flags.insert(word.to_owned());
            } else {
                break;
            }
        }
    }
    flags
}

/// Split a shell command line into words (single and double quotes, `#` comments).
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quote, mut in_word) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '#') if !in_word => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word && quote.is_none() {
        words.push(word);
    }
    words
}

/// Every `dynsess ...` command line in the README's `sh` blocks, as words after `dynsess`.
fn documented_commands() -> Vec<Vec<String>> {
    let mut lines = Vec::new();
    let mut in_sh = false;
    for line in README.lines() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            in_sh = !in_sh && info.trim() == "sh";
            continue;
        }
        if in_sh && let Some(rest) = line.trim_start().strip_prefix("dynsess ") {
            lines.push(shell_words(rest));
        }
    }
    lines
}

/// The subcommand path of a documented command line (global flags and their values skipped).
fn command_path(words: &[String], top: &[String]) -> Vec<String> {
    let takes_value = ["--endpoint", "--session", "--api-version", "--token"];
    let mut i = 0;
    while i < words.len() && words[i].starts_with('-') {
        i += if takes_value.contains(&words[i].as_str()) {
            2
        } else {
            1
        };
    }
    let Some(first) = words.get(i).filter(|w| top.contains(w)) else {
        return Vec::new();
    };
    let mut path = vec![first.clone()];
    if let Some(sub) = words
        .get(i + 1)
        .filter(|w| commands(&help(&[first])).contains(w))
    {
        path.push(sub.clone());
    }
    path
}

/// Whether `text` has `flag` as a whole word (`-f` is not in `--file`, `--path` not in `--paths`).
fn mentions(text: &str, flag: &str) -> bool {
    let part = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-');
    text.match_indices(flag).any(|(at, _)| {
        !part(text[..at].chars().next_back()) && !part(text[at + flag.len()..].chars().next())
    })
}

#[test]
fn every_documented_command_and_flag_exists() {
    let top = commands(&help(&[]));
    let documented = documented_commands();
    assert!(
        documented.len() > 20,
        "found {} command lines",
        documented.len()
    );
    for words in &documented {
        let path = command_path(words, &top);
        if words.iter().any(|w| w == "--version") && path.is_empty() {
            continue;
        }
        assert!(
            !path.is_empty(),
            "not a dynsess command: dynsess {}",
            words.join(" ")
        );
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let known = flags(&help(&path));
        for flag in words.iter().filter(|w| w.starts_with('-') && w.len() > 1) {
            let flag = flag.split('=').next().unwrap_or(flag);
            assert!(
                known.contains(flag),
                "README: `dynsess {}` uses {flag}, which `dynsess {} --help` does not list",
                words.join(" "),
                path.join(" ")
            );
        }
    }
}

#[test]
fn every_command_and_flag_in_help_is_documented() {
    let top = commands(&help(&[]));
    assert!(top.len() >= 12, "{top:?}");
    let mut paths: Vec<Vec<String>> = Vec::new();
    for command in &top {
        paths.push(vec![command.clone()]);
        for sub in commands(&help(&[command])) {
            paths.push(vec![command.clone(), sub]);
        }
    }
    for path in &paths {
        let name = path.join(" ");
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let path = &path;
        assert!(
            README.contains(&format!("`{name}")) || README.contains(&format!("dynsess {name}")),
            "`dynsess {name}` is not in the README"
        );
        for flag in flags(&help(path)) {
            if ["-h", "--help", "-V", "--version"].contains(&flag.as_str()) {
                continue;
            }
            assert!(
                mentions(README, &flag),
                "`dynsess {name} {flag}` is not in the README"
            );
        }
    }
}

#[test]
fn the_readers_understand_the_help_format() {
    let text = "Commands:\n  exec   Run\n  help  x\n\nOptions:\n  -o, --output <FILE>  Where\n      --json  J\n";
    assert_eq!(commands(text), ["exec"]);
    let expected: BTreeSet<String> = ["-o", "--output", "--json"].map(String::from).into();
    assert_eq!(flags(text), expected);
    assert!(mentions("[-f/--file F]", "-f") && mentions("[-f/--file F]", "--file"));
    assert!(!mentions("--file --paths", "-f") && !mentions("--paths", "--path"));
    assert_eq!(
        shell_words("exec 'a b' --x \"c\"  # note --y"),
        ["exec", "a b", "--x", "c"]
    );
}
