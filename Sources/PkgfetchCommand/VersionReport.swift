import SourcesHTTP
import Unpackers

/// What `pkgfetch --version` prints: pkgfetch's version, then the libraries it runs with, since a
/// node's libcurl and libarchive (not the build machine's) decide TLS, options and formats.
enum VersionReport {
    /// The release number; `make dist` names its tarball after it.
    static let number = "0.1.0"

    static var text: String {
        """
        pkgfetch \(number)
        libcurl \(CurlLibrary.version) (TLS: \(CurlLibrary.tlsBackend ?? "none"))
        \(LibarchiveLibrary.details)
        """
    }
}
