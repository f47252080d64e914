import CCurl

/// The libcurl this process runs with (the shared library loaded now, not the headers built against),
/// for `pkgfetch --version`: a node's libcurl decides which options and TLS rules are there.
public enum CurlLibrary {
    /// `7.88.1`.
    public static var version: String { info.map { String(cString: $0.pointee.version) } ?? "unknown" }

    /// The TLS library libcurl uses, `OpenSSL/3.0.17`; nil for a libcurl built without TLS.
    public static var tlsBackend: String? { info.flatMap { $0.pointee.ssl_version.map { String(cString: $0) } } }

    // CURLVERSION_FOURTH: the oldest layout with every field read here; any newer libcurl fills it.
    private static var info: UnsafeMutablePointer<curl_version_info_data>? { curl_version_info(CURLVERSION_FOURTH) }
}
