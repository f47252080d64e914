import Pipeline
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The system calls that put entries into the directory, all relative to one descriptor of it, with
/// paths passed as the bytes they are, so a Windows build replaces this type only.
///
/// Every call is made so that it cannot follow a symlink at the name it creates: files are opened with
/// `O_CREAT | O_EXCL | O_NOFOLLOW`, directories made with `mkdirat`, links with `symlinkat`/`linkat`,
/// all of which fail on an existing name instead of going through it. Parents are checked by the caller.
final class ExtractionDirectory {
    let path: String
    let descriptor: Int32

    /// Opens `path`, which must be an existing, empty directory: the caller's map of what is inside
    /// starts empty, and a name already there could be a symlink nobody checked.
    init(path: String) throws {
        let opened = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard opened >= 0 else {
            throw PkgfetchError(.destinationIO, "cannot open the unpack directory \(path): \(Self.errorText(errno))")
        }
        if let name = Self.firstName(in: opened) {
            close(opened)
            throw PkgfetchError(.internal, "the unpack directory \(path) is not empty (it holds \(UnpackFailure.quoted(name)))")
        }
        self.path = path
        descriptor = opened
    }

    private static func firstName(in directory: Int32) -> [UInt8]? {
        guard let stream = fdopendir(dup(directory)) else { return Array("an unreadable listing".utf8) }
        defer { closedir(stream) }
        while let item = readdir(stream) {
            let name = PathBytes.name(of: item)
            if !PathBytes.isSelfOrParent(name) { return name }
        }
        return nil
    }

    deinit { close(descriptor) }

    /// Creates a directory, private (0700) until the caller gives it its mode once everything inside it
    /// is written, so that entries can be written into it whatever mode the archive gives it.
    func makeDirectory(_ relative: [UInt8]) throws {
        guard PathBytes.withCString(relative, { mkdirat(descriptor, $0, 0o700) }) == 0 else { throw failure("create the directory", relative) }
    }

    /// Gives a regular file written earlier another mode.
    func setMode(_ relative: [UInt8], _ mode: mode_t) throws {
        guard PathBytes.withCString(relative, { fchmodat(descriptor, $0, mode, 0) }) == 0 else { throw failure("set the mode of", relative) }
    }

    /// Gives a directory made earlier its mode and time.
    func setDirectory(_ relative: [UInt8], mode: mode_t, modified: timespec?) throws {
        guard PathBytes.withCString(relative, { fchmodat(descriptor, $0, mode, 0) }) == 0 else { throw failure("set the mode of", relative) }
        if let modified {
            let times = [Self.omitted, modified]
            guard PathBytes.withCString(relative, { utimensat(descriptor, $0, times, AT_SYMLINK_NOFOLLOW) }) == 0 else {
                throw failure("set the time of", relative)
            }
        }
    }

    /// Creates a new regular file and returns its descriptor, open for writing.
    func createFile(_ relative: [UInt8]) throws -> Int32 {
        let file = PathBytes.withCString(relative) { openat(descriptor, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        guard file >= 0 else { throw failure("create", relative) }
        return file
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ file: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, into relative: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let written = pwrite(file, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("write", relative)
            }
            done += written
        }
    }

    /// Sizes a file (a sparse file may end in a hole), gives it its mode and time, and closes it.
    func finishFile(_ file: Int32, _ relative: [UInt8], size: Int64?, written: Int64, mode: mode_t,
                    modified: timespec?, accessed: timespec?) throws {
        defer { close(file) }
        if let size, size > written, ftruncate(file, off_t(size)) != 0 { throw failure("size", relative) }
        guard fchmod(file, mode) == 0 else { throw failure("set the mode of", relative) }
        if let modified {
            let times = [accessed ?? Self.omitted, modified]
            guard futimens(file, times) == 0 else { throw failure("set the time of", relative) }
        }
    }

    func makeSymlink(_ relative: [UInt8], target: [UInt8], modified: timespec?) throws {
        let made = PathBytes.withCString(target) { target in PathBytes.withCString(relative) { symlinkat(target, descriptor, $0) } }
        guard made == 0 else { throw failure("create the symlink", relative) }
        if let modified {
            let times = [Self.omitted, modified]
            guard PathBytes.withCString(relative, { utimensat(descriptor, $0, times, AT_SYMLINK_NOFOLLOW) }) == 0 else {
                throw failure("set the time of", relative)
            }
        }
    }

    /// A hard link to a file created earlier; `linkat` without `AT_SYMLINK_FOLLOW` never follows `existing`.
    func makeHardLink(_ relative: [UInt8], to existing: [UInt8]) throws {
        let made = PathBytes.withCString(existing) { existing in PathBytes.withCString(relative) { linkat(descriptor, existing, descriptor, $0, 0) } }
        guard made == 0 else { throw failure("create the hard link", relative) }
    }

    /// Removes a file or symlink that a later entry of the same name replaces.
    func removeFile(_ relative: [UInt8]) throws {
        guard PathBytes.withCString(relative, { unlinkat(descriptor, $0, 0) }) == 0 else { throw failure("replace", relative) }
    }

    /// `UTIME_OMIT`: leave that time as it is.
    private static let omitted = timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2)


    /// A failed call, as the error the caller sees. EEXIST means a name the map did not know: only a
    /// case-insensitive file system makes that happen (`A` and `a` are one name there), and it is refused
    /// rather than written through. Other failures are the destination's (space, permissions, I/O).
    private func failure(_ operation: String, _ relative: [UInt8]) -> PkgfetchError {
        let code = errno
        switch code {
        case EEXIST:
            return UnpackFailure.unsafe(entry: relative, "it collides with another entry of the archive")
        case ENAMETOOLONG:
            return UnpackFailure.unsafe(entry: relative, "the path is too long for this file system (cannot \(operation) it)")
        default:
            return PkgfetchError(.destinationIO, "cannot \(operation) \(UnpackFailure.quoted(relative)) in \(path): \(Self.errorText(code))")
        }
    }

    private static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}
