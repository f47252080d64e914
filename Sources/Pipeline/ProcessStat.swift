#if canImport(Glibc)
import Glibc
#endif

/// The fields of `/proc/<pid>/stat` pkgfetch needs (the orphan sweep; whether a staging area's owner
/// still runs), read as bytes. The command name between the parentheses is whatever the process chose
/// (spaces, parentheses, any byte), so the fields are read after the last `)`, never by splitting the
/// whole line.
package struct ProcessStat: Equatable {
    package let pid: pid_t
    /// The state letter (`Z` for a zombie).
    package let state: UInt8
    package let parent: pid_t
    package let group: pid_t
    /// When the process started, in clock ticks after boot (field 22): with the pid, it names one
    /// process for the life of the machine, where a pid alone is reused. Nil when the line is cut short.
    package let startTime: UInt64?

    /// Parses one stat line; nil when it is not one.
    package init?(_ bytes: some Collection<UInt8>) {
        let line = Array(bytes)
        guard let open = line.firstIndex(of: UInt8(ascii: "(")), let close = line.lastIndex(of: UInt8(ascii: ")")),
              open < close, let pid = Self.number(line[..<open].filter { $0 != UInt8(ascii: " ") }[...]) else { return nil }
        // Field 3 (the state) is the first after the name.
        let fields = line[(close + 1)...].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        guard fields.count >= 3, fields[0].count == 1, let parent = Self.number(fields[1]), let group = Self.number(fields[2]) else { return nil }
        self.pid = pid
        state = fields[0].first!
        self.parent = parent
        self.group = group
        startTime = fields.count > 19 ? Self.unsigned(fields[19]) : nil
    }

    package init(pid: pid_t, state: UInt8, parent: pid_t, group: pid_t, startTime: UInt64? = nil) {
        (self.pid, self.state, self.parent, self.group, self.startTime) = (pid, state, parent, group, startTime)
    }

    /// Every process whose parent is `parent`, from `/proc` as it is now (a process gone meanwhile is skipped).
    package static func children(of parent: pid_t) -> [ProcessStat] {
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

    /// Process `pid` as it is now; nil when there is none (or /proc cannot say).
    package static func of(_ pid: pid_t) -> ProcessStat? {
        guard pid > 0 else { return nil }
        return read(Array(String(pid).utf8))
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
        unsigned(digits).flatMap { $0 <= UInt64(Int32.max) ? pid_t($0) : nil }
    }

    /// A decimal of at most 20 digits, digits only.
    private static func unsigned(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 20, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        var value: UInt64 = 0
        for digit in digits {
            let (times, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { return nil }
            value = sum
        }
        return value
    }
}
