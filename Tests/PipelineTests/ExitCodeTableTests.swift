import Pipeline
import Testing

/// The exit-code table is public interface: scripts branch on these numbers.
@Suite struct ExitCodeTableTests {
    @Test func tableIsPinned() {
        let table = ErrorKind.allCases.map { "\($0.exitCode) \($0.name)" }
        #expect(table == [
            "0 ok", "1 internal", "2 usage", "10 resolve-failed", "11 no-source", "20 http-download-failed",
            "21 http-not-found", "30 oras-pull-failed", "31 registry-unauthorized", "32 artifact-not-found",
            "33 no-matching-content", "40 network-timeout", "41 identity-token-failed", "50 integrity-mismatch",
            "60 unpack-failed", "61 unsafe-archive", "70 destination-io", "130 interrupted",
        ])
    }

    @Test func codesAndNamesAreUnique() {
        #expect(Set(ErrorKind.allCases.map(\.exitCode)).count == ErrorKind.allCases.count)
        #expect(Set(ErrorKind.allCases.map(\.name)).count == ErrorKind.allCases.count)
    }

    @Test func errorPrintsKindName() {
        let error = PkgfetchError(.integrityMismatch, "expected sha256:aa, got sha256:bb")
        #expect(error.description == "error[integrity-mismatch]: expected sha256:aa, got sha256:bb")
    }
}

/// One failure model: backend-neutral reasons, mapped to the stable codes in one table.
@Suite struct FailureModelTests {
    /// Every code named the old way comes out as the same code, with the retry decision it was given.
    @Test(arguments: ErrorKind.allCases)
    func aNamedCodeIsKept(kind: ErrorKind) {
        #expect(PkgfetchError(kind, "x").kind == kind)
        #expect(PkgfetchError(kind, "x", retryable: true).kind == kind)
        #expect(PkgfetchError(kind, "x", retryable: true).retryable)
    }

    /// The built-in backends' failures give today's codes; a scheme nobody listed gets a download's.
    @Test func reasonsAndSchemesGiveTodaysCodes() {
        func code(_ reason: FailureReason, _ scheme: String?) -> Int32 { PkgfetchError(reason, "x", scheme: scheme).kind.exitCode }
        #expect([code(.notFound, "https"), code(.notFound, "oci"), code(.notFound, "file"), code(.notFound, "s3")] == [21, 32, 11, 21])
        #expect([code(.unavailable, "http"), code(.unavailable, "oci"), code(.rejected, "oci"), code(.unavailable, "s3")] == [20, 30, 30, 20])
        #expect([code(.unauthorized, "https"), code(.unauthorized, "oci")] == [20, 31])
        #expect([code(.timeout, "s3"), code(.cancelled, nil), code(.tooLarge, "s3"), code(.integrity, "oci")] == [40, 40, 50, 50])
        #expect([code(.noMatch, "oci"), code(.corrupt, nil), code(.unsafe, nil), code(.destination, nil)] == [33, 60, 61, 70])
        #expect([code(.invalidRequest, nil), code(.unresolved, nil), code(.noFetcher, nil), code(.stopped, nil), code(.bug, nil)]
                    == [2, 10, 11, 130, 1])
    }

    /// A fetcher's error without a scheme takes its source's, as the runner stamps it; a named code stays.
    @Test func theRunnerStampsTheSourcesScheme() {
        #expect(PkgfetchError(.notFound, "x").about(scheme: "oci").kind == .artifactNotFound)
        #expect(PkgfetchError(.notFound, "x", scheme: "https").about(scheme: "oci").kind == .httpNotFound)
        #expect(PkgfetchError(.identityTokenFailed, "x", retryable: true).about(scheme: "https").kind == .identityTokenFailed)
    }
}
