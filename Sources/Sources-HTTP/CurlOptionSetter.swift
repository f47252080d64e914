import CCurl

/// Sets options on one libcurl handle and fails closed: every `curl_easy_setopt` result is checked,
/// and a refused option ends the transfer before it starts. A libcurl that silently lacked an
/// option would otherwise run without it — the https-only redirect rule, say, on a libcurl older
/// than the one pkgfetch was built against.
struct CurlOptionSetter {
    let handle: UnsafeMutableRawPointer
    /// Options to treat as unknown to this libcurl, as an older one would (tests only).
    let unknown: Set<UInt32>

    func set(_ option: CURLoption, _ value: Int) throws {
        try check(option) { ccurl_setopt_long(handle, option, value) }
    }

    /// libcurl copies string options (since 7.17), so the temporary C string may go away after the call.
    func set(_ option: CURLoption, _ value: String) throws {
        try check(option) { ccurl_setopt_string(handle, option, value) }
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws {
        try check(option) { ccurl_setopt_pointer(handle, option, pointer) }
    }

    func set(_ option: CURLoption, list: UnsafeMutablePointer<curl_slist>?) throws {
        try check(option) { ccurl_setopt_slist(handle, option, list) }
    }

    func set(_ option: CURLoption, callback: ccurl_data_callback) throws {
        try check(option) { ccurl_setopt_data_callback(handle, option, callback) }
    }

    func set(progress callback: ccurl_xferinfo_callback) throws {
        try check(CURLOPT_XFERINFOFUNCTION) { ccurl_setopt_xferinfo_callback(handle, callback) }
    }

    /// A blob option (`CURLOPT_CAINFO_BLOB`); libcurl copies the bytes.
    func set(_ option: CURLoption, blob: UnsafeRawBufferPointer) throws {
        try check(option) { ccurl_setopt_blob(handle, option, UnsafeMutableRawPointer(mutating: blob.baseAddress), blob.count) }
    }

    /// Transfers speak http or https; redirects go to https only when `redirectsHTTPSOnly`. Set with
    /// the string options where libcurl has them (7.85 and later), else with the bitmask options
    /// older ones know; only http and https are involved, so both forms say the same.
    func restrictProtocols(redirectsHTTPSOnly: Bool) throws {
        try restrict(ccurl_opt_protocols_str, orElse: ccurl_opt_protocols, httpsOnly: false)
        try restrict(ccurl_opt_redir_protocols_str, orElse: ccurl_opt_redir_protocols, httpsOnly: redirectsHTTPSOnly)
    }

    private func restrict(_ string: CURLoption, orElse bitmask: CURLoption, httpsOnly: Bool) throws {
        let code = attempt(string) { ccurl_setopt_string(handle, string, httpsOnly ? "https" : "http,https") }
        if code == CURLE_UNKNOWN_OPTION {
            try set(bitmask, httpsOnly ? ccurl_proto_https : ccurl_proto_http | ccurl_proto_https)
        } else if code != CURLE_OK {
            throw Self.refusal(string, code)
        }
    }

    private func attempt(_ option: CURLoption, _ apply: () -> CURLcode) -> CURLcode {
        unknown.contains(option.rawValue) ? CURLE_UNKNOWN_OPTION : apply()
    }

    private func check(_ option: CURLoption, _ apply: () -> CURLcode) throws {
        let code = attempt(option, apply)
        if code != CURLE_OK { throw Self.refusal(option, code) }
    }

    /// e.g. `libcurl 7.81.0 refused option PROTOCOLS_STR (An unknown option was passed in to libcurl); …`.
    static func refusal(_ option: CURLoption, _ code: CURLcode) -> TransportError {
        let name = ccurl_option_name(option).map { String(cString: $0) } ?? "number \(option.rawValue)"
        let version = String(cString: ccurl_version())
        return TransportError(kind: .other,
                              message: "libcurl \(version) refused option \(name) (\(String(cString: curl_easy_strerror(code)))); pkgfetch does not transfer without it",
                              curlCode: Int(code.rawValue))
    }
}
