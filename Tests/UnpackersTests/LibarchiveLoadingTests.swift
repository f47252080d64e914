import Pipeline
import Testing
@testable import Unpackers

/// libarchive is opened (`dlopen`) when something is first unpacked; a node without it fetches, and
/// an unpack there fails with one line saying what to install.
@Suite("libarchive is loaded on first use")
struct LibarchiveLoadingTests {
    /// The error an unpack would fail with, had loading `soname` failed so.
    private func failure(loading soname: String) -> PkgfetchError? {
        guard case .failure(let failure) = LibarchiveLibrary.load(soname) else { return nil }
        return failure.error
    }

    @Test func aMissingLibraryIsUnpackFailedNamingThePackageToInstall() throws {
        let error = try #require(failure(loading: "libarchive.so.0-not-installed"))
        #expect(error.kind == .unpackFailed && error.kind.exitCode == 60)
        #expect(error.message.contains("libarchive.so.0-not-installed") && error.message.contains("install the libarchive13 package"),
                "\(error.message)")
        #expect(!error.message.contains("\n"))
    }

    /// A library of that name that is not libarchive (or too old to have a function pkgfetch calls).
    @Test func aLibraryWithoutLibarchivesFunctionsIsRefusedNamingTheFirstMissing() throws {
        let error = try #require(failure(loading: "libz.so.1"))
        #expect(error.kind == .unpackFailed)
        #expect(error.message.contains("libz.so.1 has no archive_version_details"), "\(error.message)")
    }

    @Test func theSystemsLibarchiveLoadsWithEveryFunction() throws {
        let library = try LibarchiveLibrary.functions()
        let details = String(cString: try #require(library.version_details()))
        #expect(details.hasPrefix("libarchive 3."), "\(details)")
        #expect(LibarchiveLibrary.details == details)
    }
}
