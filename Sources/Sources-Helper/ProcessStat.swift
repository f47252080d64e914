#if canImport(Glibc)
import Glibc
#endif

/// The fields of `/proc/<pid>/stat` the orphan sweep needs, read as bytes. The command name between
/// the parentheses is whatever the process chose (spaces, parentheses, any byte), so the fields are
/// read after the last `)`, never by splitting the whole line.
struct ProcessStat: Equatable {
    let pid: pid_t
    /// The state letter (`Z` for a zombie).
    let state: UInt8
    let parent: pid_t
    let group: pid_t

    /// Parses one stat line; nil when it is not one.
    init?(_ bytes: some Collection<UInt8>) {
        let line = Array(bytes)
        guard let open = line.firstIndex(of: UInt8(ascii: "(")), let close = line.lastIndex(of: UInt8(ascii: ")")),
              open < close, let pid = Self.number(line[..<open].filter { $0 != UInt8(ascii: " ") }[...]) else { return nil }
        let fields = line[(close + 1)...].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        guard fields.count >= 3, fields[0].count == 1, let parent = Self.number(fields[1]), let group = Self.number(fields[2]) else { return nil }
        self.pid = pid
        state = fields[0].first!
        self.parent = parent
        self.group = group
    }

    init(pid: pid_t, state: UInt8, parent: pid_t, group: pid_t) {
        (self.pid, self.state, self.parent, self.group) = (pid, state, parent, group)
    }

    /// Every process whose parent is `parent`, from `/proc` as it is now (a process gone meanwhile is skipped).
    static func children(of parent: pid_t) -> [ProcessStat] {
        guard let proc = opendir("/proc") else { return [] }
        defer { closedir(proc) }
        var found: [ProcessStat] = []
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            guard Self.number(name[...]) != nil, let stat = read(name), stat.parent == parent else { continue }
            found.append(stat)
        }
        return found
    }

    /// Reads `/proc/<name>/stat` (a line of a few hundred bytes: 1 KiB is read at most).
    private static func read(_ name: [UInt8]) -> ProcessStat? {
        let path = Array("/proc/".utf8) + name + Array("/stat".utf8) + [0]
        let descriptor = path.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_RDONLY | O_CLOEXEC) } }
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        var count = 0
        while count < buffer.count {
            let got = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + count, $0.count - count) }
            if got < 0, errno == EINTR { continue }
            if got <= 0 { break }
            count += got
        }
        return ProcessStat(buffer[..<count])
    }

    /// A decimal pid, digits only.
    private static func number(_ digits: ArraySlice<UInt8>) -> pid_t? {
        guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return pid_t(exactly: digits.reduce(Int64(0)) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) })
    }
}
