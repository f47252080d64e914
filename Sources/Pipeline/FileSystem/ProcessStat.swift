#if canImport(Glibc)
import Glibc
#endif

/// The fields of `/proc/<pid>/stat` that tell one process from another that got its pid later, read
/// as bytes. The command name between the parentheses is whatever the process chose (spaces,
/// parentheses, any byte), so the fields are read after the last `)`, never by splitting the line.
struct ProcessStat: Equatable {
    /// The state letter (`Z` for a zombie).
    let state: UInt8
    /// When the process started, in clock ticks after boot (field 22): with the pid, it names one
    /// process for the life of the machine, where a pid alone is reused. Nil when the line is cut short.
    let startTime: UInt64?

    /// Parses one stat line; nil when it is not one.
    init?(_ bytes: some Collection<UInt8>) {
        let line = Array(bytes)
        guard let open = line.firstIndex(of: UInt8(ascii: "(")), let close = line.lastIndex(of: UInt8(ascii: ")")), open < close,
              Self.number(line[..<open].filter { $0 != UInt8(ascii: " ") }[...]) != nil else { return nil }
        // Field 3 (the state) is the first after the name.
        let fields = line[(close + 1)...].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        guard let first = fields.first, first.count == 1 else { return nil }
        state = first[first.startIndex]
        startTime = fields.count > 19 ? Self.number(fields[19]) : nil
    }

    /// Process `pid` as it is now; nil when there is none (or /proc cannot say).
    static func of(_ pid: pid_t) -> ProcessStat? {
        guard pid > 0 else { return nil }
        // A line of a few hundred bytes: 1 KiB is read at most.
        guard let line = readSmallFile("/proc/\(pid)/stat", limit: 1024) else { return nil }
        return ProcessStat(line)
    }

    /// A decimal of at most 20 digits, digits only.
    private static func number(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 20, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return UInt64(String(decoding: digits, as: UTF8.self))
    }
}

/// The first `limit` bytes of a small file such as one of /proc's (read to its end or to `limit`);
/// nil when it cannot be opened or read. Memory grows with what is read, not with `limit`.
package func readSmallFile(_ path: String, limit: Int) -> [UInt8]? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var buffer = [UInt8](repeating: 0, count: min(limit, 64 << 10))
    var count = 0
    while count < limit {
        if count == buffer.count { buffer += repeatElement(0, count: min(buffer.count, limit - buffer.count)) }
        let got = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + count, $0.count - count) }
        if got < 0, errno == EINTR { continue }
        if got < 0 { return nil }
        if got == 0 { break }
        count += got
    }
    return Array(buffer[..<count])
}
