import Foundation

/// Finds a pre-cached copy of a package: node images keep packages under cache directories, in
/// sub-folders of their own choosing, so each directory is searched recursively by file name.
public enum CacheLookup {
    /// The first regular file named `fileName` under `directories`, in the order given; within one
    /// directory the shallowest, then alphabetically first, path wins.
    public static func find(_ fileName: String, in directories: [String]) -> String? {
        for directory in directories {
            guard let walker = FileManager.default.enumerator(atPath: directory) else { continue }
            var hits: [String] = []
            while let relative = walker.nextObject() as? String {
                if (relative as NSString).lastPathComponent == fileName {
                    let full = (directory as NSString).appendingPathComponent(relative)
                    if FileSystem.kind(full) == .file { hits.append(full) }
                }
            }
            let best = hits.min { a, b in
                let (da, db) = (a.split(separator: "/").count, b.split(separator: "/").count)
                return da != db ? da < db : a < b
            }
            if let best { return FileSystem.absolute(best) }
        }
        return nil
    }
}
