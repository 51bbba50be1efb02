//! Where a BPStudio request goes (SPEC §1, §2): the region table, `--endpoint` parsing, and
//! the rule that plain `http://` is only for loopback.
//!
//! Owns: turning `--region` / `--endpoint` / VPC into one base URL and the `Host` header that
//! goes with it, and [`is_loopback_url`] for the other address overrides (STS, metadata).
//! Must not touch: the network, the environment or the config file (the callers resolve flag,
//! environment and file into the arguments), and signing.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};

/// The region used when none is given.
pub const DEFAULT_REGION: &str = "cn-hangzhou";

/// The regions with a known BPStudio endpoint.
pub const REGIONS: [&str; 2] = ["cn-hangzhou", "ap-southeast-1"];

const ENDPOINT_HINT: &str = "Give --endpoint (or BPSTUDIO_OP_ENDPOINT) as a host such as \
     bpstudio.cn-hangzhou.aliyuncs.com, or as a URL such as https://host/";

/// The URL scheme of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// TLS; the default and the only choice for a non-loopback host.
    Https,
    /// Plain HTTP; only for a loopback host (tests, the emulator).
    Http,
}

impl Scheme {
    /// `"https"` or `"http"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }

    /// 443 or 80: a port the `Host` header and the URL leave out.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Https => 443,
            Scheme::Http => 80,
        }
    }
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The base URL, always ending in `/`: `https://host/` or `http://127.0.0.1:port/`.
    pub url: String,
    /// `host` or `host:port` exactly as in the `Host` header (the port only when it is not the
    /// scheme's default; an IPv6 address in brackets). This is what V3 signs.
    pub host: String,
    /// The scheme of `url`.
    pub scheme: Scheme,
}

impl Endpoint {
    fn new(scheme: Scheme, host: &Host, port: Option<u16>) -> Self {
        let mut authority = host.to_string();
        if let Some(port) = port.filter(|p| *p != scheme.default_port()) {
            authority.push(':');
            authority.push_str(&port.to_string());
        }
        Endpoint {
            url: format!("{}://{}/", scheme.as_str(), authority),
            host: authority,
            scheme,
        }
    }
}

/// Decides where requests go.
///
/// An explicit `endpoint` wins over `region` and `vpc` (see [`parse_endpoint`]). Otherwise the
/// region (default `cn-hangzhou`; an empty string counts as none) must be one of [`REGIONS`]:
/// `bpstudio.<region>.aliyuncs.com`, or `bpstudio-vpc.<region>.aliyuncs.com` with `vpc`, over
/// HTTPS. Any other region is a usage error naming the known regions and `--endpoint`.
pub fn resolve(region: Option<&str>, endpoint: Option<&str>, vpc: bool) -> Result<Endpoint> {
    if let Some(endpoint) = endpoint {
        return parse_endpoint(endpoint);
    }
    let region = region
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(DEFAULT_REGION);
    if !REGIONS.contains(&region) {
        return Err(Error::usage(format!(
            "region `{region}` has no known BPStudio endpoint (known regions: {} and {})",
            REGIONS[0], REGIONS[1]
        ))
        .with_hint(format!(
            "Use --region {} or --region {}, or give the service address with --endpoint HOST",
            REGIONS[0], REGIONS[1]
        )));
    }
    let prefix = if vpc { "bpstudio-vpc" } else { "bpstudio" };
    let host = Host::Name(format!("{prefix}.{region}.aliyuncs.com"));
    Ok(Endpoint::new(Scheme::Https, &host, None))
}

