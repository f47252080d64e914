import Foundation
import Testing
import TestSupport

/// The CLI against a real nginx: packages of several sizes, and a large one fetched in flat memory.
@Suite(.offPool) struct NginxDownloadTests {
    /// Puts a generated package into the shared nginx's root; returns its URL and digest.
    static func publish(_ name: String, size: Int, seed: UInt64) throws -> (Nginx, String, String) {
        let nginx = try Nginx.shared()
        let unique = "\(UUID().uuidString.prefix(8))-\(name)"
        try Files.writeRandom(nginx.file(unique), size: size, seed: seed)
        return (nginx, nginx.url("/\(unique)"), try Files.sha256(nginx.file(unique)))
    }

    @Test(arguments: [0, 1, 5_000_003])
    func packageIsFetchedWithItsDigest(size: Int) async throws {
        let (_, url, digest) = try Self.publish("azure-vnet-cni-linux-amd64-v1.6.20.tgz", size: size, seed: UInt64(size))
        let dir = try TemporaryDirectory("nginx")
        let (run, _) = try await LoopbackCLI.fetch([url, "--output", dir.join("out/pkg.tgz"), "--sha256", digest, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Files.sha256(dir.join("out/pkg.tgz")) == digest)
        let result = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(result?["bytes"] as? Int == size)
        #expect(result?["digest"] as? String == "sha256:" + digest)
        #expect(dir.listing() == ["out", "out/pkg.tgz"])
    }

    /// Larger than --max-size: refused from the Content-Length, before a byte is kept; at the limit: fine.
    @Test func packageLargerThanMaxSizeIsRefusedUpFront() async throws {
        let (_, url, digest) = try Self.publish("azure-vnet-cni-linux-amd64-v1.6.21.tgz", size: 3_000_000, seed: 21)
        let dir = try TemporaryDirectory("nginx-max")
        let (run, _) = try await LoopbackCLI.fetch([url, "--output", dir.join("out/pkg.tgz"), "--max-size", "1M", "--retries", "3",
                                                    "--events", dir.join("events.jsonl")])
        #expect(run.status == 50, "\(run.stderr)")
        #expect(run.stderr.contains("larger than the size limit of 1048576 bytes (--max-size)"), "\(run.stderr)")
        let fetches = try EventLines(dir.join("events.jsonl")).task("fetch")
        #expect(fetches.count == 1, "not retried: \(fetches)")
        #expect(fetches.first?["bytes"] as? Int == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.join("out")))

        let (exact, _) = try await LoopbackCLI.fetch([url, "--output", dir.join("out/pkg.tgz"), "--max-size", "3000000", "--sha256", digest])
        #expect(exact.status == 0, "\(exact.stderr)")
    }

    @Test func packagePlacedInADirectoryUnderItsOwnName() async throws {
        let (_, url, digest) = try Self.publish("containerd-1.7.20-linux-amd64.tar.gz", size: 2_000_000, seed: 9)
        let dir = try TemporaryDirectory("nginx")
        let (run, _) = try await LoopbackCLI.fetch([url, "--dest", dir.join("opt"), "--no-unpack", "--sha256", digest])
        #expect(run.status == 0, "\(run.stderr)")
        let name = (url as NSString).lastPathComponent
        #expect(try Files.sha256(dir.join("opt/\(name)")) == digest)
        #expect(dir.listing() == ["opt", "opt/\(name)"])
    }

    /// 256 MiB through the CLI: the process's peak resident set stays far below the file's size.
    @Test func largePackageIsFetchedInFlatMemory() async throws {
        let size = 256 << 20
        let (nginx, url, digest) = try Self.publish("kubernetes-node-linux-amd64.tar.gz", size: size, seed: 256)
        defer { try? FileManager.default.removeItem(atPath: nginx.file((url as NSString).lastPathComponent)) }
        let dir = try TemporaryDirectory("nginx")
        let cli = try PkgfetchCLI.path
        let output = dir.join("kubernetes-node-linux-amd64.tar.gz")
        let measured = try await offPool {
            try MeasuredProcess.run([cli, "fetch", url, "--output", output, "--sha256", digest, "--progress", "none"],
                                    environment: LoopbackCLI.environment())
        }
        #expect(measured.status == 0, "\(measured.stderr)")
        #expect(measured.maxResidentKiB < 64 * 1024, "peak RSS \(measured.maxResidentKiB) KiB")
        #expect(try Files.sha256(output) == digest)
        print("256 MiB fetch: peak RSS \(measured.maxResidentKiB) KiB, \(String(format: "%.2f", measured.wallSeconds)) s")
    }
}
