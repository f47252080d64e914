import CCurl
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The certificates a transport trusts when `--ca-file` is given: the system's bundle plus that file.
/// libcurl's `CURLOPT_CAINFO` would replace the system bundle rather than add to it, so the two are
/// joined into one PEM blob that every handle is given (`CURLOPT_CAINFO_BLOB`).
struct TrustedCertificates: Sendable {
    let pem: Data

    /// The system bundle (libcurl's built-in default) followed by `extraFile`; nil when `extraFile`
    /// cannot be read, in which case libcurl is given the path and reports the problem itself.
    static func adding(_ extraFile: String, to systemBundle: String? = systemBundlePath) -> TrustedCertificates? {
        adding([extraFile], to: systemBundle)
    }

    /// The system bundle followed by each of `extraFiles`; nil when one cannot be read.
    static func adding(_ extraFiles: [String], to systemBundle: String? = systemBundlePath) -> TrustedCertificates? {
        var pem = systemBundle.flatMap { FileManager.default.contents(atPath: $0) } ?? Data()
        for file in extraFiles {
            guard let extra = FileManager.default.contents(atPath: file) else { return nil }
            if let last = pem.last, last != 0x0A { pem.append(0x0A) }
            pem.append(extra)
        }
        return TrustedCertificates(pem: pem)
    }

    /// Where libcurl looks for CA certificates by default (`CURLINFO_CAINFO`), e.g. Debian's
    /// /etc/ssl/certs/ca-certificates.crt.
    static var systemBundlePath: String? {
        guard let handle = curl_easy_init() else { return nil }
        defer { curl_easy_cleanup(handle) }
        var path: UnsafeMutablePointer<CChar>?
        guard ccurl_getinfo_string(handle, CURLINFO_CAINFO, &path) == CURLE_OK, let path else { return nil }
        return String(cString: path)
    }
}
