//! Tests of the operator expressions.

use crate::handler::uri_template::UriTemplate;
use crate::handler::uri_template::tests::vars;

fn pairs(list: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    let mut pairs: Vec<_> = list
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    pairs.sort();
    Some(pairs)
}

#[test]
fn queries_are_optional_and_in_any_order() {
    let t = "search://items{?q,page}";
    assert_eq!(vars(t, "search://items"), pairs(&[]));
    assert_eq!(vars(t, "search://items?q=rust"), pairs(&[("q", "rust")]));
    assert_eq!(
        vars(t, "search://items?page=2&q=a%20b"),
        pairs(&[("page", "2"), ("q", "a%20b")])
    );
    assert_eq!(vars(t, "search://items?q="), pairs(&[("q", "")]));
    // Unknown and repeated members, and text after the query.
    assert_eq!(vars(t, "search://items?x=1"), None);
    assert_eq!(vars(t, "search://items?q=1&q=2"), None);
    assert_eq!(vars(t, "search://itemsx"), None);
    // A continuation.
    assert_eq!(
        vars("x://a?fixed=1{&q}", "x://a?fixed=1&q=z"),
        pairs(&[("q", "z")])
    );
    assert_eq!(
        vars("x://a{?q}{&r}", "x://a?q=1&r=2"),
        pairs(&[("q", "1"), ("r", "2")])
    );
}

#[test]
fn paths_labels_fragments_and_parameters() {
    let repo = "repo://{owner}/{repo}/contents{/path*}";
    assert_eq!(
        vars(repo, "repo://o/r/contents/src/lib.rs"),
        pairs(&[("owner", "o"), ("path", "src/lib.rs"), ("repo", "r")])
    );
    assert_eq!(
        vars(repo, "repo://o/r/contents"),
        pairs(&[("owner", "o"), ("repo", "r")])
    );
    assert_eq!(
        vars("x://a{/b,c}", "x://a/1/2"),
        pairs(&[("b", "1"), ("c", "2")])
    );
    assert_eq!(vars("x://a{/b,c}", "x://a/1/2/3"), None);
    assert_eq!(vars("x://a{/b}/end", "x://a/1/end"), pairs(&[("b", "1")]));
    assert_eq!(
        vars("file:///{name}{.ext}", "file:///notes.txt"),
        pairs(&[("ext", "txt"), ("name", "notes")])
    );
    assert_eq!(
        vars("x://doc{#section}", "x://doc#a/b?c"),
        pairs(&[("section", "a/b?c")])
    );
    assert_eq!(
        vars("x://m{;w,h}", "x://m;w=3;h=4"),
        pairs(&[("h", "4"), ("w", "3")])
    );
    assert_eq!(
        vars("x://{a,b}/z", "x://1,2/z"),
        pairs(&[("a", "1"), ("b", "2")])
    );
    assert_eq!(vars("x://{a:2}", "x://ab"), pairs(&[("a", "ab")]));
    assert_eq!(vars("x://{a:2}", "x://abc"), None);
    assert_eq!(vars("x://{a:2}xyz", "x://abxyz"), pairs(&[("a", "ab")]));
    assert_eq!(
        vars("x://{+a,b}!", "x://p/q,r!"),
        pairs(&[("a", "p/q"), ("b", "r")])
    );
    assert_eq!(vars("x://a{/b}", "x://a/"), pairs(&[("b", "")]));
    // One variable of `#` or `+` keeps its commas; a prefix counts decoded characters.
    assert_eq!(vars("x://p{#f}", "x://p#a,b"), pairs(&[("f", "a,b")]));
    assert_eq!(vars("x://{+a:3}", "x://a,b"), pairs(&[("a", "a,b")]));
    assert_eq!(vars("x://{a:1}", "x://%C3%A9"), pairs(&[("a", "%C3%A9")]));
    assert_eq!(vars("x://{a:3}", "x://%20ab"), pairs(&[("a", "%20ab")]));
    assert_eq!(vars("x://{a:2}", "x://%20ab"), None);
}

