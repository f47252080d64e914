import Foundation
import Pipeline
@testable import PkgfetchCommand
import Testing

/// Batch list errors say where and why (issue 24, item 9).
@Suite struct BatchListErrorTests {
    func message(_ json: String) -> String {
        do {
            _ = try BatchList(json: Data(json.utf8))
            return "accepted"
        } catch {
            return (error as? PkgfetchError)?.message ?? "\(error)"
        }
    }

    @Test func badJSONGivesLineAndColumn() {
        let text = "[\n  {\"url\": \"https://x.test/a.tgz\", \"dest\": \"/tmp/a\"}\n  {\"url\": \"b\"}\n]"
        #expect(message(text) == "the batch list is not valid JSON: line 3, column 3: expected \",\" or \"]\"", "\(message(text))")
    }

    @Test(arguments: [("[{\"url\": \"a\",}]", 1, 14), ("[{\"url\": \"é\" \"dest\": 1}]", 1, 14), ("[\n\n  {\"url\": tru}]", 3, 14),
                      ("[{\"url\": \"a\n\"}]", 1, 12), ("", 1, 1), ("[1] x", 1, 5), ("[-]", 1, 3), ("[\"\\q\"]", 1, 4)])
    func positions(text: String, line: Int, column: Int) {
        let error = JSONSyntaxError.find(in: Array(text.utf8))
        #expect(error?.line == line && error?.column == column, "\(text.debugDescription): \(String(describing: error))")
    }

    @Test func wellFormedJSONHasNoSyntaxError() {
        for text in ["[]", " {\"a\": [1, -2.5e+3, true, false, null, \"\\u00e9\\n\"]} ", "0", "\"x\""] {
            #expect(JSONSyntaxError.find(in: Array(text.utf8)) == nil, "\(text)")
        }
        #expect(JSONSyntaxError.find(in: Array(repeating: UInt8(ascii: "["), count: 100_000))?.expected.contains("nesting") == true)
    }

    @Test func aMissingFileGivesTheReason() {
        do { _ = try BatchList.load(from: "/nonexistent/list.json") } catch let error as PkgfetchError {
            #expect(error.message == "cannot read the batch list /nonexistent/list.json: No such file or directory")
        } catch { Issue.record("\(error)") }
        do { _ = try BatchList.load(from: "/tmp") } catch let error as PkgfetchError {
            #expect(error.message == "cannot read the batch list /tmp: Is a directory")
        } catch { Issue.record("\(error)") }
    }
}
