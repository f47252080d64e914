#if canImport(Glibc)
import Glibc
#endif

/// The process a staging area belongs to, recorded in it (`owner`) so that a later run can tell at once
/// whether that process still runs: a pid alone is reused, so its start time goes with it; the start
/// time counts from boot, so the boot goes with it; and a pid means something only in its own pid
/// namespace (a container sharing the directory), so that goes with it too.
struct StagingOwner: Equatable {
    /// `/proc/sys/kernel/random/boot_id`: a new one after every boot.
    var boot: [UInt8]
    /// `/proc/self/ns/pid` as the kernel names it (`pid:[4026531836]`).
    var pidNamespace: [UInt8]
    var pid: pid_t
    /// Clock ticks after boot (`/proc/<pid>/stat` field 22).
    var startTime: UInt64

    /// What a later run concludes about an owner.
    enum Liveness: Equatable {
        /// It runs: its staging is left alone.
        case alive
        /// It is gone (ended, killed, or the machine restarted): its staging is recovered and removed now.
        case gone
        /// Nothing here can tell (another pid namespace, /proc unreadable).
        case unknown
    }

    /// This process; nil when /proc cannot say (then no owner is recorded, and the age rule applies).
    static let current: StagingOwner? = {
        guard let boot = readSmall("/proc/sys/kernel/random/boot_id"), let namespace = readLink("/proc/self/ns/pid"),
              let startTime = ProcessStat.of(getpid())?.startTime else { return nil }
        return StagingOwner(boot: boot, pidNamespace: namespace, pid: getpid(), startTime: startTime)
    }()

    /// Whether this owner still runs, as far as this process can see.
    var liveness: Liveness {
        guard let me = Self.current else { return .unknown }
        if boot != me.boot { return .gone }
        guard pidNamespace == me.pidNamespace else { return .unknown }
        guard let process = ProcessStat.of(pid), let started = process.startTime else { return .gone }
        // A zombie writes nothing more; a pid with another start time is another process.
        if started != startTime || process.state == UInt8(ascii: "Z") || process.state == UInt8(ascii: "X") { return .gone }
        return .alive
    }

    /// The record's text: one `key value` line each.
    var encoded: [UInt8] {
        var text = Array("pkgfetch-staging-owner 1\n".utf8)
        text += Array("boot ".utf8) + boot + [0x0A]
        text += Array("pid-namespace ".utf8) + pidNamespace + [0x0A]
        text += Array("pid \(pid)\nstart-time \(startTime)\nend\n".utf8)
        return text
    }

    /// Reads a record; nil when it is not a complete one (damage: it is written whole, then renamed).
    init?(parsing bytes: [UInt8]) {
        var fields: [String: [UInt8]] = [:]
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        // Header, fields, `end`, and the empty rest after the last newline.
        guard lines.count >= 3, lines.first.map(Array.init) == Array("pkgfetch-staging-owner 1".utf8),
              lines[lines.count - 2].elementsEqual("end".utf8), lines[lines.count - 1].isEmpty else { return nil }
        for line in lines.dropFirst().dropLast(2) {
            guard let space = line.firstIndex(of: 0x20) else { return nil }
            fields[String(decoding: line[..<space], as: UTF8.self)] = Array(line[(space + 1)...])
        }
        guard let boot = fields["boot"], !boot.isEmpty, let namespace = fields["pid-namespace"], !namespace.isEmpty,
              let pid = fields["pid"].flatMap({ Int32(String(decoding: $0, as: UTF8.self)) }), pid > 0,
              let startTime = fields["start-time"].flatMap({ UInt64(String(decoding: $0, as: UTF8.self)) }) else { return nil }
        self.init(boot: boot, pidNamespace: namespace, pid: pid, startTime: startTime)
    }

    init(boot: [UInt8], pidNamespace: [UInt8], pid: pid_t, startTime: UInt64) {
        (self.boot, self.pidNamespace, self.pid, self.startTime) = (boot, pidNamespace, pid, startTime)
    }

    /// A small file's content without its trailing newline (256 bytes at most).
    private static func readSmall(_ path: String) -> [UInt8]? {
        guard let text = readSmallFile(path, limit: 256)?.filter({ $0 != 0x0A }) else { return nil }
        return text.isEmpty ? nil : text
    }

    private static func readLink(_ path: String) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { readlink(path, $0.baseAddress!, $0.count) }
        }
        guard count > 0, count < buffer.count else { return nil }
        return buffer[..<count].filter { $0 != 0x0A }
    }
}
