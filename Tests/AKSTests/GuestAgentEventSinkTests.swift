import Foundation
@testable import AKS
import Pipeline
import Testing
import TestSupport

/// The guest agent's events directory as a reader sees it: whole files only, one per event, even for
/// many events in one millisecond from two processes at once.
@Suite(.offPool) struct GuestAgentEventSinkTests {
    static func event(_ index: Int) -> Event {
        Event(task: "fetch", operationId: "op", package: "p", version: "v1", source: "https://h/p.zip", sourceKind: .cdn,
              bytes: Int64(index), durationMs: 1, outcome: "ok", attempt: 1)
    }

    /// Two writers (as two pkgfetch processes would be) emit from several threads each, far faster than
    /// a millisecond apart; a reader reads every `.json` name the moment it appears. Each event is one
    /// file, none overwrote another, and no reader ever saw a partial file.
    @Test func eventsInTheSameMillisecondGetFilesOfTheirOwnAndReadersSeeOnlyWholeFiles() throws {
        let work = try TemporaryDirectory("agent-sink")
        let directory = work.join("events")
        let writers = [GuestAgentEventSink(directory: directory), GuestAgentEventSink(directory: directory)]
        let perWriter = 400
        let done = ManagedAtomicFlag()
        let partial = LockedCount()
        let reader = Thread {
            var seen = Set<String>()
            while !done.isSet {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".json") && !seen.contains(name) {
                    seen.insert(name)
                    let data = FileManager.default.contents(atPath: directory + "/" + name) ?? Data()
                    if (try? JSONSerialization.jsonObject(with: data)) == nil { partial.add() }
                }
            }
        }
        reader.start()
        DispatchQueue.concurrentPerform(iterations: 8) { lane in
            let sink = writers[lane % 2]
            for index in 0..<(perWriter / 4) { sink.emit(Self.event(lane * 1000 + index)) }
        }
        done.set()
        while !reader.isFinished { usleep(1000) }

        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(names.count == 2 * perWriter, "one file per event, none overwritten")
        #expect(names.allSatisfy { $0.wholeMatch(of: /[0-9]+\.json/) != nil }, "no temporary file left")
        let bytes = try names.map { name -> Int64 in
            let record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))) as? [String: String])
            let message = try #require(try JSONSerialization.jsonObject(with: Data(record["Message", default: ""].utf8)) as? [String: Any])
            return Int64(message["bytes"] as? Int ?? -1)
        }
        #expect(Set(bytes).count == 2 * perWriter, "every event is there once")
        #expect(partial.value == 0, "a reader saw \(partial.value) partial files")
    }

    @Test func fieldsFollowTheScripts() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000.250)
        var event = Self.event(7)
        event.durationMs = 1500
        event.task = "acr-exchange"
        event.outcome = "failed"
        event.error = "identity-token-failed"
        event.exitCode = 41
        let record = try #require(try JSONSerialization.jsonObject(with: GuestAgentEventSink.record(for: event, at: now)) as? [String: String])
        #expect(record["Timestamp"] == "2023-11-14 22:13:18.750", "the step's start, UTC, as date +'%F %T.%3N'")
        #expect(record["TaskName"] == "AKS.CSE.pkgfetch.acrExchange")
        #expect(record["EventLevel"] == "Error")
        #expect(record["Version"] == "1.23")
        let message = try #require(try JSONSerialization.jsonObject(with: Data(record["Message", default: ""].utf8)) as? [String: Any])
        #expect(message["error"] as? String == "identity-token-failed" && message["exitCode"] as? Int == 41)
        event.outcome = "retry"
        let retry = try JSONSerialization.jsonObject(with: GuestAgentEventSink.record(for: event, at: now)) as? [String: String]
        #expect(retry?["EventLevel"] == "Warning")
    }

    /// The kinds come from the backends' descriptors: declared here as the command's registration of
    /// its built-in backends declares them.
    @Test func sourceKindsSayWhereAPackageCameFrom() {
        SourceKind.declare(.cache, forSchemes: ["file"])
        SourceKind.declare(.cdn, forSchemes: ["http", "https"])
        SourceKind.declare(.registry, forSchemes: ["oci"])
        let reference = "bootstrap.azurecr.io/aks/packages/azure/azure-vnet-cni:v1.6.20"
        #expect(SourceKind(Source(scheme: "file", location: "/var/cache/x.zip"), reference: reference) == .cache)
        #expect(SourceKind(.url("https://packages.aks.azure.com/x.zip"), reference: reference) == .cdn)
        #expect(SourceKind(Source(scheme: "oci", location: reference), reference: reference) == .registry)
        #expect(SourceKind(Source(scheme: "oci", location: "127.0.0.1:5000/aks/packages/azure/azure-vnet-cni:v1.6.20"),
                           reference: reference) == .mirror)
        #expect(SourceKind(Source(scheme: "s3", location: "bucket/x"), reference: nil) == nil)
    }
}

final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

final class LockedCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
