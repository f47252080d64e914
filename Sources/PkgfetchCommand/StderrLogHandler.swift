#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

/// swift-log's handler for pkgfetch: `pkgfetch: warning: message`, the one style every warning and
/// note on stderr has (no timestamp, no module label), printed clear of a progress line.
struct StderrLogHandler: LogHandler {
    var logLevel: Logger.Level = .warning
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        let merged = self.metadata.merging(metadata ?? [:]) { _, new in new }
        let details = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        Self.print(level: level, "\(message)\(details)")
    }

    /// Prints `text` as a line of `level` (`pkgfetch: warning: …`).
    static func print(level: Logger.Level, _ text: String) {
        let name = level == .warning ? "warning" : level >= .error ? "error" : level.rawValue
        StderrLine.shared.print("pkgfetch: \(name): \(text)".replacing("\n", with: " "))
    }
}
