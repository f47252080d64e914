#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Finds a pre-cached copy of a package: node images keep packages under cache directories, in
/// sub-folders of their own choosing, so each directory is searched recursively by file name.
package enum CacheLookup {
    /// The path of the first regular file named `fileName` under `directories` (see `findCopy`).
    package static func find(_ fileName: String, in directories: [String]) -> String? {
        findCopy(fileName, in: directories)?.path
    }

    /// The first regular file named `fileName` under `directories`, in the order given; within one
    /// directory the shallowest, then alphabetically first, path wins.
    package static func findCopy(_ fileName: String, in directories: [String]) -> CachedCopy? {
        for directory in directories {
            guard let relatives = try? FileManager.default.subpathsOfDirectory(atPath: directory) else { continue }
            var hits: [String] = []
            for relative in relatives {
                // Bytes, not Characters: a canonically equivalent name is another file on Linux.
                // NSString's path methods trap on some names (see `lastPathComponent`).
                if relative.lastPathComponent.utf8.elementsEqual(fileName.utf8),
                   FileSystem.kind(directory + "/" + relative) == .file {
                    hits.append(relative)
                }
            }
            let best = hits.min { a, b in
                let (da, db) = (a.split(separator: "/").count, b.split(separator: "/").count)
                return da != db ? da < db : a < b
            }
            if let best { return CachedCopy(directory: FileSystem.absolute(directory), relativePath: best) }
        }
        return nil
    }
}

/// A pre-cached copy of a package: the cache directory it was found in, and where below it.
package struct CachedCopy: Sendable, Equatable {
    /// The cache directory, absolute.
    package var directory: String
    /// Where below `directory` the copy is.
    package var relativePath: String

    /// A copy at `relativePath` below `directory`.
    package init(directory: String, relativePath: String) {
        self.directory = directory
        self.relativePath = relativePath
    }

    /// The copy's absolute path.
    package var path: String { FileSystem.absolute(directory + "/" + relativePath) }
}
