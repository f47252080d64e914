import Foundation
import Testing
import TestSupport

/// A destination whose file system fills up mid-way: exit 70 with the reason, the old content kept,
/// no staging left. The small file system is a 2 MiB tmpfs (mounting needs root, as `make test` runs).
@Suite(.offPool) struct DiskFullTests {
    final class SmallFileSystem {
        let path: String
        init(_ path: String, size: String = "2m", readOnly: Bool = false) throws {
            self.path = path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let mount = try Processes.run(["mount", "-t", "tmpfs", "-o", "size=\(size)\(readOnly ? ",ro" : "")", "tmpfs", path])
            guard mount.status == 0 else {
                throw TestSupportError("mounting a tmpfs failed (the disk-full tests need root): \(mount.stderr)")
            }
        }
        deinit { _ = try? Processes.run(["umount", "-l", path]) }
    }

    @Test func aFileLargerThanTheFreeSpaceExits70AndKeepsTheOldOne() async throws {
        let work = try TemporaryDirectory("disk-full")
        let small = try SmallFileSystem(work.join("small"))
        let (_, url, _) = try NginxDownloadTests.publish("azure-vnet-cni-linux-amd64-v1.6.22.tgz", size: 5_000_000, seed: 22)
        try FileManager.default.createDirectory(atPath: small.path + "/out", withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: small.path + "/out/pkg.tgz"))

        let (run, _) = try await LoopbackCLI.fetch([url, "--output", small.path + "/out/pkg.tgz", "--retries", "2", "--retry-delay", "100ms"])
        #expect(run.status == 70, "\(run.stderr)")
        #expect(run.stderr.contains("error[destination-io]") && run.stderr.contains("No space left on device"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "one line: \(run.stderr)")
        #expect(try String(contentsOfFile: small.path + "/out/pkg.tgz", encoding: .utf8) == "old")
        #expect(Files.stagingDirectories(in: small.path).isEmpty && Files.stagingDirectories(in: small.path + "/out").isEmpty)
    }

    @Test func anArchiveThatUnpacksPastTheFreeSpaceExits70AndLeavesTheDirectoryAsItWas() async throws {
        let work = try TemporaryDirectory("disk-full-tree")
        let small = try SmallFileSystem(work.join("small"), size: "3m")
        // 1 MiB of archive that unpacks to 8 MiB: it fits as a download, not unpacked.
        let tree = work.join("tree")
        try FileManager.default.createDirectory(atPath: tree + "/bin", withIntermediateDirectories: true)
        for index in 0..<8 { try Data(repeating: UInt8(index), count: 1 << 20).write(to: URL(fileURLWithPath: tree + "/bin/tool\(index)")) }
        let nginx = try Nginx.shared()
        let name = "\(UUID().uuidString.prefix(8))-kubernetes-node-linux-amd64.tar.gz"
        _ = try Processes.check(["tar", "-czf", nginx.file(name), "-C", tree, "bin"])
        try FileManager.default.createDirectory(atPath: small.path + "/node/bin", withIntermediateDirectories: true)
        try Data("old kubelet".utf8).write(to: URL(fileURLWithPath: small.path + "/node/bin/kubelet"))

        let (run, _) = try await LoopbackCLI.fetch([nginx.url("/\(name)"), "--dest", small.path + "/node", "--retries", "0"])
        #expect(run.status == 70, "\(run.stderr)")
        #expect(run.stderr.contains("No space left on device"), "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: small.path + "/node/bin") == ["kubelet"])
        #expect(try String(contentsOfFile: small.path + "/node/bin/kubelet", encoding: .utf8) == "old kubelet")
        #expect(Files.stagingDirectories(in: small.path).isEmpty)
    }
}
