//! Property tests: identifier and file-name validation, and percent-encoding round trips in the
//! URLs the builders produce.

use percent_encoding::percent_decode_str;
use proptest::prelude::*;

use super::{Target, download, encode_component, files, session};
use crate::api_version::ApiVersion;
use crate::endpoint::Endpoint;
use crate::validate::{
    IDENTIFIER_PUNCTUATION, normalize_dir, split_file_path, validate_file_name, validate_identifier,
};

fn identifier_char() -> impl Strategy<Value = char> {
    let mut chars: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    chars.extend(IDENTIFIER_PUNCTUATION.chars());
    proptest::sample::select(chars)
}

fn valid_identifier() -> impl Strategy<Value = String> {
    proptest::collection::vec(identifier_char(), 4..=128).prop_map(|v| v.into_iter().collect())
}

/// File names as users write them: spaces, unicode, and the URL-significant `# % & ? + =`.
fn file_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._#%&?+=;,@$^()\\-ü日本é]{1,40}"
        .prop_filter("not . or ..", |s| s != "." && s != "..")
}

fn decode(s: &str) -> String {
    percent_decode_str(s)
        .decode_utf8()
        .expect("utf-8")
        .into_owned()
}

/// The value of a query parameter, percent-decoded.
fn query_param(uri: &http::Uri, key: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| decode(v))
    })
}

proptest! {
    #[test]
    fn valid_identifiers_pass(id in valid_identifier()) {
        prop_assert!(validate_identifier(&id).is_ok());
    }

    #[test]
    fn identifiers_with_other_characters_fail(
        prefix in valid_identifier(),
        bad in any::<char>().prop_filter("outside the set", |c| !c.is_ascii_alphanumeric() && !IDENTIFIER_PUNCTUATION.contains(*c)),
    ) {
        let id: String = prefix.chars().take(100).chain(std::iter::once(bad)).collect();
        prop_assert!(validate_identifier(&id).is_err());
    }

    #[test]
    fn identifiers_of_wrong_length_fail(short in proptest::collection::vec(identifier_char(), 0..4),
                                        long in proptest::collection::vec(identifier_char(), 129..200)) {
        prop_assert!(validate_identifier(&short.into_iter().collect::<String>()).is_err());
        prop_assert!(validate_identifier(&long.into_iter().collect::<String>()).is_err());
    }

    #[test]
    fn encode_component_round_trips_and_is_uri_safe(s in any::<String>()) {
        let enc = encode_component(&s);
        prop_assert!(enc.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
        prop_assert_eq!(decode(&enc), s);
    }

    #[test]
    fn file_names_are_valid_and_round_trip_through_urls(id in valid_identifier(), name in file_name(), dir in file_name()) {
        prop_assert!(validate_file_name(&name).is_ok());
        let ep = Endpoint::parse("https://x.dynamicsessions.io/pools/p").unwrap();
        let t = Target::session(&ep, ApiVersion::V2025_10_02Preview, &id);
        let req = files::get(t, &format!("{dir}/{name}")).unwrap();
        let uri = req.uri();
        let path = uri.path();
        let segment = path.strip_prefix("/pools/p/files/").expect("files route");
        prop_assert!(!segment.contains('/'), "the name is one path segment: {}", segment);
        prop_assert_eq!(decode(segment), name.clone());
        prop_assert_eq!(query_param(uri, "identifier"), Some(id.clone()));
        prop_assert_eq!(query_param(uri, "path"), Some(dir.trim_matches('/').to_owned()).filter(|d| !d.is_empty() && d != "."));
        prop_assert_eq!(query_param(uri, "api-version"), Some("2025-10-02-preview".to_owned()));

        // The legacy download path encodes each segment the same way.
        let t = Target::session(&ep, ApiVersion::V2024_02_02Preview, &id);
        let req = download::get(t, &name).unwrap();
        let segment = req.uri().path().strip_prefix("/pools/p/files/content/").unwrap().to_owned();
        prop_assert_eq!(decode(&segment), name);
    }

    #[test]
    fn traversal_never_validates(prefix in file_name(), suffix in file_name()) {
        for path in [
            format!("{prefix}/../{suffix}"),
            format!("../{suffix}"),
            format!("/mnt/data/../{suffix}"),
            format!("/etc/{suffix}"),
            format!("{prefix}\0{suffix}"),
            format!("{prefix}\\..\\{suffix}"),
        ] {
            prop_assert!(split_file_path(&path).is_err(), "{:?}", path);
        }
        let up = format!("{prefix}/..");
        prop_assert!(normalize_dir(&up).is_err());
    }

    #[test]
    fn data_root_prefix_is_stripped(name in file_name()) {
        let (dir, n) = split_file_path(&format!("/mnt/data/{name}")).unwrap();
        prop_assert_eq!(dir, "");
        prop_assert_eq!(n, name);
    }
}

/// The shared table of identifier cases (the local pool's tests read the same file).
#[test]
fn identifiers_follow_the_spec_table() {
    let table: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/data/session_identifiers.json")).unwrap();
    let ep = Endpoint::parse("https://x.dynamicsessions.io/p").unwrap();
    for id in table["valid"].as_array().unwrap() {
        let id = id.as_str().unwrap();
        assert!(validate_identifier(id).is_ok(), "{id:?} should be accepted");
        // Every accepted identifier survives the trip through a request URL.
        let t = Target::session(&ep, ApiVersion::V2025_10_02Preview, id);
        let req = session::get(t).unwrap();
        let query = req.uri().query().unwrap();
        let sent = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("identifier="))
            .unwrap();
        assert_eq!(percent_decode_str(sent).decode_utf8().unwrap(), id);
    }
    for case in table["invalid"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let err = validate_identifier(id).unwrap_err();
        assert!(
            err.to_string().contains("identifier"),
            "{}: {err}",
            case["why"]
        );
    }
}
