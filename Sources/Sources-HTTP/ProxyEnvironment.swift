#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Proxies come from the environment, as libcurl reads it: `https_proxy`/`HTTPS_PROXY` for https://,
/// `all_proxy`, and `no_proxy`/`NO_PROXY` for exceptions. For http:// URLs libcurl reads only the
/// lower-case `http_proxy` (its guard against "httpoxy" in CGI programs, where a request header can
/// set `HTTP_PROXY`). Node provisioning often exports the upper-case names only, so outside CGI pkgfetch
/// hands `HTTP_PROXY` to libcurl itself; libcurl still applies `NO_PROXY` to a proxy set this way.
enum ProxyEnvironment {
    /// The proxy to set explicitly for `url`, or nil to leave the choice to libcurl.
    static func explicitProxy(for url: String, environment: (String) -> String? = Self.variable) -> String? {
        guard url.lowercased().hasPrefix("http://") else { return nil }
        guard environment("http_proxy") == nil, environment("REQUEST_METHOD") == nil else { return nil }
        guard let proxy = environment("HTTP_PROXY"), !proxy.isEmpty else { return nil }
        return proxy
    }

    static func variable(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
