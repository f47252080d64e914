import CArchive
import Pipeline

/// libarchive, loaded (`dlopen`) the first time something is unpacked or `pkgfetch --version` names it,
/// not when pkgfetch starts: a run that unpacks nothing loads none of its chain (libxml2, ICU, libacl,
/// the compressors), and a node without it can still fetch.
public enum LibarchiveLibrary {
    /// The Debian package that provides `libarchive.so.13`, named when it is missing.
    static let package = "libarchive13"

    /// libarchive's functions; the first call loads the library. Throws `unpack-failed` (60), saying
    /// which package to install, when it cannot be loaded.
    static func functions() throws(PkgfetchError) -> pkgfetch_libarchive {
        try loaded.mapError(\.error).get()
    }

    private static let loaded = load(String(cString: pkgfetch_libarchive_soname))

    /// Why the library could not be used: `could not be loaded (dlerror's words); install …`.
    struct LoadFailure: Error {
        let reason: String

        /// What an unpack fails with: `unpack-failed` (60), one line.
        var error: PkgfetchError { PkgfetchError(.unpackFailed, "cannot unpack: libarchive \(reason)") }
    }

    /// `soname` loaded and its functions resolved, or why not.
    static func load(_ soname: String) -> Result<pkgfetch_libarchive, LoadFailure> {
        let table = UnsafeMutablePointer<pkgfetch_libarchive>.allocate(capacity: 1)
        defer { table.deallocate() }
        var reason = [CChar](repeating: 0, count: 512)
        guard pkgfetch_libarchive_load(soname, table, &reason, reason.count) == 0 else {
            let text = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .failure(LoadFailure(reason: "could not be loaded (\(text)); install the \(package) package"))
        }
        return .success(table.move())
    }

    /// `libarchive 3.6.2 zlib/1.2.13 liblzma/5.4.1 bz2lib/1.0.8 libzstd/1.5.4`: the version and the
    /// compression libraries it was built with, which decide the formats a node can unpack; or why it
    /// cannot be loaded.
    public static var details: String {
        switch loaded {
        case .success(let library): library.version_details().map { String(cString: $0) } ?? "libarchive"
        case .failure(let failure): "libarchive \(failure.reason) to unpack"
        }
    }
}
