import Foundation
@testable import Pipeline
import Testing
import TestSupport

/// What pkgfetch now does itself instead of with Foundation's ICU-linked APIs (JSONSerialization,
/// String(format:), NSString, NSCondition, Thread), against what those gave.
@Suite(.offPool) struct FoundationEssentialsHelpersTests {
    @Test func jsonReadsWhatServersSendAndNullsAreMissingKeys() throws {
        let object = try #require(JSONAny.parse(Data(#"{"token":"t","expires_in":"3600","exp":1e300,"n":3,"ok":true,"x":null,"a":["r",null,2]}"#.utf8)) as? [String: Any])
        #expect(object["token"] as? String == "t")
        #expect(object["expires_in"] as? String == "3600")
        #expect(object["exp"] as? Double == 1e300)
        #expect(object["n"] as? Double == 3)
        #expect(object["ok"] as? Bool == true)
        #expect(object["x"] == nil)
        #expect((object["a"] as? [Any])?.count == 2)
        #expect(JSONAny.parse(Data("{not json".utf8)) == nil)
    }

    @Test func jsonWritesOneLineSortedUnescapedSlashesAsJSONSerializationDid() throws {
        let value: [String: Any] = ["url": "https://h/p", "b": [1, Int64(2), true, UInt8(3)] as [Any], "a": "q\"\\\n\u{1}é", "d": 1.5]
        let ours = try #require(JSONAny.text(value))
        #expect(ours == #"{"a":"q\"\\\n\u0001é","b":[1,2,true,3],"d":1.5,"url":"https://h/p"}"#)
        let theirs = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
        #expect(ours == String(decoding: theirs, as: UTF8.self))
        #expect(JSONAny.text(["k": Date()]) == nil, "a value JSON has no form for is refused, not guessed")
    }

    @Test func fixedPointPrintsAsStringFormatDid() {
        for (value, places) in [(1.25, 1), (0.05, 1), (123456.0005, 3), (-2.5, 0), (1e300, 1)] {
            #expect(String(fixedPoint: value, places: places) == String(format: "%.\(places)f", value), "\(value)")
        }
    }

    @Test func percentDecodingRefusesWhatNSStringRefused() {
        #expect(PercentEncoding.decoding("/a%20b/caf%C3%A9") == "/a b/café")
        #expect(PercentEncoding.decoding("/a%2") == nil)
        #expect(PercentEncoding.decoding("/a%zz") == nil)
        #expect(PercentEncoding.decoding("/a%FF") == nil, "not UTF-8")
        #expect(PercentEncoding.encodingAllButUnreserved("repository:a/b:pull é~") == "repository%3Aa%2Fb%3Apull%20%C3%A9~")
    }

    @Test func textTrimsPadsAndJoinsAsNSStringDid() {
        #expect(" \t v 1 \r\n".trimmingWhitespace == "v 1")
        #expect("   ".trimmingWhitespace == "")
        #expect("\"next\"".trimming(while: { $0 == "\"" }) == "next")
        #expect("ab".padded(toLength: 4) == "ab  ")
        #expect("abcdef".padded(toLength: 4) == "abcd")
        #expect("/tmp/x".appendingPath("f") == "/tmp/x/f")
        #expect("/tmp/x/".appendingPath("f") == "/tmp/x/f")
    }

    @Test func aConditionWaitGivesUpAtItsLimitAndWakesOnASignal() throws {
        let condition = Condition()
        let started = Date()
        let signalled = condition.withLock { condition.wait(until: Date().addingTimeInterval(0.05)) }
        #expect(!signalled)
        #expect(Date().timeIntervalSince(started) >= 0.04)

        let woken = Flag()
        DetachedThread.start(name: "pkgfetch-test") {
            Thread.sleep(forTimeInterval: 0.02)
            condition.withLock {
                woken.isSet = true
                condition.broadcast()
            }
        }
        let sawFlag = condition.withLock { () -> Bool in
            while !woken.isSet {
                guard condition.wait(until: Date().addingTimeInterval(5)) else { return false }
            }
            return true
        }
        #expect(sawFlag)
    }

    @Test func aThreadLocalIsEachThreadsOwn() async throws {
        let local = ThreadLocal<String>()
        let first: [String?] = try await BlockingIO.runOnOwnThread(named: "local-a") {
            local.value = "a"
            let set = local.value
            local.value = nil
            return [set, local.value]
        }
        let second: String? = try await BlockingIO.runOnOwnThread(named: "local-b") {
            let before = local.value
            local.value = "b"
            return before
        }
        #expect(first == ["a", nil])
        #expect(second == nil, "a new thread starts without a value")
    }
}

/// Set by one thread under a `Condition`, read by another under it.
private final class Flag: @unchecked Sendable {
    var isSet = false
}
