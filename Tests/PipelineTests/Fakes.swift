import Foundation
import Logging
import Pipeline
import TestSupport

/// A clock that records sleeps and moves virtual time instead of waiting.
final class VirtualClock: RetryClock, @unchecked Sendable {
    private let lock = NSLock()
    private var offset: Duration = .zero
    private var recorded: [Duration] = []
    private let origin = ContinuousClock.now
    let unit: Double

    init(unit: Double = 0) { self.unit = unit }

    var now: ContinuousClock.Instant { lock.withLock { origin + offset } }
    var sleeps: [Duration] { lock.withLock { recorded } }

    func sleep(until instant: ContinuousClock.Instant) async throws {
        lock.withLock {
            let wait = instant - (origin + offset)
            recorded.append(wait)
            offset += max(.zero, wait)
        }
    }

    func randomUnit() -> Double { unit }
}

/// A fetcher that plays a script: each attempt either throws the next error or writes `content`.
final class ScriptedFetcher: Fetcher, @unchecked Sendable {
    private let lock = NSLock()
    private var script: [PkgfetchError?]
    private(set) var attempts = 0
    let content: Data
    let expected: ExpectedContent

    init(failures: [PkgfetchError?] = [], content: Data = Data("package bytes".utf8), expected: ExpectedContent = .init()) {
        script = failures
        self.content = content
        self.expected = expected
    }

    var attemptCount: Int { lock.withLock { attempts } }

    func fetch(_ source: Source, into file: StagingFile, context: FetchContext) async throws -> FetchedContent {
        let next: PkgfetchError? = lock.withLock {
            attempts += 1
            return script.isEmpty ? nil : script.removeFirst()
        }
        try file.reset()
        try file.write(content.prefix(content.count / 2))
        if let next { throw next }
        try file.write(content.suffix(from: content.count / 2))
        return FetchedContent(expected: expected)
    }
}

/// An unpacker that writes the files it is given, or fails.
struct FakeUnpacker: Unpacker {
    var files: [String: String]
    var failure: PkgfetchError?

    func unpack(_ archive: String, format: ArchiveFormat, into directory: String, limits: UnpackLimits) async throws -> UnpackReport {
        for (path, text) in files {
            let full = directory + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: full, contents: Data(text.utf8))
        }
        if let failure { throw failure }
        return UnpackReport(entries: files.count, bytes: 0, detectedFormat: "fake")
    }
}

/// A resolver that returns a fixed plan.
struct FixedResolver: Resolver {
    var plan: Plan
    func resolve(_ request: PackageRequest) throws -> Plan { plan }
}

func makeRunner(sources: [Source], fetchers: [String: any Fetcher], unpacker: (any Unpacker)? = nil,
                retry: RetryPolicy = RetryPolicy(attempts: 3, initialDelay: .seconds(1)), clock: VirtualClock = VirtualClock(),
                events: CollectingEventSink = CollectingEventSink(), fileName: String = "pkg.tar.gz") -> PipelineRunner {
    var plugins = PluginRegistry()
    plugins.register(resolver: FixedResolver(plan: Plan(rule: "fixed", package: "pkg", version: "v1", fileName: fileName,
                                                        format: ArchiveFormat.infer(fromFileName: fileName), sources: sources)),
                     named: "cdn")
    for (scheme, fetcher) in fetchers { plugins.register(fetcher: fetcher, forSchemes: scheme) }
    if let unpacker { plugins.register(unpacker: unpacker, for: [.tarGzip, .zip]) }
    var runner = PipelineRunner(plugins: plugins, retry: retry, events: EventEmitter(operationId: "op-1", sink: events), clock: clock)
    runner.logger.logLevel = .critical
    return runner
}
