import Foundation
import Pipeline
@testable import SourcesHTTP
import TestSupport

/// Runs one `ResumableDownload` into a fresh staging file and reports what came of it.
struct DownloadRun {
    let directory: TemporaryDirectory
    let file: StagingFile
    let resumes: ThreadSafeBox<[ResumableDownload.Resume]>

    init() throws {
        directory = try TemporaryDirectory("download")
        file = try StagingFile(path: directory.join("staging"))
        resumes = ThreadSafeBox([])
    }

    /// Downloads `url`; returns the final response head.
    @discardableResult
    func run(_ url: String, headers: HTTPHeaders = HTTPHeaders(), stallTimeout: Duration = .seconds(30),
             deadline: Duration = .seconds(30), transport: CurlTransport = CurlTransport()) async throws -> HTTPResponseHead {
        let download = ResumableDownload(transport: transport, stallTimeout: stallTimeout)
        let resumes = self.resumes
        return try await download.run(url: url, headers: headers, into: file, deadline: .now + deadline, source: .url(url)) { resume in
            resumes.mutate { $0.append(resume) }
        }
    }

    /// The file's digest (hex) and size so far.
    func content() throws -> (sha256: String, size: Int64) {
        let (digest, size) = try file.finish()
        return (digest.hex, size)
    }
}
