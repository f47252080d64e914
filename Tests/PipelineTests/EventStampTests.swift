import Foundation
import Pipeline
import Testing
import TestSupport

/// `--events` lines carry their time (RFC 3339, milliseconds, computed on integers) and the run's id,
/// since runs append to one file (issue 24, item 10).
@Suite struct EventStampTests {
    @Test(arguments: [(Int64(0), "1970-01-01T00:00:00.000Z"), (1_796_646_896_789, "2026-12-07T12:34:56.789Z"),
                      (951_782_400_000, "2000-02-29T00:00:00.000Z"), (-1, "1969-12-31T23:59:59.999Z"),
                      (253_402_300_799_999, "9999-12-31T23:59:59.999Z"), (Int64.max, "9999-12-31T23:59:59.999Z"),
                      (Int64.min, "0000-01-01T00:00:00.000Z")])
    func rfc3339(milliseconds: Int64, text: String) {
        #expect(RFC3339Time.format(millisecondsSince1970: milliseconds) == text)
    }

    @Test func agreesWithTheSystemClockAndGmtime() {
        let text = RFC3339Time.now()
        var seconds = time_t(Date().timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        #expect(text.hasPrefix(String(format: "%04d-%02d-%02dT", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday)), "\(text)")
        #expect(text.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z/) != nil, "\(text)")
    }

    @Test func eachLineHasItsTimeAndTheRunId() throws {
        let dir = try TemporaryDirectory("event-stamps")
        let path = dir.join("events.jsonl")
        let first = try JSONLinesEventSink(path: path, clock: { "2026-12-07T12:34:56.789Z" })
        first.emit(Event(task: "fetch", operationId: "op-1", outcome: "ok"))
        let second = try JSONLinesEventSink(path: path)
        second.emit(Event(task: "fetch", operationId: "op-2", outcome: "ok"))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let objects = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects.count == 2)
        #expect(objects[0]["time"] as? String == "2026-12-07T12:34:56.789Z")
        #expect(objects[0]["runId"] as? String == first.runId && objects[1]["runId"] as? String == second.runId)
        #expect(first.runId != second.runId)
        #expect(objects[0]["operationId"] as? String == "op-1" && objects[0]["task"] as? String == "fetch")
        // Still an Event to a reader of the old fields.
        #expect(try JSONDecoder().decode(Event.self, from: Data(lines[1].utf8)).operationId == "op-2")
    }
}
