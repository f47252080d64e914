#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Pipeline

/// A whole small file read into memory (a components or recipes file), refused once it is larger
/// than its limit: at most `limit + 1` bytes are ever held.
enum BoundedRead {
    /// The bytes of `path`; `what` names the file in the one-line error ("the recipes file").
    /// Blocking: call it off the cooperative pool.
    static func contents(of path: String, limit: Int, what: String) throws(ComponentListError) -> Data {
        guard let bytes = readSmallFile(path, limit: limit + 1) else { throw ComponentListError("cannot read \(what) \(path)") }
        let data = Data(bytes)
        if data.count > limit { throw ComponentListError("\(what) \(path) is larger than \(limit) bytes") }
        return data
    }
}
