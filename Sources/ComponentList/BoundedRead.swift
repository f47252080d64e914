import Foundation

/// A whole small file read into memory (a components or recipes file), refused once it is larger
/// than its limit: at most `limit + 1` bytes are ever held.
enum BoundedRead {
    /// The bytes of `path`; `what` names the file in the one-line error ("the recipes file").
    /// Blocking: call it off the cooperative pool.
    static func contents(of path: String, limit: Int, what: String) throws(ComponentListError) -> Data {
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            throw ComponentListError("cannot read \(what) \(path)")
        }
        if data.count > limit { throw ComponentListError("\(what) \(path) is larger than \(limit) bytes") }
        return data
    }
}