/// Parses an explicit endpoint (`--endpoint`, `BPSTUDIO_OP_ENDPOINT`, or the config file).
///
/// - A bare host, optionally `host:port`, means `https://host/`. An IPv6 address is written
///   `[::1]` (or bare `::1`, without a port).
/// - `https://host[:port][/]` is kept.
/// - `http://host[:port][/]` only for a loopback host (127.0.0.0/8, `::1`, `localhost`);
///   otherwise a configuration error, since the request carries the access key id and any STS
///   token.
/// - Refused: an empty value, whitespace or control characters, another scheme, user info
///   (`user@`), a path other than `/`, a query or a fragment, a bad port.
pub fn parse_endpoint(input: &str) -> Result<Endpoint> {
    let s = input.trim();
    if s.is_empty() {
        return Err(Error::usage("the endpoint is empty").with_hint(ENDPOINT_HINT));
    }
    let parts = split_url(s).map_err(|problem| {
        // User info may hold a password: never echo that input.
        let shown = if s.contains('@') { "(not shown)" } else { s };
        Error::usage(format!("endpoint {shown}: {problem}")).with_hint(ENDPOINT_HINT)
    })?;
    if !parts.rest.is_empty() && parts.rest != "/" {
        let problem = if parts.rest.contains('?') {
            "a query string is not allowed"
        } else if parts.rest.contains('#') {
            "a fragment is not allowed"
        } else {
            "a path other than `/` is not allowed"
        };
        return Err(Error::usage(format!("endpoint {s}: {problem}")).with_hint(ENDPOINT_HINT));
    }
    let scheme = match parts.scheme.as_deref() {
        None | Some("https") => Scheme::Https,
        Some("http") => Scheme::Http,
        Some(other) => {
            return Err(Error::usage(format!(
                "endpoint {s}: unsupported scheme `{other}` (only https, or http to a loopback address)"
            ))
            .with_hint(ENDPOINT_HINT))
        }
    };
    if scheme == Scheme::Http && !parts.host.is_loopback() {
        return Err(Error::config(format!(
            "refusing plain http:// endpoint {s}: the request carries the access key id and any \
             STS token, so it must use https unless the host is a loopback address"
        ))
        .with_hint(format!(
            "Use https://{}/ (or just the host name); http:// is only accepted for 127.0.0.0/8, \
             ::1 and localhost",
            parts.host
        )));
    }
    Ok(Endpoint::new(scheme, &parts.host, parts.port))
}

/// Whether `url` (a URL with any path, or a bare `host[:port]`) names a loopback host:
/// 127.0.0.0/8, `::1` or `localhost`. False for anything that does not parse, and for a URL
/// with user info (`http://127.0.0.1@example.com/` goes to example.com).
pub fn is_loopback_url(url: &str) -> bool {
    match split_url(url.trim()) {
        Ok(parts) => parts.host.is_loopback(),
        Err(_) => false,
    }
}

/// Whether `host` (without a port; IPv6 with or without brackets) is a loopback host:
/// an IPv4 address in 127.0.0.0/8, `::1`, or `localhost` (any case).
pub fn is_loopback_host(host: &str) -> bool {
    parse_host(host).is_ok_and(|h| h.is_loopback())
}

// ---------------------------------------------------------------------------------------------
// A small URL splitter: scheme, authority (host and port), and the rest.
// ---------------------------------------------------------------------------------------------

/// A validated host: a DNS name (lower-cased) or an IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Name(String),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl Host {
    fn is_loopback(&self) -> bool {
        match self {
            Host::Name(name) => name == "localhost",
            Host::V4(ip) => ip.is_loopback(),
            Host::V6(ip) => ip.is_loopback(),
        }
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::V4(ip) => write!(f, "{ip}"),
            Host::V6(ip) => write!(f, "[{ip}]"),
        }
    }
}

struct UrlParts {
    /// Lower-cased scheme, when the input has `scheme://`.
    scheme: Option<String>,
    host: Host,
    port: Option<u16>,
    /// Everything after the authority: empty, or starting with `/`, `?` or `#`.
    rest: String,
}

/// Splits `scheme://host:port/rest` (scheme optional). Errors are short phrases for messages.
fn split_url(s: &str) -> std::result::Result<UrlParts, String> {
    if s.is_empty() {
        return Err("empty".to_owned());
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("spaces and control characters are not allowed".to_owned());
    }
    let (scheme, after) = match s.find("://") {
        Some(at) => (Some(s[..at].to_ascii_lowercase()), &s[at + 3..]),
        None => (None, s),
    };
    if let Some(scheme) = &scheme {
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(format!("`{scheme}` is not a URL scheme"));
        }
    }
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    if authority.contains('@') {
        return Err(
            "user info (`user@host`) is not allowed; credentials come from the profile".to_owned(),
        );
    }
    if authority.is_empty() {
        return Err("no host".to_owned());
    }
    let (host, port) = split_host_port(authority)?;
    Ok(UrlParts {
        scheme,
        host,
        port,
        rest: rest.to_owned(),
    })
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address without a port.
fn split_host_port(authority: &str) -> std::result::Result<(Host, Option<u16>), String> {
    if let Some(inner) = authority.strip_prefix('[') {
        let close = inner
            .find(']')
            .ok_or_else(|| "unclosed `[` in an IPv6 address".to_owned())?;
        let ip: Ipv6Addr = inner[..close]
            .parse()
            .map_err(|_| format!("`{}` is not an IPv6 address", &inner[..close]))?;
        let after = &inner[close + 1..];
        let port = match after {
            "" => None,
            _ => Some(parse_port(after.strip_prefix(':').ok_or_else(|| {
                format!("unexpected `{after}` after the IPv6 address")
            })?)?),
        };
        return Ok((Host::V6(ip), port));
    }
    if authority.matches(':').count() >= 2 {
        // A bare IPv6 address: no port is possible without brackets.
        let ip: Ipv6Addr = authority.parse().map_err(|_| {
            format!("`{authority}` is not a host; write an IPv6 address with a port as [addr]:port")
        })?;
        return Ok((Host::V6(ip), None));
    }
    match authority.split_once(':') {
        Some((host, port)) => Ok((parse_host(host)?, Some(parse_port(port)?))),
        None => Ok((parse_host(authority)?, None)),
    }
}

