#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

/// The contract between pkgfetch and a helper executable, as "Writing a helper executable" (DocC) and
/// README state it for authors who do not read Swift: its name, its environment, its announcement on
/// descriptor 3 and what its exit statuses mean.
public enum HelperProtocol {
    /// A helper for scheme `s` is an executable named `pkgfetch-fetch-s`.
    public static let namePrefix = "pkgfetch-fetch-"
    /// The version of this protocol, passed as `PKGFETCH_HELPER_PROTOCOL`.
    static let version = "1"

    /// `PKGFETCH_OFFSET`: the first byte wanted; set (above 0) only with `PKGFETCH_VERSION`.
    static let offsetVariable = "PKGFETCH_OFFSET"
    /// `PKGFETCH_VERSION`: the version the helper announced for the bytes pkgfetch already holds.
    static let versionVariable = "PKGFETCH_VERSION"
    /// `PKGFETCH_TIMEOUT`: seconds left in this attempt (decimal).
    static let timeoutVariable = "PKGFETCH_TIMEOUT"
    /// `PKGFETCH_DEADLINE`: the attempt's end, in seconds since the Unix epoch (decimal).
    static let deadlineVariable = "PKGFETCH_DEADLINE"
    /// `PKGFETCH_ATTEMPT`: 1 for the first try of this source.
    static let attemptVariable = "PKGFETCH_ATTEMPT"
    /// `PKGFETCH_FILE_NAME`: the package's file name, as the plan names it.
    static let fileNameVariable = "PKGFETCH_FILE_NAME"

    /// Exit statuses with a meaning (the BSD sysexits values); any other non-zero status fails the
    /// source without another try, and death by a signal pkgfetch did not send is tried again.
    public enum ExitStatus {
        /// 66 (EX_NOINPUT): the source has no such content.
        public static let notFound: Int32 = 66
        /// 77 (EX_NOPERM): access refused.
        public static let unauthorized: Int32 = 77
        /// 75 (EX_TEMPFAIL): try again later.
        public static let tryAgainLater: Int32 = 75
    }

    /// The reason of a helper's failure from its wait status; nil for success (exit 0).
    static func reason(forWaitStatus status: Int32) -> FailureReason? {
        let signal = status & 0x7F
        guard signal == 0 else { return .unavailable }
        switch (status >> 8) & 0xFF {
        case 0: return nil
        case ExitStatus.notFound: return .notFound
        case ExitStatus.unauthorized: return .unauthorized
        case ExitStatus.tryAgainLater: return .unavailable
        default: return .rejected
        }
    }

    /// How a wait status reads in a message: `exit 66`, `killed by signal 9`.
    static func describe(waitStatus status: Int32) -> String {
        let signal = status & 0x7F
        return signal == 0 ? "exit \((status >> 8) & 0xFF)" : "killed by signal \(signal)"
    }

    /// The variables of pkgfetch's own environment a helper always gets (so a helper in any language
    /// starts as it would from a login shell); nothing else is passed unless named (`--helper-env`).
    /// Credentials, proxies and tokens in pkgfetch's environment stay there.
    static let passedByDefault = ["LANG", "LC_ALL", "TMPDIR", "TZ"]

    /// The `HOME` a helper gets: the home directory of the effective user's passwd entry (root's own
    /// under `sudo -E`), never the caller's `HOME`, whose start-up files (Python's `usercustomize`, a
    /// shell's rc files) would run as root; nil (no `HOME`) when the entry has none.
    static var home: String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getpwuid_r(geteuid(), &entry, &buffer, buffer.count, &result) == 0, result != nil, let directory = entry.pw_dir else { return nil }
        let home = String(cString: directory)
        return home.hasPrefix("/") ? home : nil
    }
    /// The `PATH` a helper runs with: fixed, absolute directories only.
    static let searchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The environment of one helper run.
    static func environment(base: [String: String], request: FetchRequest, context: FetchContext) -> [String: String] {
        var environment = base
        environment["PKGFETCH_HELPER_PROTOCOL"] = version
        environment[attemptVariable] = String(context.attempt)
        environment[fileNameVariable] = context.plan.fileName
        let left = context.remaining
        let seconds = Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18
        environment[timeoutVariable] = String(fixedPoint: seconds, places: 3)
        environment[deadlineVariable] = String(fixedPoint: Date().timeIntervalSince1970 + seconds, places: 3)
        if request.offset > 0, case .token(let version)? = request.validator {
            environment[offsetVariable] = String(request.offset)
            environment[versionVariable] = version
        } else {
            environment[offsetVariable] = "0"
        }
        return environment
    }
}

/// What a helper may say about its content on descriptor 3, as one JSON object on one line, before
/// its first byte on stdout: `{"offset": 1048576, "size": 5242880, "digest": "sha256:…", "version": "v7"}`.
/// Every field is optional; unknown fields are ignored.
struct HelperAnnouncement: Decodable, Equatable {
    /// Where stdout starts in the content: `PKGFETCH_OFFSET` when honoured, else 0.
    var offset: Int64?
    /// The size of the whole content.
    var size: Int64?
    /// `sha256:<hex>` (or bare hex) of the whole content.
    var digest: String?
    /// Changes whenever the content does (an ETag, an object version): without it pkgfetch never resumes.
    var version: String?

    /// Parses one announcement line; a malformed one fails the source (the helper breaks its protocol).
    static func parse(_ line: Data, helper: String) throws -> HelperAnnouncement {
        let announcement: HelperAnnouncement
        do { announcement = try JSONDecoder().decode(HelperAnnouncement.self, from: line) } catch {
            throw PkgfetchError(.rejected, "\(helper) announced something that is not a JSON object of offset, size, digest and version on descriptor 3")
        }
        if let offset = announcement.offset, offset < 0 { throw PkgfetchError(.rejected, "\(helper) announced a negative offset") }
        if let size = announcement.size, size < 0 { throw PkgfetchError(.rejected, "\(helper) announced a negative size") }
        if let digest = announcement.digest, SHA256Digest(digest) == nil {
            throw PkgfetchError(.rejected, "\(helper) announced a digest that is not sha256:<64 hex digits>")
        }
        return announcement
    }
}
