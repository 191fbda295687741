//! Where `seed` may write without being told twice: DynamoDB Local on this
//! machine, never real tables by accident. With AWS credentials in the shell
//! and no endpoint set, the SDK would send `seed`'s writes to AWS, into the
//! production table names (the defaults). So `seed` decides from the endpoint
//! variables alone, before it loads any configuration or makes any call, and
//! then gives the SDK exactly the endpoint it checked (`seed.rs`), so the
//! SDK's other sources (a profile's `endpoint_url`,
//! `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`) cannot send it elsewhere.

use std::fmt;
use std::net::IpAddr;

/// The flag that lets `seed` write to any endpoint, the AWS default included.
pub const ALLOW_REMOTE_FLAG: &str = "--allow-remote-endpoint";

/// Where the endpoint is read from, in the SDK's order: the first one set
/// (and not empty) wins.
pub const ENDPOINT_VARIABLES: [&str; 2] = ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"];

/// The Docker bridge addresses the local scripts use to reach DynamoDB Local
/// from a container, and no others: `172.17.0.1`, the default bridge's
/// gateway (`docker_bridge_gateway` in `scripts/docker.sh` finds it), and
/// `host.docker.internal`, the name `local/template.yaml` declares.
pub const DOCKER_BRIDGE_HOSTS: [&str; 2] = ["172.17.0.1", "host.docker.internal"];

/// The endpoint the environment names, and the variable that named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub variable: &'static str,
    pub url: String,
}

/// The endpoint `get` (an environment lookup) names, if any: the first of
/// [`ENDPOINT_VARIABLES`] that is set and not empty.
pub fn endpoint_from(get: impl Fn(&str) -> Option<String>) -> Option<Endpoint> {
    ENDPOINT_VARIABLES.into_iter().find_map(|variable| {
        get(variable)
            .filter(|url| !url.is_empty())
            .map(|url| Endpoint { variable, url })
    })
}

/// Why `seed` will not write there without [`ALLOW_REMOTE_FLAG`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No endpoint: the SDK would use AWS's own, real tables.
    NoEndpoint,
    /// Not a URL the SDK could use as it is.
    Malformed { endpoint: Endpoint, why: String },
    /// A host other than loopback or a local Docker bridge address.
    NotLocal { endpoint: Endpoint, host: String },
}

impl fmt::Display for Refusal {
    /// One line: why, and how to override.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoEndpoint => write!(
                f,
                "refusing to write: neither {} nor {} is set, so the writes would go to AWS itself \
                 (point AWS_ENDPOINT_URL_DYNAMODB at DynamoDB Local, e.g. http://127.0.0.1:8000, \
                 or pass {ALLOW_REMOTE_FLAG} to write to AWS)",
                ENDPOINT_VARIABLES[0], ENDPOINT_VARIABLES[1]
            ),
            Refusal::Malformed { endpoint, why } => write!(
                f,
                "refusing to write: {}={:?} is not a usable endpoint URL ({why}); \
                 pass {ALLOW_REMOTE_FLAG} to let the SDK try it anyway",
                endpoint.variable, endpoint.url
            ),
            Refusal::NotLocal { endpoint, host } => write!(
                f,
                "refusing to write: {}={:?} names host {host:?}, which is not loopback \
                 (127.0.0.0/8, ::1, localhost) or a local Docker bridge address ({}); \
                 pass {ALLOW_REMOTE_FLAG} to write there anyway",
                endpoint.variable,
                endpoint.url,
                DOCKER_BRIDGE_HOSTS.join(", ")
            ),
        }
    }
}

/// Whether `seed` may write to `endpoint` without [`ALLOW_REMOTE_FLAG`]: an
/// `http` or `https` URL whose host is loopback (127.0.0.0/8, `::1`,
/// `localhost`) or one of [`DOCKER_BRIDGE_HOSTS`]. The host is read with
/// `http::Uri`, as the SDK's HTTP client reads it, so `http://127.0.0.1@example.com`
/// is `example.com`. Names other than `localhost` are not resolved: what a
/// name resolves to can change after the check.
pub fn check(endpoint: Option<&Endpoint>) -> Result<(), Refusal> {
    let Some(endpoint) = endpoint else {
        return Err(Refusal::NoEndpoint);
    };
    let malformed = |why: &str| Refusal::Malformed {
        endpoint: endpoint.clone(),
        why: why.to_owned(),
    };
    let uri: http::Uri = endpoint
        .url
        .parse()
        .map_err(|error: http::uri::InvalidUri| Refusal::Malformed {
            endpoint: endpoint.clone(),
            why: error.to_string(),
        })?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(_) => return Err(malformed("the scheme is neither http nor https")),
        None => return Err(malformed("no http:// or https:// scheme")),
    }
    let host = uri.host().ok_or_else(|| malformed("no host"))?;
    if is_local(host) {
        Ok(())
    } else {
        Err(Refusal::NotLocal {
            endpoint: endpoint.clone(),
            host: host.to_owned(),
        })
    }
}

