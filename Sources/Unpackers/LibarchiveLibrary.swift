import CArchive

/// The libarchive this process runs with, for `pkgfetch --version`.
public enum LibarchiveLibrary {
    /// `libarchive 3.6.2 zlib/1.2.13 liblzma/5.4.1 bz2lib/1.0.8 libzstd/1.5.4`: the version and the
    /// compression libraries it was built with, which decide the formats a node can unpack.
    public static var details: String { String(cString: archive_version_details()) }
}