#[test]
fn unmatchable_templates_are_refused() {
    for bad in [
        "x://{a}{b}",
        "x://{?q*}",
        "x://{/a*,b}",
        "x://{a}/{a}",
        "x://{a:0}",
        "x://{=a}",
        "x://{a b}",
        "x://{}",
        "x://{a",
    ] {
        assert!(UriTemplate::parse(bad).is_err(), "{bad}");
    }
    assert!(UriTemplate::parse("x://{a}{/b}{?c}{#d}").is_ok());
    // Names may hold `%XX` (RFC 6570 `pct-encoded`), and nothing else of the kind.
    assert!(UriTemplate::parse("x://{caf%C3%A9}").is_ok());
    for bad in ["x://{a%}", "x://{a%4}", "x://{a%zz}"] {
        assert!(UriTemplate::parse(bad).is_err(), "{bad}");
    }
}

/// Random templates against random URIs of the characters that matter (separators,
/// escapes, non-ASCII): a match never panics, and what matches holds only URI slices.
#[test]
fn random_templates_and_uris_never_panic() {
    const TEMPLATE: &[&str] = &[
        "x", "/", "{a}", "{+b}", "{#c}", "{.d}", "{/e*}", "{;f}", "{?g,h}", "{&i}", "{j,k}",
        "{l:2}", "é", "?", "=",
    ];
    const URI: &[&str] = &[
        "x", "/", "?", "#", "&", "=", ",", ".", ";", "é", "%41", "%", "g=1", "a",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        usize::try_from(seed % n as u64).expect("small")
    };
    let mut matched = 0;
    for _ in 0..20_000 {
        let template: String = (0..1 + next(5))
            .map(|_| TEMPLATE[next(TEMPLATE.len())])
            .collect();
        let uri: String = (0..next(8)).map(|_| URI[next(URI.len())]).collect();
        let Ok(parsed) = UriTemplate::parse(&format!("s:{template}")) else {
            continue;
        };
        if let Some(vars) = parsed.matches(&format!("s:{uri}")) {
            matched += 1;
            assert!(vars.values().all(|value| uri.contains(value.as_str())));
        }
    }
    assert!(matched > 100, "{matched}");
}

/// Valid long URIs match: each candidate end is tried at the cost of one step, not of
/// the value's length (which made the work quadratic, and URIs of 60 bytes fail).
#[test]
fn long_uris_match() {
    let long = "s".repeat(2_000);
    assert_eq!(
        vars("wiki://{lang:2}-{+slug}", &format!("wiki://en-{long}")),
        pairs(&[("lang", "en"), ("slug", &long)])
    );
    assert_eq!(
        vars("x://{a,b}.{ext}", &format!("x://{long},b.txt")),
        pairs(&[("a", &long), ("b", "b"), ("ext", "txt")])
    );
    assert_eq!(
        vars("x://{id:8}{.fmt}", "x://12345678.json"),
        pairs(&[("fmt", "json"), ("id", "12345678")])
    );
    assert_eq!(
        vars("x://{a}{/b}z", &format!("x://{long}/bz")),
        pairs(&[("a", &long), ("b", "b")])
    );
    assert_eq!(
        vars("x://files{/name}.json", "x://files/a.b.json"),
        pairs(&[("name", "a.b")])
    );
    // A value never ends inside an escape, even where the literal after it begins.
    assert_eq!(vars("x://{+path}{.ext}data", "x://foo%2data"), None);
    assert_eq!(vars("x://{+path}{.ext}data", "x://foo%2A.md%2data"), None);
}

#[test]
fn long_uris_stay_within_the_budget() {
    let template = UriTemplate::parse("x://{a}{.b}{/c*}{?d}").unwrap();
    // Every end of `a` is tried, and each time the rest scanned: the budget stops it.
    let uri = format!("x://{}%zz", "a.".repeat(50_000));
    assert!(template.matches(&uri).is_none());
    let uri = format!("x://{}?d=1", "a/".repeat(50_000));
    let _ = template.matches(&uri);
}
