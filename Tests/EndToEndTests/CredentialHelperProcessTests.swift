import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A credential helper runs the way a fetch helper does (issue 20, hole 5): in a group of its own,
/// with nothing of pkgfetch's open, and what it leaves behind ended when it exits.
@Suite(.offPool) struct CredentialHelperProcessTests {
    typealias E = ORASEndToEnd

    /// `(sleep … &)` then a valid answer: the background sleep holds the helper's stdout. Foundation's
    /// `Process` waited for that descriptor to close, so every credentialed pull waited the whole
    /// `--timeout` and ended with exit 40. Now the answer is used as soon as the helper exits, and the
    /// sleep is gone with it. (The timeout, 60 s, is shorter than the sleep and long enough for a
    /// loaded machine: exit 0 shows nothing waited for it.)
    @Test func aCredentialHelperThatLeavesABackgroundProcessIsAnsweredAtItsExit() throws {
        let work = try TemporaryDirectory("e2e-credential-child")
        let file = try E.packageFile(size: 64 * 1024, seed: 43, in: work)
        // Pushed to an open registry; one with Basic auth serves the same storage.
        let seed = try TestRegistry()
        try seed.pushWithORAS(file, repository: E.cniRepository, tag: "v1.6.20")
        let registry = try TestRegistry(auth: .htpasswd(users: ["carol": "carol-pw"]), root: seed.root)
        let mark = "300.\(UInt32.random(in: 100_000_000...999_999_999))"
        defer { Self.killEvery(mark) }
        for directory in ["dc", "bin"] { try FileManager.default.createDirectory(atPath: work.join(directory), withIntermediateDirectories: true) }
        try #"{"credHelpers": {"\#(registry.host)": "lingering"}}"#.write(toFile: work.join("dc/config.json"), atomically: true, encoding: .utf8)
        try """
        #!/bin/sh
        read host
        (sleep \(mark) &)
        echo '{"ServerURL":"'$host'","Username":"carol","Secret":"carol-pw"}'
        """.write(toFile: work.join("bin/docker-credential-lingering"), atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.join("bin/docker-credential-lingering"))
        let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--output", work.join("out.zip"),
                                       "--timeout", "60s", "--retries", "0"],
                                      environment: E.environment(home: work.path, path: work.join("bin") + ":/usr/bin:/bin",
                                                                 extra: ["DOCKER_CONFIG": work.join("dc")]))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(work.join("out.zip")) == (try Files.sha256(file)))
        #expect(Self.running(mark).isEmpty, "the helper's background sleep was left running")
    }

    /// Running `sleep <mark>` processes, waiting up to 30 s for them to go (polled: long only when
    /// one is left, or the machine is loaded).
    static func running(_ mark: String) -> [Int32] {
        let until = ContinuousClock.now + .seconds(30)
        while true {
            let found = matching(mark).filter { pid in
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
                return !"ZX".contains(stat[stat.index(close, offsetBy: 2)])
            }
            if found.isEmpty || ContinuousClock.now >= until { return found }
            usleep(50_000)
        }
    }

    static func matching(_ mark: String) -> [Int32] {
        let wanted = Data("sleep\0\(mark)\0".utf8)
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { pid in
            FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")?.range(of: wanted) != nil
        }
    }

    static func killEvery(_ mark: String) {
        for pid in matching(mark) { kill(pid, SIGKILL) }
    }
}