fn is_local(host: &str) -> bool {
    // http::Uri keeps an IPv6 literal's brackets.
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return ip.is_loopback() || DOCKER_BRIDGE_HOSTS.contains(&literal);
    }
    host.eq_ignore_ascii_case("localhost")
        || DOCKER_BRIDGE_HOSTS
            .iter()
            .any(|name| host.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> Endpoint {
        Endpoint {
            variable: "AWS_ENDPOINT_URL_DYNAMODB",
            url: url.to_owned(),
        }
    }

    #[test]
    fn loopback_and_the_scripts_docker_bridge_addresses_are_local() {
        for url in [
            "http://127.0.0.1:8000",
            "http://127.0.0.1:8000/",
            "http://127.45.6.7:8000",
            "https://127.0.0.1:8443",
            "http://[::1]:8000",
            "http://localhost:8000",
            "http://LOCALHOST:8000",
            "http://localhost",
            "http://172.17.0.1:8000",
            "http://host.docker.internal:8000",
        ] {
            assert_eq!(check(Some(&endpoint(url))), Ok(()), "{url}");
        }
    }

    #[test]
    fn every_other_host_is_refused() {
        for (url, host) in [
            (
                "https://dynamodb.us-east-1.amazonaws.com",
                "dynamodb.us-east-1.amazonaws.com",
            ),
            (
                "http://dynamodb.us-east-1.amazonaws.com",
                "dynamodb.us-east-1.amazonaws.com",
            ),
            ("http://192.0.2.10:8000", "192.0.2.10"),
            ("http://10.0.0.5:8000", "10.0.0.5"),
            // the bridge's neighbours, not the gateway the scripts use
            ("http://172.17.0.2:8000", "172.17.0.2"),
            ("http://172.18.0.1:8000", "172.18.0.1"),
            ("http://0.0.0.0:8000", "0.0.0.0"),
            ("http://[::]:8000", "[::]"),
            ("http://[2001:db8::1]:8000", "[2001:db8::1]"),
            // a loopback address in the userinfo, not the host
            ("http://127.0.0.1@example.com:8000", "example.com"),
            ("http://localhost.example.com:8000", "localhost.example.com"),
            ("http://127.0.0.1.nip.io:8000", "127.0.0.1.nip.io"),
            // shorthand a resolver would take as loopback, refused rather than guessed
            ("http://127.1:8000", "127.1"),
        ] {
            assert_eq!(
                check(Some(&endpoint(url))),
                Err(Refusal::NotLocal {
                    endpoint: endpoint(url),
                    host: host.to_owned()
                }),
                "{url}"
            );
        }
    }

    #[test]
    fn no_endpoint_is_refused() {
        assert_eq!(check(None), Err(Refusal::NoEndpoint));
        assert_eq!(endpoint_from(|_| None), None);
        // an empty variable is not an endpoint
        assert_eq!(endpoint_from(|_| Some(String::new())), None);
    }

    #[test]
    fn a_malformed_url_is_refused() {
        for url in [
            "127.0.0.1:8000",
            "localhost",
            "ftp://127.0.0.1:8000",
            "http://",
            "http://[::1:8000",
            "http://local host:8000",
            "/just/a/path",
        ] {
            assert!(
                matches!(check(Some(&endpoint(url))), Err(Refusal::Malformed { .. })),
                "{url}: {:?}",
                check(Some(&endpoint(url)))
            );
        }
    }

    #[test]
    fn the_service_variable_wins_over_the_global_one() {
        let env = |dynamodb: Option<&str>, global: Option<&str>| {
            let (dynamodb, global) = (dynamodb.map(str::to_owned), global.map(str::to_owned));
            endpoint_from(move |name| match name {
                "AWS_ENDPOINT_URL_DYNAMODB" => dynamodb.clone(),
                "AWS_ENDPOINT_URL" => global.clone(),
                _ => None,
            })
        };
        let found = |variable, url: &str| {
            Some(Endpoint {
                variable,
                url: url.to_owned(),
            })
        };
        assert_eq!(
            env(Some("http://127.0.0.1:1"), Some("https://example.com")),
            found("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1")
        );
        assert_eq!(
            env(None, Some("https://example.com")),
            found("AWS_ENDPOINT_URL", "https://example.com")
        );
        assert_eq!(
            env(Some(""), Some("https://example.com")),
            found("AWS_ENDPOINT_URL", "https://example.com")
        );
    }

    #[test]
    fn each_refusal_is_one_line_naming_the_override() {
        let refusals = [
            check(None),
            check(Some(&endpoint("https://example.com"))),
            check(Some(&endpoint("127.0.0.1:8000"))),
        ];
        for refusal in refusals {
            let line = refusal.unwrap_err().to_string();
            assert!(!line.contains('\n'), "{line}");
            assert!(line.contains(ALLOW_REMOTE_FLAG), "{line}");
        }
    }
}