fn parse_port(port: &str) -> std::result::Result<u16, String> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{port}` is not a port number"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("port {port} is out of range (1-65535)")),
    }
}

/// A host without a port: an IP address (IPv6 with or without brackets) or a DNS name of
/// letters, digits, `-` and `_` in non-empty dot-separated labels.
fn parse_host(host: &str) -> std::result::Result<Host, String> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<Ipv6Addr>() {
        return Ok(Host::V6(ip));
    }
    if let Ok(ip) = bare.parse::<Ipv4Addr>() {
        return Ok(Host::V4(ip));
    }
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !valid {
        return Err(format!("`{host}` is not a valid host name"));
    }
    Ok(Host::Name(host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    fn ok(region: Option<&str>, endpoint: Option<&str>, vpc: bool) -> Endpoint {
        resolve(region, endpoint, vpc)
            .unwrap_or_else(|e| panic!("{region:?} {endpoint:?} {vpc}: {e} ({:?})", e.hint))
    }

    fn err(endpoint: &str) -> Error {
        match resolve(None, Some(endpoint), false) {
            Ok(e) => panic!("{endpoint:?} accepted as {e:?}"),
            Err(e) => e,
        }
    }

    fn https(host: &str) -> Endpoint {
        Endpoint {
            url: format!("https://{host}/"),
            host: host.to_owned(),
            scheme: Scheme::Https,
        }
    }

    #[test]
    fn default_region_is_hangzhou() {
        assert_eq!(
            ok(None, None, false),
            https("bpstudio.cn-hangzhou.aliyuncs.com")
        );
        assert_eq!(
            ok(Some(""), None, false),
            https("bpstudio.cn-hangzhou.aliyuncs.com")
        );
    }

    #[test]
    fn known_regions_and_vpc() {
        assert_eq!(
            ok(Some("cn-hangzhou"), None, false),
            https("bpstudio.cn-hangzhou.aliyuncs.com")
        );
        assert_eq!(
            ok(Some("ap-southeast-1"), None, false),
            https("bpstudio.ap-southeast-1.aliyuncs.com")
        );
        assert_eq!(
            ok(Some("cn-hangzhou"), None, true),
            https("bpstudio-vpc.cn-hangzhou.aliyuncs.com")
        );
        assert_eq!(
            ok(Some("ap-southeast-1"), None, true),
            https("bpstudio-vpc.ap-southeast-1.aliyuncs.com")
        );
        assert_eq!(
            ok(None, None, true),
            https("bpstudio-vpc.cn-hangzhou.aliyuncs.com")
        );
    }

    #[test]
    fn unknown_region_without_endpoint_is_a_usage_error() {
        for (region, vpc) in [
            ("eu-central-1", false),
            ("cn-beijing", true),
            ("CN-HANGZHOU", false),
        ] {
            let e = resolve(Some(region), None, vpc).unwrap_err();
            assert_eq!(e.kind, Kind::Usage);
            assert_eq!(e.exit_code(), crate::error::exit::USAGE);
            let text = format!("{} {}", e.message, e.hint.clone().unwrap_or_default());
            for needle in [region, "cn-hangzhou", "ap-southeast-1", "--endpoint"] {
                assert!(text.contains(needle), "{needle:?} missing from {text:?}");
            }
        }
    }

    #[test]
    fn explicit_endpoint_wins_over_region_and_vpc() {
        assert_eq!(
            ok(
                Some("eu-central-1"),
                Some("bpstudio.eu-central-1.aliyuncs.com"),
                true
            ),
            https("bpstudio.eu-central-1.aliyuncs.com")
        );
    }

    #[test]
    fn bare_host_means_https() {
        assert_eq!(
            ok(None, Some("bpstudio.example.com"), false),
            https("bpstudio.example.com")
        );
        assert_eq!(
            ok(None, Some("  Example.COM  "), false),
            https("example.com")
        );
        assert_eq!(
            ok(None, Some("example.com:8443"), false),
            https("example.com:8443")
        );
        assert_eq!(
            ok(None, Some("example.com:443"), false),
            https("example.com")
        );
        assert_eq!(ok(None, Some("10.0.0.1"), false), https("10.0.0.1"));
        assert_eq!(
            ok(None, Some("127.0.0.1:9000"), false),
            https("127.0.0.1:9000")
        );
        assert_eq!(ok(None, Some("[::1]:9000"), false), https("[::1]:9000"));
        assert_eq!(ok(None, Some("::1"), false), https("[::1]"));
        assert_eq!(ok(None, Some("example.com/"), false), https("example.com"));
    }

    #[test]
    fn https_url_is_kept() {
        assert_eq!(
            ok(None, Some("https://example.com"), false),
            https("example.com")
        );
        assert_eq!(
            ok(None, Some("https://example.com/"), false),
            https("example.com")
        );
        assert_eq!(
            ok(None, Some("HTTPS://example.com:8443/"), false),
            https("example.com:8443")
        );
        assert_eq!(
            ok(None, Some("https://[2001:db8::1]/"), false),
            https("[2001:db8::1]")
        );
    }

    #[test]
    fn http_only_to_loopback() {
        for (input, host) in [
            ("http://127.0.0.1:8080/", "127.0.0.1:8080"),
            ("http://127.0.0.1:8080", "127.0.0.1:8080"),
            ("http://127.255.0.9/", "127.255.0.9"),
            ("http://localhost:1234", "localhost:1234"),
            ("http://LOCALHOST:1234", "localhost:1234"),
            ("http://[::1]:5000/", "[::1]:5000"),
            ("http://127.0.0.1:80/", "127.0.0.1"),
        ] {
            let e = ok(None, Some(input), false);
            assert_eq!(e.scheme, Scheme::Http, "{input}");
            assert_eq!(e.host, host, "{input}");
            assert_eq!(e.url, format!("http://{host}/"), "{input}");
        }
        for input in [
            "http://bpstudio.cn-hangzhou.aliyuncs.com/",
            "http://10.0.0.1:8080",
            "http://128.0.0.1/",
            "http://localhost.example.com/",
            "http://127.0.0.1.example.com/",
            "http://[::2]/",
            "http://[::ffff:10.0.0.1]/",
        ] {
            let e = err(input);
            assert_eq!(e.kind, Kind::Config, "{input}");
            assert!(e.message.contains("access key id"), "{}", e.message);
            assert!(e.message.contains("STS token"), "{}", e.message);
            assert!(e.hint.unwrap().contains("https://"));
        }
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        for (input, reason) in [
            ("", "empty"),
            ("   ", "empty"),
            ("exa mple.com", "spaces"),
            ("https://example.com/\tx", "spaces"),
            ("https://example.com/api", "path"),
            ("example.com/api/", "path"),
            ("https://example.com//", "path"),
            ("https://example.com/?a=b", "query"),
            ("https://example.com?a=b", "query"),
            ("https://example.com#x", "fragment"),
            ("https://user:pw@example.com/", "user info"),
            ("ftp://example.com/", "scheme"),
            ("://example.com", "scheme"),
            ("https://", "no host"),
            ("https:///", "no host"),
            ("example.com:", "port"),
            ("example.com:0", "port"),
            ("example.com:65536", "port"),
            ("example.com:8a", "port"),
            ("[::1", "IPv6"),
            ("[nope]", "IPv6"),
            ("[::1]x", "after the IPv6"),
            ("a::b::c", "[addr]:port"),
            ("example..com", "host name"),
            (".example.com", "host name"),
            ("exa$mple.com", "host name"),
        ] {
            let e = err(input);
            assert_eq!(e.kind, Kind::Usage, "{input:?}: {}", e.message);
            assert!(
                e.message.contains(reason),
                "{input:?}: {:?} lacks {reason:?}",
                e.message
            );
            assert!(e.hint.is_some(), "{input:?} has no hint");
        }
    }

    #[test]
    fn user_info_is_never_echoed() {
        let e = err("https://id:SuperSecret@example.com/");
        assert!(!e.message.contains("SuperSecret"), "{}", e.message);
        assert!(!e.hint.unwrap_or_default().contains("SuperSecret"));
    }

    #[test]
    fn loopback_urls() {
        for url in [
            "http://127.0.0.1:8080/sts",
            "http://127.0.0.1",
            "http://127.1.2.3:1/x?y#z",
            "http://localhost/",
            "https://localhost:8443/path",
            "http://[::1]:9000/",
            "127.0.0.1:9000",
            "localhost",
            "::1",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "http://100.100.100.200/latest/meta-data/",
            "http://128.0.0.1/",
            "http://localhost.evil.com/",
            "http://127.0.0.1.evil.com/",
            "http://127.0.0.1@evil.com/",
            "http://evil.com/127.0.0.1",
            "http://[::2]/",
            "https://sts.aliyuncs.com",
            "",
            "not a url",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1",
            "127.255.255.255",
            "localhost",
            "LocalHost",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "126.255.255.255",
            "128.0.0.0",
            "0.0.0.0",
            "::",
            "example.com",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
