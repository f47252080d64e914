import Foundation
import Testing
import TestSupport

/// The CLI against symlinks another user (uid 65534) planted in a sticky shared directory, as /tmp is:
/// `--output` replaces the link itself, a merge into it exits 70, `--replace` swaps the link itself;
/// what the links point at is never touched. From the cache, so no network is involved.
@Suite(.offPool) struct SymlinkDestinationTests {
    @Test func plantedSymlinksAreReplacedOrRefusedNeverFollowed() throws {
        let work = try TemporaryDirectory("e2e-symlink")
        try FileManager.default.createDirectory(atPath: work.join("tree/kubernetes/node/bin"), withIntermediateDirectories: true)
        try Files.writeRandom(work.join("tree/kubernetes/node/bin/kubelet"), size: 100_000)
        try FileManager.default.createDirectory(atPath: work.join("cache"), withIntermediateDirectories: true)
        let cached = work.join("cache/kubernetes-node-linux-amd64.tar.gz")
        _ = try Processes.check(["tar", "-czf", cached, "-C", work.join("tree"), "kubernetes"])
        for directory in ["shared", "victim"] {
            try FileManager.default.createDirectory(atPath: work.join(directory), withIntermediateDirectories: true)
        }
        #expect(chmod(work.join("shared"), 0o1777) == 0)
        try Data("precious".utf8).write(to: URL(fileURLWithPath: work.join("victim/file")))
        for (link, target) in [("shared/k.tgz", "victim/file"), ("shared/node", "victim")] {
            try FileManager.default.createSymbolicLink(atPath: work.join(link), withDestinationPath: work.join(target))
            #expect(lchown(work.join(link), 65534, 65534) == 0)
        }
        func fetch(_ target: [String]) throws -> ProcessOutput {
            try PkgfetchCLI.run(["fetch", CachePathTests.kubernetesURL, "--cache-dir", work.join("cache")] + target)
        }
        func victimIntact() -> Bool {
            (try? String(contentsOfFile: work.join("victim/file"), encoding: .utf8)) == "precious"
                && (try? FileManager.default.contentsOfDirectory(atPath: work.join("victim"))) == ["file"]
        }

        let output = try fetch(["--output", work.join("shared/k.tgz")])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(FileManager.default.destinationOfSymbolicLinkIfExists(work.join("shared/k.tgz")) == nil)
        #expect(try Files.sha256(work.join("shared/k.tgz")) == (try Files.sha256(cached)))
        #expect(victimIntact())

        let merge = try fetch(["--dest", work.join("shared/node")])
        #expect(merge.status == 70, "\(merge.stderr)")
        #expect(merge.stderr.hasPrefix("pkgfetch: error[destination-io]: refusing to follow the symlink \(work.join("shared/node"))"), "\(merge.stderr)")
        #expect(merge.stderr.split(separator: "\n").count == 1)
        #expect(victimIntact())

        let replace = try fetch(["--dest", work.join("shared/node"), "--replace"])
        #expect(replace.status == 0, "\(replace.stderr)")
        #expect(FileManager.default.destinationOfSymbolicLinkIfExists(work.join("shared/node")) == nil)
        #expect(try Files.sha256(work.join("shared/node/kubernetes/node/bin/kubelet")) == (try Files.sha256(work.join("tree/kubernetes/node/bin/kubelet"))))
        #expect(victimIntact())
        #expect(Files.stagingDirectories(in: work.join("shared")).isEmpty)
    }
}

private extension FileManager {
    func destinationOfSymbolicLinkIfExists(_ path: String) -> String? { try? destinationOfSymbolicLink(atPath: path) }
}
