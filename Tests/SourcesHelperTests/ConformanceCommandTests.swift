import Foundation
import Testing
import TestSupport

/// `pkgfetch conformance URL --sha256 HEX`: the checks a helper's capability reply (or a backend's
/// descriptor) chooses, one line each, against the example helpers, a built-in backend, and helpers
/// that lie.
@Suite(.offPool) struct ConformanceCommandTests {
    /// A 256 KiB object on nginx.
    static func publish(_ work: TemporaryDirectory) throws -> (nginx: Nginx, path: String, sha256: String) {
        let nginx = try Nginx.shared()
        let directory = "conformance-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: nginx.file(directory), withIntermediateDirectories: true)
        try Files.writeRandom(nginx.file("\(directory)/object.bin"), size: 256 << 10)
        return (nginx, "/\(directory)/object.bin", try Files.sha256(nginx.file("\(directory)/object.bin")))
    }

    @Test(arguments: ["sh", "python"])
    func theExampleHelpersPass(_ language: String) throws {
        let work = try TemporaryDirectory("conformance-\(language)")
        let object = try Self.publish(work)
        let run = try PkgfetchCLI.run(["conformance", webstoreURL(object.nginx, object.path), "--sha256", object.sha256,
                                       "--helpers-dir", ExampleHelpers.directory(language)])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("helper pkgfetch-fetch-webstore (protocol 1) declares resume, announces size"), "\(run.stdout)")
        for check in ["whole read", "truthful announcement", "resume at an offset", "deadline obeyed", "nothing left running", "not found"] {
            #expect(run.stdout.contains("ok    \(check)\n"), "\(check): \(run.stdout)")
        }
    }

    @Test func aBuiltInBackendPassesByItsDescriptor() throws {
        let work = try TemporaryDirectory("conformance-http")
        let object = try Self.publish(work)
        let run = try PkgfetchCLI.run(["conformance", object.nginx.url(object.path), "--sha256", object.sha256])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("backend http declares resume, ranges, announces size"), "\(run.stdout)")
        #expect(!run.stdout.contains("FAIL"), "\(run.stdout)")
        #expect(run.stdout.contains("ok    a byte range\n"), "\(run.stdout)")
    }

    /// A helper that serves `file` whole, announcing what `announcement` prints (shell, with $size and
    /// the request's $PKGFETCH_OFFSET), after replying `capabilities`.
    static func lyingHelper(_ helpers: TestHelpers, _ scheme: String, file: String, capabilities: String, announcement: String) throws {
        try helpers.write(scheme, """
            if [ "$1" = --pkgfetch-capabilities ]; then echo '\(capabilities)'; exit 0; fi
            case $1 in *-pkgfetch-missing) echo "no object" >&2; exit 66 ;; esac
            size=$(stat -c %s \(file))
            \(announcement) >&3
            exec 3>&-
            cat \(file)
            """)
    }

    @Test func aHelperThatAnnouncesASizeItDoesNotDeliverFailsThatCheck() throws {
        let work = try TemporaryDirectory("conformance-size")
        let helpers = try TestHelpers(in: work)
        try Files.writeRandom(work.join("object.bin"), size: 64 << 10)
        try Self.lyingHelper(helpers, "longer", file: work.join("object.bin"),
                             capabilities: #"{"protocol": 1, "resume": false, "announces": ["size"]}"#,
                             announcement: #"printf '{"offset": 0, "size": %s, "version": "v1"}\n' $((size + 100))"#)
        let run = try PkgfetchCLI.run(["conformance", "longer://store/object.bin", "--sha256", try Files.sha256(work.join("object.bin")),
                                       "--helpers-dir", helpers.directory])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("FAIL  truthful announcement: "), "\(run.stdout)")
        #expect(!run.stdout.contains("resume at an offset"), "resume was not declared: \(run.stdout)")
        #expect(helpers.survivors().isEmpty)
    }

    @Test func aHelperThatClaimsResumeButIgnoresTheOffsetFailsThatCheck() throws {
        let work = try TemporaryDirectory("conformance-offset")
        let helpers = try TestHelpers(in: work)
        try Files.writeRandom(work.join("object.bin"), size: 64 << 10)
        try Self.lyingHelper(helpers, "fromzero", file: work.join("object.bin"),
                             capabilities: #"{"protocol": 1, "resume": true, "announces": ["size"]}"#,
                             announcement: #"printf '{"offset": 0, "size": %s, "version": "v1"}\n' "$size""#)
        let run = try PkgfetchCLI.run(["conformance", "fromzero://store/object.bin", "--sha256", try Files.sha256(work.join("object.bin")),
                                       "--helpers-dir", helpers.directory])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("ok    whole read\n"), "\(run.stdout)")
        #expect(run.stdout.contains("FAIL  resume at an offset: asked from byte 21845, it answered from 0"), "\(run.stdout)")
        #expect(helpers.survivors().isEmpty)

        // The same helper declaring no resume is not asked to resume, and passes: ignoring the offset is
        // correct, only slower (the DocC's "Resuming").
        try Self.lyingHelper(helpers, "fromzero", file: work.join("object.bin"),
                             capabilities: #"{"protocol": 1, "resume": false, "announces": ["size"]}"#,
                             announcement: #"printf '{"offset": 0, "size": %s, "version": "v1"}\n' "$size""#)
        let honest = try PkgfetchCLI.run(["conformance", "fromzero://store/object.bin", "--sha256", try Files.sha256(work.join("object.bin")),
                                          "--helpers-dir", helpers.directory])
        #expect(honest.status == 0, "\(honest.stdout)\(honest.stderr)")
    }
}
