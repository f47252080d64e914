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

    /// Each row of codes gives today's codes; a scheme nobody declared gets a download's.
    @Test func reasonsAndFamiliesGiveTodaysCodes() {
        let (download, registry, local) = (FailureFamily("d"), FailureFamily("r", codes: .registry), FailureFamily("l", codes: .local))
        func code(_ reason: FailureReason, _ family: FailureFamily?) -> Int32 { PkgfetchError(reason, "x", family: family).kind.exitCode }
        #expect([code(.notFound, download), code(.notFound, registry), code(.notFound, local)] == [21, 32, 11])
        #expect(PkgfetchError(.notFound, "x", scheme: "undeclared-scheme").kind.exitCode == 21)
        #expect([code(.unavailable, download), code(.unavailable, registry), code(.rejected, registry), code(.rejected, local)] == [20, 30, 30, 11])
        #expect([code(.unauthorized, download), code(.unauthorized, registry)] == [20, 31])
        #expect([code(.timeout, download), code(.cancelled, nil), code(.tooLarge, download), code(.integrity, registry)] == [40, 40, 50, 50])
        #expect([code(.noMatch, registry), code(.corrupt, nil), code(.unsafe, nil), code(.destination, nil)] == [33, 60, 61, 70])
        #expect([code(.invalidRequest, nil), code(.unresolved, nil), code(.noFetcher, nil), code(.stopped, nil), code(.bug, nil)]
                    == [2, 10, 11, 130, 1])
    }

    /// A backend's own failures print its family's names, the rest the code's; a scheme nobody declared
    /// (a helper's) names its family after itself.
    @Test func failuresPrintTheirBackendsNames() {
        let store = FailureFamily("teamstore")
        #expect(PkgfetchError(.notFound, "x", family: store).description == "error[teamstore-not-found]: x")
        #expect(PkgfetchError(.unavailable, "x", family: store).name == "teamstore-unavailable")
        #expect(PkgfetchError(.unauthorized, "x", family: store).name == "teamstore-unauthorized")
        #expect(PkgfetchError(.timeout, "x", family: store).name == "network-timeout")
        #expect(PkgfetchError(.notFound, "x", scheme: "blob").name == "blob-not-found")
        #expect(PkgfetchError(.notFound, "x", scheme: "blob").kind == .httpNotFound)
        #expect(PkgfetchError(.notFound, "x").name == "http-not-found", "about no source: the code's own name")
        #expect(PkgfetchError(.artifactNotFound, "x").name == "artifact-not-found", "a named code keeps its name")
    }

    /// A fetcher's error without a scheme takes its source's, as the runner stamps it, and with it what
    /// the scheme's backend declared; a named code stays.
    @Test func theRunnerStampsTheSourcesScheme() {
        ExitCodeTable.declare(FailureFamily("stamped", codes: .registry), forSchemes: ["stamptest"])
        #expect(PkgfetchError(.notFound, "x").about(scheme: "stamptest").kind == .artifactNotFound)
        #expect(PkgfetchError(.notFound, "x").about(scheme: "stamptest").name == "stamped-not-found")
        #expect(PkgfetchError(.notFound, "x", scheme: "https").about(scheme: "stamptest").kind == .httpNotFound)
        #expect(PkgfetchError(.notFound, "x").about(scheme: "undeclared", family: FailureFamily("given", codes: .local)).name == "given-not-found")
        #expect(PkgfetchError(.identityTokenFailed, "x", retryable: true).about(scheme: "https").kind == .identityTokenFailed)
    }
}
