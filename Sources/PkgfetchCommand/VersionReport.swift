import SourcesHTTP
import Unpackers

/// What `pkgfetch --version` prints: pkgfetch's version, then the libraries it runs with, since a
/// node's libcurl and libarchive (not the build machine's) decide TLS, options and formats.
enum VersionReport {
    /// The release number; `make dist` names its tarball after it.
    static let number = "0.1.0"

    /// The first line, which is also what ArgumentParser holds as the version.
    static var heading: String { "pkgfetch \(number)" }

    /// The whole report. Loads libarchive to ask it (`LibarchiveLibrary`), or says it is missing.
    static var text: String {
        """
        \(heading)
        libcurl \(CurlLibrary.version) (TLS: \(CurlLibrary.tlsBackend ?? "none"))
        \(LibarchiveLibrary.details)
        """
    }
}
