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
