import Foundation
import Testing
import TestSupport

/// What a pre-cached copy must show before it is installed: a digest to match (`--sha256`, or the
/// layer's digest from the registry's manifest), or, with none, an owner and modes no other user
/// could have used to put it there (ssh's StrictModes rule). Tests run as root; uid 65534 plays the
/// other user.
@Suite(.offPool) struct CacheTrustTests {
    typealias E = ORASEndToEnd

    /// A registry is configured and answers: the cached copy is checked against the layer's digest
    /// (one manifest request, no blob). A tampered copy is refused and the registry's bytes installed;
    /// a matching one is used as it is.
    @Test func theRegistrysLayerDigestChecksTheCachedCopy() throws {
        let work = try TemporaryDirectory("cache-registry")
        let registry = try TestRegistry()
        let genuine = try E.packageFile(size: 256 * 1024, seed: 41, in: work)
        try registry.pushWithORAS(genuine, repository: E.cniRepository, tag: "v1.6.20")
        try FileManager.default.createDirectory(atPath: work.join("cache"), withIntermediateDirectories: true)
        try Files.writeRandom(work.join("cache/\(E.cniFile)"), size: 256 * 1024, seed: 42)   // same name, other bytes

        // Installs to out/NAME.zip; returns the source scheme used and the events' tasks and outcomes.
        func fetch(_ name: String) throws -> (scheme: String?, events: [[String: Any]]) {
            let run = try PkgfetchCLI.run(["fetch", E.cniURL, "--bootstrap-registry", registry.host, "--cache-dir", work.join("cache"),
                                           "--output", work.join("out/\(name).zip"), "--json", "--events", work.join("\(name).jsonl")],
                                          environment: E.environment(home: work.path))
            #expect(run.status == 0, "\(run.stderr)")
            #expect(try Files.sha256(work.join("out/\(name).zip")) == (try Files.sha256(genuine)))
            let result = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            return (result?["scheme"] as? String, E.events(work.join("\(name).jsonl")))
        }

        let tampered = try fetch("tampered")
        #expect(tampered.scheme == "oci")
        let fetches = tampered.events.filter { $0["task"] as? String == "fetch" }
        #expect(fetches.first?["outcome"] as? String == "failed")
        #expect(fetches.first?["error"] as? String == "integrity-mismatch")

        try FileManager.default.removeItem(atPath: work.join("cache/\(E.cniFile)"))
        try FileManager.default.copyItem(atPath: genuine, toPath: work.join("cache/\(E.cniFile)"))
        let matching = try fetch("matching")
        #expect(matching.scheme == "file")
        #expect(matching.events.compactMap { $0["task"] as? String } == ["resolve", "oci-manifest", "fetch", "install"],
                "a manifest, then the copy; no blob")
    }

    /// No digest anywhere (no `--sha256`, no registry): a copy another user owns, or one in a directory
    /// others may write to, is not used; a root-owned one in root-owned directories is.
    @Test(arguments: ["file owned by another user", "directory writable by its group", "cache directory writable by all"])
    func withoutADigestOnlyACopyNoOtherUserCouldHavePlacedIsUsed(weakness: String) throws {
        let work = try TemporaryDirectory("cache-strict")
        try FileManager.default.createDirectory(atPath: work.join("cache/k8s"), withIntermediateDirectories: true)
        let cached = work.join("cache/k8s/kubernetes-node-linux-amd64.tar.gz")
        try Files.writeRandom(cached, size: 10_000)
        #expect(chmod(work.join("cache"), 0o755) == 0 && chmod(work.join("cache/k8s"), 0o755) == 0 && chmod(cached, 0o644) == 0)
        let trusted = try PkgfetchCLI.run(["fetch", CachePathTests.kubernetesURL, "--cache-dir", work.join("cache"), "--retries", "0",
                                           "--output", work.join("out/trusted.tgz")])
        #expect(trusted.status == 0, "\(trusted.stderr)")

        switch weakness {
        case "file owned by another user": #expect(chown(cached, 65534, 65534) == 0)
        case "directory writable by its group": #expect(chmod(work.join("cache/k8s"), 0o775) == 0)
        default: #expect(chmod(work.join("cache"), 0o777) == 0)
        }
        let run = try PkgfetchCLI.run(["fetch", CachePathTests.kubernetesURL, "--cache-dir", work.join("cache"), "--retries", "0",
                                       "--output", work.join("out/k.tgz")])
        // The copy is refused; the CDN host does not resolve, so the run fails without installing.
        #expect(run.status == 20, "\(run.stderr)")
        #expect(run.stderr.contains("is not trusted"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work.join("out/k.tgz")))

        // With the digest given, the same copy is checked by its bytes and used.
        let pinned = try PkgfetchCLI.run(["fetch", CachePathTests.kubernetesURL, "--cache-dir", work.join("cache"), "--retries", "0",
                                          "--sha256", try Files.sha256(cached), "--output", work.join("out/pinned.tgz")])
        #expect(pinned.status == 0, "\(pinned.stderr)")
    }

    /// Issue 20, hole 1: a copy another user owns, in a directory anyone may write, matches `--sha256`.
    /// Its owner has it mapped shared and rewrites it (an archive of the same layout, other bytes) the
    /// moment pkgfetch has read it to its end: through pages already dirty, which changes neither its
    /// size nor its times. Hashed in place and unpacked by reading it again, the files installed were
    /// the owner's; copied into staging as it is hashed, they are the verified ones.
    @Test func aCopyOthersCanWriteIsUnpackedFromWhatWasHashed() throws {
        let work = try TemporaryDirectory("cache-rewrite")
        let cache = work.join("cache")
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        #expect(chmod(cache, 0o777) == 0)
        let cached = "\(cache)/\(E.cniFile)"
        // Two zips that differ only in their files' bytes: same names, sizes and CRC-32s (each of the
        // owner's files ends with 4 bytes chosen to give the genuine file's CRC), so a switch from one
        // to the other between two files read by an unpacker leaves a valid archive. The first 32 files
        // are the same in both: the switch lands while they are read, not inside a file that differs.
        let build = """
        import random, sys, zipfile, zlib
        T = []
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ (0xEDB88320 if c & 1 else 0)
            T.append(c)
        TOP = {T[i] >> 24: i for i in range(256)}
        def forge(prefix, target):
            s, indices = target ^ 0xFFFFFFFF, []
            for _ in range(4):
                i = TOP[s >> 24]
                indices.append(i)
                s = ((s ^ T[i]) << 8) & 0xFFFFFFFF
            state, tail = zlib.crc32(prefix) ^ 0xFFFFFFFF, bytearray()
            for i in reversed(indices):
                tail.append((state ^ i) & 0xFF)
                state = (state >> 8) ^ T[i]
            return prefix + bytes(tail)
        genuine, owners = random.Random(1), random.Random(2)
        with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as a, zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_STORED) as b:
            for i in range(256):
                data = genuine.randbytes(256 * 1024)
                other = data if i < 32 else forge(owners.randbytes(len(data) - 4), zlib.crc32(data))
                for z, content in ((a, data), (b, other)):
                    z.writestr(zipfile.ZipInfo(f"bin/plugin-{i:03}", date_time=(2026, 12, 1, 0, 0, 0)), content)
        """
        let made = try Processes.run(["python3", "-c", build, cached, work.join("evil.zip")])
        try #require(made.status == 0, "\(made.stderr)")
        #expect(chown(cached, 65534, 65534) == 0)
        let digest = try Files.sha256(cached)
        let genuine = work.join("genuine")
        let unzipped = try Processes.run(["unzip", "-q", cached, "-d", genuine])
        try #require(unzipped.status == 0, "\(unzipped.stderr)")

        // The owner's side: map the copy shared and dirty every page now (later writes then fault
        // nothing, so no time changes); start pkgfetch; when the descriptor it reads the copy through
        // has reached the end, write the other archive over the mapping.
        let attack = """
        import json, mmap, os, subprocess, sys, time
        cached, evil = sys.argv[1], open(sys.argv[2], "rb").read()
        f = open(cached, "r+b")
        m = mmap.mmap(f.fileno(), 0)
        for i in range(0, len(m), mmap.PAGESIZE):
            m[i] = m[i]
        p = subprocess.Popen(sys.argv[3:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        swapped, seen = False, False
        while p.poll() is None and not swapped:
            try:
                open_now = False
                for fd in os.listdir(f"/proc/{p.pid}/fd"):
                    try:
                        if os.readlink(f"/proc/{p.pid}/fd/{fd}") != cached:
                            continue
                        open_now = seen = True
                        with open(f"/proc/{p.pid}/fdinfo/{fd}") as info:
                            position = int(info.readline().split()[1])
                        if position >= len(m):
                            m[:] = evil
                            swapped = True
                            break
                    except (OSError, ValueError, IndexError):
                        pass
                # Read and closed between two looks (a loaded machine polls slowly): pkgfetch is
                # past its read of the copy, which is as late as the rewrite needs to be.
                if seen and not open_now and not swapped and p.poll() is None:
                    m[:] = evil
                    swapped = True
            except OSError:
                pass
            time.sleep(0.0002)
        out, err = p.communicate()
        print(json.dumps({"status": p.returncode, "swapped": swapped, "stderr": err.decode(errors="replace")}))
        """
        let run = try Processes.run(["python3", "-c", attack, cached, work.join("evil.zip"), try PkgfetchCLI.path,
                                     "fetch", E.cniURL, "--cache-dir", cache, "--sha256", digest, "--retries", "0",
                                     "--dest", work.join("out"), "--events", work.join("events.jsonl")])
        try #require(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(report["status"] as? Int == 0, "\(report)")
        #expect(report["swapped"] as? Bool == true, "the copy was never read to its end: \(report)")
        #expect(try Files.sha256(cached) != digest, "the owner's rewrite did not reach the file")
        let fetches = E.events(work.join("events.jsonl")).filter { $0["task"] as? String == "fetch" }
        #expect(fetches.map { "\($0["sourceKind"] ?? "-") \($0["outcome"] ?? "-")" } == ["cache ok"], "the cached copy was used: \(fetches)")
        var installed = 0, foreign: [String] = []
        for i in 0..<256 {
            let name = String(format: "bin/plugin-%03d", i)
            if try Files.sha256(work.join("out/\(name)")) != Files.sha256("\(genuine)/\(name)") { foreign.append(name) }
            installed += 1
        }
        #expect(installed == 256)
        #expect(foreign.isEmpty, "\(foreign.count) of 256 installed files carry the owner's bytes")
        #expect(try Files.sha256(work.join("evil.zip")) != digest)
    }
}
