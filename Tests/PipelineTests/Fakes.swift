import Foundation
import Logging
import Pipeline
import PipelineTesting
import TestSupport

/// An unpacker that writes the files it is given, or fails.
struct FakeUnpacker: Unpacker {
    var files: [String: String]
    var failure: PkgfetchError?
    /// Called with the archive's path before anything is written.
    var inspect: @Sendable (String) -> Void = { _ in }

    init(files: [String: String], failure: PkgfetchError? = nil, inspect: @escaping @Sendable (String) -> Void = { _ in }) {
        self.files = files
        self.failure = failure
        self.inspect = inspect
    }

    func unpack(_ archive: String, format: ArchiveFormat, into directory: String, limits: UnpackLimits) throws -> UnpackReport {
        inspect(archive)
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
