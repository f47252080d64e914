import Foundation
import Testing
import TestSupport

/// README's examples run as written: every `pkgfetch resolve …` line of its code blocks, and every
/// package of the batch example with the flags of README's `pkgfetch batch` line (a URL of no rule
/// is exit 10 with a registry). Resolving reads no network, so these run anywhere.
@Suite(.offPool) struct ReadmeExampleTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md").path

    /// The lines inside README's fenced code blocks.
    static func codeLines() throws -> [String] {
        var inside = false
        var lines: [String] = []
        for line in try String(contentsOfFile: readme, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inside.toggle(); continue }
            if inside { lines.append(String(line)) }
        }
        return lines
    }

    /// A command line's words, without the program's name and a trailing `# comment`.
    static func arguments(of line: String) -> [String] {
        let command = line.split(separator: "#", maxSplits: 1).first.map(String.init) ?? line
        return command.split(separator: " ").dropFirst().map(String.init)
    }

    @Test func everyResolveExampleRunsAsWritten() async throws {
        let examples = try Self.codeLines().filter { $0.hasPrefix("pkgfetch resolve ") }
        #expect(examples.count >= 2, "README shows resolve examples")
        for example in examples {
            let run = try await offPool { try PkgfetchCLI.run(Self.arguments(of: example)) }
            #expect(run.status == 0, "\(example): \(run.stderr)")
        }
    }

    @Test func everyPackageOfTheBatchExampleResolvesWithItsFlags() async throws {
        let lines = try Self.codeLines()
        let batchLine = try #require(lines.first { $0.hasPrefix("pkgfetch batch ") })
        let words = Self.arguments(of: batchLine)
        let registry = words.firstIndex(of: "--bootstrap-registry").map { ["--bootstrap-registry", words[$0 + 1]] } ?? []
        // The JSON array of the batch section's example: from its first `[{` line to the line ending `}]`.
        let start = try #require(lines.firstIndex { $0.hasPrefix("[{\"url\"") })
        let end = try #require(lines[start...].firstIndex { $0.hasSuffix("}]") })
        let list = try #require(try JSONSerialization.jsonObject(with: Data(lines[start...end].joined(separator: "\n").utf8)) as? [[String: Any]])
        let urls = list.compactMap { $0["url"] as? String }
        #expect(urls.count == list.count && !urls.isEmpty)
        for url in urls {
            let run = try await offPool { try PkgfetchCLI.run(["resolve", url] + registry) }
            #expect(run.status == 0, "\(url) \(registry): \(run.stderr)")
        }
    }
}
