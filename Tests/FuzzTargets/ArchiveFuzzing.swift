import Foundation
import Pipeline
import Unpackers

/// The unpacker over arbitrary bytes, in a sandbox directory of its own: it must end (within small
/// limits), throw only pkgfetch's errors, and leave nothing outside the destination (no entry beside
/// it, no symlink inside pointing out of it).
enum ArchiveFuzzing {
    static let limits = UnpackLimits(maxTotalBytes: 4 << 20, maxEntries: 500, maxCompressionRatio: 200, ratioExemptBytes: 1 << 20)
    /// In memory where there is a tmpfs: on this project's VMs each create or remove on the disk costs
    /// milliseconds, which made the disk, not the unpacker, the limit (10 runs a second instead of hundreds).
    static let root: String = {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm/" : NSTemporaryDirectory()
        let path = base + "pkgfetch-fuzz-unpack-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    static func unpack(_ data: Data) {
        let sandbox = root + "/" + UUID().uuidString.prefix(8)
        let archive = sandbox + "/in", destination = sandbox + "/dest"
        defer { try? FileManager.default.removeItem(atPath: sandbox) }
        do {
            try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: archive))
        } catch { FuzzTarget.violated("cannot prepare the sandbox: \(error)") }
        // The format a URL would claim; the unpacker decides by content.
        let formats = LibarchiveUnpacker.formats
        let format = formats[Int(data.last ?? 0) % formats.count]
        let result = Result { try LibarchiveUnpacker().unpack(archive, format: format, into: destination, limits: limits) }
        if case .failure(let error) = result {
            guard let failure = error as? PkgfetchError else { FuzzTarget.violated("not a PkgfetchError: \(error)") }
            FuzzTarget.checkMessage(failure)
        }
        let beside = Set((try? FileManager.default.contentsOfDirectory(atPath: sandbox)) ?? [])
        if !beside.isSubset(of: ["in", "dest"]) { FuzzTarget.violated("unpacking left \(beside.sorted()) beside the destination") }
        checkLinksStayInside(destination)
    }

    /// Every symlink under `destination` points inside it: lexically, and as the kernel resolves it
    /// (through other links) where its target exists.
    static func checkLinksStayInside(_ destination: String) {
        guard let walker = FileManager.default.enumerator(atPath: destination),
              let inside = resolved(destination).map({ $0 + "/" }) else { return }
        while let relative = walker.nextObject() as? String {
            let path = destination + "/" + relative
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) else { continue }
            if target.hasPrefix("/") { FuzzTarget.violated("absolute symlink \(relative) -> \(target)") }
            var depth = relative.split(separator: "/").count - 1   // the link's directory, below the destination
            for component in target.split(separator: "/") {
                if component == ".." { depth -= 1 } else if component != "." { depth += 1 }
                if depth < 0 { FuzzTarget.violated("symlink \(relative) -> \(target) leaves the destination") }
            }
            if let resolved = resolved(path), !(resolved + "/").hasPrefix(inside) {
                FuzzTarget.violated("symlink \(relative) -> \(target) resolves to \(resolved), outside the destination")
            }
        }
    }

    /// realpath(3): the path with every symlink resolved; nil when something on the way is missing.
    static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
